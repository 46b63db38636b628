/**
 * An auditor's own copy of the audit log, and its verification with no access to Azure.
 *
 * `rotor audit export <dir>` writes:
 *   rows.csv       every audit row: the record's columns and the chain fields (the CSV of GET /api/audit?format=csv)
 *   heads.csv      partitionKey, seq, hash, lastRowKey of every chain head
 *   registry.csv   partitionKey, firstEventTime of every registry row
 *   digests/       the signed digests, byte for byte (digests/<vault>/<seq>.json)
 *   keys.json      key id → public JWK of every key version that signed a digest
 *   manifest.json  format, export time, scope, counts
 * `rotor audit verify --export <dir>` runs the same verification over these files: the chains, the registry, the
 * digest chain (signatures checked with keys.json) and every partition against the digests. Compare keys.json with
 * the key in Key Vault (`az keyvault key show --id <key id>`) once: an export proves nothing against a key you did
 * not check.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { AUDIT_CONTENT_FIELDS, type AuditRecord } from '../core/audit.js';
import { LogVerifier, type AuditRow, type ChainHead, type VerifyReport, type VerifyScope } from '../core/audit-chain.js';
import { digestReport, DigestCoverage, checkDigestChain, parseDigestName, parseStoredDigest, PublicKeyVerifier, type DigestChainResult, type PublicJwk } from '../core/audit-digest.js';
import { tableLayout } from '../adapters/storage/audit-reader.js';
import { splitPartition, vaultKey, dayOf } from '../adapters/storage/keys.js';
import { AUDIT_COLUMNS, rowsCsv } from '../app/audit-export.js';
import type { AuditServices } from '../app/services.js';

export const EXPORT_FORMAT = 'rotor-audit-export/1';
const CSV_OPTIONS = { record_delimiter: 'windows' as const, quoted_match: /^\s|\s$/ };

export interface ExportSummary {
  readonly rows: number;
  readonly partitions: number;
  readonly digests: number;
  readonly keys: number;
}

async function emptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length) throw new Error(`${dir} is not empty: export into a new or empty folder`);
}

export async function exportAuditLog(services: AuditServices, dir: string, options: { vault?: string | undefined }): Promise<ExportSummary> {
  const { reader, digests } = services;
  if (!reader.snapshot) throw new Error('this audit log cannot be exported');
  await emptyDir(dir);
  const rows: AuditRow[] = [];
  const heads: string[][] = [];
  const registry: string[][] = [];
  for await (const item of reader.snapshot(options.vault)) {
    if (item.kind === 'row') rows.push(item.row);
    else if (item.kind === 'head') heads.push([item.partitionKey, String(item.head.seq), item.head.hash, item.head.lastRowKey]);
    else registry.push([item.partitionKey, item.firstEventTime]);
  }
  await writeFile(join(dir, 'rows.csv'), rowsCsv(rows));
  await writeFile(join(dir, 'heads.csv'), stringify(heads, { header: true, columns: ['partitionKey', 'seq', 'hash', 'lastRowKey'], ...CSV_OPTIONS }));
  await writeFile(join(dir, 'registry.csv'), stringify(registry, { header: true, columns: ['partitionKey', 'firstEventTime'], ...CSV_OPTIONS }));
  let digestCount = 0;
  const keys: Record<string, PublicJwk> = {};
  if (digests) {
    const vaults = options.vault !== undefined ? [vaultKey(options.vault)] : await digests.store.vaults();
    for (const vault of vaults) {
      const names = await digests.store.list(vault);
      if (!names.length) continue;
      await mkdir(join(dir, 'digests', vault), { recursive: true });
      for (const name of names) {
        const text = await digests.store.read(name);
        if (text === undefined) continue;
        await writeFile(join(dir, 'digests', name), text);
        digestCount++;
        const parsed = parseStoredDigest(text);
        const id = parsed.ok ? parsed.value.digest.key.id : undefined;
        if (id && !keys[id]) {
          const jwk = await digests.publicKey(id);
          if (jwk) keys[id] = jwk;
        }
      }
    }
  }
  await writeFile(join(dir, 'keys.json'), `${JSON.stringify(keys, null, 2)}\n`);
  const partitions = new Set(rows.map((r) => r.partitionKey)).size;
  const manifest = {
    format: EXPORT_FORMAT,
    exportedAt: services.clock.now().toISOString(),
    vault: options.vault === undefined ? null : vaultKey(options.vault),
    rows: rows.length,
    partitions,
    heads: heads.length,
    registry: registry.length,
    digests: digestCount,
    keys: Object.keys(keys),
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { rows: rows.length, partitions, digests: digestCount, keys: Object.keys(keys).length };
}

const readCsv = async (file: string): Promise<Record<string, string>[]> =>
  parse<Record<string, string>>(await readFile(file, 'utf8'), { columns: true, skip_empty_lines: true, relax_column_count: false });

function rowOf(r: Record<string, string>, line: number): AuditRow {
  for (const c of AUDIT_COLUMNS) if (!(c in r)) throw new Error(`rows.csv line ${line}: column ${c} is missing`);
  const record = Object.fromEntries(AUDIT_CONTENT_FIELDS.map((f) => [f, r[f] ?? ''])) as unknown as Record<string, unknown>;
  record['timestamp'] = new Date(r['timestamp'] ?? '');
  const seq = Number(r['chainSeq']);
  return {
    partitionKey: r['partitionKey'] ?? '',
    rowKey: r['rowKey'] ?? '',
    record: record as unknown as AuditRecord,
    chainSeq: Number.isInteger(seq) ? seq : -1,
    prevRowKey: r['prevRowKey'] ?? '',
    prevHash: r['prevHash'] ?? '',
    hash: r['hash'] ?? '',
  };
}

/** Verifies an export: only the files, no network. The keys trusted are those in keys.json. */
export async function verifyExport(dir: string, options: { scope: VerifyScope; maxDigestAgeMs?: number | undefined }): Promise<VerifyReport> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { format?: string; exportedAt?: string };
  if (manifest.format !== EXPORT_FORMAT) throw new Error(`${dir}: not a Rotor audit export (manifest.json format ${String(manifest.format)})`);
  const now = new Date(manifest.exportedAt ?? '');
  if (Number.isNaN(now.getTime())) throw new Error(`${dir}: manifest.json has no valid exportedAt`);
  const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as Record<string, PublicJwk>;
  const verifier = new PublicKeyVerifier(async (id) => (Object.hasOwn(keys, id) ? keys[id] : undefined));

  const { scope } = options;
  const fromDay = scope.from ? dayOf(scope.from) : '00000000';
  const toDay = scope.to ? dayOf(scope.to) : '99999999';
  const key = scope.vault === undefined ? undefined : vaultKey(scope.vault);
  const inScope = (pk: string): boolean => {
    const { vault, day } = splitPartition(pk);
    return day >= fromDay && day <= toDay && (key === undefined || vault === key);
  };

  // Digests: every vault folder under digests/.
  const chains: DigestChainResult[] = [];
  const digestRoot = join(dir, 'digests');
  const vaults = (await readdir(digestRoot).catch(() => [] as string[])).filter((v) => key === undefined || v === key).sort();
  for (const vault of vaults) {
    const files = (await readdir(join(digestRoot, vault))).sort();
    const entries = await Promise.all(
      files.map(async (f) => ({ name: `${vault}/${f}`, text: await readFile(join(digestRoot, vault, f), 'utf8') })),
    );
    const named = entries.filter((e) => parseDigestName(e.name));
    if (named.length) chains.push(await checkDigestChain(vault, entries, verifier));
  }
  const evidence = { chains, coverage: new DigestCoverage(chains, { now, ...(options.maxDigestAgeMs ? { maxDigestAgeMs: options.maxDigestAgeMs } : {}) }) };

  const partitions = new Map<string, { rows: AuditRow[]; head?: ChainHead }>();
  const slot = (pk: string) => {
    let p = partitions.get(pk);
    if (!p) partitions.set(pk, (p = { rows: [] }));
    return p;
  };
  (await readCsv(join(dir, 'rows.csv'))).forEach((r, i) => {
    const row = rowOf(r, i + 2);
    if (inScope(row.partitionKey)) slot(row.partitionKey).rows.push(row);
  });
  for (const h of await readCsv(join(dir, 'heads.csv'))) {
    const pk = h['partitionKey'] ?? '';
    if (inScope(pk)) slot(pk).head = { seq: Number(h['seq']), hash: h['hash'] ?? '', lastRowKey: h['lastRowKey'] ?? '' };
  }
  const registered = new Map<string, string>();
  for (const r of await readCsv(join(dir, 'registry.csv'))) {
    const pk = r['partitionKey'] ?? '';
    if (inScope(pk)) registered.set(pk, r['firstEventTime'] ?? '');
  }
  const logVerifier = new LogVerifier(tableLayout, evidence.coverage);
  for (const pk of [...partitions.keys()].sort()) {
    const p = partitions.get(pk) as { rows: AuditRow[]; head?: ChainHead };
    logVerifier.partition(pk, p.rows, p.head);
  }
  return digestReport(
    { vault: key ?? null, from: scope.from?.toISOString() ?? null, to: scope.to?.toISOString() ?? null },
    logVerifier,
    registered,
    inScope,
    evidence,
  );
}
