import { describe, expect, it } from 'vitest';
import { paginate } from '../../../src/local/arm/handler.js';
import { batchCertificateId, deterministicGuid, splitKeyUrl } from '../../../src/local/arm/ids.js';
import { matchRoute } from '../../../src/local/arm/routes.js';
import { ArmStore } from '../../../src/local/arm/store.js';
import { keyVaultExtensionToWire, vaultToWire } from '../../../src/local/arm/wire.js';

const now = () => new Date('2026-01-15T08:00:00Z');

describe('ids', () => {
  it('splits versioned and versionless key URLs', () => {
    expect(splitKeyUrl('https://kv.vault.azure.net/keys/k/abc')).toEqual({ versionless: 'https://kv.vault.azure.net/keys/k', version: 'abc' });
    expect(splitKeyUrl('https://127.0.0.1:8443/keys/k')).toEqual({ versionless: 'https://127.0.0.1:8443/keys/k', version: undefined });
    expect(() => splitKeyUrl('https://kv.vault.azure.net/secrets/k/abc')).toThrow(/keys/);
    expect(() => splitKeyUrl('kv/keys/k')).toThrow(/absolute URL/);
  });

  it('builds Batch certificate reference ids with a lower-case thumbprint', () => {
    expect(batchCertificateId('s', 'rg', 'acct', 'ABCDEF')).toBe(
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct/certificates/sha1-abcdef',
    );
  });

  it('derives stable version-4-shaped GUIDs', () => {
    const guid = deterministicGuid('principal', 'x');
    expect(guid).toBe(deterministicGuid('principal', 'x'));
    expect(guid).not.toBe(deterministicGuid('principal', 'y'));
    expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('routes', () => {
  it('match case-insensitively (ARM paths are), capturing names as sent', () => {
    const match = matchRoute('subscriptions/S/resourcegroups/RG/providers/microsoft.storagecache/caches/MyCache'.split('/'));
    expect(match?.route.op).toBe('storagecache.caches.get');
    expect(match?.params).toEqual({ sub: 'S', rg: 'RG', cache: 'MyCache' });
    expect(matchRoute(['subscriptions', 'S', 'providers', 'Microsoft.Batch', 'batchAccounts'])?.route.op).toBe('batch.accounts.list');
    expect(matchRoute(['subscriptions', 'S', 'providers', 'Microsoft.Compute', 'virtualMachines'])).toBeUndefined();
  });
});

describe('Key Vault VM extension wire shape', () => {
  const cert = { url: 'https://kv.vault.azure.net/secrets/c' };

  it('uses objects on Windows and strings on Linux by default', () => {
    const windows = keyVaultExtensionToWire({ kind: 'keyVault', observedCertificates: [cert] }, 'windows');
    expect(windows).toMatchObject({ type: 'KeyVaultForWindows', name: 'KeyVaultForWindows', publisher: 'Microsoft.Azure.KeyVault' });
    expect(windows['settings']).toEqual({
      secretsManagementSettings: {
        pollingIntervalInS: '3600',
        observedCertificates: [{ url: cert.url, certificateStoreName: 'MY', certificateStoreLocation: 'LocalMachine' }],
      },
    });
    const linux = keyVaultExtensionToWire({ kind: 'keyVault', observedCertificates: [cert], msiClientId: 'c' }, 'linux');
    expect(linux['type']).toBe('KeyVaultForLinux');
    expect(linux['settings']).toEqual({
      secretsManagementSettings: {
        pollingIntervalInS: '3600',
        certificateStoreLocation: '/var/lib/waagent/Microsoft.Azure.KeyVault.Store',
        observedCertificates: [cert.url],
      },
      authenticationSettings: { msiClientId: 'c' },
    });
  });

  it('lets the extension say its own OS and format', () => {
    const ext = keyVaultExtensionToWire(
      { kind: 'keyVault', os: 'linux', observedCertificatesFormat: 'objects', observedCertificates: [cert] },
      'windows',
    );
    expect(ext['type']).toBe('KeyVaultForLinux');
    expect(JSON.parse(JSON.stringify(ext['settings']))).toEqual({
      secretsManagementSettings: {
        pollingIntervalInS: '3600',
        observedCertificates: [{ url: cert.url, certificateStoreLocation: '/var/lib/waagent/Microsoft.Azure.KeyVault.Store' }],
      },
    });
  });
});

describe('vault wire shape', () => {
  it('omits purge protection until it is on and ends vaultUri with a slash', () => {
    const base = { subscriptionId: 's', resourceGroup: 'rg', name: 'kv', location: 'westeurope', revision: 1, vaultUri: 'https://kv.vault.azure.net' };
    const off = vaultToWire(base)['properties'] as Record<string, unknown>;
    expect(off['enablePurgeProtection']).toBeUndefined();
    expect(off).toMatchObject({ vaultUri: 'https://kv.vault.azure.net/', enableSoftDelete: true, softDeleteRetentionInDays: 90 });
    const on = vaultToWire({ ...base, enablePurgeProtection: true })['properties'] as Record<string, unknown>;
    expect(on['enablePurgeProtection']).toBe(true);
  });
});

describe('ArmStore', () => {
  it('validates a whole seed before changing anything, naming the field', () => {
    const store = new ArmStore(now);
    expect(() =>
      store.seed({
        batchAccounts: [{ resourceGroup: 'rg', name: 'acct' }],
        caches: [{ resourceGroup: 'rg', name: 'c', health: { state: 'Sleepy' as never } }],
      }),
    ).toThrow(/caches\[0\]\.health\.state/);
    expect(store.listAccounts('00000000-0000-4000-8000-000000000001')).toEqual([]);
    expect(() => store.seed({ vaults: [{ resourceGroup: 'rg', name: 'kv', vaultUri: 'x', softDeleteRetentionInDays: 3 }] })).toThrow(
      /vaults\[0\]\.vaultUri/,
    );
    expect(() => store.seed({ batchAccounts: [{ resourceGroup: 'r/g', name: 'a' }] })).toThrow(/batchAccounts\[0\]\.resourceGroup/);
  });

  it('knows resource groups from resources and explicit seeds, and round-trips a snapshot', () => {
    const store = new ArmStore(now);
    store.seed({
      resourceGroups: [{ name: 'empty', location: 'northeurope' }],
      batchAccounts: [{ resourceGroup: 'empty', name: 'acct' }],
      batchPools: [{ resourceGroup: 'empty', account: 'acct', name: 'p' }],
    });
    const sub = '00000000-0000-4000-8000-000000000001';
    expect(store.hasResourceGroup(sub, 'EMPTY')).toBe(true);
    expect(store.hasResourceGroup(sub, 'other')).toBe(false);
    expect(store.getAccount(sub, 'empty', 'acct')?.location).toBe('northeurope');
    const copy = new ArmStore(now);
    copy.seed(store.snapshot());
    expect(copy.snapshot()).toEqual(store.snapshot());
  });
});

describe('paginate', () => {
  const route = { op: 'x', provider: 'Microsoft.Batch' as const, segments: [], run: () => ({ kind: 'list' as const, items: [] }), maxResults: true };
  const items = [1, 2, 3, 4, 5];

  it('returns pages with a nextLink that keeps the query', () => {
    const first = paginate(items, new URL('https://h/p?api-version=v&maxresults=2'), route, 100);
    expect(first).toEqual({ body: { value: [1, 2], nextLink: 'https://h/p?api-version=v&maxresults=2&%24skiptoken=2' } });
    const last = paginate(items, new URL('https://h/p?api-version=v&maxresults=2&%24skiptoken=4'), route, 100);
    expect(last).toEqual({ body: { value: [5] } });
  });

  it('rejects bad paging parameters and unsupported queries', () => {
    expect(paginate(items, new URL('https://h/p?maxresults=0'), route, 100)).toMatchObject({ error: { code: 'InvalidQueryParameterValue' } });
    expect(paginate(items, new URL('https://h/p?%24skiptoken=x'), route, 100)).toMatchObject({ error: { code: 'InvalidSkipToken' } });
    expect(paginate(items, new URL('https://h/p?%24filter=a'), route, 100)).toMatchObject({ error: { code: 'InvalidQueryParameter' } });
  });
});
