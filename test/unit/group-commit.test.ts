/**
 * Group commit of a rotation wave in the core: due objects start in groups whose opening audit rows go out in one
 * write, completions ride along with the next group's write, and a Completed state is only recorded once its
 * RotationCompleted row is durable.
 */
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit.js';
import type { AuditLog, FlushOptions } from '../../src/core/ports.js';
import { processVault } from '../../src/core/scan.js';
import { baseConfig, DAY, harness } from '../support/fakes.js';

/**
 * An audit log with group-commit semantics and no timers: a flush that may wait is served by the next flush without
 * delay (nothing else writes), so the number of writes shows how rows were grouped.
 */
class GroupCommitLog implements AuditLog {
  readonly durable: AuditRecord[] = [];
  readonly writes: number[] = [];
  private pending: AuditRecord[] = [];
  private waiting: (() => void)[] = [];

  append(record: AuditRecord): void {
    this.pending.push(record);
  }
  flush(options?: FlushOptions): Promise<void> {
    if (options?.maxDelayMs) return new Promise((resolve) => this.waiting.push(resolve));
    if (this.pending.length) this.writes.push(this.pending.length);
    this.durable.push(...this.pending);
    this.pending = [];
    const served = this.waiting;
    this.waiting = [];
    for (const resolve of served) resolve();
    return Promise.resolve();
  }
  async hasRecord(vault: string, rotationId: string, action: AuditRecord['action']): Promise<boolean> {
    return this.durable.some((r) => r.vault === vault && r.rotationId === rotationId && r.action === action);
  }
}

describe('group commit of a rotation wave', () => {
  it('writes each group of starts at once, completions with the next group, and Completed states only after their rows', async () => {
    const h = harness(baseConfig({ rotation: { concurrencyPerVault: 8, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 } }));
    const now = h.clock.now().getTime();
    for (let i = 0; i < 40; i++) h.vault.add('key', `k-${String(i).padStart(2, '0')}`, { notBefore: new Date(now - 355 * DAY), expiresOn: new Date(now + 10 * DAY) });
    const audit = new GroupCommitLog();
    const violations: string[] = [];
    const states = h.states;
    const put = states.put.bind(states);
    states.put = async (state, etag) => {
      if (state.status === 'Completed' && !(await audit.hasRecord(state.vault, state.rotationId, 'RotationCompleted'))) violations.push(state.objectName);
      return put(state, etag);
    };

    const summary = await processVault(h.ctx({ audit }));

    expect(summary.outcomes).toEqual({ Rotated: 40 });
    expect(violations).toEqual([]);
    for (let i = 0; i < 40; i++) expect(h.states.value('hpc-kv', 'key', `k-${String(i).padStart(2, '0')}`)?.status).toBe('Completed');
    // 40 due keys in groups of 4 (half the concurrency): 10 group writes, then the last completions with ScanCompleted.
    expect(audit.writes).toHaveLength(11);
    expect(audit.durable.filter((r) => r.action === 'RotationStarted')).toHaveLength(40);
    expect(audit.durable.filter((r) => r.action === 'RotationCompleted')).toHaveLength(40);
    expect(audit.durable.at(-1)?.action).toBe('ScanCompleted');
    // Every row is durable before the creation it announces: each RotationStarted precedes its VersionCreated.
    for (const started of audit.durable.filter((r) => r.action === 'RotationStarted')) {
      const created = audit.durable.findIndex((r) => r.action === 'VersionCreated' && r.rotationId === started.rotationId);
      expect(created).toBeGreaterThan(audit.durable.indexOf(started));
    }
  });

  it('does not record a rotation as Completed when its completion row cannot be written; resuming completes it', async () => {
    const h = harness(baseConfig({ rotation: { concurrencyPerVault: 2, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1, leaseMinutes: 1 } }));
    const now = h.clock.now().getTime();
    h.vault.add('key', 'only', { notBefore: new Date(now - 355 * DAY), expiresOn: new Date(now + 10 * DAY) });
    let failFrom = Infinity;
    let calls = 0;
    const inner = h.audit;
    const audit: AuditLog = {
      append: (r) => inner.append(r),
      hasRecord: (...a) => inner.hasRecord(...a),
      flush: async () => {
        if (++calls >= failFrom) throw new Error('table storage unavailable');
        return inner.flush();
      },
    };
    failFrom = 2; // the opening rows are written; the completion write fails
    const first = await processVault(h.ctx({ audit })).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(Error); // ScanCompleted could not be written either: the queue retries the work item
    expect(h.vault.versionCount('key', 'only')).toBe(2);
    expect(h.states.value('hpc-kv', 'key', 'only')?.status).toBe('VersionCreated');

    failFrom = Infinity;
    inner.crash(); // the worker's buffer is gone with its process
    h.clock.advance(2 * 60_000); // the lease has expired
    const resumed = await processVault(h.ctx());
    expect(resumed.outcomes).toMatchObject({ Rotated: 1 });
    expect(h.vault.versionCount('key', 'only')).toBe(2);
    expect(h.states.value('hpc-kv', 'key', 'only')?.status).toBe('Completed');
    expect(h.audit.actions('only')).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
  });
});
