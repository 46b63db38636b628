/**
 * Scenario 4 — a rotation wave under throttling, and scenario 5 — audit writes during it. 1,000 due RSA-2048 keys in
 * one vault whose endpoint answers 429 as Key Vault does — without Retry-After — and grants Rotor less than its
 * configured limit: the vault's budget is 20 RSA-2048 creations per 10 seconds, another client uses 4 of them, so 16
 * are left while Rotor is configured for 20. Rotor's queue worker (runWorkItem, auto mode, default concurrency, time
 * budget and throttle backoff) must slow down to what the vault grants. The figures are the share of the granted
 * budget used, rotations lost to 429, total time against the ideal (1,000 / 1.6 per second), audit rows per Table
 * storage request and the time a rotation spends waiting for its audit rows to be durable.
 */
import type { AuditRecord } from '../../src/core/audit.js';
import type { AuditLog, FlushOptions } from '../../src/core/ports.js';
import { runWorkItem } from '../../src/core/rotor.js';
import type { WorkItem } from '../../src/core/work.js';
import { dueKeys } from '../lib/fixtures.js';
import type { ScenarioResult } from '../lib/report.js';
import { RequestCounter } from '../lib/requests.js';
import { quiet, startBenchStack, timed } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

const VAULT = 'bench-wave';
/** RSA-2048 creations per 10 s the vault grants Rotor (Key Vault's 20, less another client's 4). */
const GRANTED = 16;

/** The audit port with the time each caller spends waiting in flush() recorded. */
class TimedAudit implements AuditLog {
  waitedMs = 0;
  flushCalls = 0;
  constructor(private readonly inner: AuditLog) {}
  append(record: AuditRecord): void {
    this.inner.append(record);
  }
  async flush(options?: FlushOptions): Promise<void> {
    const t = performance.now();
    this.flushCalls++;
    try {
      await this.inner.flush(options);
    } finally {
      this.waitedMs += performance.now() - t;
    }
  }
  hasRecord(vault: string, rotationId: string, action: AuditRecord['action'], since: Date): Promise<boolean> {
    return this.inner.hasRecord(vault, rotationId, action, since);
  }
}

export async function waveScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const count = params.waveKeys;
  const bench = await startBenchStack({ vaults: [VAULT], latencyMs: params.latencyMs, seed: { vaults: { [VAULT]: dueKeys(count) } } });
  const tablePort = bench.stack.azurite?.tablePort;
  if (!tablePort) throw new Error('the wave needs Azurite');
  try {
    const services = await bench.services({ vaults: [{ name: VAULT, url: bench.vaultUrl(VAULT), mode: 'auto' }] });
    const configured = services.config.limits.rsa2048CreatesPer10s;
    const limit = GRANTED;
    const kv = bench.stack.keyVault;
    // 429s without Retry-After, as Key Vault answers; the vault's budget is below Rotor's configured limit.
    kv.setFaults(VAULT, { sendRetryAfter: false, limits: { rsa2048Create: GRANTED } });
    // Creation times, from the vault's own NewVersionCreated events.
    const created: number[] = [];
    const unsubscribe = kv.subscribe({ kind: 'callback', deliver: (e) => void (e.eventType.endsWith('NewVersionCreated') && created.push(performance.now())) });
    const audit = new TimedAudit(services.audit);
    const statsBefore = { ...services.auditLog.stats };
    kv.resetCounters();
    const tables = new RequestCounter(tablePort);
    const waveStart = performance.now();
    // The queue worker's path: a vault's work item hands over to a new one when its time budget (workItemMinutes)
    // runs out; the continuations run here one after the other, as the queue would deliver them.
    const continuations: unknown[] = [];
    // Delayed items are checks for after a crash (src/core/vault-work.ts), not continuations: not followed here.
    const worker = { ...services, audit, queue: { enqueue: async (item: WorkItem, o: { delaySeconds?: number } = {}) => void (o.delaySeconds ? undefined : continuations.push(item)) } };
    const run = await timed(async () => {
      const outcomes: Record<string, number> = {};
      const errors: string[] = [];
      let items = 0;
      let next: unknown = { kind: 'scanVault', vault: VAULT, runId: 'bench-wave', trigger: 'timer' };
      while (next) {
        items++;
        const result = await runWorkItem(next, worker, { dequeueCount: 1, maxDequeueCount: 5 }, quiet);
        // A continuation is a drainVault item (the vault's lease holder resumes the scan): its scans count.
        const summaries = result.kind === 'scanVault' ? [result.summary] : result.kind === 'vault' ? result.drain.scans : [];
        if (result.kind !== 'scanVault' && result.kind !== 'vault') throw new Error(`unexpected work result ${result.kind}`);
        for (const summary of summaries) {
          for (const [k, v] of Object.entries(summary.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + (v ?? 0);
          errors.push(...summary.errors);
        }
        next = continuations.shift();
      }
      return { outcomes, errors, items };
    });
    tables.stop();
    unsubscribe();
    await kv.drainEvents();
    const counters = kv.counters(VAULT);
    const rotated = run.result.outcomes.Rotated ?? 0;
    const failed = run.result.outcomes.Failed ?? 0;
    const idealMs = (count / limit) * 10_000;
    // The budget a sliding 10-second window offers from the first creation to the last: `limit` at once, then
    // `limit` more every 10 seconds. Creation times come from the vault's NewVersionCreated events.
    const span = created.length > 1 ? created[created.length - 1]! - created[0]! : 0;
    const offered = limit * (1 + span / 10_000);
    const stats = services.auditLog.stats;
    const rows = stats.rows - statsBefore.rows;
    const tally = tables.snapshot();
    // Every table is counted (batch transactions under the table they write); the audit figure divides by the audit
    // table's requests, and the state table's requests are reported beside it.
    const auditRequests = tally.byTable['RotorAudit'] ?? 0;
    const stateRequests = tally.byTable['RotorState'] ?? 0;
    return {
      id: '4-wave',
      title: `Rotation wave: ${count.toLocaleString('en-US')} due RSA-2048 keys, 429 without Retry-After, vault grants ${limit} creations per 10 s (Rotor configured for ${configured}), ${params.latencyMs} ms latency; audit writes`,
      durationMs: performance.now() - started,
      figures: [
        { name: 'throttle budget used', value: created.length / offered, unit: '', bound: 0.9, goal: 'min', note: `${created.length} creations in ${(span / 1000).toFixed(1)} s from first to last, where the window allows ${Math.floor(offered)}` },
        { name: 'rotations failed by 429', value: failed, unit: '', bound: 0, goal: 'max', note: `${rotated} rotated; ${counters['throttled'] ?? 0} requests answered 429 without Retry-After in all (Rotor's backoff retries them; the SDK alone would not)` },
        { name: 'total time / ideal', value: run.ms / idealMs, unit: '×', goal: 'info', note: `${(run.ms / 1000).toFixed(1)} s against ${count} / ${limit / 10} per s = ${(idealMs / 1000).toFixed(0)} s (the first ${limit} need not wait)` },
        { name: '429s per creation', value: (counters['throttled'] ?? 0) / Math.max(created.length, 1), unit: '', goal: 'info', note: `the pacer lowers its rate after a throttled creation to what the vault let through in the window (at most to 70 % per episode) and regains 5 % of the configured limit per quiet window` },
        { name: 'audit rows per RotorAudit request', value: rows / Math.max(auditRequests, 1), unit: '', bound: 50, goal: 'min', note: `path: the nightly scan's work item (processVault, group commit); ${rows} rows in ${auditRequests} requests to the audit table (${stats.transactions - statsBefore.transactions} batch transactions)` },
        { name: 'RotorState requests per rotation', value: stateRequests / Math.max(rotated, 1), unit: '', goal: 'info', note: `same path; ${stateRequests} requests to the state table for ${rotated} rotations (one read, then a write per transition)` },
        { name: 'Table requests per rotation (every table)', value: tally.total / Math.max(rotated, 1), unit: '', goal: 'info', note: `same path; ${tally.total} requests, by table ${JSON.stringify(tally.byTable)}; audit rows per Table request of every table: ${(rows / Math.max(tally.total, 1)).toFixed(2)}` },
        { name: 'audit wait per rotation', value: audit.waitedMs / Math.max(rotated, 1), unit: 'ms', goal: 'info', note: `time a rotation waits for its rows to be durable (${audit.flushCalls} flushes awaited)` },
      ],
      details: {
        outcomes: run.result.outcomes,
        workItems: run.result.items,
        errors: run.result.errors.slice(0, 5),
        keyVaultCounters: counters,
        tableRequests: tally,
        auditStats: { rows, transactions: stats.transactions - statsBefore.transactions, conflicts: stats.conflicts - statsBefore.conflicts },
        waveStartToFirstCreationMs: created.length ? Math.round(created[0]! - waveStart) : null,
      },
    };
  } finally {
    await bench.stop();
  }
}
