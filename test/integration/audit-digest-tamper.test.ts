/**
 * The tamper corpus against signed digests: rows written by the real writer to Azurite, digests written by the real
 * digest writer (blobs in Azurite, signed in the Key Vault emulator through CryptographyClient), then the table and
 * the digest container changed behind Rotor's back — including what the chains alone cannot see (a day deleted with
 * its registry row, a truncation with the head pointed back, a consistent tail rewrite, an append with a head
 * update, a forged day) and attacks on the digests (deletion, modification, replay, a foreign key). Each case is
 * detected and names the first affected row and the digest it contradicts; untouched vaults verify clean.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useAuditServices, buildDigestServices, type DigestServices } from '../../src/app/services.js';
import { verifyLog } from '../../src/app/audit-verify.js';
import { auditRecord, type AuditRecord } from '../../src/core/audit.js';
import type { ChainFinding, VerifyReport } from '../../src/core/audit-chain.js';
import { canonicalJson, digestName, parseStoredDigest, writeDigests, type DigestBody } from '../../src/core/audit-digest.js';
import { fromEntity, toEntity, TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { auditPartition, HEAD_ROW_KEY, REGISTRY_PARTITION, registryRowKey, vaultKey } from '../../src/adapters/storage/keys.js';
import { genesisHash } from '../../src/core/audit-chain.js';
import { digestContainer } from '../../src/adapters/digests/blob-store.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { buildProgram } from '../../src/cli/main.js';
import { auditVerify } from '../../src/functions/auditVerify.js';
import { bodyOf, get, quietContext, writeAll, tamperRows } from '../support/audit.js';
import { testClock } from './helpers/keyvault.js';
import type { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';

const DAY = Date.UTC(2026, 10, 19, 1, 0, 0);
const MIN = 60_000;
const ROWS = 12;
const clock = testClock(new Date(DAY).toISOString());

let stack: LocalStack;
let client: TableClient;
let container: ContainerClient;
let digests: DigestServices;
let reader: TableAuditReader;

const rows = (vault: string): AuditRecord[] => tamperRows(vault, ROWS, DAY);

const CASES = [
  'untouched',
  // What the chains already caught: still caught, now also against the digest.
  'edit',
  'edit-rehash',
  'delete-middle',
  'delete-newest',
  'delete-oldest',
  'swap',
  'insert-forged',
  'insert-self-consistent',
  'append-without-head',
  'delete-head',
  'delete-day',
  'delete-registry',
  // What the chains alone missed.
  'delete-day-and-registry',
  'truncate-repoint-head',
  'rewrite-tail',
  'append-with-head',
  'forge-day',
  // Attacks on the digests.
  'digest-delete-first',
  'digest-delete-last',
  'digest-modify',
  'digest-replay-overwrite',
  'digest-replay-append',
  'digest-foreign-key',
] as const;
type Case = (typeof CASES)[number];

const vaultOf = (c: Case): string => `d-${c}`;
const pkOf = (c: Case): string => auditPartition(vaultOf(c), new Date(DAY));
type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

async function stored(pk: string): Promise<Map<number, Entity>> {
  const out = new Map<number, Entity>();
  for await (const e of client.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${pk}'` } })) {
    if (e.rowKey !== HEAD_ROW_KEY) out.set(Number(e['chainSeq']), e as Entity);
  }
  return out;
}

function plain(e: Record<string, unknown>): Entity {
  const { etag: _etag, timestamp: _timestamp, 'odata.metadata': _m, ...rest } = e as Entity & { etag?: string; timestamp?: string };
  return rest;
}

const setHead = (pk: string, seq: number, hash: string, lastRowKey: string) =>
  client.upsertEntity({ partitionKey: pk, rowKey: HEAD_ROW_KEY, seq, hash, lastRowKey }, 'Replace');

/** Re-chains records from position `from` on top of (prevRowKey, prevHash), replacing what is stored: a consistent rewrite. */
async function rechain(pk: string, from: number, prev: { rowKey: string; hash: string }, records: AuditRecord[], old: Map<number, Entity>): Promise<void> {
  let p = prev;
  for (const [i, record] of records.entries()) {
    const seq = from + i;
    const previous = old.get(seq);
    if (previous) await client.deleteEntity(pk, previous.rowKey);
    const entity = toEntity(pk, seq, p.rowKey, p.hash, record);
    await client.createEntity(entity);
    p = { rowKey: entity.rowKey, hash: entity.hash };
  }
  await setHead(pk, from + records.length - 1, p.hash, p.rowKey);
}

const blobText = async (name: string): Promise<string> => (await container.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
const putBlob = async (name: string, text: string): Promise<void> => {
  await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
};

const expectations: Partial<Record<Case, Partial<ChainFinding> & { at?: 'vault' }>> = {};

async function tamper(c: Case): Promise<void> {
  const pk = pkOf(c);
  const s = await stored(pk);
  const row = (seq: number): Entity => s.get(seq)!;
  const vault = vaultKey(vaultOf(c));
  const first = digestName(vault, 0);
  const second = digestName(vault, 1);
  switch (c) {
    case 'untouched':
      return;
    case 'edit':
      await client.updateEntity({ partitionKey: pk, rowKey: row(6).rowKey, detail: 'nothing happened here' }, 'Merge');
      expectations[c] = { kind: 'edited', seq: 6, rowKey: row(6).rowKey, digest: second };
      return;
    case 'edit-rehash': {
      const r = fromEntity(row(3));
      await client.updateEntity(toEntity(pk, 3, r.prevRowKey, r.prevHash, { ...r.record, outcome: 'Failed' }), 'Replace');
      expectations[c] = { kind: 'edited', seq: 3, rowKey: row(3).rowKey, digest: first };
      return;
    }
    case 'delete-middle':
      await client.deleteEntity(pk, row(5).rowKey);
      expectations[c] = { kind: 'deleted', seq: 5, rowKey: row(5).rowKey, digest: second };
      return;
    case 'delete-newest':
      await client.deleteEntity(pk, row(ROWS - 1).rowKey);
      expectations[c] = { kind: 'deleted', seq: ROWS - 1, rowKey: row(ROWS - 1).rowKey, digest: second };
      return;
    case 'delete-oldest':
      await client.deleteEntity(pk, row(0).rowKey);
      expectations[c] = { kind: 'deleted', seq: 0, rowKey: row(0).rowKey, digest: first };
      return;
    case 'swap': {
      const ra = plain(row(2));
      const rb = plain(row(8));
      await client.updateEntity({ ...rb, rowKey: ra.rowKey }, 'Replace');
      await client.updateEntity({ ...ra, rowKey: rb.rowKey }, 'Replace');
      // Both rows keep their content and chain position: the chain names the reordering (the digest agrees on content).
      expectations[c] = { kind: 'reordered', seq: 2, rowKey: ra.rowKey };
      return;
    }
    case 'insert-forged': {
      const forged = { ...plain(row(7)), rowKey: '0000000000000000000000001', detail: 'forged approval', hash: 'ab'.repeat(32) };
      await client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: 7, rowKey: forged.rowKey, digest: second };
      return;
    }
    case 'insert-self-consistent': {
      const prev = fromEntity(row(4));
      const record = auditRecord({ runId: 'run-forged', trigger: 'manual' }, new Date(DAY + 4 * MIN + 30_000), {
        vault: vaultOf(c),
        objectType: 'certificate',
        objectName: 'cert-4',
        action: 'RotationCompleted',
        outcome: 'Succeeded',
        detail: 'a rotation that never happened',
      });
      const forged = toEntity(pk, 5, prev.rowKey, prev.hash, record);
      await client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: 5, rowKey: forged.rowKey, digest: second };
      return;
    }
    case 'append-without-head': {
      const prev = fromEntity(row(ROWS - 1));
      const forged = toEntity(pk, ROWS, prev.rowKey, prev.hash, { ...prev.record, timestamp: new Date(DAY + ROWS * MIN), detail: 'appended behind the writer' });
      await client.createEntity(forged);
      expectations[c] = { kind: 'inserted', seq: ROWS, rowKey: forged.rowKey };
      return;
    }
    case 'delete-head':
      await client.deleteEntity(pk, HEAD_ROW_KEY);
      expectations[c] = { kind: 'head-missing', seq: null };
      return;
    case 'delete-day':
      for (const r of s.values()) await client.deleteEntity(pk, r.rowKey);
      await client.deleteEntity(pk, HEAD_ROW_KEY);
      expectations[c] = { kind: 'partition-deleted', seq: null, partitionKey: pk, digest: second };
      return;
    case 'delete-registry':
      await client.deleteEntity(REGISTRY_PARTITION, registryRowKey(pk));
      expectations[c] = { kind: 'unregistered', seq: null, partitionKey: pk };
      return;
    case 'delete-day-and-registry':
      for (const r of s.values()) await client.deleteEntity(pk, r.rowKey);
      await client.deleteEntity(pk, HEAD_ROW_KEY);
      await client.deleteEntity(REGISTRY_PARTITION, registryRowKey(pk));
      expectations[c] = { kind: 'partition-deleted', seq: null, partitionKey: pk, digest: second };
      return;
    case 'truncate-repoint-head': {
      // Cut rows 9–11 and point the head at row 8: values copied from row 8, no hashing needed.
      for (const seq of [9, 10, 11]) await client.deleteEntity(pk, row(seq).rowKey);
      await setHead(pk, 8, String(row(8)['hash']), row(8).rowKey);
      expectations[c] = { kind: 'truncated', seq: 9, digest: second };
      return;
    }
    case 'rewrite-tail': {
      // Rewrite rows 7–11 (row 7's outcome changed) and re-chain them and the head consistently.
      const records = [7, 8, 9, 10, 11].map((seq) => fromEntity(row(seq)).record);
      records[0] = { ...(records[0] as AuditRecord), outcome: 'Failed', detail: 'rewritten' };
      await rechain(pk, 7, { rowKey: row(6).rowKey, hash: String(row(6)['hash']) }, records, s);
      expectations[c] = { kind: 'rewritten', seq: 7, rowKey: row(7).rowKey, digest: second };
      return;
    }
    case 'append-with-head': {
      // A well-formed row 12 with the head moved to it, timestamped inside the time the digests cover.
      const prev = fromEntity(row(ROWS - 1));
      const record = { ...prev.record, timestamp: new Date(DAY + 12 * MIN), detail: 'a rotation nobody did' };
      await rechain(pk, ROWS, { rowKey: prev.rowKey, hash: prev.hash }, [record], s);
      const appended = await stored(pk);
      expectations[c] = { kind: 'unsigned', seq: ROWS, rowKey: appended.get(ROWS)!.rowKey, digest: second };
      return;
    }
    case 'forge-day': {
      // A whole day that never happened: registry row, rows chained from the genesis, head.
      const day = new Date(DAY - 86_400_000);
      const fpk = auditPartition(vaultOf(c), day);
      await client.createEntity({ partitionKey: REGISTRY_PARTITION, rowKey: registryRowKey(fpk), auditPartition: fpk, vault, day: fpk.split('|')[1], firstEventTime: day });
      const records = [0, 1, 2].map((i) => ({ ...fromEntity(row(i)).record, timestamp: new Date(day.getTime() + i * MIN), detail: 'forged' }));
      await rechain(fpk, 0, { rowKey: '', hash: genesisHash(fpk) }, records, new Map());
      const forged = await stored(fpk);
      expectations[c] = { kind: 'unsigned', seq: 0, partitionKey: fpk, rowKey: forged.get(0)!.rowKey, digest: second };
      return;
    }
    case 'digest-delete-first':
      await container.deleteBlob(first);
      expectations[c] = { kind: 'digest-missing', digest: first, at: 'vault' };
      return;
    case 'digest-delete-last':
      await container.deleteBlob(second);
      // Only visible once the digest is overdue: verification runs 3 hours later (see below).
      expectations[c] = { kind: 'not-covered', seq: 5, rowKey: row(5).rowKey, digest: first };
      return;
    case 'digest-modify': {
      const text = await blobText(second);
      const parsed = parseStoredDigest(text);
      if (!parsed.ok) throw new Error(parsed.message);
      const body: DigestBody = { ...parsed.value.digest, partitions: { ...parsed.value.digest.partitions, [pk]: 8 } };
      await container.deleteBlob(second);
      await putBlob(second, canonicalJson({ digest: body, signature: parsed.value.signature }));
      expectations[c] = { kind: 'digest-signature', digest: second, at: 'vault' };
      return;
    }
    case 'digest-replay-overwrite':
      await container.deleteBlob(second);
      await putBlob(second, await blobText(first));
      expectations[c] = { kind: 'digest-replayed', digest: second, at: 'vault' };
      return;
    case 'digest-replay-append':
      await putBlob(digestName(vault, 2), await blobText(first));
      expectations[c] = { kind: 'digest-replayed', digest: digestName(vault, 2), at: 'vault' };
      return;
    case 'digest-foreign-key': {
      // A digest signed with the attacker's own key (a key in another vault): well-formed, validly signed — by whom?
      const parsed = parseStoredDigest(await blobText(second));
      if (!parsed.ok) throw new Error(parsed.message);
      const { createKeyVaultClients } = await import('../../src/adapters/azure-clients.js');
      const attacker = createKeyVaultClients(stack.keyVault.vaultUrl('rotor-local'), { credential: stack.credential, caPem: stack.ca.certPem, local: true });
      const key = await attacker.keys.createEcKey('attacker', { curve: 'P-256' });
      const body: DigestBody = { ...parsed.value.digest, seq: 2, previous: { seq: 1, hash: createHash('sha256').update(await blobText(second)).digest('hex') }, key: { id: key.id ?? '', alg: 'ES256' } };
      const { CryptographyClient } = await import('@azure/keyvault-keys');
      const crypto = new CryptographyClient(key.id ?? '', stack.credential, { disableChallengeResourceVerification: true, tlsOptions: { ca: stack.ca.certPem } });
      const signed = await crypto.sign('ES256', createHash('sha256').update(canonicalJson(body)).digest());
      await putBlob(digestName(vault, 2), canonicalJson({ digest: body, signature: Buffer.from(signed.result).toString('base64url') }));
      expectations[c] = { kind: 'digest-key', digest: digestName(vault, 2), at: 'vault' };
      return;
    }
  }
}

async function verify(vault: string | undefined, laterMs = 0): Promise<VerifyReport> {
  const now = new Date(clock.now().getTime() + laterMs);
  return verifyLog({ clock: { now: () => now }, reader, digests }, vault === undefined ? {} : { vault });
}

beforeAll(async () => {
  stack = await startLocalStack({ now: clock.now });
  const connectionString = stack.azurite!.connectionString;
  client = tableClient({ kind: 'connectionString', connectionString }, TABLES.audit);
  container = digestContainer({ kind: 'connectionString', connectionString }, 'rotor-audit-digests');
  const env = stack.settings();
  const d = await buildDigestServices(env, { credential: stack.credential, caPem: stack.ca.certPem, local: true }, { now: clock.now });
  if (!d) throw new Error('the local stack did not configure the digest key');
  digests = d;
  reader = new TableAuditReader(client);
  const log = new TableAuditLog(client);
  const all = CASES.map((c) => rows(vaultOf(c)));
  // Rows 0–4, digest 0 at +5 min; rows 5–11, digest 1 at +30 min.
  await writeAll(log, all.flatMap((r) => r.slice(0, 5)));
  clock.set(new Date(DAY + 5 * MIN).toISOString());
  const firstRound = await writeDigests(digests.writer);
  expect(firstRound.failed).toEqual([]);
  expect(firstRound.written).toHaveLength(CASES.length);
  await writeAll(log, all.flatMap((r) => r.slice(5)));
  clock.set(new Date(DAY + 30 * MIN).toISOString());
  expect((await writeDigests(digests.writer)).written).toHaveLength(CASES.length);
  // Nothing new: no digest.
  expect((await writeDigests(digests.writer)).written).toEqual([]);
  clock.set(new Date(DAY + 40 * MIN).toISOString());
  const clean = await verify(undefined);
  expect(clean.findings, JSON.stringify(clean.findings.slice(0, 3), null, 2)).toEqual([]);
  expect(clean.digests).toMatchObject({ vaults: CASES.length, digests: 2 * CASES.length, notYetCovered: [] });
  for (const c of CASES) await tamper(c);
  useAuditServices({ clock: { now: clock.now }, reader, digests });
}, 120_000);
afterAll(async () => stack?.stop());

describe('audit verify with signed digests — tamper corpus', () => {
  it('an untouched vault verifies clean, with its digests', async () => {
    const report = await verify(vaultOf('untouched'));
    expect(report).toMatchObject({ ok: true, rows: ROWS, partitions: 1, findings: [], digests: { vaults: 1, digests: 2, notYetCovered: [] } });
  });

  it.each(CASES.filter((c) => c !== 'untouched'))('detects %s and names the first affected row and the digest', async (c) => {
    const report = await verify(vaultOf(c), c === 'digest-delete-last' ? 3 * 3_600_000 : 0);
    expect(report.ok).toBe(false);
    const { at, ...expected } = expectations[c]!;
    const target = at === 'vault' ? vaultKey(vaultOf(c)) : (expected.partitionKey ?? pkOf(c));
    const first = report.findings.find((f) => f.partitionKey === target);
    expect(first, JSON.stringify(report.findings, null, 2)).toMatchObject({ partitionKey: target, ...expected });
  });

  it('a whole-log verification reports only the tampered vaults', async () => {
    const report = await verify(undefined);
    const vaults = new Set(report.findings.map((f) => f.partitionKey.split('|')[0]));
    const expected = CASES.filter((c) => c !== 'untouched' && c !== 'digest-delete-last').map((c) => vaultKey(vaultOf(c)));
    expect([...vaults].sort()).toEqual(expected.sort());
  });

  it('rows newer than the last digest are "not yet covered", not findings; the next digest covers them', async () => {
    const vault = 'd-late-rows';
    const log = new TableAuditLog(client);
    clock.set(new Date(DAY + 50 * MIN).toISOString());
    await writeAll(log, rows(vault).slice(0, 3));
    await writeDigests(digests.writer);
    clock.set(new Date(DAY + 70 * MIN).toISOString());
    const later = rows(vault).slice(3, 6).map((r, i) => ({ ...r, timestamp: new Date(DAY + (60 + i) * MIN) }));
    await writeAll(log, later);
    const report = await verify(vault);
    expect(report.ok).toBe(true);
    expect(report.digests?.notYetCovered).toEqual([{ partitionKey: auditPartition(vault, new Date(DAY)), fromSeq: 3, toSeq: 5, rows: 3, oldest: new Date(DAY + 60 * MIN).toISOString() }]);
    // Three hours later without a digest, the same rows are a finding (a digest is missing).
    expect((await verify(vault, 3 * 3_600_000)).findings[0]).toMatchObject({ kind: 'not-covered', seq: 3 });
    await writeDigests(digests.writer);
    expect(await verify(vault, 3 * 3_600_000)).toMatchObject({ ok: true, digests: { notYetCovered: [] } });
  });

  it('GET /api/audit/verify names the digest', async () => {
    const res = await bodyOf(await auditVerify(get(`/api/audit/verify?vault=${vaultOf('truncate-repoint-head')}`), quietContext()));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, findings: [{ kind: 'truncated', seq: 9, digest: digestName(vaultKey(vaultOf('truncate-repoint-head')), 1) }] });
  });

  it('rotor audit verify exits with 1 on a finding the chains alone miss, 0 on a clean vault', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--vault', vaultOf('rewrite-tail')]);
      expect(process.exitCode).toBe(1);
      expect(out.join('\n')).toMatch(/\s7\s+\d{23}\s+rewritten/);
      expect(out.join('\n')).toContain(digestName(vaultKey(vaultOf('rewrite-tail')), 1));
      out.length = 0;
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--vault', vaultOf('untouched'), '--format', 'json']);
      expect(process.exitCode).toBe(0);
      expect(JSON.parse(out.join('\n'))).toMatchObject({ ok: true, rows: ROWS, digests: { digests: 2 } });
    } finally {
      log.mockRestore();
      process.exitCode = 0;
    }
  });
});
