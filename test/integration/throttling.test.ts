/**
 * Throttling as real Key Vault does it: 429 without Retry-After (THROTTLING-429-NOTE), which the SDK's own retry
 * policy does not retry. Through the real SDK clients on the local stack, Rotor's throttle retry policy backs off
 * (full jitter, inside the invocation's deadline) and feeds the vault's pacer: a scan whose list pages and reads
 * are throttled completes, and a wave of due keys pushed back by the vault's creation budget finishes with no failed
 * rotation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkItem } from '../../src/core/work.js';
import { runWorkItem, type WorkResult } from '../../src/core/rotor.js';
import { quietLogger, startTestEnv, type TestEnv } from '../support/local.js';

let t: TestEnv;
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: ['scan-kv', 'wave-kv'], pendingDelayMs: 20, faults: { limits: false } } });
});

afterAll(async () => {
  await t?.stop();
});

/** Runs a vault's scan work item and the continuations it enqueues, as the queue would deliver them. */
async function scanWithContinuations(services: Awaited<ReturnType<TestEnv['services']>>, vault: string, runId: string) {
  const continuations: unknown[] = [];
  // Delayed items are checks for after a crash (vault-work.ts), not continuations: the queue delivers them later.
  const worker = { ...services, queue: { enqueue: async (item: WorkItem, o: { delaySeconds?: number } = {}) => void (o.delaySeconds ? undefined : continuations.push(item)) } };
  const results: WorkResult[] = [];
  let next: unknown = { kind: 'scanVault', vault, runId, trigger: 'timer' };
  while (next) {
    const result = await runWorkItem(next, worker, delivery, quietLogger);
    // A continuation drains the vault's pending set: the scans it ran are the scan's continuation.
    if (result.kind === 'vault') results.push(...result.drain.scans.map((summary) => ({ kind: 'scanVault' as const, summary })));
    else results.push(result);
    next = continuations.shift();
  }
  return results;
}

describe('429 without Retry-After', () => {
  it('a throttled scan slows down and completes instead of failing its work item', async () => {
    const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, notBefore: '-30d', expires: '+335d' }));
    await t.stack.keyVault.seed({
      vaults: {
        'scan-kv': {
          certificates: [...many(30, 'cert'), { name: 'due-cert', notBefore: '-355d', expires: '+10d' }],
          keys: [...many(60, 'key').map((k) => ({ ...k, kty: 'RSA' as const, keySize: 2048 })), { name: 'due-key', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' }],
          secrets: [...many(60, 'secret'), { name: 'due-secret', notBefore: '-355d', expires: '+10d', tags: { 'rotor-secret-kind': 'pw' } }],
        },
      },
    });
    // A third of all requests — list pages, reads, creates — is answered 429 without Retry-After.
    t.stack.keyVault.setFaults('scan-kv', { throttleShare: 0.3, sendRetryAfter: false, seed: 7 });
    t.stack.keyVault.resetCounters();
    try {
      const services = await t.services(
        {
          vaults: [{ name: 'scan-kv', url: t.vaultUrl('scan-kv') }],
          secretKinds: { pw: { generator: 'password', length: 16 } },
          rotation: { pollIntervalSeconds: 0.05 },
        },
        { transport: { throttle: { baseDelayMs: 200, maxDelayMs: 5_000 } } },
      );
      const since = new Date();
      const [result, ...more] = await scanWithContinuations(services, 'scan-kv', 'throttled-scan');
      expect(more).toEqual([]);
      expect(result?.kind).toBe('scanVault');
      if (result?.kind !== 'scanVault') return;
      expect(result.summary.errors).toEqual([]);
      expect(result.summary.scanned).toEqual({ certificate: 31, key: 61 + 31, secret: 61 + 31 });
      expect(result.summary.outcomes).toMatchObject({ Rotated: 3 });
      const throttled = t.stack.keyVault.counters('scan-kv')['throttled'] ?? 0;
      expect(throttled).toBeGreaterThan(5);
      // Every 429 was waited out by Rotor's policy (none by the SDK, which would not retry them), and the pacer heard of each.
      expect(services.pacer(services.config.vaults[0]!).throttledResponses).toBe(throttled);
      const rows = (await t.auditRows(since)).filter((r) => r.vault === 'scan-kv');
      expect(rows.filter((r) => r.outcome === 'Failed')).toEqual([]);
      expect(rows.filter((r) => r.action === 'ScanCompleted').map((r) => r.outcome)).toEqual(['Succeeded']);
    } finally {
      t.stack.keyVault.setFaults('scan-kv', { throttleShare: 0, sendRetryAfter: true });
    }
  }, 240_000);

  // 150 keys here (each rotation makes the emulator generate an RSA-2048 pair, which is CPU-bound on a shared
  // machine); `npm run bench -- wave` runs 1,000 at Key Vault's real budget, also without Retry-After.
  it('a wave of due keys pushed back by the vault (429 without Retry-After) finishes with 0 failed rotations', async () => {
    const count = 150;
    await t.stack.keyVault.seed({
      vaults: { 'wave-kv': { keys: Array.from({ length: count }, (_, i) => ({ name: `wave-${i}`, kty: 'RSA' as const, keySize: 2048, notBefore: '-355d', expires: '+10d' })) } },
    });
    // The vault's budget is below what Rotor's pacer allows, so the vault must push back — with 429s that carry no
    // Retry-After, as Key Vault's do; a share of reads and writes is throttled too.
    t.stack.keyVault.setFaults('wave-kv', { limits: { rsa2048Create: 40 }, throttleShare: 0.05, sendRetryAfter: false, seed: 11 });
    t.stack.keyVault.resetCounters();
    try {
      const services = await t.services(
        { vaults: [{ name: 'wave-kv', url: t.vaultUrl('wave-kv') }], limits: { rsa2048CreatesPer10s: 100 } },
        // A generous request timeout: on a loaded shared machine the emulator's key generation can queue for long.
        { transport: { requestTimeoutMs: 120_000, throttle: { baseDelayMs: 200, maxDelayMs: 5_000 } } },
      );
      const since = new Date();
      const results = await scanWithContinuations(services, 'wave-kv', 'throttled-wave');
      const outcomes: Record<string, number> = {};
      for (const r of results) {
        if (r.kind !== 'scanVault') throw new Error(`unexpected ${r.kind}`);
        expect(r.summary.errors).toEqual([]);
        for (const [k, v] of Object.entries(r.summary.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + (v ?? 0);
      }
      const rows = (await t.auditRows(since)).filter((r) => r.vault === 'wave-kv');
      expect(rows.filter((r) => r.action === 'RotationFailed').map((r) => r.detail)).toEqual([]);
      expect(outcomes).toEqual({ Rotated: count });
      const counters = t.stack.keyVault.counters('wave-kv');
      expect(counters['throttled'] ?? 0).toBeGreaterThan(10);
      expect(services.pacer(services.config.vaults[0]!).throttledResponses).toBe(counters['throttled']);
      expect(rows.filter((r) => r.action === 'RotationCompleted')).toHaveLength(count);
    } finally {
      t.stack.keyVault.setFaults('wave-kv', { limits: {}, throttleShare: 0, sendRetryAfter: true });
    }
  }, 400_000);
});
