/**
 * Rotor under failure, through the real SDK clients on the local stack:
 * - fail closed: no version is created when the audit log (Table storage) is unreachable;
 * - a crash at every step of a rotation, for every object type, resumes without a second version;
 * - a work item that keeps failing is audited and moved to the poison queue, not lost;
 * - Key Vault's 429 with Retry-After is honoured and the wave still completes.
 * A "crash" is a port call that never returns — the process holding it is abandoned, its unflushed audit buffer
 * with it — and a new set of services (a new process) resumes once the lease has expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import type { AuditRecord } from '../../src/core/audit.js';
import type { AuditLog, RotationStateStore, VaultGateway } from '../../src/core/ports.js';
import { runWorkItem } from '../../src/core/rotor.js';
import type { RotationState } from '../../src/core/state.js';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { QUEUES, queueClient, tableClient, TABLES } from '../../src/adapters/storage/clients.js';
import { encodeMessage } from '../../src/adapters/storage/work-queue.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { freePort } from '../../src/local/net.js';
import { quietLogger, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
const config = () => ({
  vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }],
  secretKinds: { pw: { generator: 'password', length: 16 } },
  rotation: { pollIntervalSeconds: 0.05, leaseMinutes: 10, certificateTimeoutMinutes: 5 },
});
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };
const objectItem = (type: 'certificate' | 'key' | 'secret', name: string) => ({
  kind: 'object' as const,
  vault: 'hpc-kv',
  objectType: type,
  objectName: name,
  runId: `test-${name}`,
  trigger: 'manual' as const,
});

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: ['hpc-kv'], pendingDelayMs: 50, faults: { limits: false } } });
});

afterAll(async () => {
  await t?.stop();
});

/** A due object with a realistic one-year lifetime (10 days left), so its new version is not due again. */
async function createDueObject(type: 'certificate' | 'key' | 'secret', name: string): Promise<void> {
  const common = { name, notBefore: '-355d', expires: '+10d' };
  const vault =
    type === 'certificate'
      ? { certificates: [common] }
      : type === 'key'
        ? { keys: [{ ...common, kty: 'RSA' as const, keySize: 2048 }] }
        : { secrets: [{ ...common, tags: { 'rotor-secret-kind': 'pw' } }] };
  await t.stack.keyVault.seed({ vaults: { 'hpc-kv': vault } });
}

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

type Step = 'claim' | 'startAudit' | 'create' | 'versionState' | 'completeAudit' | 'completedState';

/** Services whose ports "crash" (never return) before or after one step. */
function crashing(base: AppServices, step: Step, when: 'before' | 'after', crashed: () => void): AppServices {
  const hangAfter = async <T>(work: Promise<T>): Promise<T> => {
    await work;
    crashed();
    return never<T>();
  };
  const hangNow = <T>(): Promise<T> => {
    crashed();
    return never<T>();
  };
  const statusOf: Partial<Record<Step, RotationState['status']>> = { claim: 'RotationStarted', versionState: 'VersionCreated', completedState: 'Completed' };
  const states: RotationStateStore = {
    get: (...a) => base.states.get(...a),
    listOpen: (v) => base.states.listOpen(v),
    list: (v) => base.states.list(v),
    put: (state, etag) => {
      if (statusOf[step] !== state.status) return base.states.put(state, etag);
      return when === 'before' ? hangNow() : hangAfter(base.states.put(state, etag));
    },
  };
  const pending: AuditRecord['action'][] = [];
  const marker: Partial<Record<Step, AuditRecord['action']>> = { startAudit: 'RotationStarted', completeAudit: 'RotationCompleted' };
  const audit: AuditLog = {
    append: (r) => {
      pending.push(r.action);
      base.audit.append(r);
    },
    hasRecord: (...a) => base.audit.hasRecord(...a),
    flush: () => {
      const hit = marker[step] !== undefined && pending.includes(marker[step]);
      pending.length = 0;
      if (!hit) return base.audit.flush();
      return when === 'before' ? hangNow() : hangAfter(base.audit.flush());
    },
  };
  const gateway = (vault: Parameters<AppServices['gateway']>[0]): VaultGateway => {
    const g = base.gateway(vault);
    if (step !== 'create') return g;
    const wrap =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      (...a: A): Promise<R> =>
        when === 'before' ? hangNow() : hangAfter(fn(...a));
    return Object.assign(Object.create(g) as VaultGateway, {
      startCertificateVersion: wrap(g.startCertificateVersion.bind(g)),
      rotateKey: wrap(g.rotateKey.bind(g)),
      createKeyVersion: wrap(g.createKeyVersion.bind(g)),
      setSecretVersion: wrap(g.setSecretVersion.bind(g)),
    });
  };
  return { ...base, states, audit, gateway };
}

describe('fail closed', () => {
  it('creates no version when the RotationStarted row cannot be written', async () => {
    await createDueObject('key', 'fc-key');
    const services = await t.services(config());
    const dead = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${'A'.repeat(88)};TableEndpoint=http://127.0.0.1:${await freePort()}/devstoreaccount1;`;
    const unreachable = new TableAuditLog(tableClient({ kind: 'connectionString', connectionString: dead }, TABLES.audit));
    const result = await runWorkItem(objectItem('key', 'fc-key'), { ...services, audit: unreachable }, delivery, quietLogger);
    expect(result).toMatchObject({ kind: 'object', result: { outcome: 'Failed' } });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'fc-key')).toBe(1);
    expect((await services.states.get('hpc-kv', 'key', 'fc-key'))?.value).toMatchObject({ status: 'Failed', lastError: expect.stringContaining('audit log unavailable') });
  }, 60_000);
});

describe('crash and resume at every step', () => {
  const cases: Array<[Step, 'before' | 'after']> = [
    ['claim', 'after'],
    ['startAudit', 'before'],
    ['startAudit', 'after'],
    ['create', 'before'],
    ['create', 'after'],
    ['versionState', 'after'],
    ['completeAudit', 'before'],
    ['completeAudit', 'after'],
    ['completedState', 'before'],
  ];
  for (const type of ['certificate', 'key', 'secret'] as const) {
    for (const [step, when] of cases) {
      it(`${type}: crash ${when} ${step} → one new version after resuming`, async () => {
        const name = `cr-${type.slice(0, 4)}-${step.toLowerCase()}-${when}`;
        await createDueObject(type, name);
        const since = new Date();
        const base = await t.services(config());
        let crashed = false;
        void runWorkItem(objectItem(type, name), crashing(base, step, when, () => (crashed = true)), delivery, quietLogger);
        for (let i = 0; i < 400 && !crashed; i++) await new Promise((r) => setTimeout(r, 25));
        expect(crashed).toBe(true);
        // A new process, after the lease has expired: the nightly scan resumes the rotation.
        const later = { now: () => new Date(Date.now() + 3 * 3_600_000) };
        const resumed = await t.services(config(), { clock: later });
        await runWorkItem({ kind: 'scanVault', vault: 'hpc-kv', runId: `resume-${name}`, trigger: 'timer' }, resumed, delivery, quietLogger);
        expect(await versionCount(t.clients('hpc-kv'), type, name)).toBe(2);
        expect((await resumed.states.get('hpc-kv', type, name))?.value.status).toBe('Completed');
        const rows = (await t.auditRows(since)).filter((r) => r.objectName === name);
        expect(rows.filter((r) => r.action === 'VersionCreated')).toHaveLength(1);
        expect(rows.filter((r) => r.action === 'RotationCompleted')).toHaveLength(1);
        expect(rows.filter((r) => r.action === 'RotationStarted').length).toBeGreaterThanOrEqual(1);
      });
    }
  }
});

describe('poison messages', () => {
  it('audits a work item that fails every delivery and keeps it in the poison queue', async () => {
    const services = await t.services(config());
    const since = new Date();
    const work = queueClient(services.storage, QUEUES.work);
    await work.createIfNotExists();
    await work.sendMessage(encodeMessage({ kind: 'scanVault', vault: 'decommissioned-kv', runId: 'r-poison', trigger: 'timer' }));
    await t.drain(rotationWorker, services);
    const rows = (await t.auditRows(since)).filter((r) => r.runId === 'r-poison');
    expect(rows.map((r) => `${r.action}:${r.reason}`)).toEqual(['WorkItemFailed:PoisonMessage']);
    expect(rows[0]?.detail).toMatch(/failed 5 times and moves to the poison queue: vault "decommissioned-kv" is not in the configuration/);
    const poison = await queueClient(services.storage, QUEUES.poison).peekMessages();
    expect(Buffer.from(poison.peekedMessageItems[0]?.messageText ?? '', 'base64').toString()).toContain('decommissioned-kv');
  }, 60_000);
});

describe('throttling', () => {
  it("honours Key Vault's 429 Retry-After and completes the wave without a failed rotation", async () => {
    for (const i of [1, 2, 3, 4]) await createDueObject('key', `wave-${i}`);
    t.stack.keyVault.resetCounters();
    // The Retry-After path (the emulator's default is a real Key Vault's 429, without it: see throttling.test.ts).
    t.stack.keyVault.setFaults('hpc-kv', { limits: { rsa2048Create: 2 }, sendRetryAfter: true });
    try {
      // Rotor's own pacing is set above the vault's budget, so the vault must push back.
      const services = await t.services({ ...config(), limits: { rsa2048CreatesPer10s: 100 } });
      const since = new Date();
      const results = await Promise.all([1, 2, 3, 4].map((i) => runWorkItem(objectItem('key', `wave-${i}`), services, delivery, quietLogger)));
      // The invocation holding the vault rotates what is pending; items arriving meanwhile join its drain (see
      // vault-work.ts). Every object result is a rotation; every key has exactly one new version.
      const own = results.flatMap((r) => (r.kind === 'object' ? [r.result.outcome] : []));
      expect(own.length).toBeGreaterThan(0);
      expect(new Set(own)).toEqual(new Set(['Rotated']));
      for (const i of [1, 2, 3, 4]) expect(await versionCount(t.clients('hpc-kv'), 'key', `wave-${i}`)).toBe(2);
      expect(t.stack.keyVault.counters('hpc-kv')['throttled'] ?? 0).toBeGreaterThan(0);
      const rows = await t.auditRows(since);
      expect(rows.filter((r) => r.action === 'RotationFailed')).toEqual([]);
      // (Rows of the resumes above carry their later clock's timestamps, so they are in `rows` too: only the wave's count.)
      expect(rows.filter((r) => r.action === 'RotationCompleted' && r.objectName.startsWith('wave-')).map((r) => r.objectName).sort()).toEqual(['wave-1', 'wave-2', 'wave-3', 'wave-4']);
      expect(services.pacer(services.config.vaults[0]!).throttledResponses).toBeGreaterThan(0);
    } finally {
      t.stack.keyVault.setFaults('hpc-kv', { limits: {}, sendRetryAfter: false });
    }
  }, 60_000);
});
