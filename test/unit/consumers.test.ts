import { describe, expect, it } from 'vitest';
import { checkBatchPool, checkHpcCache, checkHpcPackNode, poolConsumes, type BatchPoolModel, type RotatedCertificate } from '../../src/core/consumers.js';

const now = new Date('2026-11-24T02:00:00Z');
const recheck = new Date('2026-11-24T03:00:00Z');
const cert: RotatedCertificate = {
  vaultUrl: 'https://hpc-kv.vault.azure.net/',
  name: 'batch-node-tls',
  newVersion: 'b'.repeat(32),
  newThumbprint: 'N'.repeat(40),
  oldThumbprints: ['O'.repeat(40)],
  versionCreatedAt: new Date('2026-11-24T01:30:00Z'),
};
const pool = (o: Partial<BatchPoolModel> & { urls?: string[]; polling?: number; msi?: string }): BatchPoolModel => ({
  id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct/pools/p1',
  account: 'acct',
  name: 'p1',
  identityClientIds: ['client-1'],
  keyVaultExtension: o.urls ? { type: 'KeyVaultForLinux', observedCertificates: o.urls, pollingIntervalSeconds: o.polling ?? 3600, msiClientId: o.msi ?? 'client-1' } : undefined,
  legacyCertificateThumbprints: [],
  ...o,
});

describe('Batch pools', () => {
  const versionless = 'https://hpc-kv.vault.azure.net/secrets/batch-node-tls';
  it('finds consumers by secret URL (any case) and by thumbprint', () => {
    expect(poolConsumes(pool({ urls: ['https://HPC-KV.vault.azure.net/secrets/Batch-Node-TLS'] }), cert)).toBe(true);
    expect(poolConsumes(pool({ urls: ['https://other.vault.azure.net/secrets/batch-node-tls'] }), cert)).toBe(false);
    expect(poolConsumes(pool({ legacyCertificateThumbprints: ['o'.repeat(40)] }), cert)).toBe(true);
    expect(poolConsumes(pool({}), cert)).toBe(false);
  });
  it('verifies a versionless URL only after the polling interval has passed', () => {
    expect(checkBatchPool(pool({ urls: [versionless], polling: 3600 }), cert, now, recheck)).toMatchObject({
      status: 'Pending',
      reason: 'AwaitingPollingInterval',
      nextCheckAt: new Date('2026-11-24T02:30:00Z'),
    });
    expect(checkBatchPool(pool({ urls: [versionless], polling: 600 }), cert, now, recheck)).toMatchObject({ status: 'Verified', reason: 'VersionlessUrlPolled' });
  });
  it('calls a versioned URL pinned to an old version stale and says the pool must be recreated', () => {
    const r = checkBatchPool(pool({ urls: [`${versionless}/${'a'.repeat(32)}`] }), cert, now, recheck);
    expect(r).toMatchObject({ status: 'Stale', reason: 'PinnedToOldVersion', observed: 'a'.repeat(32), expected: cert.newVersion });
    expect(r.detail).toContain('recreate the pool');
  });
  it('requires a user-assigned identity matching msiClientId', () => {
    expect(checkBatchPool(pool({ urls: [versionless], msi: 'someone-else' }), cert, now, recheck)).toMatchObject({ status: 'Misconfigured', reason: 'IdentityMismatch' });
    expect(checkBatchPool(pool({ urls: [versionless], identityClientIds: [] }), cert, now, recheck)).toMatchObject({ status: 'Misconfigured' });
  });
  it('calls legacy account certificates with an old thumbprint stale, with a migration hint', () => {
    const r = checkBatchPool(pool({ legacyCertificateThumbprints: ['O'.repeat(40)] }), cert, now, recheck);
    expect(r).toMatchObject({ status: 'Stale', reason: 'LegacyCertificateReference' });
    expect(r.detail).toMatch(/retired in February 2024.*Key Vault VM extension/);
  });
});

describe('HPC Pack nodes', () => {
  const node = { name: 'cn01', state: 'Online', health: 'OK', host: '10.0.0.4', port: 40002 };
  it.each([
    [{ kind: 'presented', thumbprint: 'n'.repeat(40) } as const, 'Verified'],
    [{ kind: 'presented', thumbprint: 'O'.repeat(40) } as const, 'Stale'],
    [{ kind: 'presented', thumbprint: 'X'.repeat(40) } as const, 'UnknownCertificate'],
    [{ kind: 'timeout' } as const, 'Unreachable'],
    [{ kind: 'failed', message: 'ECONNREFUSED' } as const, 'Unreachable'],
  ])('probe %j → %s (thumbprints compared case-insensitively)', (probe, status) => {
    expect(checkHpcPackNode('c1', node, probe, cert, now, recheck).status).toBe(status);
  });
  it('skips offline nodes', () => {
    expect(checkHpcPackNode('c1', { ...node, state: 'Offline' }, undefined, cert, now, recheck)).toMatchObject({ status: 'Skipped', reason: 'NodeOffline' });
  });
});

describe('HPC Cache', () => {
  const key = { vaultUrl: 'https://hpc-kv.vault.azure.net/', name: 'cmk', newVersion: 'new', keyType: 'RSA', keySize: 2048, enabled: true };
  const cache = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.StorageCache/caches/c1', name: 'c1', rotationToLatestKeyVersionEnabled: false, healthState: 'Healthy', healthDetail: '' };
  const ok = { softDeleteEnabled: true, purgeProtectionEnabled: true };
  it('verifies the new key version, waits for auto-rotation, or calls a pinned cache stale', () => {
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/new' }, key, ok, now, recheck).status).toBe('Verified');
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/old', rotationToLatestKeyVersionEnabled: true }, key, ok, now, recheck)).toMatchObject({
      status: 'Pending',
      reason: 'AwaitingAutoRotation',
    });
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/old' }, key, ok, now, recheck)).toMatchObject({ status: 'Stale', reason: 'PinnedToOldKeyVersion', observed: 'old' });
  });
  it('counts a cache that already moved on to a later key version as verified, not stale', () => {
    const later = { ...key, laterVersions: ['newer'] };
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/newer', rotationToLatestKeyVersionEnabled: true }, later, ok, now, recheck)).toMatchObject({
      status: 'Verified',
      reason: 'UsesLaterKeyVersion',
      observed: 'newer',
    });
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/newer' }, key, ok, now, recheck).status).toBe('Stale');
  });
  it('reports WaitingForKey and the vault prerequisites of seed 002', () => {
    expect(checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/new', healthState: 'WaitingForKey' }, key, ok, now, recheck).reason).toBe('WaitingForKey');
    const r = checkHpcCache({ ...cache, keyUrl: 'https://hpc-kv.vault.azure.net/keys/cmk/new' }, { ...key, keySize: 3072 }, { softDeleteEnabled: true, purgeProtectionEnabled: false }, now, recheck);
    expect(r).toMatchObject({ status: 'Misconfigured', reason: 'CustomerManagedKeyPrerequisites' });
    expect(r.detail).toContain('purge protection is disabled');
    expect(r.detail).toContain('key size is 3072; HPC Cache needs 2048');
  });
});
