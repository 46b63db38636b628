/**
 * Support for the audit integration tests: Azurite alone (in memory, free ports), the real TableAuditLog and
 * TableAuditReader over @azure/data-tables clients, and a deterministic corpus of audit rows.
 */
import { TableClient } from '@azure/data-tables';
import functions from '@azure/functions';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { auditRecord, type AuditInput, type AuditRecord } from '../../src/core/audit.js';
import type { Trigger } from '../../src/core/model.js';
import type { VerifyReport } from '../../src/core/audit-chain.js';
import type { AuditRowJson, TimelineJson } from '../../src/app/audit-export.js';
import type { Socket } from 'node:net';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { startAzurite, type Azurite, type AzuriteOptions } from '../../src/local/azurite.js';

export const NOW = new Date('2026-11-20T12:00:00.000Z');
export const VAULTS = ['hpc-prod-kv', 'hpc-dev-kv', 'batch-kv'] as const;

/** Names an attacker might choose for objects: they must come back verbatim and never widen a query. */
export const HOSTILE_NAMES = {
  injection: "' or PartitionKey ne '",
  unicode: 'zertifikat-ü-🔑-证书',
  xss: '<img src=x onerror="window.__xss=1">',
  csv: 'name, with "quotes",\r\nand a line break',
} as const;

export interface AuditEnv {
  readonly azurite: Azurite;
  readonly client: TableClient;
  readonly log: TableAuditLog;
  readonly reader: TableAuditReader;
  stop(): Promise<void>;
}

export async function startAuditEnv(options: AzuriteOptions = {}): Promise<AuditEnv> {
  const azurite = await startAzurite(options);
  const client = tableClient({ kind: 'connectionString', connectionString: azurite.connectionString }, TABLES.audit);
  return {
    azurite,
    client,
    log: new TableAuditLog(client),
    reader: new TableAuditReader(client),
    stop: () => azurite.stop(),
  };
}

/** A TableClient with no retries and a short timeout (for tests that make storage unavailable). */
export function impatientClient(connectionString: string): TableClient {
  const insecure = /DefaultEndpointsProtocol=http;/.test(connectionString);
  return TableClient.fromConnectionString(connectionString, TABLES.audit, { allowInsecureConnection: insecure, retryOptions: { maxRetries: 0 } });
}

let unique = 0;
/** A record at an exact time (each corpus row gets its own millisecond, so newest-first order is unambiguous). */
export function rec(at: Date, run: { runId: string; trigger: Trigger }, input: AuditInput): AuditRecord {
  return auditRecord(run, new Date(at.getTime() + (unique++ % 1000)), input);
}

const TRIGGER_CYCLE: Trigger[] = ['timer', 'eventgrid', 'manual'];
const hex = (n: number, len = 32): string => n.toString(16).padStart(len, '0').slice(-len);

/**
 * The corpus: 12 days (2026-11-08 … 2026-11-19) × 3 vaults of rotations (detected → started → version created →
 * completed or failed → consumers verified or stale), nightly scan rows, reports, hostile names, and a few rows from
 * September (outside the default 30-day range). Oldest first.
 */
export function corpus(): AuditRecord[] {
  unique = 0;
  const rows: AuditRecord[] = [];
  let n = 0;
  for (let day = 0; day < 12; day++) {
    for (const [vi, vault] of VAULTS.entries()) {
      const trigger = TRIGGER_CYCLE[(day + vi) % 3] as Trigger;
      const runId = `run-${20261108 + day}-${trigger}`;
      const run = { runId, trigger };
      const base = new Date(Date.UTC(2026, 10, 8 + day, 2 + vi, 0, 0));
      const t = (minutes: number): Date => new Date(base.getTime() + minutes * 60_000);
      const type = (['certificate', 'key', 'secret'] as const)[(day + vi) % 3];
      const name = `${type === 'certificate' ? 'hpc-node-comm' : type === 'key' ? 'cache-cmk' : 'batch-admin'}`;
      const rotationId = `rot-${hex(++n, 8)}`;
      const from = hex(n * 7919);
      const to = hex(n * 7919 + 1);
      const obj = { vault, objectType: type, objectName: name, rotationId } as const;
      const fails = (day + vi) % 5 === 4;
      rows.push(rec(t(0), run, { ...obj, action: 'Detected', outcome: 'Info', reason: 'NearExpiry', detail: `expires in ${10 + day} days`, version: from }));
      rows.push(rec(t(1), run, { ...obj, action: 'RotationStarted', outcome: 'Pending', reason: 'NearExpiry', version: from, detail: 'attempt 1 of 3' }));
      if (fails) {
        rows.push(rec(t(2), run, { ...obj, action: 'RotationFailed', outcome: 'Failed', reason: 'Throttled', detail: 'Key Vault answered 429 five times; will retry' }));
      } else {
        const thumbs = type === 'certificate' ? { previousThumbprint: hex(n, 40).toUpperCase(), thumbprint: hex(n + 1, 40).toUpperCase() } : {};
        rows.push(rec(t(2), run, { ...obj, ...thumbs, action: 'VersionCreated', outcome: 'Succeeded', reason: 'NearExpiry', previousVersion: from, version: to, detail: `new version ${to}` }));
        rows.push(rec(t(3), run, { ...obj, ...thumbs, action: 'RotationCompleted', outcome: 'Succeeded', reason: 'NearExpiry', previousVersion: from, version: to, detail: `rotated from ${from} to ${to}` }));
        const stale = (day + vi) % 4 === 1;
        rows.push(rec(t(10), run, { ...obj, action: 'ConsumerVerified', outcome: 'Succeeded', consumer: 'pool-a', expected: to, observed: to, version: to, detail: 'pool-a uses the new version' }));
        rows.push(
          rec(t(12), run, {
            ...obj,
            action: stale ? 'ConsumerStale' : 'ConsumerVerified',
            outcome: stale ? 'ActionRequired' : 'Succeeded',
            consumer: 'head-node-01',
            expected: to,
            observed: stale ? from : to,
            version: to,
            detail: stale ? 'head-node-01 still presents the previous certificate' : 'head-node-01 uses the new version',
          }),
        );
      }
      if (day % 3 === 0) {
        rows.push(rec(t(20), run, { vault, objectType: 'secret', objectName: 'nexus-bmc', action: 'ExternalRotationObserved', outcome: 'Info', reason: 'External', detail: 'rotated by Operator Nexus' }));
      }
      rows.push(rec(t(30), run, { vault, action: 'ScanCompleted', outcome: 'Succeeded', detail: `scanned 12 objects, ${fails ? 0 : 1} rotated` }));
    }
  }
  const special = { runId: 'run-hostile', trigger: 'eventgrid' as const };
  const at = new Date('2026-11-15T09:00:00.000Z');
  rows.push(rec(at, special, { vault: 'hpc-prod-kv', objectType: 'secret', objectName: HOSTILE_NAMES.injection, action: 'EventRejected', outcome: 'Skipped', reason: 'UnknownObject', detail: 'event for an object nobody manages' }));
  rows.push(rec(at, special, { vault: 'hpc-prod-kv', objectType: 'certificate', objectName: HOSTILE_NAMES.unicode, action: 'ManualActionRequired', outcome: 'ActionRequired', reason: 'UnknownIssuer', detail: 'renew with the CA: ünïcödé détail 🔑' }));
  rows.push(rec(at, special, { vault: 'hpc-dev-kv', objectType: 'secret', objectName: HOSTILE_NAMES.xss, action: 'PolicyViolation', outcome: 'ActionRequired', reason: 'BadTag', detail: '<script>window.__xss=2</script> & "quotes"' }));
  rows.push(rec(at, special, { vault: 'hpc-dev-kv', objectType: 'key', objectName: 'csv-key', action: 'Skipped', outcome: 'Skipped', reason: 'PolicyOff', detail: HOSTILE_NAMES.csv }));
  const old = { runId: 'run-20260901-timer', trigger: 'timer' as const };
  for (const vault of VAULTS) {
    rows.push(rec(new Date('2026-09-01T02:00:00.000Z'), old, { vault, action: 'ScanCompleted', outcome: 'Succeeded', detail: 'an old nightly scan' }));
  }
  return rows.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
}

/** Writes records through the real writer (group commit), in order. */
export async function writeAll(log: TableAuditLog, records: readonly AuditRecord[]): Promise<void> {
  for (const r of records) log.append(r);
  await log.flush();
}

export const quietContext = (name = 'test'): InvocationContext =>
  new functions.InvocationContext({ functionName: name, invocationId: 'test', logHandler: () => undefined });

export function get(url: string, params: Record<string, string> = {}): HttpRequest {
  return new functions.HttpRequest({ method: 'GET', url: `http://localhost${url}`, params });
}

/** What the audit API answers (the union of its bodies, for tests). */
export interface ApiBody extends TimelineJson, Omit<VerifyReport, 'rows'> {
  rows: AuditRowJson[];
  count: number;
  continuation: string | null;
  next: string | null;
  query: Record<string, string>;
  error: { code: string; parameter: string; message: string };
}

/** The body of a handler's response, as a client would read it. */
export async function bodyOf(res: HttpResponseInit): Promise<{ status: number; headers: Headers; text: string; json: () => ApiBody }> {
  const r = new functions.HttpResponse(res);
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as ApiBody };
}

/** A TCP proxy in front of a port that can be switched off and on (an outage the client sees as refused connections). */
export async function startSwitchableProxy(targetPort: number): Promise<{ port: number; down(): Promise<void>; up(): Promise<void>; stop(): Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const down = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return { port, down, up: () => listen(port), stop: down };
}

/** A vault's chain for the tamper corpora: `count` rows a minute apart from `start`, Detected / RotationCompleted pairs. */
export function tamperRows(vault: string, count: number, start: number): AuditRecord[] {
  return Array.from({ length: count }, (_, i) =>
    auditRecord({ runId: `run-${vault}`, trigger: 'timer' }, new Date(start + i * 60_000), {
      vault,
      objectType: 'certificate',
      objectName: `cert-${i}`,
      action: i % 2 ? 'RotationCompleted' : 'Detected',
      outcome: i % 2 ? 'Succeeded' : 'Info',
      rotationId: `rot-${i >> 1}`,
      detail: `row ${i} of ${vault}`,
    }),
  );
}
