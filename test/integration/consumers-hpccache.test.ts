/**
 * HPC Caches and Key Vault vaults through the real @azure/arm-storagecache and @azure/arm-keyvault clients against
 * the local ARM endpoint: customer-managed key settings, health, auto-rotation to the key's latest version through
 * the injected resolver, and the vault properties seed 002 requires (soft delete, purge protection).
 */
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { StorageCacheManagementClient, type Cache } from '@azure/arm-storagecache';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_SUBSCRIPTION_ID,
  startArmEmulator,
  vaultId,
  type ArmEmulator,
  type HpcCacheSeed,
} from '../../src/local/arm/index.js';
import { createTestContext, type TestContext } from '../helpers/local-context.js';

const RG = 'rg-storage';
const VAULT_URL = 'https://kv-cmk.vault.azure.net';
const KEY = `${VAULT_URL}/keys/cache-key`;
const SOURCE_VAULT = vaultId(DEFAULT_SUBSCRIPTION_ID, RG, 'kv-cmk');
const V1 = '1111111111111111111111111111111a';
const V2 = '2222222222222222222222222222222b';

let t: TestContext;
let arm: ArmEmulator;
let caches: StorageCacheManagementClient;
let vaults: KeyVaultManagementClient;
/** What the resolver answers: versionless key URL → latest version. */
const latest = new Map<string, string>();
const resolverCalls: string[] = [];

const cache = (name: string, rest: Partial<HpcCacheSeed> = {}): HpcCacheSeed => ({ resourceGroup: RG, name, ...rest });
const cmk = (version: string) => ({ keyUrl: `${KEY}/${version}`, sourceVaultId: SOURCE_VAULT });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const keyUrlOf = async (name: string): Promise<string | undefined> =>
  (await caches.caches.get(RG, name)).encryptionSettings?.keyEncryptionKey?.keyUrl;

beforeAll(async () => {
  t = await createTestContext();
  arm = await startArmEmulator(t.ctx, {
    cacheKeyRotation: {
      delayMs: 60_000,
      latestKeyVersion: async (url) => {
        resolverCalls.push(url);
        if (url.endsWith('/broken')) throw new Error('vault unreachable');
        return latest.get(url);
      },
    },
    seed: {
      vaults: [
        {
          resourceGroup: RG,
          name: 'kv-cmk',
          vaultUri: VAULT_URL,
          enablePurgeProtection: true,
          softDeleteRetentionInDays: 30,
          enableRbacAuthorization: true,
        },
        { resourceGroup: RG, name: 'kv-weak', vaultUri: 'https://kv-weak.vault.azure.net/', enableSoftDelete: false },
      ],
      caches: [
        cache('cache-follow', {
          identities: [{ name: 'id-cache', clientId: '33333333-2222-4333-8444-555555555555' }],
          keyEncryptionKey: cmk(V1),
          rotationToLatestKeyVersionEnabled: true,
        }),
        cache('cache-pinned', { keyEncryptionKey: cmk(V1), rotationToLatestKeyVersionEnabled: false }),
        cache('cache-mmk'),
        cache('cache-broken', {
          keyEncryptionKey: { keyUrl: `${VAULT_URL}/keys/broken/${V1}`, sourceVaultId: SOURCE_VAULT },
          rotationToLatestKeyVersionEnabled: true,
        }),
        { resourceGroup: 'rg-other', name: 'cache-elsewhere', health: { state: 'Stopped', statusDescription: 'Stopped by user' } },
      ],
    },
  });
  const options = { endpoint: arm.url, tlsOptions: { ca: t.ca.certPem }, retryOptions: { maxRetries: 0 } };
  caches = new StorageCacheManagementClient(t.credential, DEFAULT_SUBSCRIPTION_ID, {
    ...options,
    credentialScopes: ['https://management.azure.com/.default'],
  });
  vaults = new KeyVaultManagementClient(t.credential, DEFAULT_SUBSCRIPTION_ID, {
    ...options,
    credentials: { scopes: ['https://management.azure.com/.default'] },
  });
});

afterAll(async () => {
  await arm.stop();
  await t.dispose();
});

describe('HPC Cache', () => {
  it('lists by subscription and by resource group', async () => {
    const all = await collect(caches.caches.list());
    expect(all.map((c) => c.name).sort()).toEqual(['cache-broken', 'cache-elsewhere', 'cache-follow', 'cache-mmk', 'cache-pinned']);
    const elsewhere = await collect(caches.caches.listByResourceGroup('rg-other'));
    expect(elsewhere.map((c: Cache) => [c.name, c.health?.state, c.health?.statusDescription])).toEqual([
      ['cache-elsewhere', 'Stopped', 'Stopped by user'],
    ]);
  });

  it('returns the customer-managed key, rotation flag, identity and health in the SDK typed model', async () => {
    const c = await caches.caches.get(RG, 'cache-follow');
    expect(c.encryptionSettings).toEqual({
      keyEncryptionKey: { keyUrl: `${KEY}/${V1}`, sourceVault: { id: SOURCE_VAULT } },
      rotationToLatestKeyVersionEnabled: true,
    });
    expect(c.identity?.type).toBe('UserAssigned');
    expect(Object.values(c.identity?.userAssignedIdentities ?? {})[0]?.clientId).toBe('33333333-2222-4333-8444-555555555555');
    expect(c.health?.state).toBe('Healthy');
    expect(c.provisioningState).toBe('Succeeded');
    expect(c.type).toBe('Microsoft.StorageCache/caches');
  });

  it('returns a Microsoft-managed-key cache without encryption settings and with a system identity', async () => {
    const c = await caches.caches.get(RG, 'cache-mmk');
    expect(c.encryptionSettings).toBeUndefined();
    expect(c.identity?.type).toBe('SystemAssigned');
    expect(c.identity?.principalId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('shows health and key changes made through the control surface', async () => {
    for (const state of ['Degraded', 'Down', 'Transitioning', 'Upgrading', 'Flushing', 'WaitingForKey'] as const) {
      arm.updateCache({ resourceGroup: RG, name: 'cache-pinned' }, { health: { state, statusDescription: `now ${state}` } });
      const c = await caches.caches.get(RG, 'cache-pinned');
      expect(c.health).toMatchObject({ state, statusDescription: `now ${state}` });
    }
    arm.updateCache({ resourceGroup: RG, name: 'cache-pinned' }, { health: { state: 'Healthy' }, keyEncryptionKey: cmk(V2) });
    expect(await keyUrlOf('cache-pinned')).toBe(`${KEY}/${V2}`);
    arm.updateCache({ resourceGroup: RG, name: 'cache-pinned' }, { keyEncryptionKey: cmk(V1) });
    expect(() => arm.updateCache({ resourceGroup: RG, name: 'cache-pinned' }, { keyEncryptionKey: { keyUrl: 'not a url', sourceVaultId: SOURCE_VAULT } })).toThrow(
      /patch\.keyEncryptionKey\.keyUrl/,
    );
  });

  it('answers ResourceNotFound for a missing cache', async () => {
    await expect(caches.caches.get(RG, 'nope')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('follows the latest key version after the delay when rotation is enabled, and only then', async () => {
    resolverCalls.length = 0;
    latest.set(KEY, V2);
    expect(await arm.checkKeyRotation()).toBe(1);
    expect(resolverCalls.sort()).toEqual([`${VAULT_URL}/keys/broken`, KEY]);
    // Not before the delay has passed on the emulator clock.
    expect(await keyUrlOf('cache-follow')).toBe(`${KEY}/${V1}`);
    t.clock.advance(59_999);
    expect(await keyUrlOf('cache-follow')).toBe(`${KEY}/${V1}`);
    // A second check does not schedule the same version twice.
    expect(await arm.checkKeyRotation()).toBe(0);
    t.clock.advance(1);
    expect(await keyUrlOf('cache-follow')).toBe(`${KEY}/${V2}`);
    // The pinned cache stays where it was; the broken resolver changed nothing.
    expect(await keyUrlOf('cache-pinned')).toBe(`${KEY}/${V1}`);
    expect(await keyUrlOf('cache-broken')).toBe(`${VAULT_URL}/keys/broken/${V1}`);
    // Nothing newer: nothing scheduled.
    expect(await arm.checkKeyRotation()).toBe(0);
  });

  it('drops a scheduled version when the key is changed meanwhile', async () => {
    latest.set(KEY, '3333333333333333333333333333333c');
    expect(await arm.checkKeyRotation()).toBe(1);
    const otherKey = `${VAULT_URL}/keys/other-key`;
    arm.updateCache({ resourceGroup: RG, name: 'cache-follow' }, { keyEncryptionKey: { keyUrl: `${otherKey}/${V1}`, sourceVaultId: SOURCE_VAULT } });
    t.clock.advance(60_000);
    expect(await keyUrlOf('cache-follow')).toBe(`${otherKey}/${V1}`);
  });

  it('pages cache lists through nextLink', async () => {
    const own = await createTestContext();
    const paged = await startArmEmulator(own.ctx, {
      pageSize: 2,
      seed: { caches: ['a', 'b', 'c'].map((name) => cache(name)) },
    });
    try {
      const client = new StorageCacheManagementClient(own.credential, DEFAULT_SUBSCRIPTION_ID, {
        endpoint: paged.url,
        tlsOptions: { ca: own.ca.certPem },
      });
      const pages = await collect(client.caches.listByResourceGroup(RG).byPage());
      expect(pages.map((page) => page.map((c) => c.name))).toEqual([['a', 'b'], ['c']]);
      expect(paged.counters()['storagecache.caches.listByResourceGroup']).toBe(2);
    } finally {
      await paged.stop();
      await own.dispose();
    }
  });

  it('polls on its own when a poll interval is set', async () => {
    const own = await createTestContext();
    const polled = await startArmEmulator(own.ctx, {
      cacheKeyRotation: { pollIntervalMs: 10, latestKeyVersion: async () => V2 },
      seed: { caches: [cache('cache-follow', { keyEncryptionKey: cmk(V1), rotationToLatestKeyVersionEnabled: true })] },
    });
    try {
      const client = new StorageCacheManagementClient(own.credential, DEFAULT_SUBSCRIPTION_ID, {
        endpoint: polled.url,
        tlsOptions: { ca: own.ca.certPem },
      });
      await vi.waitFor(
        async () => expect((await client.caches.get(RG, 'cache-follow')).encryptionSettings?.keyEncryptionKey?.keyUrl).toBe(`${KEY}/${V2}`),
        { timeout: 5000, interval: 20 },
      );
    } finally {
      await polled.stop();
      await own.dispose();
    }
  });
});

describe('Key Vault vaults (management plane)', () => {
  it('returns the properties an HPC Cache CMK vault must have', async () => {
    const v = await vaults.vaults.get(RG, 'kv-cmk');
    expect(v.id).toBe(SOURCE_VAULT);
    expect(v.properties).toMatchObject({
      vaultUri: `${VAULT_URL}/`,
      enableSoftDelete: true,
      softDeleteRetentionInDays: 30,
      enablePurgeProtection: true,
      enableRbacAuthorization: true,
      sku: { family: 'A', name: 'standard' },
    });
  });

  it('omits purge protection when it is off, as Azure does, and shows changes', async () => {
    const weak = await vaults.vaults.get(RG, 'kv-weak');
    expect(weak.properties.enablePurgeProtection).toBeUndefined();
    expect(weak.properties.enableSoftDelete).toBe(false);
    arm.updateVault({ resourceGroup: RG, name: 'kv-weak' }, { enableSoftDelete: true, enablePurgeProtection: true });
    const fixed = await vaults.vaults.get(RG, 'kv-weak');
    expect(fixed.properties).toMatchObject({ enableSoftDelete: true, enablePurgeProtection: true });
  });

  it('answers ResourceNotFound for a missing vault', async () => {
    await expect(vaults.vaults.get(RG, 'nope')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });
});
