/**
 * The digests in Blob storage (Azurite, which does not enforce immutability, so Rotor's own behaviour is what is
 * tested): every request Rotor sends to the digest container is recorded by a proxy — no DELETE ever, every blob
 * PUT conditional on If-None-Match: *; an existing digest is never replaced, also when two writers race; and the
 * export an auditor takes verifies offline (the stack stopped), and reports what was changed in it.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDigestServices, useAuditServices, type DigestServices } from '../../src/app/services.js';
import { verifyExport } from '../../src/cli/audit-export-dir.js';
import { auditRecord } from '../../src/core/audit.js';
import { writeDigest, writeDigests } from '../../src/core/audit-digest.js';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { BlobDigestStore, digestContainer } from '../../src/adapters/digests/blob-store.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { buildProgram } from '../../src/cli/main.js';
import { writeAll } from '../support/audit.js';
import { testClock } from './helpers/keyvault.js';

const DAY = Date.UTC(2026, 10, 19, 1, 0, 0);
const MIN = 60_000;
const clock = testClock(new Date(DAY).toISOString());
const VAULTS = ['store-a', 'store-b'];

let stack: LocalStack | undefined;
let proxy: Server;
const seen: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
let digests: DigestServices;
let log: TableAuditLog;
let exportDir: string;

const rowsAt = (vault: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) =>
    auditRecord({ runId: 'run-store', trigger: 'timer' }, new Date(DAY + (from + i) * MIN), { vault, action: 'Detected', outcome: 'Info', objectType: 'key', objectName: `k-${from + i}` }),
  );

/** Records every request to Azurite's Blob service. */
async function recordingProxy(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const upstream = httpRequest({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

beforeAll(async () => {
  stack = await startLocalStack({ now: clock.now, auditSigning: { keyType: 'RSA' } });
  const azurite = stack.azurite!;
  proxy = await recordingProxy(azurite.blobPort!);
  const proxied = azurite.connectionString.replace(azurite.blobEndpoint!, `http://127.0.0.1:${(proxy.address() as { port: number }).port}/devstoreaccount1`);
  const env = { ...stack.settings(), ROTOR_STORAGE: proxied };
  const d = await buildDigestServices(env, { credential: stack.credential, caPem: stack.ca.certPem, local: true }, { now: clock.now });
  if (!d) throw new Error('no digest key');
  digests = d;
  log = new TableAuditLog(tableClient({ kind: 'connectionString', connectionString: proxied }, TABLES.audit));
  useAuditServices({ clock: { now: clock.now }, reader: new TableAuditReader(tableClient({ kind: 'connectionString', connectionString: proxied }, TABLES.audit)), digests });
  exportDir = await mkdtemp(join(tmpdir(), 'rotor-export-'));
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
  if (exportDir) await rm(exportDir, { recursive: true, force: true });
});

describe('the digest container: create only, never overwrite, never delete', () => {
  it('signs with RS256 when the key is RSA 3072', async () => {
    await writeAll(log, VAULTS.flatMap((v) => rowsAt(v, 0, 4)));
    clock.set(new Date(DAY + 5 * MIN).toISOString());
    const { written } = await writeDigests(digests.writer);
    expect(written).toEqual(['store-a/0000000000.json', 'store-b/0000000000.json']);
    const body = JSON.parse((await digests.store.read('store-a/0000000000.json'))!) as { digest: { key: { alg: string; id: string } } };
    expect(body.digest.key.alg).toBe('RS256');
    expect(body.digest.key.id).toMatch(/\/keys\/rotor-audit-digest\/[0-9a-f]{32}$/);
  });

  it('an existing digest is never replaced: create answers "exists" and the blob keeps its bytes', async () => {
    const store = digests.store;
    const before = await store.read('store-a/0000000000.json');
    expect(await store.create('store-a/0000000000.json', '{"forged":true}')).toBe('exists');
    expect(await store.read('store-a/0000000000.json')).toBe(before);
  });

  it('two writers racing for the same vault extend the chain, neither overwrites the other', async () => {
    const snapshot = new Map<string, string>();
    for (const name of await digests.store.list('store-a')) snapshot.set(name, (await digests.store.read(name))!);
    await writeAll(log, rowsAt('store-a', 10, 3));
    clock.set(new Date(DAY + 15 * MIN).toISOString());
    const other = { ...digests.writer, store: new BlobDigestStore(digestContainer({ kind: 'connectionString', connectionString: stack!.azurite!.connectionString }, 'rotor-audit-digests')) };
    const results = await Promise.all([writeDigest('store-a', digests.writer), writeDigest('store-a', other)]);
    expect(results.filter((r) => r.status === 'written')).toHaveLength(1);
    const names = await digests.store.list('store-a');
    expect(names).toEqual(['store-a/0000000000.json', 'store-a/0000000001.json']);
    for (const [name, text] of snapshot) expect(await digests.store.read(name)).toBe(text);
  });

  it('sends no DELETE and only conditional blob writes (If-None-Match: *)', () => {
    const blobWrites = seen.filter((r) => r.method === 'PUT' && !/restype=container/.test(r.path));
    expect(blobWrites.length).toBeGreaterThan(0);
    for (const w of blobWrites) expect(w.headers['if-none-match'], w.path).toBe('*');
    expect(seen.filter((r) => r.method === 'DELETE')).toEqual([]);
  });
});

describe('an export verifies offline', () => {
  it('rotor audit export writes rows, heads, registry, digests and public keys', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'export', exportDir]);
    } finally {
      spy.mockRestore();
    }
    expect(out.join('\n')).toMatch(/Exported 11 rows of 2 partitions, 3 digests and 1 public keys/);
    const manifest = JSON.parse(await readFile(join(exportDir, 'manifest.json'), 'utf8')) as { keys: string[] };
    expect(manifest.keys).toHaveLength(1);
  });

  it('verifies clean with the stack stopped (no Azure, no emulator), and exits 0', async () => {
    await stack?.stop();
    stack = undefined;
    const report = await verifyExport(exportDir, { scope: {} });
    expect(report, JSON.stringify(report.findings, null, 2)).toMatchObject({ ok: true, rows: 11, partitions: 2, digests: { vaults: 2, digests: 3, notYetCovered: [] } });
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--export', exportDir]);
      expect(process.exitCode).toBe(0);
      expect(out.join('\n')).toContain('matches the signed digests');
    } finally {
      spy.mockRestore();
      process.exitCode = 0;
    }
  });

  it('names what was changed in the export: a row cut off the end with the head moved back, a modified digest, a substituted key', async () => {
    const rowsFile = join(exportDir, 'rows.csv');
    const headsFile = join(exportDir, 'heads.csv');
    const rows = await readFile(rowsFile, 'utf8');
    const heads = await readFile(headsFile, 'utf8');
    // store-b's newest row (seq 3) is the second CSV line (rows are newest first per partition).
    const lines = rows.split('\r\n');
    const bLines = lines.filter((l) => l.includes('store-b|'));
    const newest = bLines[0] as string;
    const cells = (l: string) => l.split(',');
    const seq2 = bLines[1] as string;
    await writeFile(rowsFile, lines.filter((l) => l !== newest).join('\r\n'));
    const bHead = heads.split('\r\n').find((l) => l.startsWith('store-b|')) as string;
    const c2 = cells(seq2);
    await writeFile(headsFile, heads.replace(bHead, `${cells(bHead)[0]},2,${c2[c2.length - 1]},${c2[c2.length - 5]}`));
    let report = await verifyExport(exportDir, { scope: { vault: 'store-b' } });
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'truncated', seq: 3, digest: 'store-b/0000000000.json' })]);

    const digestFile = join(exportDir, 'digests', 'store-a', '0000000001.json');
    const digest = await readFile(digestFile, 'utf8');
    await writeFile(digestFile, digest.replace('"to":"', '"to":"1'));
    report = await verifyExport(exportDir, { scope: { vault: 'store-a' } });
    expect(report.findings[0]).toMatchObject({ kind: 'digest-unreadable', digest: 'store-a/0000000001.json' });
    await writeFile(digestFile, digest.replace(/"fromSeq":\d+/, '"fromSeq":0'));
    report = await verifyExport(exportDir, { scope: { vault: 'store-a' } });
    expect(report.findings[0]).toMatchObject({ kind: 'digest-signature', digest: 'store-a/0000000001.json' });
    await writeFile(digestFile, digest);

    const keysFile = join(exportDir, 'keys.json');
    const keys = JSON.parse(await readFile(keysFile, 'utf8')) as Record<string, unknown>;
    const [id] = Object.keys(keys);
    await writeFile(keysFile, JSON.stringify({ [`${id}0`]: keys[id as string] }));
    report = await verifyExport(exportDir, { scope: { vault: 'store-a' } });
    expect(report.findings.map((f) => f.kind)).toEqual(['digest-key', 'digest-key']);

    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      process.exitCode = 0;
      await buildProgram().parseAsync(['node', 'rotor', 'audit', 'verify', '--export', exportDir]);
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = 0;
    }
  });
});
