/**
 * The demo HPC estate `npm start` runs against: built from the source documents (../shared/seeds) — an HPC Pack
 * node-communication certificate (seed 000) expiring in 10 days, Batch pool certificates (seed 003), an HPC Cache
 * RSA-2048 customer-managed key near expiry (seed 002), a Batch admin password, an Operator Nexus credential that
 * Nexus stopped rotating (seed 004), a certificate from an issuer Key Vault cannot renew, a secret with no expiry, a
 * disabled certificate and a healthy one.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_SUBSCRIPTION_ID, startArmEmulator, vaultId, type ArmSeed } from './arm/index.js';
import { startHpcPackEmulator, type HpcClusterSeed, type HpcNodeSeed, type HpcPackEmulator } from './hpcpack/index.js';
import type { KeyVaultEmulator, SeedCertificate, SeedFixture } from './keyvault/types.js';
import type { LocalService, LocalServiceFactory } from './service.js';

export const ESTATE_VAULTS = { hpc: 'hpc-prod-kv', batch: 'hpc-batch-kv' } as const;

const HPC_PACK_KU = ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'];
export const SERVER_CLIENT_AUTH = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'];

/** A Batch pool's node TLS certificate (RSA 2048, exportable, server and client authentication) for one host name. */
export function batchNodeCertificate(name: string, host: string, notBefore: string, expires: string): SeedCertificate {
  return {
    name,
    subject: `CN=${host}`,
    dnsNames: [host],
    keyType: 'RSA',
    keySize: 2048,
    exportable: true,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    ekus: SERVER_CLIENT_AUTH,
    validityInMonths: 12,
    notBefore,
    expires,
  };
}

/**
 * A cluster's HPC Pack node communication certificate as the seeds require it (RSA 2048, exportable, the four key
 * usages, server and client authentication), 355 days into its year: due for rotation.
 */
export function hpcPackNodeCertificate(name: string, cluster: string): SeedCertificate {
  return {
    name,
    subject: 'CN=HPC Pack Node Communication',
    keyType: 'RSA',
    keySize: 2048,
    exportable: true,
    keyUsage: HPC_PACK_KU,
    ekus: SERVER_CLIENT_AUTH,
    validityInMonths: 12,
    notBefore: '-355d',
    expires: '+10d',
    tags: { 'rotor-profile': 'hpc-pack', cluster },
  };
}

export const ESTATE_RESOURCE_GROUP = 'hpc-rg';
export const ESTATE_CLUSTER = 'hpc-cluster-01';
const BATCH_IDENTITY = { name: 'id-batch-nodes', clientId: '6b2c7d2e-4f1a-4c59-9c1e-3d7a5a2f0b11' };
const CACHE_IDENTITY = { name: 'id-hpc-cache', clientId: '0f7e1c55-8d2b-4b7a-a5c4-91e0d2c3b4a6' };
const HEAD_NODE_USER = 'hpcadmin';

/** Credentials of the demo head node, stored as the Key Vault secret HPC Pack's REST client reads. */
export function newHeadNodePassword(): string {
  return randomBytes(18).toString('base64url');
}

export const estateSeed = (headNodePassword: string): SeedFixture => ({
  vaults: {
    [ESTATE_VAULTS.hpc]: {
      certificates: [
        hpcPackNodeCertificate('hpc-node-comm', 'hpc-cluster-01'),
        {
          name: 'hpc-portal-public',
          subject: 'CN=hpc-portal.contoso.com',
          dnsNames: ['hpc-portal.contoso.com'],
          issuer: 'Unknown',
          keyType: 'RSA',
          keySize: 2048,
          ekus: ['1.3.6.1.5.5.7.3.1'],
          notBefore: '-345d',
          expires: '+20d',
          tags: { owner: 'web-team' },
        },
        {
          name: 'hpc-old-headnode',
          subject: 'CN=hpc-headnode-2019',
          notBefore: '-700d',
          expires: '-335d',
          enabled: false,
        },
        {
          name: 'hpc-headnode-web',
          subject: 'CN=hpc-headnode.contoso.com',
          dnsNames: ['hpc-headnode.contoso.com'],
          ekus: ['1.3.6.1.5.5.7.3.1'],
          notBefore: '-65d',
          expires: '+300d',
        },
      ],
      keys: [
        {
          name: 'hpc-cache-cmk',
          kty: 'RSA',
          keySize: 2048,
          notBefore: '-353d',
          expires: '+12d',
          tags: { 'rotor-profile': 'hpc-cache', cache: 'hpc-cache-01' },
        },
      ],
      secrets: [
        {
          name: 'nexus-bmc-credential',
          contentType: 'text/plain',
          notBefore: '-45d',
          expires: null,
          tags: { 'rotor-secret-kind': 'nexus-credential', cluster: 'nexus-cluster-01' },
        },
        { name: 'scheduler-db-connection', contentType: 'text/plain', notBefore: '-200d', expires: null },
        {
          name: 'hpcpack-head-node-credentials',
          contentType: 'application/json',
          value: JSON.stringify({ username: HEAD_NODE_USER, password: headNodePassword }),
          notBefore: '-30d',
          expires: '+335d',
        },
      ],
    },
    [ESTATE_VAULTS.batch]: {
      certificates: [
        batchNodeCertificate('batch-node-tls', 'batch-nodes.contoso.com', '-300d', '+65d'),
      ],
      secrets: [
        {
          name: 'batch-admin-password',
          contentType: 'text/plain',
          notBefore: '-85d',
          expires: '+5d',
          tags: { 'rotor-secret-kind': 'batch-admin-password' },
        },
      ],
    },
  },
});

const armId = (provider: string, name: string): string =>
  `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${ESTATE_RESOURCE_GROUP}/providers/${provider}/${name}`;

/**
 * Consumers (seeds 001–003): a Batch account with a pool following the versionless secret URL, a pool pinned to the
 * current version and a legacy pool referencing the current thumbprint; an HPC Cache on the current key version
 * with automatic rotation on. Built from the vault's current versions on first start.
 */
export function estateArmSeed(keyVault: KeyVaultEmulator, current: { certificate: { version: string; thumbprint: string }; keyVersion: string }): ArmSeed {
  const batchVault = `${keyVault.vaultUrl(ESTATE_VAULTS.batch)}/`;
  const hpcVault = `${keyVault.vaultUrl(ESTATE_VAULTS.hpc)}/`;
  const rg = ESTATE_RESOURCE_GROUP;
  const extension = (url: string, os: 'windows' | 'linux', pollingIntervalInS: number) => ({
    kind: 'keyVault' as const,
    os,
    observedCertificates: [{ url, certificateStoreName: 'MY', certificateStoreLocation: 'LocalMachine' }],
    pollingIntervalInS,
    msiClientId: BATCH_IDENTITY.clientId,
  });
  return {
    batchAccounts: [{ resourceGroup: rg, name: 'hpcbatch' }],
    batchPools: [
      {
        resourceGroup: rg,
        account: 'hpcbatch',
        name: 'render-linux',
        os: 'linux',
        identities: [BATCH_IDENTITY],
        extensions: [extension(`${batchVault}secrets/batch-node-tls`, 'linux', 60)],
        currentDedicatedNodes: 8,
      },
      {
        resourceGroup: rg,
        account: 'hpcbatch',
        name: 'solver-windows-pinned',
        os: 'windows',
        identities: [BATCH_IDENTITY],
        extensions: [extension(`${batchVault}secrets/batch-node-tls/${current.certificate.version}`, 'windows', 3600)],
        currentDedicatedNodes: 4,
      },
      {
        resourceGroup: rg,
        account: 'hpcbatch',
        name: 'legacy-postproc',
        os: 'windows',
        certificates: [{ thumbprint: current.certificate.thumbprint, storeLocation: 'LocalMachine', storeName: 'My' }],
        currentDedicatedNodes: 2,
      },
    ],
    caches: [
      {
        resourceGroup: rg,
        name: 'hpc-cache-01',
        identities: [CACHE_IDENTITY],
        keyEncryptionKey: { keyUrl: `${hpcVault}keys/hpc-cache-cmk/${current.keyVersion}`, sourceVaultId: vaultId(DEFAULT_SUBSCRIPTION_ID, rg, ESTATE_VAULTS.hpc) },
        rotationToLatestKeyVersionEnabled: true,
      },
    ],
    vaults: [
      { resourceGroup: rg, name: ESTATE_VAULTS.hpc, vaultUri: hpcVault, enableSoftDelete: true, enablePurgeProtection: true, enableRbacAuthorization: true },
      { resourceGroup: rg, name: ESTATE_VAULTS.batch, vaultUri: batchVault, enableSoftDelete: true, enableRbacAuthorization: true },
    ],
  };
}

/** Nodes that install each new version of the cluster certificate (the others stay stale or are unreachable). */
export const FOLLOWING_NODES = ['cn01', 'cn02'];

/** An HPC Pack cluster of four nodes presenting the node-communication certificate (seeds 000, 001). */
export function estateCluster(keyVault: KeyVaultEmulator, headNodePassword: string): HpcClusterSeed {
  const certificate = keyVault.certificatePem(ESTATE_VAULTS.hpc, 'hpc-node-comm');
  const node = (name: string, extra: Partial<HpcNodeSeed> = {}): HpcNodeSeed => ({
    name,
    linux: true,
    certificate: { certPem: certificate.certPem, keyPem: certificate.keyPem },
    ...extra,
  });
  return {
    name: ESTATE_CLUSTER,
    username: HEAD_NODE_USER,
    password: headNodePassword,
    nodes: [node('cn01'), node('cn02'), node('cn03'), node('cn04', { reachability: 'stall' })],
  };
}

/**
 * The consumer services of the estate. On first start they are seeded from the vault's current versions; on every
 * start the HPC Pack nodes that follow the cluster certificate are subscribed to its NewVersionCreated events and
 * switch synchronously, before Rotor's first probe can see the new version.
 */
export function estateServices(headNodePassword: string): Record<string, LocalServiceFactory> {
  return {
    arm: async (ctx, peers) => {
      const keyVault = peers.get('keyvault') as KeyVaultEmulator;
      const cert = keyVault.certificatePem(ESTATE_VAULTS.batch, 'batch-node-tls');
      const { createHash, X509Certificate } = await import('node:crypto');
      const thumbprint = createHash('sha1').update(new X509Certificate(cert.certPem).raw).digest('hex').toUpperCase();
      const keyVersion = await latestKeyVersion(keyVault, `${keyVault.vaultUrl(ESTATE_VAULTS.hpc)}/keys/hpc-cache-cmk`);
      return startArmEmulator(ctx, {
        seed: estateArmSeed(keyVault, { certificate: { version: cert.version, thumbprint }, keyVersion: keyVersion ?? '' }),
        cacheKeyRotation: { latestKeyVersion: (url) => latestKeyVersion(keyVault, url), delayMs: 0, pollIntervalMs: 5000 },
      });
    },
    hpcpack: async (ctx, peers) => {
      const keyVault = peers.get('keyvault') as KeyVaultEmulator;
      const hpcpack: HpcPackEmulator = await startHpcPackEmulator(ctx, { clusters: [estateCluster(keyVault, headNodePassword)] });
      keyVault.subscribe({
        kind: 'callback',
        deliver: (event) => {
          if (event.eventType !== 'Microsoft.KeyVault.CertificateNewVersionCreated') return;
          if (event.data.VaultName !== ESTATE_VAULTS.hpc || event.data.ObjectName !== 'hpc-node-comm') return;
          const pem = keyVault.certificatePem(ESTATE_VAULTS.hpc, 'hpc-node-comm', event.data.Version);
          for (const node of FOLLOWING_NODES) hpcpack.setNodeCertificate(ESTATE_CLUSTER, node, { certPem: pem.certPem, keyPem: pem.keyPem });
        },
      });
      return hpcpack;
    },
  };
}

/** The latest version of a key, from the local Key Vault endpoint (what HPC Cache's automatic rotation follows). */
export function latestKeyVersion(keyVault: KeyVaultEmulator, versionlessKeyUrl: string): Promise<string | undefined> {
  const url = new URL(versionlessKeyUrl);
  const vault = keyVault.vaultNames().find((v) => new URL(keyVault.vaultUrl(v)).host === url.host);
  const name = url.pathname.split('/').filter(Boolean)[1];
  return Promise.resolve(vault && name ? keyVault.latestVersion(vault, 'key', name) : undefined);
}

/** The configuration for the estate, given the local stack (vault URLs, head node, node addresses). */
export function estateConfig(
  vaultUrls: Readonly<Record<string, string>>,
  services: ReadonlyMap<string, LocalService>,
): Record<string, unknown> {
  const hpcpack = services.get('hpcpack') as HpcPackEmulator | undefined;
  return {
    vaults: Object.values(ESTATE_VAULTS).map((name) => ({ name, url: vaultUrls[name] ?? '' })),
    consumers: {
      batch: [{ accountId: armId('Microsoft.Batch/batchAccounts', 'hpcbatch') }],
      hpcPack: hpcpack
        ? [
            {
              name: ESTATE_CLUSTER,
              certificate: { vault: ESTATE_VAULTS.hpc, name: 'hpc-node-comm' },
              headNode: { url: hpcpack.headNodeUrl(ESTATE_CLUSTER), credentials: { vault: ESTATE_VAULTS.hpc, name: 'hpcpack-head-node-credentials' } },
              nodes: ['cn01', 'cn02', 'cn03', 'cn04'].map((name) => ({ name, ...hpcpack.nodeAddress(ESTATE_CLUSTER, name) })),
              probeTimeoutMs: 1500,
            },
          ]
        : [],
      hpcCache: [{ cacheId: armId('Microsoft.StorageCache/caches', 'hpc-cache-01') }],
    },
    verification: { deadlineHours: 24, recheckMinutes: 30 },
    secretKinds: {
      'batch-admin-password': { generator: 'password', length: 24, minOfEach: 2, validityDays: 90 },
      'nexus-credential': { generator: 'external', expectedRotationDays: 30, rotatedBy: 'Azure Operator Nexus' },
    },
    rotation: { pollIntervalSeconds: 0.2, certificateTimeoutMinutes: 2 },
  };
}
