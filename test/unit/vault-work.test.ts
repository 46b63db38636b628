/**
 * One owner per vault: several instances (each with its own pacer and VaultWork, sharing only "storage" — the vault,
 * the state store, the audit log and the lease store) and the vault's pending set.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/generators.js';
import { VaultPacer } from '../../src/core/pacing.js';
import { runWorkItem, type RotorServices, type WorkResult } from '../../src/core/rotor.js';
import { LEASE_CHECK_GRACE_MS, VAULT_LEASE_MS, VaultLeaseLost, VaultWork } from '../../src/core/vault-work.js';
import type { WorkItem } from '../../src/core/work.js';
import { baseConfig, DAY, harness, silentLogger, type Harness } from '../support/fakes.js';
import { MemoryVaultWorkStore } from '../support/vault-work.js';

const delivery = { dequeueCount: 1, maxDequeueCount: 5 };

interface Instance {
  services: RotorServices;
  queued: Array<{ item: WorkItem; delaySeconds?: number | undefined }>;
  pacer: VaultPacer;
  work: VaultWork;
  /** Vaults whose signed audit digest a work item asked for at its end. */
  digests: string[];
}

function instance(h: Harness, store: MemoryVaultWorkStore, holder: string): Instance {
  const queued: Instance['queued'] = [];
  const digests: string[] = [];
  const pacer = new VaultPacer(h.config.limits, h.clock, h.clock.sleep);
  let ids = 0;
  const work = new VaultWork(store, holder);
  const services: RotorServices = {
    config: h.config,
    clock: h.clock,
    sleep: h.clock.sleep,
    random: seededRandom(1),
    newId: () => `${holder}-${++ids}`,
    audit: h.audit,
    states: h.states,
    queue: { enqueue: async (item, o = {}) => void queued.push({ item, delaySeconds: o.delaySeconds }) },
    gateway: () => h.vault,
    pacer: () => pacer,
    vaultWork: work,
    digestAfterRun: async (vault) => void digests.push(vault),
  };
  return { services, queued, pacer, work, digests };
}

const objectItem = (name: string, hint = 'Microsoft.KeyVault.KeyNearExpiry'): WorkItem => ({
  kind: 'object',
  vault: 'hpc-kv',
  objectType: 'key',
  objectName: name,
  runId: `eventgrid-${name}`,
  trigger: 'eventgrid',
  hint,
});

function dueKeys(h: Harness, n: number, prefix = 'k'): string[] {
  const now = h.clock.now().getTime();
  return Array.from({ length: n }, (_, i) => {
    const name = `${prefix}-${String(i).padStart(3, '0')}`;
    h.vault.add('key', name, { notBefore: new Date(now - 355 * DAY), expiresOn: new Date(now + 10 * DAY) });
    return name;
  });
}

const outcome = (r: WorkResult): string => (r.kind === 'object' ? r.result.outcome : r.kind === 'vault' && r.drain.deferred ? 'Deferred' : r.kind);

describe('one owner per vault', () => {
  it('an instance that finds the vault held leaves its items in the pending set (deduplicated) and schedules one check', async () => {
    const h = harness();
    const store = new MemoryVaultWorkStore();
    const [k1, k2] = dueKeys(h, 2);
    const a = instance(h, store, 'A');
    const b = instance(h, store, 'B');
    const held = await store.acquire('hpc-kv', 'A', h.clock.now(), VAULT_LEASE_MS, LEASE_CHECK_GRACE_MS);
    expect(held.acquired).toBe(true);

    const results = [];
    for (const item of [objectItem(k1!), objectItem(k2!), objectItem(k1!)]) results.push(await runWorkItem(item, b.services, delivery, silentLogger));
    expect(results.map(outcome)).toEqual(['Deferred', 'Deferred', 'Deferred']);
    expect(store.pendingCount('hpc-kv')).toBe(2); // one entry per object
    expect(h.vault.versionCount('key', k1!)).toBe(1);
    // One delayed check for just after the holder's lease, not one per deferred item.
    expect(b.queued).toEqual([{ item: { kind: 'drainVault', vault: 'hpc-kv', runId: 'eventgrid-k-000', trigger: 'eventgrid' }, delaySeconds: (VAULT_LEASE_MS + LEASE_CHECK_GRACE_MS) / 1000 }]);

    // The holder finishes its own work; the check drains the set: each object rotated once.
    if (held.acquired) await store.release(held.lease, a.pacer.snapshot());
    h.clock.advance(VAULT_LEASE_MS + LEASE_CHECK_GRACE_MS);
    const drained = await runWorkItem(b.queued.shift()!.item, b.services, delivery, silentLogger);
    expect(drained).toMatchObject({ kind: 'vault', drain: { continued: false, leaseLost: false } });
    expect(drained.kind === 'vault' ? drained.drain.objects.map((o) => `${o.name}:${o.outcome}`).sort() : []).toEqual([`${k1}:Rotated`, `${k2}:Rotated`]);
    expect(h.vault.versionCount('key', k1!)).toBe(2);
    expect(h.vault.versionCount('key', k2!)).toBe(2);
    expect(store.pendingCount('hpc-kv')).toBe(0);
    expect(store.leases.get('hpc-kv')?.holder).toBe(''); // released
  });

  it('takes over the lease of a holder that crashed once it expires, and creates no duplicate', async () => {
    const h = harness();
    const store = new MemoryVaultWorkStore();
    const keys = dueKeys(h, 3);
    const b = instance(h, store, 'B');
    // A took the lease and stopped (crash): it never renews or releases it.
    const crashed = await store.acquire('hpc-kv', 'A', h.clock.now(), VAULT_LEASE_MS, LEASE_CHECK_GRACE_MS);
    for (const k of keys) expect(outcome(await runWorkItem(objectItem(k), b.services, delivery, silentLogger))).toBe('Deferred');
    expect(b.queued).toHaveLength(1);
    // Before the expiry the check would find the lease still held (and schedule itself again, once).
    h.clock.advance(VAULT_LEASE_MS - 1_000);
    expect(outcome(await runWorkItem(b.queued[0]!.item, b.services, delivery, silentLogger))).toBe('Deferred');
    expect(h.vault.versionCount('key', keys[0]!)).toBe(1);
    h.clock.advance(1_000 + LEASE_CHECK_GRACE_MS);
    const drained = await runWorkItem(b.queued[0]!.item, b.services, delivery, silentLogger);
    expect(drained.kind === 'vault' && drained.drain.objects.every((o) => o.outcome === 'Rotated')).toBe(true);
    for (const k of keys) expect(h.vault.versionCount('key', k)).toBe(2);
    // The old holder, were it to come back, has lost the lease: it stops taking on work.
    if (crashed.acquired) await expect(store.renew(crashed.lease, h.clock.now(), VAULT_LEASE_MS, { admitted: {}, pausedUntil: 0 })).rejects.toBeInstanceOf(VaultLeaseLost);
    // Draining again finds nothing to do: no second version.
    await runWorkItem({ kind: 'drainVault', vault: 'hpc-kv', runId: 'again', trigger: 'timer' }, b.services, delivery, silentLogger);
    for (const k of keys) expect(h.vault.versionCount('key', k)).toBe(2);
  });

  it('drains a burst of items arriving at one instance with one lease: later items join the running drain and return at once', async () => {
    const h = harness();
    const store = new MemoryVaultWorkStore();
    const keys = dueKeys(h, 40);
    const a = instance(h, store, 'A');
    const results = await Promise.all(keys.map((k) => runWorkItem(objectItem(k), a.services, delivery, silentLogger)));
    // The first item's invocation drains; the others joined it (their slots were free at once for other work).
    expect(results.map(outcome)[0]).toBe('Rotated');
    expect(new Set(results.map(outcome).slice(1))).toEqual(new Set(['Deferred']));
    expect(results.slice(1).every((r) => r.kind === 'vault' && r.drain.deferred?.holder === 'A')).toBe(true);
    for (const k of keys) expect(h.vault.versionCount('key', k)).toBe(2);
    expect(h.audit.rows.filter((r) => r.action === 'RotationCompleted')).toHaveLength(40);
    // One drain took the lease; the other 39 items joined it (they were in the set it reads) instead of racing it.
    expect(store.calls.acquires).toBe(1);
    // Should A stop, a check after its lease takes over: scheduled once, by the drain.
    expect(a.queued.filter((q) => q.item.kind === 'drainVault' && q.delaySeconds !== undefined)).toHaveLength(1);
    expect(store.pendingCount('hpc-kv')).toBe(0);
    // One signed digest, by the drain that ran the work: the items that joined it ran nothing of their own.
    expect(a.digests).toEqual(['hpc-kv']);
  });

  it('hands the pacer budget over with the lease: the next holder does not start with a full window', async () => {
    const h = harness(baseConfig({ limits: { rsa2048CreatesPer10s: 5 } }));
    const store = new MemoryVaultWorkStore();
    const keys = dueKeys(h, 6);
    const a = instance(h, store, 'A');
    const b = instance(h, store, 'B');
    const start = h.clock.now().getTime();
    await Promise.all(keys.slice(0, 5).map((k) => runWorkItem(objectItem(k), a.services, delivery, silentLogger)));
    const firstWave = keys.slice(0, 5).map((k) => h.vault.current('key', k)!.createdOn!.getTime());
    expect(Math.max(...firstWave) - start).toBeLessThan(10_000); // A spent the whole window
    await runWorkItem(objectItem(keys[5]!), b.services, delivery, silentLogger);
    const sixth = h.vault.current('key', keys[5]!)!.createdOn!.getTime();
    // B's pacer counted A's five creations: its first waits for the window to move on.
    expect(sixth - Math.min(...firstWave)).toBeGreaterThanOrEqual(10_000);
  });

  it('hands a rate lowered after 429s over with the lease too', () => {
    const h = harness();
    const before = new VaultPacer(h.config.limits, h.clock, h.clock.sleep);
    before.throttled(1_000, ['rsa2048Create']);
    const lowered = before.currentLimit('rsa2048Create');
    expect(lowered).toBeLessThan(h.config.limits.rsa2048CreatesPer10s);
    const after = new VaultPacer(h.config.limits, h.clock, h.clock.sleep);
    after.restore(JSON.parse(JSON.stringify(before.snapshot())) as ReturnType<VaultPacer['snapshot']>);
    expect(after.currentLimit('rsa2048Create')).toBe(lowered);
    expect(after.currentLimit('secretWrite')).toBe(h.config.limits.secretWritesPer10s);
  });

  it('continues in a new work item when the time budget is spent, with every object rotated exactly once in the end', async () => {
    const h = harness(baseConfig({ rotation: { concurrencyPerVault: 8, workItemMinutes: 0.25, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 } }));
    const store = new MemoryVaultWorkStore();
    const keys = dueKeys(h, 60);
    const a = instance(h, store, 'A');
    const b = instance(h, store, 'B');
    // The items land on B while A holds the vault; A's drain then meets the budget.
    const held = await store.acquire('hpc-kv', 'A', h.clock.now(), VAULT_LEASE_MS, LEASE_CHECK_GRACE_MS);
    for (const k of keys) await runWorkItem(objectItem(k), b.services, delivery, silentLogger);
    if (held.acquired) await store.release(held.lease, a.pacer.snapshot());
    const first = await runWorkItem({ kind: 'drainVault', vault: 'hpc-kv', runId: 'drain-1', trigger: 'eventgrid' }, a.services, delivery, silentLogger);
    expect(first).toMatchObject({ kind: 'vault', drain: { continued: true } });
    const continuation = a.queued.find((q) => q.item.kind === 'drainVault' && q.delaySeconds === undefined);
    expect(continuation).toBeDefined();
    for (let round = 0; round < 6 && store.pendingCount('hpc-kv'); round++) {
      await runWorkItem({ kind: 'drainVault', vault: 'hpc-kv', runId: `drain-${round + 2}`, trigger: 'eventgrid' }, a.services, delivery, silentLogger);
    }
    expect(store.pendingCount('hpc-kv')).toBe(0);
    for (const k of keys) expect(h.vault.versionCount('key', k)).toBe(2);
    expect(h.audit.rows.filter((r) => r.action === 'RotationStarted')).toHaveLength(60);
  });

  it('keeps a NewVersionCreated hint apart from other events for the same object', async () => {
    const h = harness();
    const store = new MemoryVaultWorkStore();
    const [k] = dueKeys(h, 1);
    const b = instance(h, store, 'B');
    await store.acquire('hpc-kv', 'A', h.clock.now(), VAULT_LEASE_MS, LEASE_CHECK_GRACE_MS);
    await runWorkItem(objectItem(k!), b.services, delivery, silentLogger);
    await runWorkItem(objectItem(k!, 'Microsoft.KeyVault.KeyNewVersionCreated'), b.services, delivery, silentLogger);
    await runWorkItem(objectItem(k!), b.services, delivery, silentLogger);
    expect((await store.pending('hpc-kv', 10)).map((e) => e.key)).toEqual([`key|${k}`, `key|${k}|new-version`]);
  });
});
