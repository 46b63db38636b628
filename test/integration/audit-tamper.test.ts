/**
 * The tamper corpus: rows written by the real writer to Azurite, then changed behind Rotor's back through the
 * Table API (as someone with access to the storage account could). `rotor audit verify` must detect every case and
 * name the right row; an untouched log must verify clean.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useAuditServices } from '../../src/app/services.js';
import { auditRecord, type AuditRecord } from '../../src/core/audit.js';
import type { ChainFinding } from '../../src/core/audit-chain.js';
import { fromEntity, toEntity } from '../../src/adapters/storage/audit-table.js';
import { auditPartition, HEAD_ROW_KEY, REGISTRY_PARTITION, registryRowKey } from '../../src/adapters/storage/keys.js';
import { auditVerify } from '../../src/functions/auditVerify.js';
import { buildProgram } from '../../src/cli/main.js';
import { bodyOf, get, NOW, quietContext, startAuditEnv, writeAll, type AuditEnv, tamperRows } from '../support/audit.js';

let env: AuditEnv;
const DAY = Date.UTC(2026, 10, 19, 1, 0, 0);
const ROWS = 12;

const rows = (vault: string): AuditRecord[] => tamperRows(vault, ROWS, DAY);

const CASES = [
  'untouched',
  'edit',
  'edit-rehash',
  'delete-middle',
  'delete-newest',
  'delete-oldest',
  'swap',
  'swap-adjacent',
  'insert-forged',
  'insert-self-consistent',
  'append-without-head',
  'move-to-other-day',
  'delete-head',
  'delete-day',
  'delete-registry',
] as const;
type Case = (typeof CASES)[number];

const vaultOf = (c: Case): string => `t-${c}`;
const pkOf = (c: Case): string => auditPartition(vaultOf(c), new Date(DAY));

/** The stored rows of a case by chain seq. */
async function stored(c: Case): Promise<Map<number, Record<string, unknown> & { partitionKey: string; rowKey: string }>> {
  const out = new Map<number, Record<string, unknown> & { partitionKey: string; rowKey: string }>();
  for await (const e of env.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${pkOf(c)}'` } })) {
    if (e.rowKey !== HEAD_ROW_KEY) out.set(Number(e['chainSeq']), e as Record<string, unknown> & { partitionKey: string; rowKey: string });
  }
  return out;
}

/** Drops the service fields a read adds (etag, Timestamp) so an entity can be written back. */
function plain(e: Record<string, unknown>): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const { etag: _etag, timestamp: _timestamp, 'odata.metadata': _m, ...rest } = e as Record<string, unknown> & { etag?: string; timestamp?: string };
  return rest as Record<string, unknown> & { partitionKey: string; rowKey: string };
}

/** What each case does to the table, and which row the verifier must name first. */
const expectations: Partial<Record<Case, Partial<ChainFinding>>> = {};

async function tamper(c: Case): Promise<void> {
  const s = await stored(c);
  const row = (seq: number) => s.get(seq)!;
  const pk = pkOf(c);
  switch (c) {
    case 'untouched':
      return;
    case 'edit':
      await env.client.updateEntity({ partitionKey: pk, rowKey: row(6).rowKey, detail: 'nothing happened here' }, 'Merge');
      expectations[c] = { kind: 'edited', seq: 6, rowKey: row(6).rowKey };
      return;
    case 'edit-rehash': {
      // Change the outcome and recompute the row's own hash (the writer's function is public knowledge).
      const r = fromEntity(row(3));
      const entity = toEntity(pk, 3, r.prevRowKey, r.prevHash, { ...r.record, outcome: 'Failed' });
      await env.client.updateEntity(entity, 'Replace');
      expectations[c] = { kind: 'edited', seq: 3, rowKey: row(3).rowKey };
      return;
    }
    case 'delete-middle':
      await env.client.deleteEntity(pk, row(5).rowKey);
      expectations[c] = { kind: 'deleted', seq: 5, rowKey: row(5).rowKey };
      return;
    case 'delete-newest':
      await env.client.deleteEntity(pk, row(ROWS - 1).rowKey);
      expectations[c] = { kind: 'deleted', seq: ROWS - 1, rowKey: row(ROWS - 1).rowKey };
      return;
    case 'delete-oldest':
      await env.client.deleteEntity(pk, row(0).rowKey);
      expectations[c] = { kind: 'deleted', seq: 0, rowKey: row(0).rowKey };
      return;
    case 'swap':
    case 'swap-adjacent': {
      const [a, b] = c === 'swap' ? [2, 8] : [4, 5];
      const ra = plain(row(a));
      const rb = plain(row(b));
      await env.client.updateEntity({ ...rb, rowKey: ra.rowKey }, 'Replace');
      await env.client.updateEntity({ ...ra, rowKey: rb.rowKey }, 'Replace');
      expectations[c] = { kind: 'reordered', seq: a, rowKey: ra.rowKey };
      return;
    }
    case 'insert-forged': {
      const forged = { ...plain(row(7)), rowKey: '0000000000000000000000001', detail: 'forged approval', hash: 'ab'.repeat(32) };
      await env.client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: 7, rowKey: forged.rowKey };
      return;
    }
    case 'insert-self-consistent': {
      // A row that links correctly to row 4 and carries a correct hash for that position — but row 5 links to the
      // real row 5, so it is not part of the chain.
      const prev = fromEntity(row(4));
      const record = auditRecord({ runId: 'run-forged', trigger: 'manual' }, new Date(DAY + 4 * 60_000 + 30_000), {
        vault: vaultOf(c),
        objectType: 'certificate',
        objectName: 'cert-4',
        action: 'RotationCompleted',
        outcome: 'Succeeded',
        detail: 'a rotation that never happened',
      });
      const forged = toEntity(pk, 5, prev.rowKey, prev.hash, record);
      await env.client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: 5, rowKey: forged.rowKey };
      return;
    }
    case 'append-without-head': {
      const prev = fromEntity(row(ROWS - 1));
      const record = { ...prev.record, timestamp: new Date(DAY + ROWS * 60_000), detail: 'appended behind the writer' };
      const forged = toEntity(pk, ROWS, prev.rowKey, prev.hash, record);
      await env.client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: ROWS, rowKey: forged.rowKey };
      return;
    }
    case 'move-to-other-day': {
      // Re-file row 9 under another day's partition: it is missing here and foreign there.
      const r = plain(row(9));
      await env.client.createEntity({ ...r, partitionKey: auditPartition(vaultOf(c), new Date(DAY - 86_400_000)) });
      await env.client.deleteEntity(pk, r.rowKey);
      expectations[c] = { kind: 'deleted', seq: 9, rowKey: r.rowKey };
      return;
    }
    case 'delete-head':
      await env.client.deleteEntity(pk, HEAD_ROW_KEY);
      expectations[c] = { kind: 'head-missing', seq: null };
      return;
    case 'delete-day':
      for (const r of s.values()) await env.client.deleteEntity(pk, r.rowKey);
      await env.client.deleteEntity(pk, HEAD_ROW_KEY);
      expectations[c] = { kind: 'partition-deleted', seq: null, partitionKey: pk };
      return;
    case 'delete-registry':
      await env.client.deleteEntity(REGISTRY_PARTITION, registryRowKey(pk));
      expectations[c] = { kind: 'unregistered', seq: null, partitionKey: pk };
      return;
  }
}

beforeAll(async () => {
  env = await startAuditEnv();
  // Two flushes per vault: the chains span several transactions.
  const all = CASES.map((c) => rows(vaultOf(c)));
  await writeAll(env.log, all.flatMap((r) => r.slice(0, 5)));
  await writeAll(env.log, all.flatMap((r) => r.slice(5)));
  expect((await env.reader.verify({})).ok).toBe(true);
  for (const c of CASES) await tamper(c);
  useAuditServices({ clock: { now: () => NOW }, reader: env.reader });
});
afterAll(async () => env?.stop());

describe('audit verify — tamper corpus', () => {
  it('an untouched chain verifies clean', async () => {
    const report = await env.reader.verify({ vault: vaultOf('untouched') });
    expect(report).toMatchObject({ ok: true, rows: ROWS, partitions: 1, findings: [] });
  });

  it.each(CASES.filter((c) => c !== 'untouched'))('detects %s and names the right row', async (c) => {
    const report = await env.reader.verify({ vault: vaultOf(c) });
    expect(report.ok).toBe(false);
    const first = report.findings.find((f) => f.partitionKey === pkOf(c));
    expect(first, JSON.stringify(report.findings, null, 2)).toMatchObject({ partitionKey: pkOf(c), ...expectations[c] });
  });

  it('a whole-log verification finds every tampered partition and nothing else', async () => {
    const report = await env.reader.verify({});
    const tampered = new Set(report.findings.map((f) => f.partitionKey));
    const otherDay = auditPartition(vaultOf('move-to-other-day'), new Date(DAY - 86_400_000));
    expect([...tampered].sort()).toEqual([...CASES.filter((c) => c !== 'untouched').map(pkOf), otherDay].sort());
    // The re-filed row is foreign where it landed (a partition without head or registry entry, whose chain lacks rows 0–8).
    expect(report.findings.filter((f) => f.partitionKey === otherDay).map((f) => [f.kind, f.seq])).toEqual([
      ['unregistered', null],
      ['head-missing', null],
      ['deleted', 0],
      ['moved', 9],
    ]);
  });

  it('GET /api/audit/verify reports the same findings', async () => {
    const res = await bodyOf(await auditVerify(get(`/api/audit/verify?vault=${vaultOf('delete-middle')}`), quietContext()));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, findings: [expectations['delete-middle']] });
  });

  it('rotor audit verify prints the first wrong row and exits with 1', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--vault', vaultOf('swap')]);
      expect(process.exitCode).toBe(1);
      expect(out.join('\n')).toContain(`${pkOf('swap')}`);
      expect(out.join('\n')).toMatch(/\s2\s+\d{23}\s+reordered/);
      out.length = 0;
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--vault', vaultOf('untouched'), '--format', 'json']);
      expect(process.exitCode).toBe(0);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ ok: true, rows: ROWS });
    } finally {
      log.mockRestore();
      process.exitCode = 0;
    }
  });
});
