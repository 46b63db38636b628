/**
 * Several Rotor instances, one throttled vault (issue M). Three service instances built in this process share nothing
 * but storage — Azurite (state, audit, vault leases and pending sets, queue) and the Key Vault endpoint — and each
 * has its own pacer, as separate Functions instances would. A burst of per-object work items (what a burst of
 * NearExpiry events produces) lands on all three at once. The vault is throttled below what three uncoordinated pacers
 * would send. Acceptance: no failed rotation, exactly one new version per key, the audit chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import { runWorkItem, type WorkResult } from '../../src/core/rotor.js';
import type { WorkItem } from '../../src/core/work.js';
import { quietLogger, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
const KEYS = Array.from({ length: 12 }, (_, i) => `burst-${String(i).padStart(2, '0')}`);
/** The vault's (and Rotor's) budget: RSA-2048 creations per 10 s. */
const LIMIT = 6;
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };

beforeAll(async () => {
  t = await startTestEnv({
    keyVault: {
      vaults: ['hpc-kv'],
      faults: { limits: { rsa2048Create: LIMIT } },
      seed: { vaults: { 'hpc-kv': { keys: KEYS.map((name) => ({ name, kty: 'RSA' as const, keySize: 2048, notBefore: '-355d', expires: '+10d' })) } } },
    },
  });
});

afterAll(async () => {
  await t?.stop();
});

const config = () => ({ vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }], limits: { rsa2048CreatesPer10s: LIMIT } });

const item = (name: string): WorkItem => ({
  kind: 'object',
  vault: 'hpc-kv',
  objectType: 'key',
  objectName: name,
  runId: `eventgrid-${name}`,
  trigger: 'eventgrid',
  hint: 'Microsoft.KeyVault.KeyNearExpiry',
});

describe('many instances, one vault', () => {
  it('rotates a burst arriving at three instances once per key, inside the vault budget, with a chain that verifies', async () => {
    const instances: AppServices[] = [];
    for (let i = 0; i < 3; i++) instances.push(await t.services(config()));
    expect(new Set(instances.map((s) => s.vaultWork?.holder)).size).toBe(3);
    t.stack.keyVault.resetCounters();
    const since = new Date();

    // Every instance gets a third of the burst, all at once.
    const results: WorkResult[] = await Promise.all(KEYS.map((name, i) => runWorkItem(item(name), instances[i % 3]!, delivery, quietLogger)));
    // Each item was rotated by the instance it landed on, or left to the holder (deferred), or found already
    // handled by a holder that drained it first (an empty drain).
    const deferred = results.filter((r) => r.kind === 'vault' && r.drain.deferred);
    const handledElsewhere = results.filter((r) => r.kind === 'vault' && !r.drain.deferred && r.drain.objects.length === 0);
    const rotatedHere = results.filter((r) => r.kind === 'object' && r.result.outcome === 'Rotated');
    expect(rotatedHere.length + deferred.length + handledElsewhere.length).toBe(KEYS.length);
    expect(rotatedHere.length).toBeLessThan(KEYS.length); // the other instances left items to the holder

    // What a delayed check (drainVault) finds afterwards: nothing left, however the burst was split.
    const check = await runWorkItem({ kind: 'drainVault', vault: 'hpc-kv', runId: 'check', trigger: 'eventgrid' }, instances[2]!, delivery, quietLogger);
    expect(check).toMatchObject({ kind: 'vault', drain: { objects: [], continued: false } });
    expect(await instances[0]!.vaultWorkStore.pending('hpc-kv', 10)).toEqual([]);

    for (const name of KEYS) expect(await versionCount(t.clients('hpc-kv'), 'key', name), name).toBe(2);
    const rows = await t.auditRows(since);
    expect(rows.filter((r) => r.action === 'RotationFailed')).toEqual([]);
    expect(rows.filter((r) => r.action === 'RotationStarted').map((r) => r.objectName).sort()).toEqual(KEYS);
    expect(rows.filter((r) => r.action === 'RotationCompleted').map((r) => r.objectName).sort()).toEqual(KEYS);
    for (const name of KEYS) expect((await instances[0]!.states.get('hpc-kv', 'key', name))?.value.status, name).toBe('Completed');
    // One holder at a time, with the budget handed over: three uncoordinated pacers would each send LIMIT creations
    // into the first window (at least 2 × LIMIT answered 429). Load on the machine can delay a request into the next
    // window now and then, so the bound is loose; the benchmark reports the exact count.
    expect(t.stack.keyVault.counters('hpc-kv')['throttled'] ?? 0).toBeLessThan(LIMIT);
    const report = await instances[0]!.auditReader.verify({ vault: 'hpc-kv' });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
  }, 120_000);

  it('an instance that crashed holding the vault is taken over after its lease expires, without a second version', async () => {
    const names = ['late-a', 'late-b'];
    await t.stack.keyVault.seed({ vaults: { 'hpc-kv': { keys: names.map((name) => ({ name, kty: 'RSA' as const, keySize: 2048, notBefore: '-355d', expires: '+10d' })) } } });
    const crashed = await t.services(config());
    const held = await crashed.vaultWorkStore.acquire('hpc-kv', crashed.vaultWork!.holder, new Date(), 60_000, 15_000);
    expect(held.acquired).toBe(true);
    const other = await t.services(config());
    for (const name of names) expect(await runWorkItem(item(name), other, delivery, quietLogger)).toMatchObject({ kind: 'vault', drain: { deferred: { holder: crashed.vaultWork!.holder } } });
    // The scheduled check arrives after the expiry (a later clock stands for the passing of time).
    const later = await t.services(config(), { clock: { now: () => new Date(Date.now() + 80_000) } });
    const drained = await runWorkItem({ kind: 'drainVault', vault: 'hpc-kv', runId: 'takeover', trigger: 'eventgrid' }, later, delivery, quietLogger);
    expect(drained.kind === 'vault' ? drained.drain.objects.map((o) => `${o.name}:${o.outcome}`).sort() : drained).toEqual(['late-a:Rotated', 'late-b:Rotated']);
    for (const name of names) expect(await versionCount(t.clients('hpc-kv'), 'key', name)).toBe(2);
  }, 120_000);
});
