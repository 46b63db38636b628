/**
 * Readers that survive bad rows (issue 13): one stored audit row with an unreadable eventTime, a missing field or a
 * field of the wrong type must not turn the auditors' API into HTTP 500 or crash `rotor audit verify`. Queries answer
 * the readable rows plus warnings naming each unreadable row (JSON `warnings`, CSV header `x-rotor-warnings`);
 * verification reports each as an `unreadable` finding naming partition, row key and field.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useAuditServices } from '../../src/app/services.js';
import { auditPartition, auditRowKey } from '../../src/adapters/storage/keys.js';
import { auditQuery } from '../../src/functions/auditQuery.js';
import { auditObject } from '../../src/functions/auditObject.js';
import { auditVerify } from '../../src/functions/auditVerify.js';
import { buildProgram } from '../../src/cli/main.js';
import { bodyOf, get, NOW, quietContext, rec, startAuditEnv, writeAll, type AuditEnv } from '../support/audit.js';

let env: AuditEnv;
const DAY = new Date('2026-11-19T10:00:00.000Z');
const run = { runId: 'bad-rows-run', trigger: 'timer' } as const;
const pk = auditPartition('hpc-prod-kv', DAY);

beforeAll(async () => {
  env = await startAuditEnv();
  await writeAll(env.log, [
    rec(DAY, run, { vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'good-1', action: 'Detected', outcome: 'Info' }),
    rec(DAY, run, { vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'good-2', action: 'Detected', outcome: 'Info' }),
    rec(DAY, run, { vault: 'hpc-prod-kv', objectType: 'certificate', objectName: 'good-3', action: 'Detected', outcome: 'Info' }),
  ]);
  // Someone with write access to the table damages two rows.
  const rows: Record<string, unknown>[] = [];
  for await (const e of env.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${pk}'` } })) rows.push(e);
  const byName = (name: string) => rows.find((r) => r['objectName'] === name)!;
  await env.client.updateEntity({ partitionKey: pk, rowKey: byName('good-2').rowKey as string, eventTime: 'not a time' }, 'Merge');
  await env.client.updateEntity({ partitionKey: pk, rowKey: byName('good-3').rowKey as string, objectName: 42 }, 'Merge');
  // And plants a row with nothing but a row key in the partition's range.
  await env.client.createEntity({ partitionKey: pk, rowKey: auditRowKey(DAY, 999) });
  useAuditServices({ clock: { now: () => NOW }, reader: env.reader });
});
afterAll(async () => env?.stop());

describe('unreadable audit rows', () => {
  it('GET /api/audit answers the readable rows and a warning naming each unreadable row and field', async () => {
    const res = await bodyOf(await auditQuery(get('/api/audit?vault=hpc-prod-kv&pageSize=1000'), quietContext()));
    expect(res.status, res.text).toBe(200);
    const body = res.json() as unknown as { rows: { objectName: string }[]; warnings: { partitionKey: string; rowKey: string; field: string }[] };
    expect(body.rows.map((r) => r.objectName)).toEqual(['good-1']);
    expect(body.warnings.map((w) => `${w.partitionKey} ${w.field}`).sort()).toEqual(
      [`${pk} eventTime`, `${pk} objectName`, `${pk} eventTime`].sort(),
    );
    expect(body.warnings.every((w) => /^\d{23}$/.test(w.rowKey))).toBe(true);
  });

  it('the CSV export answers the readable rows and names the unreadable ones in a header', async () => {
    const res = await bodyOf(await auditQuery(get('/api/audit?vault=hpc-prod-kv&format=csv&pageSize=1000'), quietContext()));
    expect(res.status).toBe(200);
    expect(res.text).toContain('good-1');
    expect(Number(res.headers.get('x-rotor-warnings-count'))).toBe(3);
    const listed = JSON.parse(res.headers.get('x-rotor-warnings') ?? '[]') as { field: string }[];
    expect(listed.map((w) => w.field).sort()).toEqual(['eventTime', 'eventTime', 'objectName']);
  });

  it('an object timeline skips the unreadable rows', async () => {
    const res = await bodyOf(await auditObject(get('/api/audit/objects/hpc-prod-kv/certificate/good-2', { vault: 'hpc-prod-kv', type: 'certificate', name: 'good-2' }), quietContext()));
    expect(res.status).toBe(200);
  });

  it('GET /api/audit/verify answers ok:false with an unreadable finding per field', async () => {
    const res = await bodyOf(await auditVerify(get('/api/audit/verify'), quietContext()));
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    expect(body.ok).toBe(false);
    const unreadable = body.findings.filter((f) => f.kind === 'unreadable') as unknown as { partitionKey: string; rowKey: string; field: string }[];
    expect(unreadable.map((f) => `${f.partitionKey} ${f.field}`).sort()).toEqual([`${pk} eventTime`, `${pk} eventTime`, `${pk} objectName`].sort());
  });

  it('rotor audit verify names the row and exits 1; rotor audit lists the readable rows and warns', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      process.exitCode = undefined;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify']);
      expect(process.exitCode).toBe(1);
      expect(out.join('\n')).toMatch(/unreadable.*eventTime/);
      out.length = 0;
      process.exitCode = undefined;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', '--vault', 'hpc-prod-kv', '--from', '2026-11-01', '--format', 'json']);
      const json = JSON.parse(out.find((l) => l.startsWith('{')) ?? '{}') as { rows: unknown[]; warnings: unknown[] };
      expect(json.rows).toHaveLength(1);
      expect(json.warnings).toHaveLength(3);
    } finally {
      log.mockRestore();
      err.mockRestore();
      process.exitCode = undefined;
    }
  });
});
