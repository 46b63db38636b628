/**
 * The consumers of rotated objects and the pure checks that decide whether each one picked up the new version:
 * Azure Batch pools (Key Vault VM extension, or legacy account certificates — seed 003), HPC Pack cluster nodes
 * (the certificate each node presents on its node-manager TLS port — seeds 000, 001) and HPC Cache (the
 * customer-managed key version it encrypts with — seed 002). Adapters map the wire models to these types.
 */
import { hpcCacheKeyViolations } from './profiles.js';

export type ConsumerKind = 'batch-pool' | 'hpc-pack-node' | 'hpc-pack-cluster' | 'hpc-cache';

export type ConsumerStatus = 'Verified' | 'Pending' | 'Stale' | 'UnknownCertificate' | 'Unreachable' | 'Misconfigured' | 'Skipped';

export interface ConsumerResult {
  /** Stable id: the pool's or cache's ARM id, `hpcpack://<cluster>/<node>`. */
  readonly id: string;
  readonly kind: ConsumerKind;
  /** For people: "Batch pool hpc-batch/render-pool". */
  readonly label: string;
  readonly status: ConsumerStatus;
  /** Machine-readable reason (VersionlessUrlPolled, PinnedToOldVersion, LegacyCertificateReference, ...). */
  readonly reason: string;
  readonly detail: string;
  readonly expected: string;
  readonly observed: string;
  /** When to look again (Pending: when the change is due; others: the re-check interval). */
  readonly nextCheckAt?: Date | undefined;
  readonly checkedAt: Date;
}

/**
 * Statuses that count as converged: only Verified. An offline node (Skipped) cannot be checked, so it is looked at
 * again until it is online and verified, or the deadline fails the rotation naming it — a node that comes back with
 * the old certificate would otherwise break, and the previous version must not be disabled under it.
 */
export const CONVERGED: readonly ConsumerStatus[] = ['Verified'];

// ── Batch ──────────────────────────────────────────────────────────────────────────────────────────────────────

export interface KeyVaultExtensionModel {
  /** KeyVaultForWindows or KeyVaultForLinux. */
  readonly type: string;
  /** Observed certificate URLs (Windows: objects with `url`; Linux: strings — both mapped to URLs). */
  readonly observedCertificates: readonly string[];
  readonly pollingIntervalSeconds: number;
  readonly msiClientId?: string | undefined;
}

export interface BatchPoolModel {
  /** ARM id of the pool. */
  readonly id: string;
  readonly account: string;
  readonly name: string;
  /** Client ids of the pool's user-assigned identities. */
  readonly identityClientIds: readonly string[];
  readonly keyVaultExtension?: KeyVaultExtensionModel | undefined;
  /** Thumbprints (upper-case hex) of legacy account-certificate references. */
  readonly legacyCertificateThumbprints: readonly string[];
}

/** The rotated certificate, as verification needs it. */
export interface RotatedCertificate {
  readonly vaultUrl: string;
  readonly name: string;
  readonly newVersion: string;
  readonly newThumbprint: string;
  /** Thumbprints of older versions (upper-case hex). */
  readonly oldThumbprints: readonly string[];
  readonly versionCreatedAt: Date;
}

interface SecretUrl {
  readonly host: string;
  readonly collection: string;
  readonly name: string;
  readonly version: string;
}

export function parseVaultObjectUrl(url: string): SecretUrl | undefined {
  try {
    const u = new URL(url);
    const [collection = '', name = '', version = ''] = u.pathname.split('/').filter(Boolean);
    return { host: u.host.toLowerCase(), collection: collection.toLowerCase(), name: decodeURIComponent(name), version };
  } catch {
    return undefined;
  }
}

const hostOf = (vaultUrl: string): string => new URL(vaultUrl).host.toLowerCase();

function observedUrlFor(pool: BatchPoolModel, cert: RotatedCertificate): SecretUrl | undefined {
  const host = hostOf(cert.vaultUrl);
  for (const url of pool.keyVaultExtension?.observedCertificates ?? []) {
    const parsed = parseVaultObjectUrl(url);
    if (parsed && parsed.host === host && parsed.name.toLowerCase() === cert.name.toLowerCase()) return parsed;
  }
  return undefined;
}

/** Whether the pool consumes the certificate (matched by secret URL or by thumbprint). */
export function poolConsumes(pool: BatchPoolModel, cert: RotatedCertificate): boolean {
  if (observedUrlFor(pool, cert)) return true;
  const known = new Set([cert.newThumbprint, ...cert.oldThumbprints].map((t) => t.toUpperCase()));
  return pool.legacyCertificateThumbprints.some((t) => known.has(t.toUpperCase()));
}

export function checkBatchPool(pool: BatchPoolModel, cert: RotatedCertificate, now: Date, recheckAt: Date): ConsumerResult {
  const base = { id: pool.id, kind: 'batch-pool' as const, label: `Batch pool ${pool.account}/${pool.name}`, checkedAt: now };
  const observed = observedUrlFor(pool, cert);
  const ext = pool.keyVaultExtension;
  if (observed && ext) {
    if (observed.collection !== 'secrets') {
      return {
        ...base,
        status: 'Misconfigured',
        reason: 'NotASecretUrl',
        detail: `the ${ext.type} extension observes /${observed.collection}/${observed.name}; it needs the certificate's secret identifier (/secrets/${cert.name})`,
        expected: `${cert.vaultUrl.replace(/\/$/, '')}/secrets/${cert.name}`,
        observed: `/${observed.collection}/${observed.name}`,
        nextCheckAt: recheckAt,
      };
    }
    if (!ext.msiClientId || !pool.identityClientIds.map((c) => c.toLowerCase()).includes(ext.msiClientId.toLowerCase())) {
      return {
        ...base,
        status: 'Misconfigured',
        reason: 'IdentityMismatch',
        detail:
          `the ${ext.type} extension authenticates with msiClientId ${ext.msiClientId ?? '(none)'}, which is not a user-assigned ` +
          `identity of the pool (${pool.identityClientIds.join(', ') || 'none'}); nodes cannot read the certificate`,
        expected: pool.identityClientIds.join(', '),
        observed: ext.msiClientId ?? '',
        nextCheckAt: recheckAt,
      };
    }
    if (!observed.version) {
      const pickup = new Date(cert.versionCreatedAt.getTime() + ext.pollingIntervalSeconds * 1000);
      if (now.getTime() >= pickup.getTime()) {
        return {
          ...base,
          status: 'Verified',
          reason: 'VersionlessUrlPolled',
          detail: `observes the versionless secret URL; nodes poll every ${ext.pollingIntervalSeconds} s, so they have fetched version ${cert.newVersion} since ${pickup.toISOString()}`,
          expected: cert.newVersion,
          observed: 'versionless',
        };
      }
      return {
        ...base,
        status: 'Pending',
        reason: 'AwaitingPollingInterval',
        detail: `observes the versionless secret URL; nodes pick up version ${cert.newVersion} within their ${ext.pollingIntervalSeconds} s polling interval (by ${pickup.toISOString()})`,
        expected: cert.newVersion,
        observed: 'versionless',
        nextCheckAt: pickup,
      };
    }
    if (observed.version === cert.newVersion) {
      return { ...base, status: 'Verified', reason: 'PinnedToNewVersion', detail: `observes version ${cert.newVersion} explicitly`, expected: cert.newVersion, observed: observed.version };
    }
    return {
      ...base,
      status: 'Stale',
      reason: 'PinnedToOldVersion',
      detail:
        `the ${ext.type} extension observes version ${observed.version} explicitly, so nodes keep the old certificate; ` +
        `recreate the pool (extension settings cannot be changed on an existing pool) observing the versionless URL ` +
        `${cert.vaultUrl.replace(/\/$/, '')}/secrets/${cert.name}`,
      expected: cert.newVersion,
      observed: observed.version,
      nextCheckAt: recheckAt,
    };
  }
  const legacy = pool.legacyCertificateThumbprints.find((t) => t.toUpperCase() !== cert.newThumbprint.toUpperCase());
  if (legacy) {
    return {
      ...base,
      status: 'Stale',
      reason: 'LegacyCertificateReference',
      detail:
        `references Batch account certificate sha1-${legacy.toLowerCase()} (an older version); Batch account certificates ` +
        `were retired in February 2024 — migrate the pool to the Key Vault VM extension with a user-assigned identity and ` +
        `the versionless URL ${cert.vaultUrl.replace(/\/$/, '')}/secrets/${cert.name}`,
      expected: cert.newThumbprint,
      observed: legacy.toUpperCase(),
      nextCheckAt: recheckAt,
    };
  }
  return {
    ...base,
    status: 'Verified',
    reason: 'LegacyCertificateCurrent',
    detail: 'references the new thumbprint as a Batch account certificate (retired in February 2024: migrate to the Key Vault VM extension)',
    expected: cert.newThumbprint,
    observed: cert.newThumbprint,
  };
}

// ── HPC Pack ───────────────────────────────────────────────────────────────────────────────────────────────────

export interface HpcPackNodeModel {
  readonly name: string;
  /** Online, Offline, Draining, ... (HPC Pack node state). */
  readonly state: string;
  readonly health: string;
  readonly host: string;
  readonly port: number;
}

export type TlsProbeResult =
  | { readonly kind: 'presented'; readonly thumbprint: string }
  | { readonly kind: 'timeout' }
  /** The node's host name does not resolve (ENOTFOUND, EAI_AGAIN): a configuration problem, not an outage. */
  | { readonly kind: 'unresolved'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

export function checkHpcPackNode(
  cluster: string,
  node: HpcPackNodeModel,
  probe: TlsProbeResult | undefined,
  cert: RotatedCertificate,
  now: Date,
  recheckAt: Date,
): ConsumerResult {
  const base = {
    id: `hpcpack://${cluster}/${node.name}`,
    kind: 'hpc-pack-node' as const,
    label: `HPC Pack node ${cluster}/${node.name}`,
    checkedAt: now,
    expected: cert.newThumbprint,
  };
  if (node.state.toLowerCase() !== 'online' || !probe) {
    return {
      ...base,
      status: 'Skipped',
      reason: `Node${node.state || 'Unknown'}`,
      detail: `node is ${node.state || 'in an unknown state'} (health ${node.health || 'unknown'}); not probed, checked again until it is online`,
      observed: '',
      nextCheckAt: recheckAt,
    };
  }
  if (probe.kind === 'timeout') {
    return { ...base, status: 'Unreachable', reason: 'Timeout', detail: `no TLS handshake on ${node.host}:${node.port} within the probe timeout`, observed: '', nextCheckAt: recheckAt };
  }
  if (probe.kind === 'unresolved') {
    return {
      ...base,
      status: 'Misconfigured',
      reason: 'NameNotResolved',
      detail:
        `the node's address ${node.host} does not resolve from Rotor (${probe.message}); set the cluster's nodeDomain ` +
        `(name → name.domain) or a static nodes entry (name → host:port) for ${node.name}`,
      observed: '',
      nextCheckAt: recheckAt,
    };
  }
  if (probe.kind === 'failed') {
    return { ...base, status: 'Unreachable', reason: 'ConnectionFailed', detail: `TLS probe of ${node.host}:${node.port} failed: ${probe.message}`, observed: '', nextCheckAt: recheckAt };
  }
  const presented = probe.thumbprint.toUpperCase();
  if (presented === cert.newThumbprint.toUpperCase()) {
    return { ...base, status: 'Verified', reason: 'PresentsNewCertificate', detail: `presents the new certificate on ${node.host}:${node.port}`, observed: presented };
  }
  if (cert.oldThumbprints.some((t) => t.toUpperCase() === presented)) {
    return {
      ...base,
      status: 'Stale',
      reason: 'PresentsOldCertificate',
      detail: `still presents a previous version of ${cert.name} on ${node.host}:${node.port}; install the new certificate (secret identifier of version ${cert.newVersion}) on the node`,
      observed: presented,
      nextCheckAt: recheckAt,
    };
  }
  return {
    ...base,
    status: 'UnknownCertificate',
    reason: 'PresentsUnknownCertificate',
    detail: `presents a certificate that is no version of ${cert.name} on ${node.host}:${node.port}`,
    observed: presented,
    nextCheckAt: recheckAt,
  };
}

// ── HPC Cache ──────────────────────────────────────────────────────────────────────────────────────────────────

export interface HpcCacheModel {
  readonly id: string;
  readonly name: string;
  /** Versioned key URL the cache encrypts with. */
  readonly keyUrl?: string | undefined;
  /** ARM id of the key's vault. */
  readonly sourceVaultId?: string | undefined;
  readonly rotationToLatestKeyVersionEnabled: boolean;
  readonly healthState: string;
  readonly healthDetail: string;
}

export interface VaultProtection {
  readonly softDeleteEnabled: boolean;
  readonly purgeProtectionEnabled: boolean;
}

export interface RotatedKey {
  readonly vaultUrl: string;
  readonly name: string;
  readonly newVersion: string;
  /** Versions created after the new one (a later rotation): a cache that already uses one of them has moved on. */
  readonly laterVersions?: readonly string[] | undefined;
  readonly keyType?: string | undefined;
  readonly keySize?: number | undefined;
  readonly enabled: boolean;
}

export function cacheUsesKey(cache: HpcCacheModel, key: Pick<RotatedKey, 'vaultUrl' | 'name'>): boolean {
  const parsed = cache.keyUrl ? parseVaultObjectUrl(cache.keyUrl) : undefined;
  return Boolean(parsed && parsed.collection === 'keys' && parsed.host === hostOf(key.vaultUrl) && parsed.name.toLowerCase() === key.name.toLowerCase());
}

export function checkHpcCache(
  cache: HpcCacheModel,
  key: RotatedKey,
  vault: VaultProtection | undefined,
  now: Date,
  recheckAt: Date,
): ConsumerResult {
  const observed = cache.keyUrl ? (parseVaultObjectUrl(cache.keyUrl)?.version ?? '') : '';
  const base = { id: cache.id, kind: 'hpc-cache' as const, label: `HPC Cache ${cache.name}`, checkedAt: now, expected: key.newVersion, observed };
  const problems: string[] = [];
  if (vault && !vault.softDeleteEnabled) problems.push('soft delete is disabled on the key vault');
  if (vault && !vault.purgeProtectionEnabled) problems.push('purge protection is disabled on the key vault');
  // The same rules as the hpc-cache profile's preflight (one definition: profiles.ts), applied to the new version.
  problems.push(...hpcCacheKeyViolations({ keyType: key.keyType ?? 'RSA', keySize: key.keySize, enabled: key.enabled }).map((p) => `the new key version: ${p}`));
  if (problems.length) {
    return { ...base, status: 'Misconfigured', reason: 'CustomerManagedKeyPrerequisites', detail: `HPC Cache key requirements not met: ${problems.join('; ')}`, nextCheckAt: recheckAt };
  }
  if (cache.healthState.toLowerCase() === 'waitingforkey') {
    return {
      ...base,
      status: 'Misconfigured',
      reason: 'WaitingForKey',
      detail: 'the cache is waiting for its key: authorize it to use the key vault (Enable encryption on the cache overview)',
      nextCheckAt: recheckAt,
    };
  }
  if (observed === key.newVersion) {
    return { ...base, status: 'Verified', reason: 'UsesNewKeyVersion', detail: `encrypts with key version ${key.newVersion}; health ${cache.healthState}` };
  }
  if (observed && key.laterVersions?.includes(observed)) {
    return {
      ...base,
      status: 'Verified',
      reason: 'UsesLaterKeyVersion',
      detail: `encrypts with key version ${observed}, created after ${key.newVersion}; health ${cache.healthState}`,
    };
  }
  if (cache.rotationToLatestKeyVersionEnabled) {
    return {
      ...base,
      status: 'Pending',
      reason: 'AwaitingAutoRotation',
      detail: `automatic rotation to the latest key version is on; still using version ${observed || 'unknown'}`,
      nextCheckAt: recheckAt,
    };
  }
  return {
    ...base,
    status: 'Stale',
    reason: 'PinnedToOldKeyVersion',
    detail: `encrypts with key version ${observed || 'unknown'} and automatic rotation is off: change the cache's key to version ${key.newVersion} (Encryption > Change key) or turn on "Always use current key version"`,
    nextCheckAt: recheckAt,
  };
}
