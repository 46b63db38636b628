/**
 * The large HPC estate (`rotor local --estate large`; the acceptance test and the benchmark use the same
 * generator): HPC Pack clusters of 2,000, 500 and 50 nodes — a few per cent stale (they never install a new
 * version), a few per cent unreachable (stalled or closed), a few names missing from DNS — each presenting its
 * cluster's node-communication certificate; 200 Batch pools over 4 accounts (following the versionless secret URL,
 * pinned to a version, or legacy account-certificate references); 10 HPC Caches with customer-managed keys; and 20
 * vaults of 1,000 objects each. Everything is chosen by a fixed PRNG seed, so every start builds the same estate.
 *
 * Cheap at scale: every node of a cluster is served by one SNI listener and presents one of two shared
 * certificates (the cluster certificate's current version, or — once it follows a rotation — the new one).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mulberry32 } from '../core/generators.js';
import { DEFAULT_SUBSCRIPTION_ID, startArmEmulator, vaultId, type ArmSeed, type BatchPoolSeed } from './arm/index.js';
import { batchNodeCertificate, hpcPackNodeCertificate, latestKeyVersion } from './estate.js';
import { startHpcPackEmulator, type HpcClusterSeed, type HpcNodeSeed, type HpcPackEmulator } from './hpcpack/index.js';
import type { KeyVaultEmulator, SeedCertificate, SeedFixture, SeedKey, SeedSecret, SeedVault } from './keyvault/types.js';
import type { LocalService, LocalServiceFactory } from './service.js';

/** What becomes of a node when its cluster's certificate is rotated. */
export type NodeRole = 'following' | 'stale' | 'stall' | 'closed' | 'unresolved';

export interface LargeEstateOptions {
  /** PRNG seed (default 20261204). */
  seed?: number;
  /** Clusters and their node counts (default 2,000, 500 and 50 nodes). */
  clusters?: ReadonlyArray<{ name: string; nodes: number }>;
  /** Shares of the nodes of each cluster (defaults 3 % stale, 2 % unreachable, 0.25 % unresolvable, at least 1 each). */
  staleShare?: number;
  unreachableShare?: number;
  unresolvedShare?: number;
  batchAccounts?: number;
  pools?: number;
  caches?: number;
  vaults?: number;
  objectsPerVault?: number;
}

export interface LargeCluster {
  readonly name: string;
  readonly nodeDomain: string;
  /** The cluster certificate (in the HPC vault) and the head node's credentials secret. */
  readonly certificate: string;
  readonly credentials: string;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly role: NodeRole }>;
}

export interface LargeEstatePlan {
  readonly seed: number;
  readonly vaults: readonly string[];
  /** Vault of the cluster certificates and head-node credentials; of the Batch certificates; of the cache keys. */
  readonly hpcVault: string;
  readonly batchVault: string;
  readonly cacheVault: string;
  readonly clusters: readonly LargeCluster[];
  readonly batchAccounts: readonly string[];
  readonly pools: ReadonlyArray<{ readonly name: string; readonly account: string; readonly certificate: string; readonly mode: 'versionless' | 'pinned' | 'legacy' }>;
  readonly caches: ReadonlyArray<{ readonly name: string; readonly key: string; readonly autoRotation: boolean }>;
  readonly objectsPerVault: number;
}

export const LARGE_RESOURCE_GROUP = 'hpc-large-rg';
const HEAD_NODE_USER = 'hpcadmin';
const BATCH_IDENTITY = { name: 'id-batch-nodes', clientId: '6b2c7d2e-4f1a-4c59-9c1e-3d7a5a2f0b11' };
const CACHE_IDENTITY = { name: 'id-hpc-cache', clientId: '0f7e1c55-8d2b-4b7a-a5c4-91e0d2c3b4a6' };

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Picks `count` distinct indexes of [0, total) not in `taken`, deterministically. */
function pick(total: number, count: number, random: () => number, taken: Set<number>): number[] {
  const out: number[] = [];
  while (out.length < Math.min(count, total - taken.size)) {
    const i = Math.floor(random() * total);
    if (taken.has(i)) continue;
    taken.add(i);
    out.push(i);
  }
  return out;
}

/** The estate, without starting anything: names, counts and which node or pool does what. */
export function largeEstatePlan(options: LargeEstateOptions = {}): LargeEstatePlan {
  const seed = options.seed ?? 20261204;
  const random = mulberry32(seed);
  const vaultCount = options.vaults ?? 20;
  const vaults = Array.from({ length: Math.max(3, vaultCount) }, (_, i) => `hpc-large-${pad(i + 1, 2)}`);
  const clusters = (options.clusters ?? [
    { name: 'hpc-large-a', nodes: 2_000 },
    { name: 'hpc-large-b', nodes: 500 },
    { name: 'hpc-large-c', nodes: 50 },
  ]).map((c): LargeCluster => {
    const roles: NodeRole[] = Array.from({ length: c.nodes }, () => 'following');
    const taken = new Set<number>();
    const share = (s: number): number => Math.max(1, Math.round(c.nodes * s));
    for (const i of pick(c.nodes, share(options.staleShare ?? 0.03), random, taken)) roles[i] = 'stale';
    const unreachable = pick(c.nodes, share(options.unreachableShare ?? 0.02), random, taken);
    unreachable.forEach((i, k) => (roles[i] = k % 2 === 0 ? 'stall' : 'closed'));
    for (const i of pick(c.nodes, share(options.unresolvedShare ?? 0.0025), random, taken)) roles[i] = 'unresolved';
    const width = Math.max(4, String(c.nodes).length);
    return {
      name: c.name,
      nodeDomain: `${c.name}.hpc.test`,
      certificate: `${c.name}-node-comm`,
      credentials: `${c.name}-head-node-credentials`,
      nodes: roles.map((role, i) => ({ name: `cn${pad(i + 1, width)}`, role })),
    };
  });
  const accounts = Array.from({ length: options.batchAccounts ?? 4 }, (_, i) => `hpcbatch${i + 1}`);
  const pools = Array.from({ length: options.pools ?? 200 }, (_, i) => {
    const account = accounts[i % accounts.length]!;
    const r = random();
    const mode = r < 0.7 ? ('versionless' as const) : r < 0.9 ? ('pinned' as const) : ('legacy' as const);
    return { name: `pool-${pad(i + 1, 3)}`, account, certificate: `batch-node-tls-${account}`, mode };
  });
  const caches = Array.from({ length: options.caches ?? 10 }, (_, i) => ({
    name: `hpc-cache-${pad(i + 1, 2)}`,
    key: `hpc-cache-cmk-${pad(i + 1, 2)}`,
    autoRotation: i % 5 !== 4,
  }));
  return {
    seed,
    vaults,
    hpcVault: vaults[0]!,
    batchVault: vaults[1]!,
    cacheVault: vaults[2]!,
    clusters,
    batchAccounts: accounts,
    pools,
    caches,
    objectsPerVault: options.objectsPerVault ?? 1_000,
  };
}

/** Fills a vault to `total` objects: a third each of certificates, keys and secrets, 1 % of them near expiry. */
function filler(prefix: string, total: number, random: () => number): Required<SeedVault> {
  const vault: Required<SeedVault> = { certificates: [], keys: [], secrets: [] };
  const times = (): { notBefore: string; expires: string } => {
    if (random() < 0.01) return { notBefore: '-355d', expires: '+10d' };
    const lifetime = 365 + Math.floor(random() * 365);
    const used = Math.floor(lifetime * (0.05 + random() * 0.35));
    return { notBefore: `-${used}d`, expires: `+${lifetime - used}d` };
  };
  for (let i = 0; i < total; i++) {
    const kind = i % 3;
    if (kind === 0) vault.certificates.push({ name: `${prefix}-cert-${i}`, ...times() });
    else if (kind === 1) vault.keys.push({ name: `${prefix}-key-${i}`, kty: 'RSA', keySize: 2048, ...times() });
    else vault.secrets.push({ name: `${prefix}-secret-${i}`, contentType: 'text/plain', ...times() });
  }
  return vault;
}

/** The Key Vault objects: cluster certificates and credentials, Batch certificates, cache keys, and the filler. */
export function largeEstateSeed(plan: LargeEstatePlan, headNodePassword: string): SeedFixture {
  const random = mulberry32(plan.seed + 1);
  const vaults: Record<string, SeedVault> = {};
  const special: Record<string, { certificates: SeedCertificate[]; keys: SeedKey[]; secrets: SeedSecret[] }> = {};
  const of = (vault: string) => (special[vault] ??= { certificates: [], keys: [], secrets: [] });
  for (const c of plan.clusters) {
    of(plan.hpcVault).certificates.push(hpcPackNodeCertificate(c.certificate, c.name));
    of(plan.hpcVault).secrets.push({
      name: c.credentials,
      contentType: 'application/json',
      value: JSON.stringify({ username: HEAD_NODE_USER, password: headNodePassword }),
      notBefore: '-30d',
      expires: '+335d',
    });
  }
  for (const account of plan.batchAccounts) {
    of(plan.batchVault).certificates.push(batchNodeCertificate(`batch-node-tls-${account}`, `${account}.batch.contoso.com`, '-340d', '+25d'));
  }
  for (const cache of plan.caches) {
    of(plan.cacheVault).keys.push({ name: cache.key, kty: 'RSA', keySize: 2048, notBefore: '-353d', expires: '+12d', tags: { 'rotor-profile': 'hpc-cache', cache: cache.name } });
  }
  for (const vault of plan.vaults) {
    const own = special[vault] ?? { certificates: [], keys: [], secrets: [] };
    const count = own.certificates.length + own.keys.length + own.secrets.length;
    const fill = filler(vault.replace('hpc-large-', 'obj'), Math.max(0, plan.objectsPerVault - count), random);
    vaults[vault] = {
      certificates: [...own.certificates, ...fill.certificates],
      keys: [...own.keys, ...fill.keys],
      secrets: [...own.secrets, ...fill.secrets],
    };
  }
  return { vaults };
}

/** The head node's view of a cluster: every node online, presenting the cluster certificate's current version. */
export function largeClusterSeed(cluster: LargeCluster, certificate: { certPem: string; keyPem: string }, headNodePassword: string): HpcClusterSeed {
  return {
    name: cluster.name,
    username: HEAD_NODE_USER,
    password: headNodePassword,
    nodeDomain: cluster.nodeDomain,
    nodes: cluster.nodes.map(
      (n): HpcNodeSeed => ({
        name: n.name,
        linux: true,
        certificate,
        ...(n.role === 'stall' || n.role === 'closed' ? { reachability: n.role } : {}),
        ...(n.role === 'unresolved' ? { dns: false } : {}),
      }),
    ),
  };
}

const armId = (provider: string, name: string): string =>
  `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${LARGE_RESOURCE_GROUP}/providers/${provider}/${name}`;

function thumbprintOf(certPem: string): string {
  return createHash('sha1').update(new X509Certificate(certPem).raw).digest('hex').toUpperCase();
}

/** Batch accounts, pools, caches and vault resources, built from the vaults' current versions. */
export async function largeEstateArmSeed(plan: LargeEstatePlan, keyVault: KeyVaultEmulator): Promise<ArmSeed> {
  const rg = LARGE_RESOURCE_GROUP;
  const batchVault = `${keyVault.vaultUrl(plan.batchVault)}/`;
  const cacheVault = `${keyVault.vaultUrl(plan.cacheVault)}/`;
  const current = new Map<string, { version: string; thumbprint: string }>(
    plan.batchAccounts.map((a) => {
      const pem = keyVault.certificatePem(plan.batchVault, `batch-node-tls-${a}`);
      return [`batch-node-tls-${a}`, { version: pem.version, thumbprint: thumbprintOf(pem.certPem) }] as const;
    }),
  );
  const pools = plan.pools.map((p): BatchPoolSeed => {
    const cert = current.get(p.certificate)!;
    const base = { resourceGroup: rg, account: p.account, name: p.name, os: 'linux' as const, currentDedicatedNodes: 4 };
    if (p.mode === 'legacy') return { ...base, os: 'windows', certificates: [{ thumbprint: cert.thumbprint, storeLocation: 'LocalMachine', storeName: 'My' }] };
    const url = `${batchVault}secrets/${p.certificate}${p.mode === 'pinned' ? `/${cert.version}` : ''}`;
    return {
      ...base,
      identities: [BATCH_IDENTITY],
      extensions: [{ kind: 'keyVault', os: 'linux', observedCertificates: [{ url }], pollingIntervalInS: 60, msiClientId: BATCH_IDENTITY.clientId }],
    };
  });
  const caches = await Promise.all(
    plan.caches.map(async (c) => ({
      resourceGroup: rg,
      name: c.name,
      identities: [CACHE_IDENTITY],
      keyEncryptionKey: {
        keyUrl: `${cacheVault}keys/${c.key}/${(await latestKeyVersion(keyVault, `${cacheVault}keys/${c.key}`)) ?? ''}`,
        sourceVaultId: vaultId(DEFAULT_SUBSCRIPTION_ID, rg, plan.cacheVault),
      },
      rotationToLatestKeyVersionEnabled: c.autoRotation,
    })),
  );
  return {
    batchAccounts: plan.batchAccounts.map((name) => ({ resourceGroup: rg, name })),
    batchPools: pools,
    caches,
    vaults: plan.vaults.map((name) => ({
      resourceGroup: rg,
      name,
      vaultUri: `${keyVault.vaultUrl(name)}/`,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      enableRbacAuthorization: true,
    })),
  };
}

/**
 * The consumer services: the ARM endpoint (pools, caches, vaults) and the HPC Pack clusters. On every start, the
 * following nodes of each cluster are subscribed to its certificate's NewVersionCreated events and install the new
 * version at once; stale nodes never do.
 */
export function largeEstateServices(plan: LargeEstatePlan, headNodePassword: string): Record<string, LocalServiceFactory> {
  return {
    arm: async (ctx, peers) => {
      const keyVault = peers.get('keyvault') as KeyVaultEmulator;
      return startArmEmulator(ctx, {
        seed: await largeEstateArmSeed(plan, keyVault),
        cacheKeyRotation: { latestKeyVersion: (url) => latestKeyVersion(keyVault, url), delayMs: 0, pollIntervalMs: 5000 },
      });
    },
    hpcpack: async (ctx, peers) => {
      const keyVault = peers.get('keyvault') as KeyVaultEmulator;
      const seeds = plan.clusters.map((c) => {
        const pem = keyVault.certificatePem(plan.hpcVault, c.certificate);
        return largeClusterSeed(c, { certPem: pem.certPem, keyPem: pem.keyPem }, headNodePassword);
      });
      const hpcpack: HpcPackEmulator = await startHpcPackEmulator(ctx, { clusters: seeds });
      const byCertificate = new Map(plan.clusters.map((c) => [c.certificate, c]));
      keyVault.subscribe({
        kind: 'callback',
        deliver: (event) => {
          if (event.eventType !== 'Microsoft.KeyVault.CertificateNewVersionCreated' || event.data.VaultName !== plan.hpcVault) return;
          const cluster = byCertificate.get(event.data.ObjectName);
          if (!cluster) return;
          const pem = keyVault.certificatePem(plan.hpcVault, cluster.certificate, event.data.Version);
          const certificate = { certPem: pem.certPem, keyPem: pem.keyPem };
          for (const n of cluster.nodes) if (n.role !== 'stale') hpcpack.setNodeCertificate(cluster.name, n.name, certificate);
        },
      });
      return hpcpack;
    },
  };
}

/** Rotor's configuration for the large estate: the first three vaults rotate (auto), the other 17 report (notify). */
export function largeEstateConfig(plan: LargeEstatePlan, vaultUrls: Readonly<Record<string, string>>, services: ReadonlyMap<string, LocalService>): Record<string, unknown> {
  const hpcpack = services.get('hpcpack') as HpcPackEmulator | undefined;
  const special = new Set([plan.hpcVault, plan.batchVault, plan.cacheVault]);
  return {
    vaults: plan.vaults.map((name) => ({ name, url: vaultUrls[name] ?? '', ...(special.has(name) ? {} : { mode: 'notify' }) })),
    consumers: {
      batch: plan.batchAccounts.map((a) => ({ accountId: armId('Microsoft.Batch/batchAccounts', a) })),
      hpcPack: hpcpack
        ? plan.clusters.map((c) => ({
            name: c.name,
            certificate: { vault: plan.hpcVault, name: c.certificate },
            headNode: { url: hpcpack.headNodeUrl(c.name), credentials: { vault: plan.hpcVault, name: c.credentials } },
            nodeDomain: c.nodeDomain,
            port: hpcpack.ports()[`${c.name}/nodes`],
            probeTimeoutMs: 1500,
          }))
        : [],
      hpcCache: plan.caches.map((c) => ({ cacheId: armId('Microsoft.StorageCache/caches', c.name) })),
    },
    verification: { deadlineHours: 24, recheckMinutes: 30 },
    secretKinds: {
      'batch-admin-password': { generator: 'password', length: 24, minOfEach: 2, validityDays: 90 },
    },
    rotation: { pollIntervalSeconds: 0.2, certificateTimeoutMinutes: 2 },
  };
}
