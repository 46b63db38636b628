import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/ports.js';
import { seededRandom } from '../../src/core/generators.js';
import { VaultPacer } from '../../src/core/pacing.js';
import { runWorkItem } from '../../src/core/rotor.js';
import { processObject, processVault } from '../../src/core/scan.js';
import { CONSUMER_COUNT_KEYS, type ConsumerCounts } from '../../src/core/state.js';
import { baseConfig, DAY, harness, silentLogger, type Harness } from '../support/fakes.js';

const emptyCounts = (): ConsumerCounts => Object.fromEntries(CONSUMER_COUNT_KEYS.map((k) => [k, 0])) as unknown as ConsumerCounts;

const settle = () => new Promise((r) => setTimeout(r, 5));

function estate(h: Harness) {
  const now = h.clock.now().getTime();
  const d = (n: number) => new Date(now + n * DAY);
  h.vault.add('certificate', 'hpc-node-comm', {
    notBefore: d(-355),
    expiresOn: d(10),
    tags: { 'rotor-profile': 'hpc-pack' },
    policy: { keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'], enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'] },
  });
  h.vault.add('certificate', 'healthy', { notBefore: d(-10), expiresOn: d(355) });
  h.vault.add('key', 'cache-cmk', { notBefore: d(-350), expiresOn: d(15), tags: { 'rotor-profile': 'hpc-cache' } });
  h.vault.add('secret', 'batch-admin', { notBefore: d(-85), expiresOn: d(5), tags: { 'rotor-secret-kind': 'batch-password' } });
}

describe('rotation state machine', () => {
  it('rotates each due type once, audits every step, leaves the previous version enabled', async () => {
    const h = harness();
    estate(h);
    const summary = await processVault(h.ctx());
    expect(summary.outcomes).toMatchObject({ Rotated: 3 });
    expect(summary.notDue).toBe(1);
    for (const [type, name] of [['certificate', 'hpc-node-comm'], ['key', 'cache-cmk'], ['secret', 'batch-admin']] as const) {
      expect(h.vault.versionCount(type, name)).toBe(2);
      expect(h.audit.actions(name)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
      expect(h.vault.objects.get(`${type}/${name}`)!.versions[0]!.enabled).toBe(true);
      expect(h.states.value('hpc-kv', type, name)?.status).toBe('Completed');
    }
    const created = h.audit.rows.find((r) => r.action === 'VersionCreated' && r.objectName === 'hpc-node-comm')!;
    expect(created.previousThumbprint).toMatch(/^THUMB/);
    expect(created.thumbprint).not.toBe(created.previousThumbprint);
    expect(created.secretId).toMatch(/\/secrets\/hpc-node-comm\//);
    expect(h.audit.rows.at(-1)).toMatchObject({ action: 'ScanCompleted', outcome: 'Succeeded' });
  });

  it('never writes a secret value into the audit log', async () => {
    const h = harness();
    estate(h);
    await processVault(h.ctx());
    expect(h.vault.secretValues).toHaveLength(1);
    const log = JSON.stringify(h.audit.rows);
    for (const value of h.vault.secretValues) expect(log).not.toContain(value);
  });

  it('a second run finds nothing due', async () => {
    const h = harness();
    estate(h);
    await processVault(h.ctx());
    const before = h.audit.rows.length;
    const summary = await processVault(h.ctx());
    expect(summary.outcomes).toEqual({});
    expect(h.audit.rows.slice(before).map((r) => r.action)).toEqual(['ScanCompleted']);
  });

  it('fails closed: no version is created when the RotationStarted row cannot be written', async () => {
    const h = harness();
    estate(h);
    h.audit.failNextFlushes = 1;
    const result = await processObject('key', 'cache-cmk', undefined, h.ctx());
    expect(result.outcome).toBe('Failed');
    expect(h.vault.versionCount('key', 'cache-cmk')).toBe(1);
    expect(h.vault.calls).not.toContain('createKeyVersion');
    expect(h.states.value('hpc-kv', 'key', 'cache-cmk')).toMatchObject({ status: 'Failed', lastError: expect.stringContaining('audit log unavailable') });
  });

  it('refuses an HPC Pack certificate whose policy lacks the required usages, before creating anything', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('certificate', 'bad-hpc', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 5 * DAY), tags: { 'rotor-profile': 'hpc-pack' } });
    const result = await processObject('certificate', 'bad-hpc', undefined, h.ctx());
    expect(result.outcome).toBe('PolicyViolation');
    expect(h.vault.calls).not.toContain('startCertificateVersion');
    const row = h.audit.rows.find((r) => r.action === 'PolicyViolation')!;
    expect(row.reason).toBe('HpcPackCertificateRequirements');
    expect(row.detail).toContain('key usage lacks keyAgreement, keyCertSign');
    // Reported once per version, not every night.
    await processObject('certificate', 'bad-hpc', undefined, h.ctx());
    expect(h.audit.rows.filter((r) => r.action === 'PolicyViolation')).toHaveLength(1);
  });

  it('hands unknown-issuer certificates and secrets without a generator to a person', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('certificate', 'public-web', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 5 * DAY), policy: { issuerName: 'Unknown' } });
    h.vault.add('secret', 'mystery', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 5 * DAY) });
    await processVault(h.ctx());
    expect(h.audit.rows.filter((r) => r.action === 'ManualActionRequired').map((r) => [r.objectName, r.reason])).toEqual(
      expect.arrayContaining([
        ['public-web', 'IssuerNotAutoRenewable'],
        ['mystery', 'NoSecretGenerator'],
      ]),
    );
    expect(h.vault.versionCount('certificate', 'public-web')).toBe(1);
  });

  it('retries failures with exponential backoff, then needs a person', async () => {
    const h = harness(baseConfig({ rotation: { maxAttempts: 2, retryBaseMinutes: 10 } }));
    estate(h);
    h.vault.failures.set('createKeyVersion', new GatewayError('Unavailable', 'service unavailable', 503));
    expect((await processObject('key', 'cache-cmk', undefined, h.ctx())).outcome).toBe('Failed');
    expect(h.states.value('hpc-kv', 'key', 'cache-cmk')?.nextAttemptAt?.getTime()).toBe(h.clock.now().getTime() + 10 * 60_000);
    expect((await processObject('key', 'cache-cmk', undefined, h.ctx())).outcome).toBe('WaitingForRetry');
    h.clock.advance(11 * 60_000);
    expect((await processObject('key', 'cache-cmk', undefined, h.ctx())).outcome).toBe('Failed');
    expect(h.audit.rows.filter((r) => r.objectName === 'cache-cmk').map((r) => r.action)).toEqual([
      'Detected', 'RotationStarted', 'RotationFailed', 'Detected', 'RotationStarted', 'RotationFailed', 'ManualActionRequired',
    ]);
    expect((await processObject('key', 'cache-cmk', undefined, h.ctx())).outcome).toBe('AlreadyReported');
    h.vault.failures.clear();
  });

  it('tags every version it creates with its rotation id, in the create request, keeping the other tags', async () => {
    const h = harness();
    estate(h);
    await processVault(h.ctx());
    for (const [type, name] of [['certificate', 'hpc-node-comm'], ['key', 'cache-cmk'], ['secret', 'batch-admin']] as const) {
      const rotationId = h.states.value('hpc-kv', type, name)?.rotationId;
      expect(rotationId).toBeTruthy();
      expect(h.vault.current(type, name)?.tags).toMatchObject({ 'rotor-rotation-id': rotationId });
      expect(h.vault.objects.get(`${type}/${name}`)!.versions[0]!.tags['rotor-rotation-id']).toBeUndefined();
    }
    expect(h.vault.current('key', 'cache-cmk')).toMatchObject({ keyType: 'RSA', keySize: 2048, tags: { 'rotor-profile': 'hpc-cache' } });
    expect(h.vault.calls).not.toContain('rotateKey'); // rotateKey takes no tags
  });

  it('audits externally rotated secrets without writing them', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('secret', 'nexus-bmc', { createdOn: new Date(now - 45 * DAY), tags: { 'rotor-secret-kind': 'nexus-credential' } });
    await processVault(h.ctx());
    expect(h.audit.actions('nexus-bmc')).toEqual(['ExternalRotationObserved', 'ExternalRotationStale']);
    // Nexus delivers a new version: observed and audited, not written by Rotor.
    h.vault.add('secret', 'nexus-bmc', { createdOn: h.clock.now(), tags: { 'rotor-secret-kind': 'nexus-credential' } });
    await processObject('secret', 'nexus-bmc', 'Microsoft.KeyVault.SecretNewVersionCreated', h.ctx());
    expect(h.audit.actions('nexus-bmc')).toEqual(['ExternalRotationObserved', 'ExternalRotationStale', 'ExternalRotationObserved']);
    expect(h.vault.calls).not.toContain('setSecretVersion');
  });
});

describe('crash and redelivery', () => {
  type Crash = (h: Harness) => void;
  const crashes: Record<string, Crash> = {
    'after the claim, before the audit row': (h) => (h.audit.hangOnFlush = (p) => p.some((r) => r.action === 'RotationStarted')),
    'after the RotationStarted row, before creating': (h) => h.vault.hangBefore.add('createKeyVersion'),
    'after creating, before recording it': (h) => h.vault.hangAfter.add('createKeyVersion'),
    'after recording VersionCreated, before completing': (h) => (h.audit.hangOnFlush = (p) => p.some((r) => r.action === 'RotationCompleted')),
    'while writing the Completed state': (h) => (h.states.hangOnPut = (s) => s.status === 'Completed'),
  };

  for (const [step, crash] of Object.entries(crashes)) {
    it(`resumes a key rotation interrupted ${step} without a second version`, async () => {
      const h = harness();
      estate(h);
      crash(h);
      void processObject('key', 'cache-cmk', undefined, h.ctx()); // the "process" dies here
      await settle();
      h.audit.crash();
      h.states.hangOnPut = undefined;
      h.vault.hangBefore.clear();
      h.vault.hangAfter.clear();
      // Redelivery while the lease holds: left alone.
      expect((await processObject('key', 'cache-cmk', undefined, h.ctx())).outcome).toMatch(/InProgressElsewhere|NotDue/);
      h.clock.advance(11 * 60_000);
      await processVault(h.ctx());
      expect(h.vault.versionCount('key', 'cache-cmk')).toBe(2);
      expect(h.states.value('hpc-kv', 'key', 'cache-cmk')?.status).toBe('Completed');
      const actions = h.audit.actions('cache-cmk');
      expect(actions.filter((a) => a === 'VersionCreated')).toHaveLength(1);
      expect(actions.filter((a) => a === 'RotationCompleted')).toHaveLength(1);
      expect(actions).toContain('RotationStarted');
    });
  }

  it('resumes a certificate rotation interrupted while pending by waiting for the same operation', async () => {
    const h = harness(baseConfig({ rotation: { pollIntervalSeconds: 1, certificateTimeoutMinutes: 60 } }));
    estate(h);
    h.vault.pendingPolls = 3;
    h.vault.hangAfter.add('startCertificateVersion');
    void processObject('certificate', 'hpc-node-comm', undefined, h.ctx());
    await settle();
    h.audit.crash();
    h.vault.hangAfter.clear();
    h.clock.advance(30 * 60_000);
    await processVault(h.ctx());
    expect(h.vault.calls.filter((c) => c === 'startCertificateVersion')).toHaveLength(1);
    expect(h.vault.versionCount('certificate', 'hpc-node-comm')).toBe(2);
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Completed');
  });

  it('a pending certificate version (disabled, no thumbprint) is never adopted: the resume waits for the operation', async () => {
    const h = harness(baseConfig({ rotation: { pollIntervalSeconds: 1, certificateTimeoutMinutes: 60 } }));
    estate(h);
    h.vault.pendingVisible = true;
    h.vault.pendingPolls = 3;
    h.vault.hangAfter.add('startCertificateVersion'); // dies with the create accepted and pending
    void processObject('certificate', 'hpc-node-comm', undefined, h.ctx());
    await settle();
    h.audit.crash();
    h.vault.hangAfter.clear();
    expect(h.vault.current('certificate', 'hpc-node-comm')).toMatchObject({ enabled: false, thumbprint: undefined });
    h.clock.advance(30 * 60_000);
    await processVault(h.ctx());
    expect(h.vault.calls.filter((c) => c === 'startCertificateVersion')).toHaveLength(1);
    expect(h.vault.versionCount('certificate', 'hpc-node-comm')).toBe(2);
    const state = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!;
    expect(state).toMatchObject({ status: 'Completed', toVersion: h.vault.current('certificate', 'hpc-node-comm')!.version });
    expect(state.toVersion).not.toMatch(/^pending/);
    expect(state.toThumbprint).toMatch(/^THUMB/);
  });

  for (const type of ['key', 'secret', 'certificate'] as const) {
    it(`${type}: a version someone else made while a rotation was interrupted is not adopted as Rotor's, and none is created`, async () => {
      const h = harness();
      estate(h);
      const step = type === 'key' ? 'createKeyVersion' : type === 'secret' ? 'setSecretVersion' : 'startCertificateVersion';
      const name = type === 'key' ? 'cache-cmk' : type === 'secret' ? 'batch-admin' : 'hpc-node-comm';
      h.vault.hangBefore.add(step); // stops after its RotationStarted row, before creating
      void processObject(type, name, undefined, h.ctx());
      await settle();
      h.vault.hangBefore.clear();
      // A person (or Key Vault's own renewal) creates a version meanwhile; it carries tags, but not this rotation's id.
      const now = h.clock.now().getTime();
      const other = h.vault.add(type, name, { notBefore: new Date(now), expiresOn: new Date(now + 365 * DAY), tags: { ...h.vault.current(type, name)!.tags, 'rotor-rotation-id': 'someone-else' } });
      h.clock.advance(31 * 60_000);
      await processVault(h.ctx());
      expect(h.vault.versionCount(type, name)).toBe(2);
      expect(h.vault.calls.filter((c) => c === step)).toHaveLength(1); // only the interrupted call
      expect(h.states.value('hpc-kv', type, name)).toMatchObject({ status: 'Completed', toVersion: other.version });
      const actions = h.audit.actions(name);
      expect(actions).not.toContain('VersionCreated');
      expect(h.audit.rows.find((r) => r.objectName === name && r.action === 'NewVersionObserved')).toMatchObject({ reason: 'CreatedOutsideRotor', version: other.version });
      expect(h.audit.rows.find((r) => r.objectName === name && r.action === 'RotationCompleted')?.detail).toMatch(/created outside Rotor/);
    });
  }

  it('one timer run and ten duplicate events produce exactly one new version', async () => {
    const h = harness();
    estate(h);
    await Promise.all([
      processVault(h.ctx()),
      ...Array.from({ length: 10 }, () => processObject('secret', 'batch-admin', 'Microsoft.KeyVault.SecretNearExpiry', h.ctx({ run: { runId: 'evt', trigger: 'eventgrid' } }))),
    ]);
    expect(h.vault.versionCount('secret', 'batch-admin')).toBe(2);
    expect(h.audit.actions('batch-admin').filter((a) => a === 'VersionCreated')).toHaveLength(1);
  });
});

describe('reporting once', () => {
  it('does not report a finding again when the same version arrives by an event instead of a list page', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('secret', 'nexus-bmc', { createdOn: new Date(now - 45 * DAY), tags: { 'rotor-secret-kind': 'nexus-credential' } });
    await processVault(h.ctx());
    const before = h.audit.rows.length;
    await processObject('secret', 'nexus-bmc', 'Microsoft.KeyVault.SecretNearExpiry', h.ctx({ run: { runId: 'evt', trigger: 'eventgrid' } }));
    expect(h.audit.rows.slice(before)).toEqual([]);
  });
});

describe('lease expiry checks', () => {
  it('looks again at an object another worker holds just after its lease expires', async () => {
    const h = harness();
    estate(h);
    h.vault.hangBefore.add('createKeyVersion'); // the worker holding the key stops here
    void processObject('key', 'cache-cmk', undefined, h.ctx());
    await settle();
    const queued: Array<{ item: unknown; delaySeconds?: number }> = [];
    const services = {
      config: h.config,
      clock: h.clock,
      sleep: h.clock.sleep,
      random: seededRandom(1),
      newId: () => 'id',
      audit: h.audit,
      states: h.states,
      queue: { enqueue: async (item: unknown, o: { delaySeconds?: number } = {}) => void queued.push({ item, ...o }) },
      gateway: () => h.vault,
      pacer: () => new VaultPacer(h.config.limits, h.clock, h.clock.sleep),
    };
    const item = { kind: 'object', vault: 'hpc-kv', objectType: 'key', objectName: 'cache-cmk', runId: 'evt', trigger: 'eventgrid' };
    const result = await runWorkItem(item, services, { dequeueCount: 1, maxDequeueCount: 5 }, silentLogger);
    expect(result).toMatchObject({ kind: 'object', result: { outcome: 'InProgressElsewhere' } });
    expect(queued).toEqual([{ item: expect.objectContaining({ kind: 'object', objectName: 'cache-cmk', hint: 'LeaseExpiryCheck' }), delaySeconds: 10 * 60 + 30 }]);
  });
});

describe('the work item time budget', () => {
  it('stops taking on objects when its time is up, finishes what is in flight, and continues in a new work item', async () => {
    const h = harness(baseConfig({ rotation: { concurrencyPerVault: 8, workItemMinutes: 0.25, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 } }));
    const now = h.clock.now().getTime();
    for (let i = 0; i < 60; i++) h.vault.add('key', `k-${String(i).padStart(2, '0')}`, { notBefore: new Date(now - 355 * DAY), expiresOn: new Date(now + 10 * DAY) });
    const queued: unknown[] = [];
    const pacer = new VaultPacer(h.config.limits, h.clock, h.clock.sleep); // one per vault, as in the app
    const services = {
      config: h.config,
      clock: h.clock,
      sleep: h.clock.sleep,
      random: seededRandom(1),
      newId: (() => {
        let n = 0;
        return () => `id-${++n}`;
      })(),
      audit: h.audit,
      states: h.states,
      queue: { enqueue: async (item: unknown) => void queued.push(item) },
      gateway: () => h.vault,
      pacer: () => pacer,
    };
    const item = { kind: 'scanVault', vault: 'hpc-kv', runId: 'run-1', trigger: 'timer' } as const;
    // 20 RSA-2048 creations per 10 s (virtual time): 15 s of budget cannot hold 60 rotations.
    const first = await runWorkItem(item, services, { dequeueCount: 1, maxDequeueCount: 5 }, silentLogger);
    const rotatedFirst = first.kind === 'scanVault' ? (first.summary.outcomes.Rotated ?? 0) : 0;
    expect(rotatedFirst).toBeGreaterThan(0);
    expect(rotatedFirst).toBeLessThan(60);
    expect(first).toMatchObject({ kind: 'scanVault', summary: { continued: true, outcomes: { Rotated: rotatedFirst } } });
    expect(queued).toEqual([item]);
    expect(h.audit.rows.at(-1)).toMatchObject({ action: 'ScanContinued', outcome: 'Info', reason: 'WorkItemTimeBudget' });
    expect(h.audit.rows.filter((r) => r.action === 'RotationStarted')).toHaveLength(rotatedFirst); // nothing left half-done

    // The continuations finish the vault; every key is rotated exactly once.
    for (let round = 0; round < 5 && queued.length; round++) await runWorkItem(queued.shift(), services, { dequeueCount: 1, maxDequeueCount: 5 }, silentLogger);
    expect(queued).toEqual([]);
    for (let i = 0; i < 60; i++) expect(h.vault.versionCount('key', `k-${String(i).padStart(2, '0')}`)).toBe(2);
    expect(h.audit.rows.at(-1)).toMatchObject({ action: 'ScanCompleted', outcome: 'Succeeded' });
  });
});

describe('time limits that fit the host', () => {
  const setup = () => {
    const h = harness(baseConfig({ rotation: { pollIntervalSeconds: 10, certificateTimeoutMinutes: 30 } }));
    estate(h);
    h.vault.pendingPolls = 10_000;
    const queued: Array<{ item: unknown; delaySeconds?: number }> = [];
    const queue = { enqueue: async (item: unknown, o: { delaySeconds?: number } = {}) => void queued.push({ item, ...o }) };
    const invocation = () => h.ctx({ queue: queue, deadline: new Date(h.clock.now().getTime() + 5 * 60_000) });
    return { h, queued, invocation };
  };

  it('hands a certificate still pending at the invocation deadline to a delayed work item, which finishes it', async () => {
    const { h, queued, invocation } = setup();
    const started = h.clock.now().getTime();
    expect((await processObject('certificate', 'hpc-node-comm', undefined, invocation())).outcome).toBe('Pending');
    expect(h.clock.now().getTime() - started).toBeLessThan(5 * 60_000); // no wait past the invocation's deadline
    expect(queued).toEqual([{ item: expect.objectContaining({ kind: 'object', objectName: 'hpc-node-comm', hint: 'CertificatePending' }), delaySeconds: 60 }]);
    expect(h.vault.versionCount('certificate', 'hpc-node-comm')).toBe(1);
    // The delayed work item resumes the rotation: the operation completes, nothing is created twice.
    h.vault.objects.get('certificate/hpc-node-comm')!.pending!.remainingPolls = 2;
    h.clock.advance(60_000);
    expect((await processObject('certificate', 'hpc-node-comm', 'CertificatePending', invocation())).outcome).toBe('Rotated');
    expect(h.vault.calls.filter((c) => c === 'startCertificateVersion')).toHaveLength(1);
    expect(h.vault.versionCount('certificate', 'hpc-node-comm')).toBe(2);
    expect(h.audit.actions('hpc-node-comm')).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
  });

  it('certificateTimeoutMinutes is a deadline across work items', async () => {
    const { h, queued, invocation } = setup();
    let outcome = (await processObject('certificate', 'hpc-node-comm', undefined, invocation())).outcome;
    for (let i = 0; i < 20 && outcome === 'Pending'; i++) {
      h.clock.advance((queued.at(-1)?.delaySeconds ?? 0) * 1000);
      outcome = (await processObject('certificate', 'hpc-node-comm', 'CertificatePending', invocation())).outcome;
    }
    expect(outcome).toBe('Failed');
    expect(queued.length).toBeGreaterThan(3);
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.lastError).toMatch(/still pending 30 minutes after its operation started/);
    expect(h.vault.calls.filter((c) => c === 'startCertificateVersion')).toHaveLength(1);
  });
});

describe("coexistence with Key Vault's own renewal", () => {
  const autoRenew = { action: 'AutoRenew' as const, lifetimePercentage: 80 };

  it('respect (default): an AutoRenew certificate and a Rotate key are KeyVaultManaged — reported once, nothing created', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    // Due by Rotor's rule (80.3 % of its lifetime); Key Vault's AutoRenew at 80 % was a day ago, inside the grace period.
    h.vault.add('certificate', 'kv-renewed', { notBefore: new Date(now - 293 * DAY), expiresOn: new Date(now + 72 * DAY), policy: { renewal: autoRenew } });
    h.vault.add('key', 'kv-rotated', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 65 * DAY) });
    h.vault.keyRenewals.set('kv-rotated', { action: 'Rotate', afterCreateMs: 290 * DAY });
    const summary = await processVault(h.ctx());
    expect(summary.outcomes).toMatchObject({ KeyVaultManaged: 2 });
    expect(h.vault.versionCount('certificate', 'kv-renewed')).toBe(1);
    expect(h.vault.versionCount('key', 'kv-rotated')).toBe(1);
    expect(h.vault.calls).not.toContain('startCertificateVersion');
    expect(h.vault.calls).not.toContain('createKeyVersion');
    expect(h.audit.actions('kv-renewed')).toEqual(['Detected', 'KeyVaultManaged']);
    const row = h.audit.rows.find((r) => r.objectName === 'kv-renewed' && r.action === 'KeyVaultManaged')!;
    expect(row).toMatchObject({ outcome: 'Info', reason: 'KeyVaultManaged' });
    expect(row.detail).toMatch(/AutoRenew, due \d{4}-\d\d-\d\dT/);
    expect(h.audit.actions('kv-rotated')).toEqual(['Detected', 'KeyVaultManaged']);
    // Reported once per version, not every night.
    await processVault(h.ctx());
    expect(h.audit.actions('kv-renewed')).toEqual(['Detected', 'KeyVaultManaged']);
  });

  it("Key Vault's renewal, when its NewVersionCreated event arrives, is audited as such and its consumers are verified; Rotor creates nothing", async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('certificate', 'kv-renewed', { notBefore: new Date(now - 293 * DAY), expiresOn: new Date(now + 72 * DAY), policy: { renewal: autoRenew } });
    expect((await processObject('certificate', 'kv-renewed', undefined, h.ctx())).outcome).toBe('KeyVaultManaged');
    // Key Vault performs its AutoRenew.
    h.clock.advance(DAY);
    const renewed = h.vault.add('certificate', 'kv-renewed', { notBefore: h.clock.now(), expiresOn: new Date(h.clock.now().getTime() + 365 * DAY) });
    const verified: string[] = [];
    const hooks = {
      afterVersionCreated: async (state: Parameters<NonNullable<ReturnType<Harness['ctx']>['hooks']>['afterVersionCreated']>[0]) => {
        verified.push(state.toVersion);
        const verification = { startedAt: h.clock.now(), checks: 1, counts: { ...emptyCounts(), verified: 1 } };
        return { next: 'completed' as const, note: '; 1 of 1 consumers verified', state: { ...state, verification } };
      },
      afterCompleted: async () => undefined,
      recheck: async () => 'Verifying' as const,
    };
    const result = await processObject('certificate', 'kv-renewed', 'Microsoft.KeyVault.CertificateNewVersionCreated', h.ctx({ hooks, run: { runId: 'evt', trigger: 'eventgrid' } }));
    expect(result.outcome).toBe('NotDue');
    expect(verified).toEqual([renewed.version]);
    expect(h.audit.rows.find((r) => r.action === 'NewVersionObserved')).toMatchObject({ reason: 'KeyVaultManaged', version: renewed.version });
    expect(h.vault.calls).not.toContain('startCertificateVersion');
    expect(h.vault.versionCount('certificate', 'kv-renewed')).toBe(2);
  });

  it("reports RenewalOverdue when Key Vault's renewal has not happened by its trigger plus the grace period", async () => {
    const h = harness(baseConfig({ defaults: { keyVaultRenewalGraceHours: 24 } }));
    const now = h.clock.now().getTime();
    // 80 % of a 365-day lifetime was 20 days ago.
    h.vault.add('certificate', 'kv-stuck', { notBefore: new Date(now - 312 * DAY), expiresOn: new Date(now + 53 * DAY), policy: { renewal: autoRenew } });
    expect((await processObject('certificate', 'kv-stuck', undefined, h.ctx())).outcome).toBe('ManualActionRequired');
    expect(h.audit.rows.find((r) => r.action === 'RenewalOverdue')).toMatchObject({ outcome: 'ActionRequired', reason: 'RenewalOverdue' });
    expect(h.vault.versionCount('certificate', 'kv-stuck')).toBe(1);
  });

  it('AutoRenew with an issuer Key Vault cannot use is not Key Vault’s to renew: a person must act', async () => {
    const h = harness();
    const now = h.clock.now().getTime();
    h.vault.add('certificate', 'kv-public', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 5 * DAY), policy: { issuerName: 'Unknown', renewal: autoRenew } });
    expect((await processObject('certificate', 'kv-public', undefined, h.ctx())).outcome).toBe('ManualActionRequired');
    expect(h.audit.rows.find((r) => r.action === 'ManualActionRequired')?.reason).toBe('IssuerNotAutoRenewable');
  });

  it('takeOver: switches the policy to EmailContacts / Notify (audited) before rotating, then rotates once', async () => {
    const h = harness(baseConfig({ defaults: { keyVaultLifetimeActions: 'takeOver' } }));
    const now = h.clock.now().getTime();
    h.vault.add('certificate', 'kv-renewed', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 65 * DAY), policy: { renewal: autoRenew } });
    h.vault.add('key', 'kv-rotated', { notBefore: new Date(now - 300 * DAY), expiresOn: new Date(now + 65 * DAY) });
    h.vault.keyRenewals.set('kv-rotated', { action: 'Rotate', afterCreateMs: 290 * DAY });
    const summary = await processVault(h.ctx());
    expect(summary.outcomes).toMatchObject({ Rotated: 2 });
    for (const [type, name] of [['certificate', 'kv-renewed'], ['key', 'kv-rotated']] as const) {
      const calls = h.vault.calls.filter((c) => c.startsWith('stopKeyVaultRenewal') || c === 'startCertificateVersion' || c === 'createKeyVersion');
      expect(calls.indexOf(`stopKeyVaultRenewal:${type}:${name}`)).toBeGreaterThanOrEqual(0);
      expect(h.vault.versionCount(type, name)).toBe(2);
      expect(h.audit.actions(name)).toEqual(['Detected', 'RotationStarted', 'KeyVaultRenewalTakenOver', 'VersionCreated', 'RotationCompleted']);
    }
    expect(h.vault.objects.get('certificate/kv-renewed')!.policy!.renewal).toBeUndefined();
    expect(h.vault.keyRenewals.has('kv-rotated')).toBe(false);
  });
});
