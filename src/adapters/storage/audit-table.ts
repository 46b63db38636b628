/**
 * The audit log in Azure Table storage (table RotorAudit): append-only, written in batch transactions, and
 * tamper-evident — every row carries a hash over its canonical content and the previous row's hash in its chain
 * (one chain per partition: vault and day), and each partition keeps its chain head in a guarded row (ETag) that is
 * updated in the same transaction as the rows, so deleting the newest row is detectable too.
 *
 * Writes use group commit: `append` buffers; `flush` resolves when every row appended before it is durable.
 * Concurrent flushes coalesce into one write, so a wave of rotations writes many rows per request.
 */
import { createHash } from 'node:crypto';
import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { canonicalAuditContent, type AuditRecord } from '../../core/audit.js';
import type { AuditLog, Logger } from '../../core/ports.js';
import { ensureOnce } from './clients.js';
import { auditPartition, auditRowKey, HEAD_ROW_KEY, vaultKey } from './keys.js';

/** Table storage allows 100 operations per transaction: 99 rows and the chain head. */
const ROWS_PER_TRANSACTION = 99;
const CONFLICT_RETRIES = 8;

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly lastRowKey: string;
}

/** Stored audit row. The record's timestamp is stored as `eventTime` (Table storage reserves `Timestamp`). */
export type AuditEntity = TableEntity<Omit<AuditRecord, 'timestamp'> & { eventTime: Date; chainSeq: number; prevHash: string; hash: string }>;

export const genesisHash = (partitionKey: string): string => sha256(`rotor-audit-genesis|${partitionKey}`);

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The hash a row must carry: over its partition, chain position, previous hash and canonical content. */
export function rowHash(partitionKey: string, seq: number, prevHash: string, record: AuditRecord): string {
  return sha256(`${partitionKey}\n${seq}\n${prevHash}\n${canonicalAuditContent(record)}`);
}

export function toEntity(partitionKey: string, seq: number, prevHash: string, record: AuditRecord): AuditEntity {
  const { timestamp, ...content } = record;
  return {
    partitionKey,
    rowKey: auditRowKey(timestamp, seq),
    ...content,
    eventTime: timestamp,
    chainSeq: seq,
    prevHash,
    hash: rowHash(partitionKey, seq, prevHash, record),
  };
}

interface RestErrorLike {
  statusCode?: number;
}
const statusOf = (err: unknown): number | undefined => (err as RestErrorLike | undefined)?.statusCode;

export class TableAuditLog implements AuditLog {
  private pending: AuditRecord[] = [];
  /** Rows of the current batch already committed (a later chunk of the same batch may fail). */
  private readonly written = new Set<AuditRecord>();
  private scheduled: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Requests and rows written (the benchmark reports rows per request). */
  readonly stats = { transactions: 0, rows: 0, conflicts: 0 };

  constructor(
    private readonly client: TableClient,
    private readonly log?: Logger,
  ) {}

  private ensureTable(): Promise<void> {
    return ensureOnce(`table:${this.client.url}/${this.client.tableName}`, () => this.client.createTable());
  }

  append(record: AuditRecord): void {
    this.pending.push(record);
  }

  get pendingRows(): number {
    return this.pending.length;
  }

  flush(): Promise<void> {
    if (this.scheduled) return this.scheduled;
    const run = this.chain.then(async () => {
      this.scheduled = undefined; // rows appended from now on belong to the next flush
      const batch = this.pending;
      this.pending = [];
      if (!batch.length) return;
      try {
        await this.write(batch);
      } catch (err) {
        // Keep the rows (in order) for the next flush: an outage delays the log, it does not lose it.
        this.pending = [...batch.filter((r) => !this.written.has(r)), ...this.pending];
        this.log?.error(`audit write failed; ${this.pending.length} rows kept for the next flush`, { error: String(err) });
        throw err;
      } finally {
        this.written.clear();
      }
    });
    this.scheduled = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

    private async write(records: AuditRecord[]): Promise<void> {
    await this.ensureTable();
    const byPartition = new Map<string, AuditRecord[]>();
    for (const r of records) {
      const pk = auditPartition(r.vault, r.timestamp);
      const list = byPartition.get(pk);
      if (list) list.push(r);
      else byPartition.set(pk, [r]);
    }
    await Promise.all([...byPartition].map(([pk, rows]) => this.writePartition(pk, rows)));
  }

  private async readHead(partitionKey: string): Promise<{ head: ChainHead; etag: string | undefined }> {
    try {
      const e = await this.client.getEntity<{ seq: number; hash: string; lastRowKey: string }>(partitionKey, HEAD_ROW_KEY);
      return { head: { seq: e.seq, hash: e.hash, lastRowKey: e.lastRowKey }, etag: e.etag };
    } catch (err) {
      if (statusOf(err) === 404) return { head: { seq: -1, hash: genesisHash(partitionKey), lastRowKey: '' }, etag: undefined };
      throw err;
    }
  }

  private async writePartition(partitionKey: string, rows: AuditRecord[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_PER_TRANSACTION) {
      const chunk = rows.slice(i, i + ROWS_PER_TRANSACTION);
      for (let attempt = 0; ; attempt++) {
        const { head, etag } = await this.readHead(partitionKey);
        const actions: TransactionAction[] = [];
        let seq = head.seq;
        let prev = head.hash;
        let lastRowKey = head.lastRowKey;
        for (const record of chunk) {
          seq++;
          const entity = toEntity(partitionKey, seq, prev, record);
          actions.push(['create', entity]);
          prev = entity.hash;
          lastRowKey = entity.rowKey;
        }
        const headEntity = { partitionKey, rowKey: HEAD_ROW_KEY, seq, hash: prev, lastRowKey };
        actions.push(etag ? ['update', headEntity, 'Replace', { etag }] : ['create', headEntity]);
        try {
          await this.client.submitTransaction(actions);
          this.stats.transactions++;
          this.stats.rows += chunk.length;
          for (const r of chunk) this.written.add(r);
          break;
        } catch (err) {
          // Another writer moved the head (412) or created it first (409): re-read and re-chain.
          const status = statusOf(err);
          if ((status === 412 || status === 409) && attempt < CONFLICT_RETRIES) {
            this.stats.conflicts++;
            await new Promise((r) => setTimeout(r, 10 + Math.floor(Math.random() * 40) * (attempt + 1)));
            continue;
          }
          throw err;
        }
      }
    }
  }

  async hasRecord(vault: string, rotationId: string, action: AuditRecord['action']): Promise<boolean> {
    await this.ensureTable();
    const key = vaultKey(vault);
    const filter = odata`PartitionKey ge ${`${key}|`} and PartitionKey lt ${`${key}|~`} and rotationId eq ${rotationId} and action eq ${action}`;
    for await (const page of this.client.listEntities({ queryOptions: { filter, select: ['rotationId'] } }).byPage({ maxPageSize: 1 })) {
      if (page.length) return true;
    }
    return false;
  }
}

/** A stored row read back: the record plus its chain fields. */
export interface StoredAuditRow {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly record: AuditRecord;
  readonly chainSeq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export function fromEntity(e: Record<string, unknown>): StoredAuditRow {
  const str = (k: string): string => (typeof e[k] === 'string' ? (e[k]) : '');
  const eventTime = e['eventTime'];
  const record = {
    timestamp: eventTime instanceof Date ? eventTime : new Date(String(eventTime)),
    runId: str('runId'),
    trigger: str('trigger'),
    vault: str('vault'),
    objectType: str('objectType'),
    objectName: str('objectName'),
    version: str('version'),
    previousVersion: str('previousVersion'),
    thumbprint: str('thumbprint'),
    previousThumbprint: str('previousThumbprint'),
    action: str('action'),
    reason: str('reason'),
    outcome: str('outcome'),
    detail: str('detail'),
    rotationId: str('rotationId'),
    consumer: str('consumer'),
    expected: str('expected'),
    observed: str('observed'),
    secretId: str('secretId'),
    expiresOn: str('expiresOn'),
  } as AuditRecord;
  return {
    partitionKey: str('partitionKey'),
    rowKey: str('rowKey'),
    record,
    chainSeq: Number(e['chainSeq'] ?? -1),
    prevHash: str('prevHash'),
    hash: str('hash'),
  };
}

/** Rows written on or after `since` (of the given runs, if any), oldest first: the CLI's run summary. */
export async function readRecentRows(client: TableClient, since: Date, runIds?: readonly string[]): Promise<AuditRecord[]> {
  const runs = runIds?.length ? ` and (${runIds.map((id) => odata`runId eq ${id}`).join(' or ')})` : '';
  const filter = `${odata`eventTime ge ${since}`}${runs} and ${odata`RowKey ne ${HEAD_ROW_KEY}`}`;
  const rows: StoredAuditRow[] = [];
  for await (const e of client.listEntities({ queryOptions: { filter } })) rows.push(fromEntity(e));
  return rows.sort((a, b) => a.record.timestamp.getTime() - b.record.timestamp.getTime() || a.chainSeq - b.chainSeq).map((r) => r.record);
}
