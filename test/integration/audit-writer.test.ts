/**
 * The audit writer against Azurite: group commit, concurrent writers on one chain, the registry, and what happens
 * when storage is unavailable — rows are kept and written by a later flush, never lost and never written twice
 * (also when a transaction commits but its answer is lost).
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { auditRecord, type AuditRecord } from '../../src/core/audit.js';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { auditPartition, HEAD_ROW_KEY, REGISTRY_PARTITION } from '../../src/adapters/storage/keys.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from '../../src/local/azurite.js';
import { freePort } from '../../src/local/net.js';
import { impatientClient, startAuditEnv, startSwitchableProxy, type AuditEnv } from '../support/audit.js';

const DAY = Date.UTC(2026, 10, 19, 0, 0, 0);
let n = 0;
const row = (vault: string, offsetMs: number): AuditRecord =>
  auditRecord({ runId: 'run-w', trigger: 'timer' }, new Date(DAY + offsetMs), { vault, objectType: 'key', objectName: `k-${n++}`, action: 'Detected', outcome: 'Info', detail: 'x' });

const connection = (port: number): string =>
  `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};TableEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;

async function countRows(env: { client: AuditEnv['client'] }, pk: string): Promise<number> {
  let count = 0;
  for await (const e of env.client.listEntities({ queryOptions: { filter: `PartitionKey eq '${pk}'` } })) if (e.rowKey !== HEAD_ROW_KEY) count++;
  return count;
}

describe('audit writer on Azurite', () => {
  let env: AuditEnv;
  beforeAll(async () => {
    env = await startAuditEnv();
  });
  afterAll(async () => env?.stop());

  it('group-commits a wave: 150 rows of one partition in 2 transactions, registered once', async () => {
    const log = new TableAuditLog(env.client);
    for (let i = 0; i < 150; i++) log.append(row('wave-kv', i));
    await Promise.all([log.flush(), log.flush(), log.flush()]);
    expect(log.stats).toMatchObject({ transactions: 2, rows: 150 });
    expect(log.stats.rows / log.stats.transactions).toBeGreaterThanOrEqual(50);
    const registry = [];
    for await (const e of env.client.listEntities({ queryOptions: { filter: `PartitionKey eq '${REGISTRY_PARTITION}' and vault eq 'wave-kv'` } })) registry.push(e);
    expect(registry).toEqual([expect.objectContaining({ auditPartition: auditPartition('wave-kv', new Date(DAY)), day: '20261119' })]);
    expect(await env.reader.verify({ vault: 'wave-kv' })).toMatchObject({ ok: true, rows: 150 });
  });

  it('lets flushes that may wait share one transaction; a flush without delay takes them along at once', async () => {
    const log = new TableAuditLog(env.client);
    const settled: string[] = [];
    log.append(row('linger-kv', 1));
    const a = log.flush({ maxDelayMs: 60_000 }).then(() => settled.push('a'));
    log.append(row('linger-kv', 2));
    const b = log.flush({ maxDelayMs: 60_000 }).then(() => settled.push('b'));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toEqual([]); // still lingering: nothing was written yet
    expect(log.stats.transactions).toBe(0);
    log.append(row('linger-kv', 3));
    await log.flush();
    await Promise.all([a, b]);
    expect(settled.sort()).toEqual(['a', 'b']);
    expect(log.stats).toMatchObject({ transactions: 1, rows: 3 });
    // A lingering flush also goes out on its own once its delay has passed.
    log.append(row('linger-kv', 4));
    await log.flush({ maxDelayMs: 30 });
    expect(log.stats).toMatchObject({ transactions: 2, rows: 4 });
    expect(await env.reader.verify({ vault: 'linger-kv' })).toMatchObject({ ok: true, rows: 4 });
  });

  it('moves the chain head it wrote last without reading it again: one request per write', async () => {
    let requests = 0;
    const counting = {
      name: 'countRequests',
      sendRequest: (request: Parameters<PipelinePolicy['sendRequest']>[0], next: Parameters<PipelinePolicy['sendRequest']>[1]) => {
        requests++;
        return next(request);
      },
    };
    const client = TableClient.fromConnectionString(env.azurite.connectionString, TABLES.audit, {
      allowInsecureConnection: true,
      additionalPolicies: [{ policy: counting, position: 'perCall' }],
    });
    const log = new TableAuditLog(client);
    log.append(row('head-kv', 1));
    await log.flush(); // creates the table (once), reads the head, registers the partition, writes
    const first = requests;
    for (let i = 2; i <= 4; i++) {
      log.append(row('head-kv', i));
      await log.flush();
    }
    expect(requests - first).toBe(3);
    // Another writer moves the head: the cached head is stale, the write is retried after reading it again.
    const other = new TableAuditLog(env.client);
    other.append(row('head-kv', 5));
    await other.flush();
    log.append(row('head-kv', 6));
    await log.flush();
    expect(log.stats.conflicts).toBe(1);
    expect(await env.reader.verify({ vault: 'head-kv' })).toMatchObject({ ok: true, rows: 6 });
  });

  it('keeps one valid chain when writers on different hosts race for the same partition', async () => {
    const writers = [0, 1, 2].map(() => new TableAuditLog(tableClient({ kind: 'connectionString', connectionString: env.azurite.connectionString }, TABLES.audit)));
    for (let round = 0; round < 4; round++) {
      // Interleaved timestamps: commit order differs from time order.
      writers.forEach((w, i) => {
        for (let j = 0; j < 10; j++) w.append(row('race-kv', round * 1000 + j * 10 + i));
      });
      await Promise.all(writers.map((w) => w.flush()));
    }
    expect(writers.reduce((sum, w) => sum + w.stats.rows, 0)).toBe(120);
    expect(await countRows(env, auditPartition('race-kv', new Date(DAY)))).toBe(120);
    expect(await env.reader.verify({ vault: 'race-kv' })).toMatchObject({ ok: true, rows: 120 });
  });

  it('keeps rows, in order, while storage cannot be reached', async () => {
    const closed = await freePort(); // nothing listens here
    const log = new TableAuditLog(impatientClient(connection(closed)));
    const first = [row('down-kv', 1), row('down-kv', 2), row('down-kv', 3)];
    for (const r of first) log.append(r);
    await expect(log.flush()).rejects.toThrow();
    expect(log.pendingRows).toBe(3);
    const later = row('down-kv', 4);
    log.append(later);
    await expect(log.flush()).rejects.toThrow();
    expect(log.pendingRows).toBe(4);
    expect(log.stats.rows).toBe(0);
  });
});

describe('audit writer during a storage outage', () => {
  let env: AuditEnv;
  beforeAll(async () => {
    env = await startAuditEnv();
  });
  afterAll(async () => env?.stop());

  it('writes the kept rows once storage is back: nothing lost, nothing twice, chain intact', async () => {
    const proxy = await startSwitchableProxy(env.azurite.tablePort);
    try {
      const client = impatientClient(connection(proxy.port));
      const log = new TableAuditLog(client);
      const before = Array.from({ length: 10 }, (_, i) => row('outage-kv', i));
      for (const r of before) log.append(r);
      await log.flush();

      await proxy.down();
      const during = Array.from({ length: 5 }, (_, i) => row('outage-kv', 100 + i));
      for (const r of during) log.append(r);
      await expect(log.flush()).rejects.toThrow();
      const more = row('outage-kv', 150);
      log.append(more);
      await expect(log.flush()).rejects.toThrow();
      expect(log.pendingRows).toBe(6);

      await proxy.up();
      const after = row('outage-kv', 200);
      log.append(after);
      await log.flush();
      expect(log.pendingRows).toBe(0);

      expect(await env.reader.verify({ vault: 'outage-kv' })).toMatchObject({ ok: true, rows: 17 });
      const page = await env.reader.query({ vault: 'outage-kv', from: new Date(DAY), to: new Date(DAY + 86_400_000 - 1), pageSize: 100 });
      expect(page.rows.map((r) => r.record.objectName).reverse()).toEqual([...before, ...during, more, after].map((r) => r.objectName));
    } finally {
      await proxy.stop();
    }
  });

  it('recovers when Azurite itself stops mid-run and comes back empty (the table is created again)', async () => {
    let azurite = await startAzurite();
    const port = azurite.tablePort;
    try {
      const log = new TableAuditLog(impatientClient(azurite.connectionString));
      log.append(row('restart-kv', 1));
      await log.flush();
      await azurite.stop();
      const kept = [row('restart-kv', 2), row('restart-kv', 3)];
      for (const r of kept) log.append(r);
      await expect(log.flush()).rejects.toThrow();
      expect(log.pendingRows).toBe(2);
      azurite = await startAzurite({ tablePort: port });
      expect(azurite.tablePort, 'Azurite came back on another port').toBe(port);
      // In-memory Azurite lost everything, the table included: the writer notices and creates it again.
      await log.flush().catch(() => undefined);
      if (log.pendingRows) await log.flush();
      expect(log.pendingRows).toBe(0);
      const reader = new TableAuditReader(impatientClient(azurite.connectionString));
      expect(await reader.verify({ vault: 'restart-kv' })).toMatchObject({ ok: true, rows: 2 });
    } finally {
      await azurite.stop();
    }
  });
});

describe('audit writer when a transaction commits but its answer is lost', () => {
  let env: AuditEnv;
  let proxy: Server;
  let proxyPort = 0;
  let dropped = 0;
  beforeAll(async () => {
    env = await startAuditEnv();
    // Forwards to Azurite; swallows the answer to the first $batch (the transaction) after Azurite committed it.
    proxy = createServer((req, res) => {
      const upstream = httpRequest(
        { host: '127.0.0.1', port: env.azurite.tablePort, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            if (req.method === 'POST' && req.url?.includes('$batch') && dropped === 0) {
              dropped++;
              req.socket.destroy();
              return;
            }
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(chunks));
          });
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as { port: number }).port;
  });
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((resolve) => proxy?.close(resolve));
    await env?.stop();
  });

  it('finds the committed rows instead of writing them again', async () => {
    // Rotor's own client factory (with its retry policy) talking to Azurite through the proxy.
    const log = new TableAuditLog(tableClient({ kind: 'connectionString', connectionString: connection(proxyPort) }, TABLES.audit));
    const rows = Array.from({ length: 5 }, (_, i) => row('lost-kv', i));
    for (const r of rows) log.append(r);
    // Depending on the client's retry policy the first flush succeeds (its retry meets the moved head) or fails
    // (the next flush checks); either way each row is stored exactly once.
    for (let attempt = 0; attempt < 3 && (attempt === 0 || log.pendingRows > 0); attempt++) await log.flush().catch(() => undefined);
    expect(dropped).toBe(1);
    expect(log.pendingRows).toBe(0);
    expect(log.stats.recovered).toBe(5);
    expect(await countRows(env, auditPartition('lost-kv', new Date(DAY)))).toBe(5);
    expect(await env.reader.verify({ vault: 'lost-kv' })).toMatchObject({ ok: true, rows: 5 });
  });
});
