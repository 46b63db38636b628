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

export class BatchPools {
  private readonly clients = new Map<string, BatchManagementClient>();
  constructor(
    private readonly target: ArmTarget,
    private readonly accounts: ReadonlyArray<{ accountId: string } | { subscriptionId: string }>,
  ) {}

  private client(subscriptionId: string): BatchManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) this.clients.set(subscriptionId, (c = new BatchManagementClient(this.target.environment.credential, subscriptionId, armOptions(this.target))));
    return c;
  }

  async *pools(): AsyncIterable<BatchPoolModel> {
    for (const entry of this.accounts) {
      const targets: Array<{ subscriptionId: string; resourceGroup: string; name: string }> = [];
      if ('accountId' in entry) {
        const parsed = parseResourceId(entry.accountId);
        if (parsed) targets.push(parsed);
      } else {
        const accounts = this.client(entry.subscriptionId).batchAccountOperations.list();
        for await (const a of accounts) {
          const parsed = a.id ? parseResourceId(a.id) : undefined;
          if (parsed) targets.push(parsed);
        }
      }
      for (const account of targets) {
        const pager = this.client(account.subscriptionId).poolOperations.listByBatchAccount(account.resourceGroup, account.name);
        try {
          for await (const pool of pager) yield toBatchPool(pool, account.name);
        } catch (err) {
          throw toGatewayError(err, `list pools of Batch account ${account.name}`);
        }
      }
    }
  }
}

export class HpcCaches {
  constructor(
    private readonly target: ArmTarget,
    private readonly cacheIds: readonly string[],
  ) {}

  async *caches(): AsyncIterable<HpcCacheModel> {
    for (const id of this.cacheIds) {
      const parsed = parseResourceId(id);
      if (!parsed) continue;
      const client = new StorageCacheManagementClient(this.target.environment.credential, parsed.subscriptionId, armOptions(this.target));
      yield toHpcCache(await call(`get HPC Cache ${parsed.name}`, () => client.caches.get(parsed.resourceGroup, parsed.name)));
    }
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
    const vault = await call(`get vault ${parsed.name}`, () => client.vaults.get(parsed.resourceGroup, parsed.name));
    return {
      // Soft delete is on unless explicitly disabled (it can no longer be turned off on new vaults).
      softDeleteEnabled: vault.properties.enableSoftDelete !== false,
      purgeProtectionEnabled: vault.properties.enablePurgeProtection === true,
    };
  }
}
