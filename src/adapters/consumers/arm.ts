/**
 * Batch pools, HPC Caches and vault protection settings through the official ARM SDK clients
 * (@azure/arm-batch, @azure/arm-storagecache, @azure/arm-keyvault), mapped to the core's consumer models in one
 * place. The management endpoint is configurable (ROTOR_ARM_ENDPOINT: sovereign clouds, the local stack).
 */
import { BatchManagementClient, type Pool } from '@azure/arm-batch';
import { StorageCacheManagementClient, type Cache } from '@azure/arm-storagecache';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import type { AzureEnvironment } from '../azure-clients.js';
import { commonClientOptions } from '../azure-clients.js';
import type { BatchPoolModel, HpcCacheModel, KeyVaultExtensionModel, VaultProtection } from '../../core/consumers.js';
import pLimit from 'p-limit';
import { DEFAULT_CONSUMER_CONCURRENCY } from '../../core/config.js';
import type { Limit } from '../../core/ports.js';
import { call, toGatewayError } from '../errors.js';

export interface ArmTarget {
  readonly endpoint: string;
  readonly environment: AzureEnvironment;
}

/** /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name} → parts. */
export function parseResourceId(id: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)/i.exec(id);
  return m ? { subscriptionId: m[1] ?? '', resourceGroup: m[2] ?? '', name: m[3] ?? '' } : undefined;
}

function armOptions(target: ArmTarget) {
  // The token audience is the ARM endpoint itself (https://management.azure.com, or a sovereign cloud's).
  const scope = `${target.endpoint.replace(/\/$/, '')}/.default`;
  return { ...commonClientOptions(target.environment), endpoint: target.endpoint, credentialScopes: [scope] };
}

const KEY_VAULT_EXTENSIONS = new Set(['keyvaultforwindows', 'keyvaultforlinux']);

/** observedCertificates: objects with `url` (Windows 3.x) or plain strings (Linux, Windows 1.x). */
function observedUrls(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: unknown) => {
    if (typeof v === 'string') return [v];
    if (v && typeof v === 'object' && typeof (v as { url?: unknown }).url === 'string') return [(v as { url: string }).url];
    return [];
  });
}

export function toBatchPool(pool: Pool, account: string): BatchPoolModel {
  const identities = Object.values(pool.identity?.userAssignedIdentities ?? {}).flatMap((i) => (i.clientId ? [i.clientId] : []));
  const ext = pool.deploymentConfiguration?.virtualMachineConfiguration?.extensions?.find(
    (e) => e.publisher.toLowerCase() === 'microsoft.azure.keyvault' && KEY_VAULT_EXTENSIONS.has(e.type.toLowerCase()),
  );
  let keyVaultExtension: KeyVaultExtensionModel | undefined;
  if (ext) {
    const settings = ext.settings ?? {};
    const secrets = (settings['secretsManagementSettings'] ?? {}) as Record<string, unknown>;
    const auth = (settings['authenticationSettings'] ?? {}) as Record<string, unknown>;
    const polling = Number(secrets['pollingIntervalInS'] ?? 3600);
    keyVaultExtension = {
      type: ext.type,
      observedCertificates: observedUrls(secrets['observedCertificates']),
      pollingIntervalSeconds: Number.isFinite(polling) && polling > 0 ? polling : 3600,
      msiClientId: typeof auth['msiClientId'] === 'string' ? auth['msiClientId'] : undefined,
    };
  }
  const legacy = (pool.certificates ?? []).flatMap((c) => {
    const m = /\/certificates\/sha1-([0-9a-f]{40})$/i.exec(c.id);
    return m ? [(m[1] ?? '').toUpperCase()] : [];
  });
  return { id: pool.id ?? '', account, name: pool.name ?? '', identityClientIds: identities, keyVaultExtension, legacyCertificateThumbprints: legacy };
}

export function toHpcCache(cache: Cache): HpcCacheModel {
  const kek = cache.encryptionSettings?.keyEncryptionKey;
  return {
    id: cache.id ?? '',
    name: cache.name ?? '',
    keyUrl: kek?.keyUrl,
    sourceVaultId: kek?.sourceVault.id,
    rotationToLatestKeyVersionEnabled: cache.encryptionSettings?.rotationToLatestKeyVersionEnabled ?? false,
    healthState: cache.health?.state ?? 'Unknown',
    healthDetail: cache.health?.statusDescription ?? '',
  };
}

/** Settles every promise (so none rejects unobserved) and returns them in order; the first failure is rethrown. */
async function* inOrder<T>(promises: ReadonlyArray<Promise<T[]>>): AsyncIterable<T> {
  const settled = promises.map((p) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })));
  for (const p of settled) {
    const r = await p;
    if (!r.ok) throw r.error;
    yield* r.value;
  }
}

export class BatchPools {
  private readonly clients = new Map<string, BatchManagementClient>();
  constructor(
    private readonly target: ArmTarget,
    private readonly accounts: ReadonlyArray<{ accountId: string } | { subscriptionId: string }>,
    /** Bounds the ARM reads in flight (shared with the other consumer checks of the instance). */
    private readonly limit: Limit = pLimit(DEFAULT_CONSUMER_CONCURRENCY),
  ) {}

  private client(subscriptionId: string): BatchManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) this.clients.set(subscriptionId, (c = new BatchManagementClient(this.target.environment.credential, subscriptionId, armOptions(this.target))));
    return c;
  }

  /** The accounts to read: configured ids, and every account of the configured subscriptions (read concurrently). */
  private async targets(): Promise<Array<{ subscriptionId: string; resourceGroup: string; name: string }>> {
    const lists = this.accounts.map(async (entry) => {
      if ('accountId' in entry) {
        const parsed = parseResourceId(entry.accountId);
        return parsed ? [parsed] : [];
      }
      return this.limit(async () => {
        const out: Array<{ subscriptionId: string; resourceGroup: string; name: string }> = [];
        try {
          for await (const a of this.client(entry.subscriptionId).batchAccountOperations.list()) {
            const parsed = a.id ? parseResourceId(a.id) : undefined;
            if (parsed) out.push(parsed);
          }
        } catch (err) {
          throw toGatewayError(err, `list Batch accounts of subscription ${entry.subscriptionId}`);
        }
        return out;
      });
    });
    const out: Array<{ subscriptionId: string; resourceGroup: string; name: string }> = [];
    for await (const t of inOrder(lists)) out.push(t);
    return out;
  }

  /** Pools of every account; the accounts are read concurrently (within the limit), pools yielded in account order. */
  async *pools(): AsyncIterable<BatchPoolModel> {
    const lists = (await this.targets()).map((account) =>
      this.limit(async () => {
        const out: BatchPoolModel[] = [];
        try {
          for await (const pool of this.client(account.subscriptionId).poolOperations.listByBatchAccount(account.resourceGroup, account.name)) {
            out.push(toBatchPool(pool, account.name));
          }
        } catch (err) {
          throw toGatewayError(err, `list pools of Batch account ${account.name}`);
        }
        return out;
      }),
    );
    yield* inOrder(lists);
  }
}

export class HpcCaches {
  constructor(
    private readonly target: ArmTarget,
    private readonly cacheIds: readonly string[],
    /** Bounds the ARM reads in flight (shared with the other consumer checks of the instance). */
    private readonly limit: Limit = pLimit(DEFAULT_CONSUMER_CONCURRENCY),
  ) {}

  /** The configured caches, read concurrently (within the limit) and yielded in configuration order. */
  async *caches(): AsyncIterable<HpcCacheModel> {
    const reads = this.cacheIds.map((id) => {
      const parsed = parseResourceId(id);
      if (!parsed) return Promise.resolve([]);
      return this.limit(async () => {
        const client = new StorageCacheManagementClient(this.target.environment.credential, parsed.subscriptionId, armOptions(this.target));
        return [toHpcCache(await call(`get HPC Cache ${parsed.name}`, () => client.caches.get(parsed.resourceGroup, parsed.name)))];
      });
    });
    yield* inOrder(reads);
  }

  /** Soft delete and purge protection of the key's vault (HPC Cache CMK prerequisites, seed 002). */
  async vaultProtection(vaultResourceId: string): Promise<VaultProtection | undefined> {
    const parsed = parseResourceId(vaultResourceId);
    if (!parsed) return undefined;
    const { credentialScopes, ...options } = armOptions(this.target);
    const client = new KeyVaultManagementClient(this.target.environment.credential, parsed.subscriptionId, {
      ...options,
      credentials: { scopes: credentialScopes },
    });
    const vault = await this.limit(() => call(`get vault ${parsed.name}`, () => client.vaults.get(parsed.resourceGroup, parsed.name)));
    return {
      // Soft delete is on unless explicitly disabled (it can no longer be turned off on new vaults).
      softDeleteEnabled: vault.properties.enableSoftDelete !== false,
      purgeProtectionEnabled: vault.properties.enablePurgeProtection === true,
    };
  }
}
