import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { auditRecord, type AuditInput } from '../../src/core/audit.js';
import type { AuditRow } from '../../src/core/audit-chain.js';
import { buildTimeline, readTimeline } from '../../src/core/audit-timeline.js';
import type { ConsumerRecord } from '../../src/core/ports.js';
import { AUDIT_COLUMNS, rowJson, rowsCsv } from '../../src/app/audit-export.js';

let seq = 0;
function row(minute: number, input: Partial<AuditInput> & Pick<AuditInput, 'action' | 'outcome'>, trigger: 'timer' | 'manual' = 'timer'): AuditRow {
  const record = auditRecord({ runId: `run-${trigger}`, trigger }, new Date(Date.UTC(2026, 10, 19, 2, minute)), {
    vault: 'hpc-prod-kv',
    objectType: 'certificate',
    objectName: 'hpc-node-comm',
    ...input,
  });
  const n = seq++;
  return { partitionKey: 'hpc-prod-kv|20261119', rowKey: String(1e22 - n), record, chainSeq: n, prevRowKey: '', prevHash: 'p', hash: `h${n}` };
}

describe('object timeline', () => {
  const rotation = [
    row(0, { action: 'Detected', outcome: 'Info', rotationId: 'r1', reason: 'NearExpiry', version: 'v1', thumbprint: 'T1' }),
    row(1, { action: 'RotationStarted', outcome: 'Pending', rotationId: 'r1', reason: 'NearExpiry', version: 'v1', thumbprint: 'T1' }),
    row(2, { action: 'VersionCreated', outcome: 'Succeeded', rotationId: 'r1', version: 'v2', previousVersion: 'v1', thumbprint: 'T2', previousThumbprint: 'T1' }),
    row(3, { action: 'RotationCompleted', outcome: 'Succeeded', rotationId: 'r1', version: 'v2', previousVersion: 'v1', thumbprint: 'T2', previousThumbprint: 'T1' }),
    row(10, { action: 'ConsumerStale', outcome: 'ActionRequired', rotationId: 'r1', consumer: 'head-node-01', expected: 'T2', observed: 'T1' }),
    row(11, { action: 'ConsumerVerified', outcome: 'Succeeded', rotationId: 'r1', consumer: 'pool-a', expected: 'T2', observed: 'T2' }),
    // A consumer row written without the rotation id still belongs to the rotation that created v2.
    row(30, { action: 'ConsumerVerified', outcome: 'Succeeded', consumer: 'head-node-01', expected: 'T2', observed: 'T2', version: 'v2' }),
  ];
  const failed = [
    row(50, { action: 'Detected', outcome: 'Info', rotationId: 'r2', reason: 'Manual', version: 'v2' }, 'manual'),
    row(51, { action: 'RotationStarted', outcome: 'Pending', rotationId: 'r2', version: 'v2' }, 'manual'),
    row(52, { action: 'RotationFailed', outcome: 'Failed', rotationId: 'r2', reason: 'Forbidden' }, 'manual'),
  ];
  const reports = [row(40, { action: 'NewVersionObserved', outcome: 'Info', version: 'v2' }), row(60, { action: 'Skipped', outcome: 'Skipped', reason: 'PolicyOff' })];

  it('tells each rotation from detection to consumer convergence, newest rotation first', () => {
    const t = buildTimeline({ vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'hpc-node-comm' }, [...reports, ...failed, ...rotation].reverse());
    expect(t.rotations.map((r) => [r.rotationId, r.status, r.trigger])).toEqual([
      ['r2', 'Failed', 'manual'],
      ['r1', 'Completed', 'timer'],
    ]);
    const r1 = t.rotations[1]!;
    expect(r1).toMatchObject({
      fromVersion: 'v1',
      toVersion: 'v2',
      fromThumbprint: 'T1',
      toThumbprint: 'T2',
      reason: 'NearExpiry',
      detectedAt: '2026-11-19T02:00:00.000Z',
      completedAt: '2026-11-19T02:03:00.000Z',
      converged: true,
      convergedAt: '2026-11-19T02:30:00.000Z',
    });
    expect(r1.consumers).toEqual([
      expect.objectContaining({ consumer: 'head-node-01', state: 'Verified', verifiedAt: '2026-11-19T02:30:00.000Z', checks: 2 }),
      expect.objectContaining({ consumer: 'pool-a', state: 'Verified', verifiedAt: '2026-11-19T02:11:00.000Z', checks: 1 }),
    ]);
    expect(r1.rows).toHaveLength(7);
    expect(t.rotations[0]!.failedAt).toBe('2026-11-19T02:52:00.000Z');
    expect(t.other.map((r) => r.record.action)).toEqual(['Skipped', 'NewVersionObserved']);
  });

  it('is not converged while a consumer is stale', () => {
    const t = buildTimeline({ vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'hpc-node-comm' }, rotation.slice(0, 6));
    expect(t.rotations[0]).toMatchObject({ converged: false, convergedAt: null });
    expect(t.rotations[0]!.consumers.find((c) => c.consumer === 'head-node-01')).toMatchObject({ state: 'Stale', verifiedAt: null });
  });
});

describe('object timeline with consumer rows', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 19, 2, minute));
  const record = (id: string, extra: Partial<ConsumerRecord>): ConsumerRecord => ({
    rotationId: 'r1',
    vault: 'hpc-prod-kv',
    objectType: 'certificate',
    objectName: 'hpc-node-comm',
    id,
    kind: 'hpc-pack-node',
    label: `HPC Pack node ${id}`,
    status: 'Verified',
    reason: 'PresentsNewCertificate',
    detail: 'presents the new certificate',
    expected: 'T2',
    observed: 'T2',
    checkedAt: at(90),
    firstCheckedAt: at(2),
    statusSince: at(30),
    verifiedAt: at(30),
    checks: 4,
    ...extra,
  });
  const rows = [
    row(0, { action: 'Detected', outcome: 'Info', rotationId: 'r1', reason: 'NearExpiry', version: 'v1' }),
    row(2, { action: 'VersionCreated', outcome: 'Succeeded', rotationId: 'r1', version: 'v2', previousVersion: 'v1' }),
    row(2, { action: 'ConsumerStale', outcome: 'Failed', rotationId: 'r1', consumer: 'HPC Pack node cn01 (cn01)', expected: 'T2', observed: 'T1' }),
  ];
  const object = { vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'hpc-node-comm' } as const;

  it("takes each consumer's latest check from its row (audit rows record only changes)", () => {
    const consumerRows = new Map([['r1', [record('cn01', {}), record('cn02', { status: 'Unreachable', reason: 'Timeout', observed: '', verifiedAt: undefined, statusSince: at(2), nextCheckAt: at(120) })]]]);
    const t = buildTimeline(object, rows, false, consumerRows);
    expect(t.rotations[0]!.consumers).toEqual([
      expect.objectContaining({ consumer: 'HPC Pack node cn01 (cn01)', state: 'Verified', at: at(90).toISOString(), verifiedAt: at(30).toISOString(), checks: 4, nextCheckAt: null }),
      expect.objectContaining({ consumer: 'HPC Pack node cn02 (cn02)', state: 'Unreachable', verifiedAt: null, nextCheckAt: at(120).toISOString() }),
    ]);
    expect(t.rotations[0]).toMatchObject({ converged: false });
  });

  it('reads the consumer rows of the rotations found in the audit rows', async () => {
    const asked: string[] = [];
    const t = await readTimeline({ objectRows: async () => ({ rows, truncated: false }) }, { list: async (id) => (asked.push(id), [record('cn01', {})]) }, object);
    expect(asked).toEqual(['r1']);
    expect(t.rotations[0]).toMatchObject({ converged: true, convergedAt: at(30).toISOString() });
  });
});

describe('CSV export', () => {
  it('is RFC 4180 and parses back to the same rows', () => {
    const tricky = [
      row(0, { action: 'EventRejected', outcome: 'Skipped', objectName: "' or PartitionKey ne '", detail: 'comma, "quote", and\r\na line break' }),
      row(1, { action: 'Skipped', outcome: 'Skipped', objectName: 'zertifikat-ü-🔑', detail: '  leading and trailing spaces  ' }),
      row(2, { action: 'PolicyViolation', outcome: 'ActionRequired', objectName: '=HYPERLINK("x")', detail: '' }),
    ];
    const csv = rowsCsv(tricky);
    expect(csv.split('\r\n')[0]).toBe(AUDIT_COLUMNS.join(','));
    expect(csv.endsWith('\r\n')).toBe(true);
    const parsed = parse<Record<string, string>>(csv, { columns: true, record_delimiter: '\r\n' });
    expect(parsed).toEqual(tricky.map((r) => ({ ...rowJson(r), chainSeq: String(r.chainSeq) })));
  });
});
