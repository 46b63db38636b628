/**
 * Exactly once by construction, through the real SDK clients on the local stack: every version Rotor creates carries
 * its rotation id (tag rotor-rotation-id) from the create request on, and a resumed rotation adopts only its own
 * version. The worker "dies" with its create request in flight (the request reaches Key Vault, the answer is never
 * processed); a new process resumes after the lease — while the certificate operation is still pending — and
 * creates no second version. A version someone else made meanwhile is never taken for Rotor's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import type { VaultGateway } from '../../src/core/ports.js';
import { runWorkItem } from '../../src/core/rotor.js';
import { quietLogger, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
const VAULT = 'once-kv';
const config = () => ({
  vaults: [{ name: VAULT, url: t.vaultUrl(VAULT) }],
  secretKinds: { pw: { generator: 'password', length: 16 } },
  // certificateTimeoutMinutes counts from the rotation's start across work items; the resume below comes 3 h later.
  rotation: { pollIntervalSeconds: 0.05, leaseMinutes: 10, certificateTimeoutMinutes: 240 },
});
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };
const objectItem = (type: 'certificate' | 'key' | 'secret', name: string) => ({ kind: 'object' as const, vault: VAULT, objectType: type, objectName: name, runId: `once-${name}`, trigger: 'manual' as const });
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
const CREATES = ['startCertificateVersion', 'createKeyVersion', 'setSecretVersion'] as const;

beforeAll(async () => {
  // Certificate operations stay pending for 3 s, so the resumed worker finds the killed worker's one still pending.
  t = await startTestEnv({ keyVault: { vaults: [VAULT], pendingDelayMs: 3_000, faults: { limits: false } } });
});

afterAll(async () => {
  await t?.stop();
});

async function createDueObject(type: 'certificate' | 'key' | 'secret', name: string): Promise<void> {
  const common = { name, notBefore: '-355d', expires: '+10d' };
  const vault =
    type === 'certificate' ? { certificates: [common] } : type === 'key' ? { keys: [{ ...common, kty: 'RSA' as const, keySize: 2048 }] } : { secrets: [{ ...common, tags: { 'rotor-secret-kind': 'pw' } }] };
  await t.stack.keyVault.seed({ vaults: { [VAULT]: vault } });
}

/** Services whose create call is sent (or not) and then never returns: the worker died with it in flight. */
function dying(base: AppServices, when: 'sent' | 'unsent', died: () => void): AppServices {
  const gateway = (vault: Parameters<AppServices['gateway']>[0]): VaultGateway => {
    const g = base.gateway(vault);
    const wrap =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        if (when === 'sent') await fn(...a);
        died();
        return never<R>();
      };
    return Object.assign(Object.create(g) as VaultGateway, Object.fromEntries(CREATES.map((m) => [m, wrap((g[m] as (...a: unknown[]) => Promise<unknown>).bind(g))])));
  };
  return { ...base, gateway };
}

async function killWorker(type: 'certificate' | 'key' | 'secret', name: string, when: 'sent' | 'unsent'): Promise<string> {
  const base = await t.services(config());
  let died = false;
  void runWorkItem(objectItem(type, name), dying(base, when, () => (died = true)), delivery, quietLogger);
  for (let i = 0; i < 400 && !died; i++) await new Promise((r) => setTimeout(r, 25));
  expect(died).toBe(true);
  return (await base.states.get(VAULT, type, name))!.value.rotationId ?? '';
}

/** A new process after the lease has expired: the nightly scan resumes the rotation. */
async function resume(name: string) {
  const later = { now: () => new Date(Date.now() + 3 * 3_600_000) };
  const resumed = await t.services(config(), { clock: later });
  await runWorkItem({ kind: 'scanVault', vault: VAULT, runId: `resume-${name}`, trigger: 'timer' }, resumed, delivery, quietLogger);
  return resumed;
}

describe('a worker dies with its create request in flight', () => {
  for (const type of ['certificate', 'key', 'secret'] as const) {
    it(`${type}: the resumed rotation adopts its own tagged version${type === 'certificate' ? ' (still pending when it resumes)' : ''}; no second version`, async () => {
      const name = `inflight-${type.slice(0, 4)}`;
      await createDueObject(type, name);
      const since = new Date();
      const rotationId = await killWorker(type, name, 'sent');
      if (type === 'certificate') {
        const op = await t.clients(VAULT).certificates.getCertificateOperation(name);
        expect(op.getOperationState().certificateOperation?.status?.toLowerCase()).toBe('inprogress');
      }
      const resumed = await resume(name);
      expect(await versionCount(t.clients(VAULT), type, name)).toBe(2);
      const state = (await resumed.states.get(VAULT, type, name))?.value;
      expect(state).toMatchObject({ status: 'Completed', rotationId });
      const kv = t.clients(VAULT);
      const current = type === 'certificate' ? (await kv.certificates.getCertificate(name)).properties : type === 'key' ? (await kv.keys.getKey(name)).properties : (await kv.secrets.getSecret(name)).properties;
      expect(current.tags).toMatchObject({ 'rotor-rotation-id': rotationId });
      expect(current.version).toBe(state?.toVersion);
      const rows = (await t.auditRows(since)).filter((r) => r.objectName === name);
      expect(rows.filter((r) => r.action === 'VersionCreated')).toHaveLength(1);
      expect(rows.filter((r) => r.action === 'RotationCompleted')).toHaveLength(1);
    }, 120_000);
  }

  it("a version someone else created while the rotation was interrupted is not adopted as Rotor's", async () => {
    const name = 'someone-else-key';
    await createDueObject('key', name);
    const since = new Date();
    await killWorker('key', name, 'unsent');
    const other = await t.clients(VAULT).keys.createKey(name, 'RSA', { keySize: 2048, expiresOn: new Date(Date.now() + 365 * 86_400_000) });
    const resumed = await resume(name);
    expect(await versionCount(t.clients(VAULT), 'key', name)).toBe(2);
    expect((await resumed.states.get(VAULT, 'key', name))?.value).toMatchObject({ status: 'Completed', toVersion: other.properties.version });
    const rows = (await t.auditRows(since)).filter((r) => r.objectName === name);
    expect(rows.filter((r) => r.action === 'VersionCreated')).toEqual([]);
    expect(rows.find((r) => r.action === 'NewVersionObserved')).toMatchObject({ reason: 'CreatedOutsideRotor', version: other.properties.version });
  }, 120_000);
});
