/**
 * GET /api/audit, /api/audit/objects/… and the CSV export against Azurite, through the real @azure/data-tables
 * client: every filter, paging, injection attempts, CSV round trip. The expected rows come from an in-memory oracle
 * over the corpus that was written.
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAuditServices } from '../../src/app/services.js';
import type { AuditRecord } from '../../src/core/audit.js';
import { matchesQuery, parseAuditQuery } from '../../src/core/audit-query.js';
import { vaultKey } from '../../src/adapters/storage/keys.js';
import { auditQuery } from '../../src/functions/auditQuery.js';
import { auditObject } from '../../src/functions/auditObject.js';
import { auditVerify } from '../../src/functions/auditVerify.js';
import type { AuditRowJson } from '../../src/app/audit-export.js';
import { bodyOf, corpus, get, HOSTILE_NAMES, NOW, quietContext, startAuditEnv, writeAll, type AuditEnv } from '../support/audit.js';

let env: AuditEnv;
const records = corpus();

beforeAll(async () => {
  env = await startAuditEnv();
  await writeAll(env.log, records);
  useAuditServices({ clock: { now: () => NOW }, reader: env.reader });
});
afterAll(async () => env?.stop());

const ident = (r: { timestamp: string | Date; vault: string; action: string; objectName: string }) =>
  `${typeof r.timestamp === 'string' ? r.timestamp : r.timestamp.toISOString()} ${r.vault} ${r.action} ${r.objectName}`;

/** What a query must return: the corpus filtered in memory, newest first. */
function oracle(qs: string): string[] {
  const q = parseAuditQuery(new URLSearchParams(qs), NOW);
  return records
    .filter((r) => matchesQuery(r, q, vaultKey))
    .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
    .map(ident);
}

async function call(qs: string) {
  return bodyOf(await auditQuery(get(`/api/audit?${qs}`), quietContext()));
}

/** Every row of a query, following continuation tokens; returns the rows and the number of pages. */
async function all(qs: string): Promise<{ rows: AuditRowJson[]; pages: number }> {
  const rows: AuditRowJson[] = [];
  let pages = 0;
  let next: string | null = `/api/audit?${qs}`;
  while (next) {
    const res = await bodyOf(await auditQuery(get(next), quietContext()));
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    rows.push(...body.rows);
    pages++;
    next = body.next;
    expect(pages).toBeLessThan(100);
  }
  return { rows, pages };
}

describe('GET /api/audit', () => {
  it('returns the last 30 days, newest first, across all vaults', async () => {
    const res = await call('pageSize=1000');
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.rows.map(ident)).toEqual(oracle('pageSize=1000'));
    expect(body.rows.length).toBe(records.length - 3); // the three September rows are older than 30 days
    expect(body.continuation).toBeNull();
    expect(body.rows[0]).toMatchObject({ vault: 'batch-kv', action: 'ScanCompleted', chainSeq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it.each([
    'vault=hpc-prod-kv',
    'vault=HPC-DEV-KV',
    'objectType=key',
    'objectName=hpc-node-comm',
    'action=RotationCompleted',
    'action=ConsumerStale',
    'outcome=Failed',
    'outcome=ActionRequired',
    'trigger=eventgrid',
    'runId=run-20261112-manual',
    'from=2026-11-12T00:00:00Z&to=2026-11-13T23:59:59.999Z',
    'from=2026-11-12T03:00:00Z&to=2026-11-12T03:12:00.5Z',
    'from=2026-09-01&to=2026-09-01',
    'vault=hpc-prod-kv&objectType=certificate&action=VersionCreated&trigger=timer',
    'vault=batch-kv&outcome=Succeeded&from=2026-11-10&to=2026-11-15',
    'vault=no-such-vault',
    'objectName=no-such-object',
  ])('filters: %s', async (qs) => {
    const expected = oracle(`${qs}&pageSize=1000`);
    const res = await call(`${qs}&pageSize=1000`);
    expect(res.status, res.text).toBe(200);
    expect(res.json().rows.map(ident)).toEqual(expected);
    if (!qs.includes('no-such')) expect(expected.length).toBeGreaterThan(0);
  });

  it('pages across several pages without gaps or repeats, with and without filters', async () => {
    for (const qs of ['pageSize=7', 'vault=hpc-dev-kv&pageSize=4', 'outcome=Succeeded&pageSize=9&from=2026-11-01', 'action=ScanCompleted&pageSize=1&from=2026-08-01']) {
      const { rows, pages } = await all(qs);
      const expected = oracle(qs);
      expect(rows.map(ident)).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / Number(/pageSize=(\d+)/.exec(qs)![1]))));
      expect(pages).toBeGreaterThan(2);
    }
  });

  it('keeps a page boundary inside one day and one millisecond across vaults', async () => {
    // The hostile rows share one millisecond-ish instant across two vaults: page through them one by one.
    const { rows } = await all('from=2026-11-15T09:00:00Z&to=2026-11-15T09:00:01Z&pageSize=1');
    expect(rows.map(ident)).toEqual(oracle('from=2026-11-15T09:00:00Z&to=2026-11-15T09:00:01Z'));
    expect(rows).toHaveLength(4);
  });

  it('refuses a token with other filters, an edited token, and bad parameters — naming the parameter', async () => {
    const first = (await call('vault=hpc-prod-kv&pageSize=2')).json();
    expect(first.continuation).toEqual(expect.any(String));
    const other = await call(`vault=hpc-dev-kv&pageSize=2&continuation=${first.continuation}`);
    expect(other.status).toBe(400);
    expect(other.json().error).toMatchObject({ code: 'BadParameter', parameter: 'continuation' });
    const body = JSON.parse(Buffer.from(first.continuation!, 'base64url').toString()) as Record<string, unknown>;
    for (const p of ["hpc-prod-kv|20261119' or PartitionKey ne '", 'hpc-prod-kv|2026111', '~partitions']) {
      const forged = Buffer.from(JSON.stringify({ ...body, p })).toString('base64url');
      const res = await call(`vault=hpc-prod-kv&pageSize=2&continuation=${forged}`);
      expect(res.status, p).toBe(400);
      expect(res.json().error.parameter).toBe('continuation');
    }
    for (const [qs, parameter] of [
      ['objectType=vault', 'objectType'],
      ['pageSize=5000', 'pageSize'],
      ['from=last-week', 'from'],
      ['format=xml', 'format'],
      ['vault=a&vault=b', 'vault'],
      ['outcomes=Failed', 'outcomes'],
    ]) {
      const res = await call(qs!);
      expect(res.status, qs).toBe(400);
      expect(res.json().error.parameter).toBe(parameter);
      expect(res.json().error.message).toContain(parameter);
    }
  });

  describe('OData injection attempts', () => {
    it('an injection string as an object name matches exactly the row with that name', async () => {
      const res = await call(`objectName=${encodeURIComponent(HOSTILE_NAMES.injection)}`);
      expect(res.status).toBe(200);
      expect(res.json().rows.map((r) => r.objectName)).toEqual([HOSTILE_NAMES.injection]);
    });

    it.each([
      ['runId', "run-hostile' or runId ne '"],
      ['runId', "' or '1' eq '1"],
      ['objectName', "x' or PartitionKey ne 'x"],
      ['objectName', "hpc-node-comm' or objectName ne '"],
      ['objectName', 'hpc-node-comm" or 1 eq 1 or "'],
      ['objectName', "') or (PartitionKey ge '"],
      ['objectName', 'hpc-node-comm%27%20or%20true'],
      ['runId', "run-20261112-manual'or''eq'"],
    ])('%s=%s returns nothing', async (parameter, value) => {
      const res = await call(`${parameter}=${encodeURIComponent(value)}`);
      expect(res.status).toBe(200);
      expect(res.json().rows).toEqual([]);
    });

    it.each([
      ['vault', "hpc-prod-kv' or PartitionKey ne '"],
      ['vault', 'hpc-prod-kv|20261119'],
      ['vault', '~partitions'],
      ['action', "RotationCompleted' or action ne '"],
      ['outcome', 'Failed or outcome eq Succeeded'],
      ['trigger', "timer' or trigger ne '"],
      ['objectType', "key' or objectType ne '"],
      ['objectName', 'x'.repeat(10_000)],
      ['runId', 'r'.repeat(5000)],
      ['vault', 'v'.repeat(300)],
      ['objectName', 'line\nbreak'],
      ['from', "2026-11-01' or RowKey ne '"],
    ])('%s=%s is refused with 400', async (parameter, value) => {
      const res = await call(`${parameter}=${encodeURIComponent(value)}`);
      expect(res.status).toBe(400);
      expect(res.json().error.parameter).toBe(parameter);
    });

    it('unicode names come back verbatim', async () => {
      const res = await call(`objectName=${encodeURIComponent(HOSTILE_NAMES.unicode)}`);
      expect(res.json().rows.map((r) => [r.objectName, r.detail])).toEqual([[HOSTILE_NAMES.unicode, 'renew with the CA: ünïcödé détail 🔑']]);
      const near = await call(`objectName=${encodeURIComponent(HOSTILE_NAMES.unicode.normalize('NFD'))}`);
      expect(near.json().rows).toEqual([]);
    });

    it('a 256-character name is valid and matches nothing', async () => {
      const res = await call(`objectName=${'n'.repeat(256)}`);
      expect(res.status).toBe(200);
      expect(res.json().rows).toEqual([]);
    });
  });

  it('CSV: RFC 4180 with a header, round-trips to the JSON rows, with a next link while there is more', async () => {
    const qs = 'from=2026-11-14&to=2026-11-16&pageSize=1000';
    const json = (await call(qs)).json();
    const csv = await call(`${qs}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="rotor-audit-2026-11-14-2026-11-16.csv"');
    const parsed = parse<Record<string, string>>(csv.text, { columns: true });
    expect(parsed).toEqual(json.rows.map((r) => ({ ...r, chainSeq: String(r.chainSeq) })));
    expect(parsed.some((r) => r['detail'] === HOSTILE_NAMES.csv)).toBe(true);
    const paged = await call(`${qs.replace('pageSize=1000', 'pageSize=3')}&format=csv`);
    expect(paged.headers.get('x-rotor-continuation')).toEqual(expect.any(String));
    expect(paged.headers.get('link')).toMatch(/^<\/api\/audit\?.*format=csv.*continuation=.*>; rel="next"$/);
    expect(parse(paged.text, { columns: true })).toHaveLength(3);
  });
});

describe('exports are verifiable without Rotor', () => {
  it('recomputes every hash and link of a day from the CSV alone, with the documented formula', async () => {
    const csv = await call('vault=hpc-dev-kv&from=2026-11-15&to=2026-11-15&format=csv');
    const rows = parse<Record<string, string>>(csv.text, { columns: true });
    const content = ['timestamp', 'runId', 'trigger', 'vault', 'objectType', 'objectName', 'version', 'previousVersion', 'thumbprint', 'previousThumbprint', 'action', 'reason', 'outcome', 'detail', 'rotationId', 'consumer', 'expected', 'observed', 'secretId', 'expiresOn'];
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    const chain = [...rows].sort((a, b) => Number(a['chainSeq']) - Number(b['chainSeq']));
    expect(chain.map((r) => Number(r['chainSeq']))).toEqual(chain.map((_, i) => i));
    let prevHash = sha(`rotor-audit-genesis|${chain[0]!['partitionKey']}`);
    let prevRowKey = '';
    for (const r of chain) {
      expect([r['prevHash'], r['prevRowKey']]).toEqual([prevHash, prevRowKey]);
      const canonical = JSON.stringify(content.map((f) => r[f]));
      expect(sha(`${r['partitionKey']}\n${r['chainSeq']}\n${r['prevRowKey']}\n${r['prevHash']}\n${canonical}`)).toBe(r['hash']);
      prevHash = r['hash']!;
      prevRowKey = r['rowKey']!;
    }
  });
});

describe('GET /api/audit/objects/{vault}/{type}/{name}', () => {
  it('groups an object\'s rows by rotation, with versions, thumbprints and consumers', async () => {
    const res = await bodyOf(await auditObject(get('/api/audit/objects/hpc-prod-kv/certificate/hpc-node-comm', { vault: 'hpc-prod-kv', type: 'certificate', name: 'hpc-node-comm' }), quietContext()));
    expect(res.status).toBe(200);
    const t = res.json();
    const expected = records.filter((r: AuditRecord) => r.vault === 'hpc-prod-kv' && r.objectType === 'certificate' && r.objectName === 'hpc-node-comm');
    expect(t.rowCount).toBe(expected.length);
    expect(t.rotations.length).toBe(new Set(expected.map((r) => r.rotationId)).size);
    const completed = t.rotations.find((r) => r.status === 'Completed');
    expect(completed).toMatchObject({ fromVersion: expect.stringMatching(/^[0-9a-f]{32}$/), toVersion: expect.stringMatching(/^[0-9a-f]{32}$/), toThumbprint: expect.stringMatching(/^[0-9A-F]{40}$/) });
    expect(completed!.consumers.map((c) => c.consumer).sort()).toEqual(['head-node-01', 'pool-a']);
    // Newest rotation first.
    const started = t.rotations.map((r) => r.detectedAt);
    expect([...started].sort().reverse()).toEqual(started);
  });

  it('a truncated timeline keeps the newest rows (partitions are read newest day first)', async () => {
    const object = { vault: 'hpc-prod-kv', objectType: 'certificate' as const, objectName: 'hpc-node-comm' };
    const expected = records
      .filter((r: AuditRecord) => r.vault === object.vault && r.objectType === object.objectType && r.objectName === object.objectName)
      .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime());
    expect(expected.length).toBeGreaterThan(3);
    const { rows, truncated } = await env.reader.objectRows(object, 3);
    expect(truncated).toBe(true);
    expect(rows.map((r) => r.record.timestamp.toISOString())).toEqual(expected.slice(0, 3).map((r) => r.timestamp.toISOString()));
    const all = await env.reader.objectRows(object, 10_000);
    expect(all.truncated).toBe(false);
    expect(all.rows).toHaveLength(expected.length);
  });

  it('400 naming a bad path parameter; an unknown object has an empty timeline', async () => {
    const bad = await bodyOf(await auditObject(get('/api/audit/objects/x/folder/y', { vault: 'x', type: 'folder', name: 'y' }), quietContext()));
    expect(bad.status).toBe(400);
    expect(bad.json().error.parameter).toBe('type');
    const none = await bodyOf(await auditObject(get('/api/audit/objects/x/key/y', { vault: 'x', type: 'key', name: 'y' }), quietContext()));
    expect(none.json()).toMatchObject({ rowCount: 0, rotations: [], other: [] });
  });
});

describe('GET /api/audit/verify', () => {
  it('an untouched log verifies clean', async () => {
    const res = await bodyOf(await auditVerify(get('/api/audit/verify'), quietContext()));
    expect(res.json()).toMatchObject({ ok: true, rows: records.length, findings: [] });
    const one = await bodyOf(await auditVerify(get('/api/audit/verify?vault=hpc-prod-kv&from=2026-11-10&to=2026-11-12'), quietContext()));
    expect(one.json()).toMatchObject({ ok: true, partitions: 3 });
  });
});
