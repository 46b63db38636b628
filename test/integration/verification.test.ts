/**
 * Consumer verification through the real clients on the local stack: BatchManagementClient, StorageCacheManagement-
 * Client and KeyVaultManagementClient against the ARM endpoint, HTTPS + Basic auth against the HPC Pack head node,
 * and real TLS handshakes with each node. Every consumer state, convergence and its deadline, and faults of every
 * consumer endpoint (recorded, retried later, never crashing the run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import type { AuditRecord } from '../../src/core/audit.js';
import { runWorkItem } from '../../src/core/rotor.js';
import { armEmulator, DEFAULT_SUBSCRIPTION_ID, vaultId, type ArmEmulator } from '../../src/local/arm/index.js';
import { createHpcPackCertificate, hpcPackEmulator, type HpcPackEmulator } from '../../src/local/hpcpack/index.js';
import { quietLogger, startTestEnv, type TestEnv } from '../support/local.js';

const RG = 'hpc-rg';
const MSI = '6b2c7d2e-4f1a-4c59-9c1e-3d7a5a2f0b11';
const HOUR = 3_600_000;
let t: TestEnv;
let arm: ArmEmulator;
let hpc: HpcPackEmulator;
let offset = 0;
const clock = { now: () => new Date(Date.now() + offset) };
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };

const armId = (provider: string, name: string) => `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/${provider}/${name}`;

async function services(extra: Record<string, unknown> = {}): Promise<AppServices> {
  return t.services(
    {
      vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }],
      rotation: { pollIntervalSeconds: 0.05 },
      consumers: {
        batch: [{ accountId: armId('Microsoft.Batch/batchAccounts', 'acct') }],
        hpcPack: [
          {
            name: 'c1',
            certificate: { vault: 'hpc-kv', name: 'cluster-cert' },
            headNode: { url: hpc.headNodeUrl('c1'), credentials: { vault: 'hpc-kv', name: 'head-node-login' } },
            nodes: ['n1', 'n2', 'n3', 'n4', 'n5'].map((name) => ({ name, ...hpc.nodeAddress('c1', name) })),
            probeTimeoutMs: 500,
          },
        ],
        hpcCache: ['cache-follow', 'cache-pinned', 'cache-waiting'].map((n) => ({ cacheId: armId('Microsoft.StorageCache/caches', n) })),
      },
      verification: { deadlineHours: 24, recheckMinutes: 30 },
      ...extra,
    },
    { clock, transport: { requestTimeoutMs: 5000, maxRetries: 1 } },
  );
}

const rotate = async (s: AppServices, type: 'certificate' | 'key', name: string) =>
  runWorkItem({ kind: 'object', vault: 'hpc-kv', objectType: type, objectName: name, runId: `r-${name}-${offset}`, trigger: 'manual' }, s, delivery, quietLogger);

const verifyItem = (name: string, rotationId: string | undefined, objectType: 'certificate' | 'key' = 'certificate') =>
  ({ kind: 'verify', vault: 'hpc-kv', objectType, objectName: name, rotationId: rotationId ?? '', runId: `r-verify-${offset}`, trigger: 'timer' }) as const;

const consumers = async (s: AppServices, type: 'certificate' | 'key', name: string) => {
  const state = (await s.states.get('hpc-kv', type, name))!.value;
  const rows = await s.consumerResults!.list(state.rotationId!);
  return { state, rows, byLabel: Object.fromEntries(rows.map((c) => [c.label, `${c.status}:${c.reason}`])) };
};

beforeAll(async () => {
  t = await startTestEnv({
    keyVault: {
      vaults: ['hpc-kv'],
      pendingDelayMs: 50,
      seed: {
        vaults: {
          'hpc-kv': {
            certificates: [
              { name: 'pool-cert', notBefore: '-355d', expires: '+10d' },
              { name: 'cluster-cert', notBefore: '-355d', expires: '+10d', keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'] },
            ],
            keys: [
              { name: 'cache-key', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' },
              { name: 'pinned-key', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' },
              { name: 'waiting-key', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' },
            ],
            secrets: [{ name: 'head-node-login', value: JSON.stringify({ username: 'hpcadmin', password: 'Demo-Passw0rd!' }), notBefore: '-1d', expires: '+300d' }],
          },
        },
      },
    },
    services: {
      arm: (ctx, peers) =>
        armEmulator({
          cacheKeyRotation: {
            latestKeyVersion: async (url) => {
              const kv = peers.get('keyvault') as TestEnv['stack']['keyVault'];
              return kv.latestVersion('hpc-kv', 'key', new URL(url).pathname.split('/')[2] ?? '');
            },
            delayMs: 0,
          },
        })(ctx, peers),
      hpcpack: hpcPackEmulator(),
    },
  });
  arm = t.stack.services.get('arm') as ArmEmulator;
  hpc = t.stack.services.get('hpcpack') as HpcPackEmulator;
  const kv = t.stack.keyVault;
  const vaultUrl = t.vaultUrl('hpc-kv');
  const pool = kv.certificatePem('hpc-kv', 'pool-cert');
  const { createHash, X509Certificate } = await import('node:crypto');
  const thumb = createHash('sha1').update(new X509Certificate(pool.certPem).raw).digest('hex');
  const ext = (url: string, msiClientId = MSI, pollingIntervalInS = 60) => ({ kind: 'keyVault' as const, observedCertificates: [{ url }], pollingIntervalInS, msiClientId });
  const key = (name: string) => ({ keyUrl: `${vaultUrl}keys/${name}/${kv.latestVersion('hpc-kv', 'key', name)}`, sourceVaultId: vaultId(DEFAULT_SUBSCRIPTION_ID, RG, 'hpc-kv') });
  const identities = [{ name: 'id-nodes', clientId: MSI }];
  arm.seed({
    batchAccounts: [{ resourceGroup: RG, name: 'acct' }],
    batchPools: [
      { resourceGroup: RG, account: 'acct', name: 'versionless', os: 'linux', identities, extensions: [ext(`${vaultUrl}secrets/pool-cert`)] },
      { resourceGroup: RG, account: 'acct', name: 'pinned', os: 'windows', identities, extensions: [ext(`${vaultUrl}secrets/pool-cert/${pool.version}`)] },
      { resourceGroup: RG, account: 'acct', name: 'legacy', os: 'windows', certificates: [{ thumbprint: thumb }] },
      { resourceGroup: RG, account: 'acct', name: 'wrong-identity', os: 'linux', identities, extensions: [ext(`${vaultUrl}secrets/pool-cert`, '11111111-2222-4333-8444-555555555555')] },
      { resourceGroup: RG, account: 'acct', name: 'unrelated', os: 'linux', identities, extensions: [ext(`${vaultUrl}secrets/other-cert`)] },
    ],
    caches: [
      { resourceGroup: RG, name: 'cache-follow', keyEncryptionKey: key('cache-key'), rotationToLatestKeyVersionEnabled: true },
      { resourceGroup: RG, name: 'cache-pinned', keyEncryptionKey: key('pinned-key'), rotationToLatestKeyVersionEnabled: false },
      { resourceGroup: RG, name: 'cache-waiting', keyEncryptionKey: key('waiting-key'), rotationToLatestKeyVersionEnabled: true, health: { state: 'WaitingForKey' } },
    ],
    vaults: [{ resourceGroup: RG, name: 'hpc-kv', vaultUri: vaultUrl, enablePurgeProtection: true }],
  });
  const cluster = kv.certificatePem('hpc-kv', 'cluster-cert');
  const stranger = await createHpcPackCertificate({ notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + 86_400_000) });
  const current = { certPem: cluster.certPem, keyPem: cluster.keyPem };
  await hpc.addCluster({
    name: 'c1',
    username: 'hpcadmin',
    password: 'Demo-Passw0rd!',
    nodes: [
      { name: 'n1', certificate: current },
      { name: 'n2', certificate: current },
      { name: 'n3', certificate: { certPem: stranger.certPem, keyPem: stranger.keyPem } },
      { name: 'n4', certificate: current, reachability: 'stall' },
      { name: 'n5', certificate: current, state: 'Offline', health: 'Error' },
    ],
  });
  // n1 installs every new version of the cluster certificate as soon as it exists.
  kv.subscribe({
    kind: 'callback',
    deliver: (e) => {
      if (e.eventType !== 'Microsoft.KeyVault.CertificateNewVersionCreated' || e.data.ObjectName !== 'cluster-cert') return;
      const pem = kv.certificatePem('hpc-kv', 'cluster-cert', e.data.Version);
      hpc.setNodeCertificate('c1', 'n1', { certPem: pem.certPem, keyPem: pem.keyPem });
    },
  });
});

afterAll(async () => {
  await t?.stop();
});

describe('verifying consumers after a rotation', () => {
  it('reports each Batch pool: versionless pending then verified, pinned and legacy stale, wrong identity misconfigured', async () => {
    const s = await services();
    expect(await rotate(s, 'certificate', 'pool-cert')).toMatchObject({ result: { outcome: 'Verifying' } });
    const first = await consumers(s, 'certificate', 'pool-cert');
    expect(first.byLabel).toEqual({
      'Batch pool acct/versionless': 'Pending:AwaitingPollingInterval',
      'Batch pool acct/pinned': 'Stale:PinnedToOldVersion',
      'Batch pool acct/legacy': 'Stale:LegacyCertificateReference',
      'Batch pool acct/wrong-identity': 'Misconfigured:IdentityMismatch',
    });
    const rows = await t.auditRows();
    const pinned = rows.find((r) => r.consumer.startsWith('Batch pool acct/pinned'))!;
    expect(pinned).toMatchObject({ action: 'ConsumerStale', expected: first.state.toVersion, observed: first.state.fromVersion });
    expect(pinned.detail).toContain('recreate the pool');
    expect(rows.find((r) => r.consumer.startsWith('Batch pool acct/legacy'))?.detail).toContain('retired in February 2024');

    offset += 31 * 60_000; // past the pool's 60 s polling interval and the 30-minute re-check: the delayed message runs
    const s2 = await services();
    await runWorkItem(verifyItem('pool-cert', first.state.rotationId), s2, delivery, quietLogger);
    const second = await consumers(s2, 'certificate', 'pool-cert');
    expect(second.byLabel['Batch pool acct/versionless']).toBe('Verified:VersionlessUrlPolled');
    expect(second.state.status).toBe('Verifying');
  });

  it('probes every HPC Pack node over TLS: verified, stale, unknown certificate, unreachable, offline skipped', async () => {
    const s = await services();
    await rotate(s, 'certificate', 'cluster-cert');
    const { byLabel, state } = await consumers(s, 'certificate', 'cluster-cert');
    expect(byLabel).toEqual({
      'HPC Pack node c1/n1': 'Verified:PresentsNewCertificate',
      'HPC Pack node c1/n2': 'Stale:PresentsOldCertificate',
      'HPC Pack node c1/n3': 'UnknownCertificate:PresentsUnknownCertificate',
      'HPC Pack node c1/n4': 'Unreachable:Timeout',
      'HPC Pack node c1/n5': 'Skipped:NodeOffline',
    });
    expect(state.status).toBe('Verifying');
    const n2 = (await t.auditRows()).find((r) => r.consumer.startsWith('HPC Pack node c1/n2'))!;
    expect(n2).toMatchObject({ action: 'ConsumerStale', expected: state.toThumbprint, observed: state.fromThumbprint });
  });

  it('converges once every node presents the new certificate, then (only then) disables the previous version', async () => {
    const kv = t.stack.keyVault;
    const now = kv.certificatePem('hpc-kv', 'cluster-cert');
    for (const n of ['n2', 'n3']) hpc.setNodeCertificate('c1', n, { certPem: now.certPem, keyPem: now.keyPem });
    await hpc.setNodeReachability('c1', 'n4', 'tls');
    hpc.setNodeCertificate('c1', 'n4', { certPem: now.certPem, keyPem: now.keyPem });
    offset += HOUR;
    // The offline node still blocks convergence: it has not been checked.
    const waiting = await services();
    const pending = (await waiting.states.get('hpc-kv', 'certificate', 'cluster-cert'))!.value;
    await runWorkItem(verifyItem('cluster-cert', pending.rotationId), waiting, delivery, quietLogger);
    const stillWaiting = await consumers(waiting, 'certificate', 'cluster-cert');
    expect(stillWaiting.state.status).toBe('Verifying');
    expect(stillWaiting.byLabel['HPC Pack node c1/n5']).toBe('Skipped:NodeOffline');
    // Back online with the new certificate.
    hpc.updateNode('c1', 'n5', { state: 'Online', health: 'OK' });
    hpc.setNodeCertificate('c1', 'n5', { certPem: now.certPem, keyPem: now.keyPem });
    offset += HOUR;
    const s = await services({ verification: { deadlineHours: 24, recheckMinutes: 30, disablePreviousVersion: true } });
    const before = (await s.states.get('hpc-kv', 'certificate', 'cluster-cert'))!.value;
    const previous = await t.clients('hpc-kv').certificates.getCertificateVersion('cluster-cert', before.fromVersion!);
    expect(previous.properties.enabled).toBe(true);
    await runWorkItem(verifyItem('cluster-cert', before.rotationId), s, delivery, quietLogger);
    const after = await consumers(s, 'certificate', 'cluster-cert');
    expect(after.state.status).toBe('Completed');
    expect(Object.values(after.byLabel).filter((v) => v.startsWith('Verified'))).toHaveLength(5);
    expect((await t.clients('hpc-kv').certificates.getCertificateVersion('cluster-cert', before.fromVersion!)).properties.enabled).toBe(false);
    const rows = (await t.auditRows()).filter((r) => r.objectName === 'cluster-cert');
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['RotationCompleted', 'PreviousVersionDisabled']));
    expect(rows.find((r) => r.action === 'RotationCompleted')?.detail).toContain('5 of 5 consumers verified');
  });

  it('fails at the deadline listing the stale pools, and the previous version stays enabled', async () => {
    offset += 25 * HOUR;
    const s = await services();
    await runWorkItem(verifyItem('pool-cert', (await consumers(s, 'certificate', 'pool-cert')).state.rotationId), s, delivery, quietLogger);
    const { state } = await consumers(s, 'certificate', 'pool-cert');
    expect(state.status).toBe('Failed');
    const failed = (await t.auditRows()).filter((r) => r.objectName === 'pool-cert' && r.action === 'RotationFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.detail).toMatch(/did not converge.*acct\/legacy: Stale.*acct\/pinned: Stale.*acct\/wrong-identity: Misconfigured/);
    expect((await t.clients('hpc-kv').certificates.getCertificateVersion('pool-cert', state.fromVersion!)).properties.enabled).toBe(true);
  });

  it('checks HPC Cache key versions, automatic rotation, WaitingForKey and the vault prerequisites', async () => {
    const s = await services();
    for (const key of ['cache-key', 'pinned-key', 'waiting-key']) await rotate(s, 'key', key);
    const pending = await consumers(s, 'key', 'cache-key');
    expect(pending.byLabel).toEqual({ 'HPC Cache cache-follow': 'Pending:AwaitingAutoRotation' });
    // The cache's automatic rotation picks the new version up; the next check verifies it.
    await arm.checkKeyRotation();
    offset += HOUR;
    await runWorkItem(verifyItem('cache-key', pending.state.rotationId, 'key'), await services(), delivery, quietLogger);
    const followed = await consumers(s, 'key', 'cache-key');
    expect(followed.state.status).toBe('Completed');
    expect(followed.byLabel).toEqual({ 'HPC Cache cache-follow': 'Verified:UsesNewKeyVersion' });
    expect((await consumers(s, 'key', 'pinned-key')).byLabel).toEqual({ 'HPC Cache cache-pinned': 'Stale:PinnedToOldKeyVersion' });
    expect((await consumers(s, 'key', 'waiting-key')).byLabel).toEqual({ 'HPC Cache cache-waiting': 'Misconfigured:WaitingForKey' });
    const completed = (await t.auditRows()).find((r) => r.objectName === 'cache-key' && r.action === 'ConsumerVerified')!;
    expect(completed.observed).toBe(t.stack.keyVault.latestVersion('hpc-kv', 'key', 'cache-key'));
    // Seed 002's vault prerequisites, read through KeyVaultManagementClient: purge protection switched off is reported.
    arm.updateVault({ resourceGroup: RG, name: 'hpc-kv' }, { enablePurgeProtection: false });
    await runWorkItem(verifyItem('pinned-key', (await consumers(s, 'key', 'pinned-key')).state.rotationId, 'key'), await services(), delivery, quietLogger);
    const prerequisites = (await consumers(s, 'key', 'pinned-key')).rows;
    expect(prerequisites[0]).toMatchObject({ status: 'Misconfigured', reason: 'CustomerManagedKeyPrerequisites', checks: 2 });
    expect(prerequisites[0]?.detail).toContain('purge protection is disabled on the key vault');
  });
});

describe('versions created outside Rotor', () => {
  it('verifies the pools of a certificate version someone else created, when its NewVersionCreated event arrives', async () => {
    const kv = t.stack.keyVault;
    await kv.seed({ vaults: { 'hpc-kv': { certificates: [{ name: 'outside-cert', notBefore: '-10d', expires: '+355d' }] } } });
    const before = kv.latestVersion('hpc-kv', 'certificate', 'outside-cert')!;
    const vaultUrl = t.vaultUrl('hpc-kv');
    const ext = { kind: 'keyVault' as const, observedCertificates: [{ url: `${vaultUrl}secrets/outside-cert` }], pollingIntervalInS: 60, msiClientId: MSI };
    arm.seed({ batchPools: [{ resourceGroup: RG, account: 'acct', name: 'outside-pool', os: 'linux', identities: [{ name: 'id-nodes', clientId: MSI }], extensions: [ext] }] });
    // Someone renews the certificate in the portal.
    const certificates = t.clients('hpc-kv').certificates;
    const poller = await certificates.beginCreateCertificate('outside-cert', await certificates.getCertificatePolicy('outside-cert'), { intervalInMs: 50 });
    const created = await poller.pollUntilDone();
    const s = await services();
    const event = { kind: 'object', vault: 'hpc-kv', objectType: 'certificate', objectName: 'outside-cert', runId: 'eventgrid-outside', trigger: 'eventgrid', hint: 'Microsoft.KeyVault.CertificateNewVersionCreated' } as const;
    await runWorkItem(event, s, delivery, quietLogger);
    const { state, byLabel } = await consumers(s, 'certificate', 'outside-cert');
    expect(state).toMatchObject({ status: 'Verifying', reason: 'CreatedOutsideRotor', fromVersion: before, toVersion: created.properties.version, trigger: 'eventgrid' });
    expect(byLabel).toEqual({ 'Batch pool acct/outside-pool': 'Pending:AwaitingPollingInterval' });
    const rows = (await t.auditRows()).filter((r) => r.objectName === 'outside-cert');
    expect(rows.map((r) => r.action)).toEqual(['NewVersionObserved', 'ConsumerPending', 'VerificationChecked']);
    expect(kv.latestVersion('hpc-kv', 'certificate', 'outside-cert')).toBe(created.properties.version); // Rotor created nothing
  });
});

describe('faults of the consumer endpoints', () => {
  const rows = async (since: Date, name: string): Promise<AuditRecord[]> => (await t.auditRows(since)).filter((r) => r.objectName === name);

  it('records ARM 5xx and a hanging head node as unreachable, keeps verifying, and recovers on the next check', async () => {
    await t.stack.keyVault.seed({ vaults: { 'hpc-kv': { certificates: [{ name: 'cluster-cert-2', notBefore: '-355d', expires: '+10d' }] } } });
    const since = new Date();
    arm.setFaults('Microsoft.Batch', { serverErrorShare: 1, seed: 7 });
    hpc.setFaults('c1', { hang: true });
    const s = await services({
      consumers: {
        batch: [{ accountId: armId('Microsoft.Batch/batchAccounts', 'acct') }],
        hpcPack: [
          {
            name: 'c1',
            certificate: { vault: 'hpc-kv', name: 'cluster-cert-2' },
            headNode: { url: hpc.headNodeUrl('c1'), credentials: { vault: 'hpc-kv', name: 'head-node-login' } },
            nodes: ['n1', 'n2', 'n3', 'n4', 'n5'].map((name) => ({ name, ...hpc.nodeAddress('c1', name) })),
            probeTimeoutMs: 500,
          },
        ],
        hpcCache: [],
      },
    });
    try {
      expect(await rotate(s, 'certificate', 'cluster-cert-2')).toMatchObject({ result: { outcome: 'Verifying' } });
    } finally {
      arm.clearFaults('Microsoft.Batch');
      hpc.clearFaults('c1');
    }
    const found = await rows(since, 'cluster-cert-2');
    expect(found.filter((r) => r.action === 'ConsumerUnreachable').map((r) => r.consumer)).toEqual([
      expect.stringContaining('Batch accounts'),
      expect.stringContaining('HPC Pack cluster c1 (head node)'),
    ]);
    expect(found.filter((r) => r.action === 'RotationFailed')).toEqual([]);

    // The endpoints are back: the next check reads the pools and the head node's nodes again.
    offset += HOUR;
    const state = (await s.states.get('hpc-kv', 'certificate', 'cluster-cert-2'))!.value;
    const item = verifyItem('cluster-cert-2', state.rotationId);
    await runWorkItem(item, s, delivery, quietLogger);
    const again = (await rows(since, 'cluster-cert-2')).filter((r) => r.runId === item.runId);
    expect(again.length).toBeGreaterThan(0);
    expect(again.filter((r) => r.action === 'ConsumerUnreachable' && !r.consumer.includes('/n4'))).toEqual([]);
    expect(again.map((r) => r.consumer)).toEqual(expect.arrayContaining([expect.stringContaining('HPC Pack node c1/n1')]));
  });

  it('records an HPC Cache endpoint answering 5xx as unreachable, keeps verifying, and verifies on the next check', async () => {
    const kv = t.stack.keyVault;
    await kv.seed({ vaults: { 'hpc-kv': { keys: [{ name: 'cache-key-2', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' }] } } });
    const keyUrl = `${t.vaultUrl('hpc-kv')}keys/cache-key-2/${kv.latestVersion('hpc-kv', 'key', 'cache-key-2')}`;
    arm.updateVault({ resourceGroup: RG, name: 'hpc-kv' }, { enablePurgeProtection: true }); // an earlier test turned it off
    arm.seed({ caches: [{ resourceGroup: RG, name: 'cache-faulty', keyEncryptionKey: { keyUrl, sourceVaultId: vaultId(DEFAULT_SUBSCRIPTION_ID, RG, 'hpc-kv') }, rotationToLatestKeyVersionEnabled: true }] });
    const since = new Date();
    arm.setFaults('Microsoft.StorageCache', { serverErrorShare: 1, serverErrorStatus: 503, seed: 3 });
    const s = await services({ consumers: { batch: [], hpcPack: [], hpcCache: [{ cacheId: armId('Microsoft.StorageCache/caches', 'cache-faulty') }] } });
    try {
      expect(await rotate(s, 'key', 'cache-key-2')).toMatchObject({ result: { outcome: 'Verifying' } });
    } finally {
      arm.clearFaults('Microsoft.StorageCache');
    }
    const found = await rows(since, 'cache-key-2');
    // The caches are listed in one call: the failure is reported for the list.
    expect(found.filter((r) => r.action === 'ConsumerUnreachable').map((r) => r.consumer)).toEqual([expect.stringContaining('HPC Caches')]);
    expect(found.filter((r) => r.action === 'RotationFailed')).toEqual([]);

    await arm.checkKeyRotation(); // the cache follows the latest key version
    offset += HOUR;
    const state = (await s.states.get('hpc-kv', 'key', 'cache-key-2'))!.value;
    await runWorkItem(verifyItem('cache-key-2', state.rotationId, 'key'), s, delivery, quietLogger);
    const after = await consumers(s, 'key', 'cache-key-2');
    expect(after.byLabel).toEqual({ 'HPC Cache cache-faulty': 'Verified:UsesNewKeyVersion' });
    expect(after.state.status).toBe('Completed');
  });
});
