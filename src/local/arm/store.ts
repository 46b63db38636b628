/**
 * The ARM emulator's resources: seeded, patched, listed and snapshotted for persistence. Records are the seeds with
 * their defaults resolved (subscription, location, timestamps), so a snapshot re-seeds to the same state.
 */
import { splitKeyUrl } from './ids.js';
import {
  DEFAULT_LOCATION,
  DEFAULT_SUBSCRIPTION_ID,
  HPC_CACHE_HEALTH_STATES,
  type ArmSeed,
  type BatchAccountSeed,
  type BatchPoolPatch,
  type BatchPoolSeed,
  type HpcCachePatch,
  type HpcCacheSeed,
  type KeyVaultResourcePatch,
  type KeyVaultResourceSeed,
  type ResourceGroupSeed,
  type ResourceRef,
} from './types.js';

interface Resolved {
  subscriptionId: string;
  /** Bumped on every change: the pool etag. */
  revision: number;
}
export type BatchAccountRecord = BatchAccountSeed & Resolved & { location: string };
export type BatchPoolRecord = BatchPoolSeed & Resolved & { lastModified: string; creationTime: string };
export type CacheRecord = HpcCacheSeed & Resolved & { location: string };
export type VaultRecord = KeyVaultResourceSeed & Resolved & { location: string };
type GroupRecord = Required<ResourceGroupSeed>;

const key = (...parts: string[]): string => parts.map((p) => p.toLowerCase()).join('/');

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[^/?#\\]+$/.test(value)) {
    throw new Error(`${field} must be a non-empty name without / ? # or \\, got ${JSON.stringify(value)}`);
  }
}

function checkRef(field: string, ref: ResourceRef): void {
  if (ref.subscriptionId !== undefined) checkName(`${field}.subscriptionId`, ref.subscriptionId);
  checkName(`${field}.resourceGroup`, ref.resourceGroup);
  checkName(`${field}.name`, ref.name);
}

function checkUrl(field: string, value: unknown): void {
  try {
    new URL(String(value));
  } catch {
    throw new Error(`${field} must be an absolute URL, got ${JSON.stringify(value)}`);
  }
}

function checkCount(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new Error(`${field} must be a non-negative integer, got ${value}`);
  }
}

function checkPoolFields(field: string, pool: BatchPoolPatch): void {
  pool.identities?.forEach((identity, i) => checkName(`${field}.identities[${i}].name`, identity.name));
  pool.extensions?.forEach((extension, i) => {
    if (extension.kind === 'keyVault') {
      extension.observedCertificates.forEach((cert, j) =>
        checkUrl(`${field}.extensions[${i}].observedCertificates[${j}].url`, cert.url),
      );
    } else {
      checkName(`${field}.extensions[${i}].name`, extension.name);
    }
  });
  pool.certificates?.forEach((cert, i) => {
    if (!/^[0-9a-fA-F]{40}$/.test(cert.thumbprint)) {
      throw new Error(`${field}.certificates[${i}].thumbprint must be 40 hex digits (SHA-1), got "${cert.thumbprint}"`);
    }
  });
  checkCount(`${field}.currentDedicatedNodes`, pool.currentDedicatedNodes);
  checkCount(`${field}.currentLowPriorityNodes`, pool.currentLowPriorityNodes);
}

function checkCacheFields(field: string, cache: HpcCachePatch): void {
  if (cache.keyEncryptionKey) {
    try {
      splitKeyUrl(cache.keyEncryptionKey.keyUrl);
    } catch (err) {
      throw new Error(`${field}.keyEncryptionKey.${(err as Error).message}`);
    }
    if (!cache.keyEncryptionKey.sourceVaultId.toLowerCase().includes('/providers/microsoft.keyvault/vaults/')) {
      throw new Error(`${field}.keyEncryptionKey.sourceVaultId must be a Microsoft.KeyVault/vaults resource id`);
    }
  }
  if (cache.health && !(HPC_CACHE_HEALTH_STATES as readonly string[]).includes(cache.health.state)) {
    throw new Error(`${field}.health.state must be one of ${HPC_CACHE_HEALTH_STATES.join(', ')}, got "${cache.health.state}"`);
  }
}

function checkVaultFields(field: string, vault: KeyVaultResourcePatch): void {
  if (vault.vaultUri !== undefined) checkUrl(`${field}.vaultUri`, vault.vaultUri);
  const days = vault.softDeleteRetentionInDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 7 && days <= 90)) {
    throw new Error(`${field}.softDeleteRetentionInDays must be an integer from 7 to 90, got ${days}`);
  }
}

export class ArmStore {
  private readonly groups = new Map<string, GroupRecord>();
  private readonly accounts = new Map<string, BatchAccountRecord>();
  private readonly pools = new Map<string, BatchPoolRecord>();
  private readonly caches = new Map<string, CacheRecord>();
  private readonly vaults = new Map<string, VaultRecord>();

  constructor(private readonly now: () => Date) {}

  /** Validates the whole seed first (so bad input changes nothing), then creates or replaces its resources. */
  seed(seed: ArmSeed): void {
    this.validate(seed);
    const now = this.now().toISOString();
    for (const group of seed.resourceGroups ?? []) {
      const subscriptionId = group.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
      this.groups.set(key(subscriptionId, group.name), {
        subscriptionId,
        name: group.name,
        location: group.location ?? DEFAULT_LOCATION,
      });
    }
    const located = <T extends ResourceRef & { location?: string }>(r: T) => {
      const subscriptionId = r.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
      const location = r.location ?? this.groups.get(key(subscriptionId, r.resourceGroup))?.location ?? DEFAULT_LOCATION;
      return { ...r, subscriptionId, location, revision: 1 };
    };
    for (const account of seed.batchAccounts ?? []) {
      const record = located(account);
      this.accounts.set(key(record.subscriptionId, record.resourceGroup, record.name), record);
    }
    for (const pool of seed.batchPools ?? []) {
      const subscriptionId = pool.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
      const id = key(subscriptionId, pool.resourceGroup, pool.account, pool.name);
      const previous = this.pools.get(id);
      this.pools.set(id, {
        ...pool,
        subscriptionId,
        lastModified: pool.lastModified ?? now,
        creationTime: pool.creationTime ?? previous?.creationTime ?? now,
        revision: (previous?.revision ?? 0) + 1,
      });
    }
    for (const cache of seed.caches ?? []) {
      const record = located(cache);
      this.caches.set(key(record.subscriptionId, record.resourceGroup, record.name), record);
    }
    for (const vault of seed.vaults ?? []) {
      const record = located(vault);
      this.vaults.set(key(record.subscriptionId, record.resourceGroup, record.name), record);
    }
  }

  private validate(seed: ArmSeed): void {
    seed.resourceGroups?.forEach((g, i) => {
      checkName(`resourceGroups[${i}].name`, g.name);
      if (g.subscriptionId !== undefined) checkName(`resourceGroups[${i}].subscriptionId`, g.subscriptionId);
    });
    seed.batchAccounts?.forEach((a, i) => checkRef(`batchAccounts[${i}]`, a));
    seed.batchPools?.forEach((p, i) => {
      const field = `batchPools[${i}]`;
      checkRef(field, p);
      checkName(`${field}.account`, p.account);
      const sub = p.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
      const inSeed = seed.batchAccounts?.some(
        (a) => key(a.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID, a.resourceGroup, a.name) === key(sub, p.resourceGroup, p.account),
      );
      if (!inSeed && !this.accounts.has(key(sub, p.resourceGroup, p.account))) {
        throw new Error(`${field}.account: Batch account "${p.account}" does not exist in resource group "${p.resourceGroup}"`);
      }
      checkPoolFields(field, p);
    });
    seed.caches?.forEach((c, i) => {
      checkRef(`caches[${i}]`, c);
      checkCacheFields(`caches[${i}]`, c);
    });
    seed.vaults?.forEach((v, i) => {
      checkRef(`vaults[${i}]`, v);
      checkUrl(`vaults[${i}].vaultUri`, v.vaultUri);
      checkVaultFields(`vaults[${i}]`, v);
    });
  }

  hasSubscription(subscriptionId: string): boolean {
    const sub = subscriptionId.toLowerCase();
    if (sub === DEFAULT_SUBSCRIPTION_ID) return true;
    return [this.groups, this.accounts, this.pools, this.caches, this.vaults].some((map) =>
      [...map.values()].some((r) => r.subscriptionId.toLowerCase() === sub),
    );
  }

  hasResourceGroup(subscriptionId: string, resourceGroup: string): boolean {
    const wanted = key(subscriptionId, resourceGroup);
    if (this.groups.has(wanted)) return true;
    return [this.accounts, this.pools, this.caches, this.vaults].some((map) =>
      [...map.values()].some((r) => key(r.subscriptionId, r.resourceGroup) === wanted),
    );
  }

  listAccounts(subscriptionId: string, resourceGroup?: string): BatchAccountRecord[] {
    return inScope([...this.accounts.values()], subscriptionId, resourceGroup);
  }

  getAccount(subscriptionId: string, resourceGroup: string, name: string): BatchAccountRecord | undefined {
    return this.accounts.get(key(subscriptionId, resourceGroup, name));
  }

  listPools(subscriptionId: string, resourceGroup: string, account: string): BatchPoolRecord[] {
    return inScope([...this.pools.values()], subscriptionId, resourceGroup).filter(
      (p) => p.account.toLowerCase() === account.toLowerCase(),
    );
  }

  getPool(subscriptionId: string, resourceGroup: string, account: string, name: string): BatchPoolRecord | undefined {
    return this.pools.get(key(subscriptionId, resourceGroup, account, name));
  }

  listCaches(subscriptionId: string, resourceGroup?: string): CacheRecord[] {
    return inScope([...this.caches.values()], subscriptionId, resourceGroup);
  }

  getCache(subscriptionId: string, resourceGroup: string, name: string): CacheRecord | undefined {
    return this.caches.get(key(subscriptionId, resourceGroup, name));
  }

  getVault(subscriptionId: string, resourceGroup: string, name: string): VaultRecord | undefined {
    return this.vaults.get(key(subscriptionId, resourceGroup, name));
  }

  updatePool(ref: ResourceRef & { account: string }, patch: BatchPoolPatch): void {
    const sub = ref.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
    const id = key(sub, ref.resourceGroup, ref.account, ref.name);
    const pool = this.pools.get(id);
    if (!pool) throw new Error(`Batch pool "${ref.account}/${ref.name}" does not exist in resource group "${ref.resourceGroup}"`);
    checkPoolFields('patch', patch);
    this.pools.set(id, { ...pool, ...patch, lastModified: this.now().toISOString(), revision: pool.revision + 1 });
  }

  updateCache(ref: ResourceRef, patch: HpcCachePatch): void {
    const id = key(ref.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID, ref.resourceGroup, ref.name);
    const cache = this.caches.get(id);
    if (!cache) throw new Error(`HPC Cache "${ref.name}" does not exist in resource group "${ref.resourceGroup}"`);
    checkCacheFields('patch', patch);
    this.caches.set(id, { ...cache, ...patch, revision: cache.revision + 1 });
  }

  updateVault(ref: ResourceRef, patch: KeyVaultResourcePatch): void {
    const id = key(ref.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID, ref.resourceGroup, ref.name);
    const vault = this.vaults.get(id);
    if (!vault) throw new Error(`Key vault "${ref.name}" does not exist in resource group "${ref.resourceGroup}"`);
    checkVaultFields('patch', patch);
    this.vaults.set(id, { ...vault, ...patch, revision: vault.revision + 1 });
  }

  /** Caches whose key follows the latest version. */
  rotatingCaches(): CacheRecord[] {
    return [...this.caches.values()].filter((c) => c.rotationToLatestKeyVersionEnabled && c.keyEncryptionKey);
  }

  /** Everything, as a seed that recreates it. */
  snapshot(): ArmSeed {
    const strip = <T extends { revision: number }>({ revision: _revision, ...rest }: T) => rest;
    return {
      resourceGroups: [...this.groups.values()],
      batchAccounts: [...this.accounts.values()].map(strip),
      batchPools: [...this.pools.values()].map(strip),
      caches: [...this.caches.values()].map(strip),
      vaults: [...this.vaults.values()].map(strip),
    };
  }
}

function inScope<T extends { subscriptionId: string; resourceGroup: string; name: string }>(
  records: T[],
  subscriptionId: string,
  resourceGroup: string | undefined,
): T[] {
  return records
    .filter(
      (r) =>
        r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
        (resourceGroup === undefined || r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
    )
    .sort((a, b) => key(a.resourceGroup, a.name).localeCompare(key(b.resourceGroup, b.name)));
}
