/** The chain verifier on rows in memory (the integration suite tampers with real Table storage rows). */
import { describe, expect, it } from 'vitest';
import { auditRecord, type AuditRecord } from '../../src/core/audit.js';
import { genesisHash, rowHash, verifyChain, type AuditRow, type ChainHead } from '../../src/core/audit-chain.js';
import { tableLayout } from '../../src/adapters/storage/audit-reader.js';
import { auditPartition, auditRowKey } from '../../src/adapters/storage/keys.js';

const VAULT = 'hpc-prod-kv';
const DAY = Date.UTC(2026, 10, 19, 2, 0, 0);
const PK = auditPartition(VAULT, new Date(DAY));

function record(i: number, at = DAY + i * 60_000): AuditRecord {
  return auditRecord({ runId: 'run-1', trigger: 'timer' }, new Date(at), {
    vault: VAULT,
    objectType: 'secret',
    objectName: `s-${i}`,
    action: 'Detected',
    outcome: 'Info',
    detail: `row ${i}`,
  });
}

/** A chain as the writer builds it: rows in `seq` order (times may be out of order), and its head. */
function chain(records: AuditRecord[]): { rows: AuditRow[]; head: ChainHead } {
  const rows: AuditRow[] = [];
  let prevHash = genesisHash(PK);
  let prevRowKey = '';
  records.forEach((r, seq) => {
    const rowKey = auditRowKey(r.timestamp, seq);
    const hash = rowHash(PK, seq, prevRowKey, prevHash, r);
    rows.push({ partitionKey: PK, rowKey, record: r, chainSeq: seq, prevRowKey, prevHash, hash });
    prevHash = hash;
    prevRowKey = rowKey;
  });
  return { rows, head: { seq: rows.length - 1, hash: prevHash, lastRowKey: prevRowKey } };
}

const ten = () => chain(Array.from({ length: 10 }, (_, i) => record(i)));
const verify = (rows: AuditRow[], head: ChainHead | undefined) => verifyChain(PK, rows, head, tableLayout);

describe('audit chain verification', () => {
  it('passes an untouched chain', () => {
    const { rows, head } = ten();
    expect(verify(rows, head)).toEqual([]);
  });

  it('passes chains whose commit order differs from time order (concurrent writers)', () => {
    const { rows, head } = chain([record(0, DAY + 5000), record(1, DAY + 1000), record(2, DAY + 9000), record(3, DAY + 1000)]);
    expect(verify(rows, head)).toEqual([]);
  });

  it('names an edited row', () => {
    const { rows, head } = ten();
    rows[4] = { ...rows[4]!, record: { ...rows[4]!.record, detail: 'nothing to see' } };
    expect(verify(rows, head)[0]).toMatchObject({ kind: 'edited', seq: 4, rowKey: rows[4]?.rowKey });
  });

  it('names an edited row whose hash was recomputed', () => {
    const { rows, head } = ten();
    const r = rows[4]!;
    const record4 = { ...r.record, outcome: 'Succeeded' as const };
    rows[4] = { ...r, record: record4, hash: rowHash(PK, 4, r.prevRowKey, r.prevHash, record4) };
    expect(verify(rows, head)[0]).toMatchObject({ kind: 'edited', seq: 4, rowKey: r.rowKey });
  });

  it('names a deleted middle row by its row key', () => {
    const { rows, head } = ten();
    const [gone] = rows.splice(5, 1);
    const findings = verify(rows, head);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'deleted', seq: 5, rowKey: gone!.rowKey });
  });

  it('names the deleted newest row (the head still records it)', () => {
    const { rows, head } = ten();
    const gone = rows.pop()!;
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'deleted', seq: 9, rowKey: gone.rowKey })]);
  });

  it('names the deleted oldest row', () => {
    const { rows, head } = ten();
    const gone = rows.shift()!;
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'deleted', seq: 0, rowKey: gone.rowKey })]);
  });

  it('reports a block of deleted rows from its first row', () => {
    const { rows, head } = ten();
    rows.splice(3, 4);
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'deleted', seq: 3 })]);
  });

  it.each([
    [2, 7],
    [4, 5],
  ])('names swapped rows %i and %i (first in chain order first)', (a, b) => {
    const { rows, head } = ten();
    const ra = rows[a]!;
    const rb = rows[b]!;
    // Swap what is stored under the two row keys.
    rows[a] = { ...rb, rowKey: ra.rowKey };
    rows[b] = { ...ra, rowKey: rb.rowKey };
    const findings = verify(rows, head);
    expect(findings[0]).toMatchObject({ kind: 'reordered', seq: a, rowKey: ra.rowKey });
    expect(findings.map((f) => f.seq)).toEqual([a, b]);
  });

  it('names an inserted row with a made-up hash', () => {
    const { rows, head } = ten();
    const forged = record(100, DAY + 4 * 60_000 + 30_000);
    rows.push({ partitionKey: PK, rowKey: auditRowKey(forged.timestamp, 4), record: forged, chainSeq: 4, prevRowKey: rows[3]!.rowKey, prevHash: rows[3]!.hash, hash: 'f'.repeat(64) });
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'inserted', seq: 4, rowKey: auditRowKey(forged.timestamp, 4) })]);
  });

  it('names a forged row with a self-consistent hash in a position it does not hold', () => {
    const { rows, head } = ten();
    const forged = record(100, DAY + 4 * 60_000 + 30_000);
    const rowKey = auditRowKey(forged.timestamp, 4);
    // Links correctly to row 3, hash recomputes — but row 5 links to the real row 4.
    rows.push({ partitionKey: PK, rowKey, record: forged, chainSeq: 4, prevRowKey: rows[3]!.rowKey, prevHash: rows[3]!.hash, hash: rowHash(PK, 4, rows[3]!.rowKey, rows[3]!.hash, forged) });
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'inserted', seq: 4, rowKey })]);
  });

  it('names a forged row appended after the newest without moving the head', () => {
    const { rows, head } = ten();
    const forged = record(10);
    const last = rows[9]!;
    const rowKey = auditRowKey(forged.timestamp, 10);
    rows.push({ partitionKey: PK, rowKey, record: forged, chainSeq: 10, prevRowKey: last.rowKey, prevHash: last.hash, hash: rowHash(PK, 10, last.rowKey, last.hash, forged) });
    expect(verify(rows, head)).toEqual([expect.objectContaining({ kind: 'inserted', seq: 10, rowKey })]);
  });

  it('notices a missing head', () => {
    const { rows } = ten();
    expect(verify(rows, undefined)).toEqual([expect.objectContaining({ kind: 'head-missing', seq: null })]);
  });

  it('notices a partition whose rows are all gone', () => {
    const { head } = ten();
    expect(verify([], head)).toEqual([expect.objectContaining({ kind: 'deleted', seq: 0 })]);
  });
});
