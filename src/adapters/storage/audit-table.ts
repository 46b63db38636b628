/**
 * The audit log in Azure Table storage (table RotorAudit): append-only, written in batch transactions, and
 * tamper-evident (src/core/audit-chain.ts) — every row carries a hash over its canonical content and its
 * predecessor's hash and row key in its chain (one chain per partition: vault and day); each partition keeps its
 * chain head in a guarded row (ETag) that is updated in the same transaction as the rows, so deleting the newest row
 * is detectable too; and a registry row per partition, written before the partition's first rows, makes deleting a
 * whole day detectable.
 *
 * Writes use group commit: `append` buffers; `flush` resolves when every row appended before it is durable.
 * Concurrent flushes coalesce into one write, and a flush that may wait (`maxDelayMs`) lingers so that rows other
 * callers append meanwhile share its request, so a wave of rotations writes many rows per request. The chain head
 * of each partition is cached after a successful write (read again only after a conflict), so a write costs one
 * request. A failed write
 * keeps its rows for the next flush; before a row is tried again, the writer checks whether an earlier attempt
 * committed after all (its answer was lost, or the client's own retry met the head it had just moved), with one
 * point read per earlier attempt, so a row is never written twice.
 */
import type { AuditObserver } from '../../core/notifications.js';
import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { AUDIT_CONTENT_FIELDS, auditContentHash, boundText, type AuditRecord } from '../../core/audit.js';
import { genesisHash, rowHash, type AuditRow, type ChainHead } from '../../core/audit-chain.js';
import type { AuditLog, FlushOptions, Logger } from '../../core/ports.js';
import { ensureOnce, forgetEnsured, isTableNotFound } from './clients.js';
import { auditPartition, auditRowKey, HEAD_ROW_KEY, REGISTRY_PARTITION, registryRowKey, splitPartition, vaultKey } from './keys.js';
import { checkEntity } from './table-limits.js';

export { genesisHash, rowHash, type ChainHead };

/** Table storage allows 100 operations per transaction: 99 rows and the chain head. */
const ROWS_PER_TRANSACTION = 99;
const CONFLICT_RETRIES = 8;
const PLACEHOLDER_ROW_KEY = '0'.repeat(23);
/** hasRecord reads from this long before the rotation started (writers' clocks may disagree a little). */
const HAS_RECORD_SKEW_MS = 3_600_000;
const PLACEHOLDER_HASH = '0'.repeat(64);

/** Stored audit row. The record's timestamp is stored as `eventTime` (Table storage reserves `Timestamp`). */
export type AuditEntity = TableEntity<
  Omit<AuditRecord, 'timestamp'> & { eventTime: Date; chainSeq: number; prevRowKey: string; prevHash: string; hash: string }
>;

export function toEntity(partitionKey: string, seq: number, prevRowKey: string, prevHash: string, record: AuditRecord): AuditEntity {
  const { timestamp, ...content } = record;
  return {
    partitionKey,
    rowKey: auditRowKey(timestamp, seq),
    ...content,
    eventTime: timestamp,
    chainSeq: seq,
    prevRowKey,
    prevHash,
    hash: rowHash(partitionKey, seq, prevRowKey, prevHash, record),
  };
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}
const statusOf = (err: unknown): number | undefined => (err as RestErrorLike | undefined)?.statusCode;

/**
 * Whether storage refused a write for what it contains — and will refuse it every time: a 4xx other than 408
 * (timeout), 409/412 (conflicts, handled by re-chaining) and 429 (throttling); and other than 401/403 (the identity
 * lacks access) and 404 (the table is missing): those are about the account, not the row, and an outage delays the
 * log rather than losing it.
 */
export function isPermanentRefusal(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 400 && status < 500 && ![401, 403, 404, 408, 409, 412, 429].includes(status);
}

/** Reports refused rows (the composition root counts them in metrics). */
export type AuditRowRejectedListener = (event: { outcome: 'replaced' | 'dropped'; status: number; code: string }) => void;

/** Printable ASCII only: the stand-in row must be one storage accepts whatever the refused row contained. */
const plain = (text: string, max: number): string => boundText(text.replace(/[^\x20-\x7e]/g, '?'), max);

/**
 * The row that stands in for a row storage refused: same vault, time, run and trigger (so the same partition and
 * place in the chain), what was refused and why, and the SHA-256 of the refused row's canonical content.
 */
export function rejectedRowRecord(original: AuditRecord, err: unknown): AuditRecord {
  const e = (err ?? {}) as RestErrorLike;
  const status = statusOf(err) ?? 0;
  const code = typeof e.code === 'string' && e.code ? e.code : `HTTP${status}`;
  const message = typeof e.message === 'string' ? e.message.split('\n')[0] ?? '' : '';
  const hash = auditContentHash(original);
  return {
    timestamp: original.timestamp,
    runId: plain(original.runId, 128),
    trigger: original.trigger,
    vault: plain(original.vault, 127),
    objectType: original.objectType,
    objectName: plain(original.objectName, 127),
    version: '',
    previousVersion: '',
    thumbprint: '',
    previousThumbprint: '',
    action: 'AuditRowRejected',
    reason: plain(`StorageRefused:${code}`, 128),
    outcome: 'Failed',
    detail: plain(`Table storage refused the ${original.action} row (HTTP ${status} ${code}: ${message.slice(0, 300)}); sha256 of the refused row's content: ${hash}`, 4000),
    rotationId: plain(original.rotationId, 128),
    consumer: '',
    expected: '',
    observed: `sha256:${hash}`,
    secretId: '',
    expiresOn: '',
  };
}

interface Attempt {
  readonly lastRowKey: string;
  readonly lastHash: string;
  readonly records: readonly AuditRecord[];
}

export class TableAuditLog implements AuditLog {
  private pending: AuditRecord[] = [];
  /** Rows of the current batch already committed (a later chunk of the same batch may fail). */
  private readonly written = new Set<AuditRecord>();
  /** Transactions tried for a row that did not (visibly) commit. */
  private readonly attempts = new WeakMap<AuditRecord, Attempt[]>();
  /** Partitions this process has registered. */
  private readonly registered = new Set<string>();
  private scheduled: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** A lingering flush: it starts when its timer fires or when a flush without delay is asked for. */
  private lingering: { promise: Promise<void>; timer: NodeJS.Timeout; start: () => void; due: number } | undefined;
  /** Chain heads this writer moved last, with their ETags (a conflict drops them). */
  private readonly heads = new Map<string, { head: ChainHead; etag: string }>();
  /** Requests and rows written (the benchmark reports rows per request); rows found committed on a retry. */
  /** `rejected`: rows storage refused for good, replaced by AuditRowRejected rows; `dropped`: stand-ins refused too. */
  readonly stats = { transactions: 0, rows: 0, conflicts: 0, recovered: 0, rejected: 0, dropped: 0 };

  constructor(
    private readonly client: TableClient,
    private readonly log?: Logger,
    private readonly onRejected?: AuditRowRejectedListener,
  ) {}

  private ensureTable(): Promise<void> {
    return ensureOnce(`table:${this.client.url}/${this.client.tableName}`, () => this.client.createTable());
  }

  /** The table vanished under us (deleted, storage reset): create it, and register partitions, again on the next flush. */
  private noticeMissingTable(err: unknown): void {
    if (!isTableNotFound(err)) return;
    forgetEnsured(`table:${this.client.url}/${this.client.tableName}`);
    this.registered.clear();
    this.heads.clear();
  }

  /**
   * Buffers a row. A row Table storage would refuse (a field over 64 KiB, src/adapters/storage/table-limits.ts) is
   * refused here, synchronously and before anything is sent, with a TableLimitError naming the field: one bad row
   * never blocks the rows buffered with it.
   */
  append(record: AuditRecord): void {
    // Chain fields have a fixed size, so the row is measured with placeholder values of the same length.
    checkEntity(this.client.tableName, toEntity(auditPartition(record.vault, record.timestamp), 0, PLACEHOLDER_ROW_KEY, PLACEHOLDER_HASH, record));
    this.pending.push(record);
  }

  get pendingRows(): number {
    return this.pending.length;
  }

  flush(options: FlushOptions = {}): Promise<void> {
    if (this.scheduled) return this.scheduled;
    const delay = Math.max(0, options.maxDelayMs ?? 0);
    // Rows go to Table storage 99 to a transaction: a full transaction's worth does not wait.
    if (delay > 0 && this.pending.length < ROWS_PER_TRANSACTION) {
      const due = Date.now() + delay;
      if (this.lingering) {
        // Start the lingering flush earlier when this caller cannot wait as long.
        if (due < this.lingering.due) {
          clearTimeout(this.lingering.timer);
          this.lingering.due = due;
          this.lingering.timer = setTimeout(this.lingering.start, delay);
        }
        return this.lingering.promise;
      }
      let start!: () => void;
      const started = new Promise<void>((resolve) => (start = resolve));
      const promise = started.then(() => this.flushNow());
      this.lingering = { promise, timer: setTimeout(() => start(), delay), start: () => start(), due };
      return promise;
    }
    return this.flushNow();
  }

  private readonly observers: AuditObserver[] = [];

  /** Tells `observer` about rows once they are durable, and about writes that failed (notifications). */
  observe(observer: AuditObserver): void {
    this.observers.push(observer);
  }

  private tell(fn: (o: AuditObserver) => void): void {
    for (const o of this.observers) {
      try {
        fn(o);
      } catch (err) {
        this.log?.error(`an audit observer failed: ${String(err)}`);
      }
    }
  }

  private flushNow(): Promise<void> {
    if (this.lingering) {
      // A flush without delay takes the lingering callers' rows too: they are served by this write.
      const { timer, start } = this.lingering;
      this.lingering = undefined;
      clearTimeout(timer);
      start();
    }
    if (this.scheduled) return this.scheduled;
    const run = this.chain.then(async () => {
      this.scheduled = undefined; // rows appended from now on belong to the next flush
      const batch = this.pending;
      this.pending = [];
      if (!batch.length) return;
      try {
        await this.write(batch);
        this.tell((o) => o.durable(batch));
      } catch (err) {
        const durable = batch.filter((r) => this.written.has(r));
        if (durable.length) this.tell((o) => o.durable(durable));
        this.tell((o) => o.writeFailed(batch.filter((r) => !this.written.has(r)), err));
        // Keep the rows (in order) for the next flush: an outage delays the log, it does not lose it.
        this.noticeMissingTable(err);
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
    const cached = this.heads.get(partitionKey);
    if (cached) return cached;
    try {
      const e = await this.client.getEntity<{ seq: number; hash: string; lastRowKey: string }>(partitionKey, HEAD_ROW_KEY);
      return { head: { seq: e.seq, hash: e.hash, lastRowKey: e.lastRowKey }, etag: e.etag };
    } catch (err) {
      if (statusOf(err) === 404 && !isTableNotFound(err)) return { head: { seq: -1, hash: genesisHash(partitionKey), lastRowKey: '' }, etag: undefined };
      throw err;
    }
  }

  /** Lists the partition in the registry before its first rows are written (idempotent). */
  private async register(partitionKey: string, first: AuditRecord): Promise<void> {
    if (this.registered.has(partitionKey)) return;
    const { vault, day } = splitPartition(partitionKey);
    const entity = { partitionKey: REGISTRY_PARTITION, rowKey: registryRowKey(partitionKey), auditPartition: partitionKey, vault, day, firstEventTime: first.timestamp };
    checkEntity(this.client.tableName, entity);
    try {
      await this.client.createEntity(entity);
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    this.registered.add(partitionKey);
  }

  private async writePartition(partitionKey: string, rows: AuditRecord[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_PER_TRANSACTION) {
      await this.writeChunk(partitionKey, rows.slice(i, i + ROWS_PER_TRANSACTION));
    }
  }

  /**
   * Writes rows in one transaction (re-chained after conflicts). A transaction storage refuses for its content is
   * split until the refused row is alone; that row is replaced by an AuditRowRejected row (chained in its place, so
   * the chain stays whole) and the others are written — a bad row never blocks the log. A stand-in that is refused
   * too is dropped (logged and counted), so nothing is retried forever.
   */
  private async writeChunk(partitionKey: string, rows: AuditRecord[]): Promise<void> {
    let chunk = rows;
    /** Stand-in → the row it replaces (marked written with it). */
    const standsFor = new Map<AuditRecord, AuditRecord>();
    for (let attempt = 0; ; attempt++) {
      chunk = await this.withoutCommitted(partitionKey, chunk);
      if (!chunk.length) return;
      const { head, etag } = await this.readHead(partitionKey);
      if (!etag) await this.register(partitionKey, chunk[0] as AuditRecord);
      const actions: TransactionAction[] = [];
      let seq = head.seq;
      let prev = head.hash;
      let lastRowKey = head.lastRowKey;
      for (const record of chunk) {
        seq++;
        const entity = toEntity(partitionKey, seq, lastRowKey, prev, record);
        actions.push(['create', entity]);
        prev = entity.hash;
        lastRowKey = entity.rowKey;
      }
      const headEntity = { partitionKey, rowKey: HEAD_ROW_KEY, seq, hash: prev, lastRowKey };
      checkEntity(this.client.tableName, headEntity);
      actions.push(etag ? ['update', headEntity, 'Replace', { etag }] : ['create', headEntity]);
      const tried: Attempt = { lastRowKey, lastHash: prev, records: chunk };
      for (const r of chunk) this.attempts.set(r, [...(this.attempts.get(r) ?? []), tried]);
      try {
        const response = await this.client.submitTransaction(actions);
        // Sub-responses come in the order of the actions: the head's is the last.
        const headEtag = response.subResponses.length === actions.length ? response.subResponses[actions.length - 1]?.etag?.trim() : undefined;
        if (headEtag) this.heads.set(partitionKey, { head: { seq, hash: prev, lastRowKey }, etag: headEtag });
        else this.heads.delete(partitionKey);
        this.stats.transactions++;
        this.stats.rows += chunk.length;
        for (const r of chunk) {
          this.written.add(r);
          this.attempts.delete(r);
          const original = standsFor.get(r);
          if (original) this.written.add(original);
        }
        return;
      } catch (err) {
        if (isPermanentRefusal(err)) {
          // Refused for its content: nothing committed (a transaction is atomic), so no earlier attempt to look for.
          for (const r of chunk) this.attempts.set(r, (this.attempts.get(r) ?? []).filter((a) => a !== tried));
          if (chunk.length > 1) {
            const half = Math.ceil(chunk.length / 2);
            await this.writeChunk(partitionKey, chunk.slice(0, half));
            await this.writeChunk(partitionKey, chunk.slice(half));
            return;
          }
          chunk = [this.replaceRefused(chunk[0] as AuditRecord, err, standsFor)].filter((r): r is AuditRecord => r !== undefined);
          if (!chunk.length) return;
          continue;
        }
        // Another writer moved the head (412) or created it first (409) — or our own request committed and its answer
        // was lost before the client retried it: re-read, drop what is committed, re-chain the rest.
        this.heads.delete(partitionKey);
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

  /** The stand-in for a refused row, or undefined when the refused row was a stand-in itself (then it is dropped). */
  private replaceRefused(refused: AuditRecord, err: unknown, standsFor: Map<AuditRecord, AuditRecord>): AuditRecord | undefined {
    const status = statusOf(err) ?? 0;
    const code = String((err as RestErrorLike | undefined)?.code ?? `HTTP${status}`);
    const original = standsFor.get(refused);
    this.attempts.delete(refused);
    if (original) {
      this.written.add(refused);
      this.written.add(original);
      this.stats.dropped++;
      this.onRejected?.({ outcome: 'dropped', status, code });
      this.log?.error(`audit: storage refused the AuditRowRejected row standing in for a refused ${original.action} row too; dropped`, {
        status,
        code,
        sha256: auditContentHash(original),
      });
      return undefined;
    }
    const standIn = rejectedRowRecord(refused, err);
    standsFor.set(standIn, refused);
    this.stats.rejected++;
    this.onRejected?.({ outcome: 'replaced', status, code });
    this.log?.error(`audit: storage refused a ${refused.action} row (HTTP ${status} ${code}); writing an AuditRowRejected row in its place`, {
      vault: standIn.vault,
      sha256: auditContentHash(refused),
    });
    return standIn;
  }

  /** Rows of `chunk` that no earlier attempt committed (one point read per earlier attempt; none on a first try). */
  private async withoutCommitted(partitionKey: string, chunk: AuditRecord[]): Promise<AuditRecord[]> {
    const earlier = new Set(chunk.flatMap((r) => this.attempts.get(r) ?? []));
    if (!earlier.size) return chunk;
    const done = new Set<AuditRecord>();
    for (const attempt of earlier) {
      // A transaction is atomic: its last row exists with the hash it was given if and only if it committed.
      let hash: unknown;
      try {
        hash = (await this.client.getEntity<{ hash: string }>(partitionKey, attempt.lastRowKey, { queryOptions: { select: ['hash'] } })).hash;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      if (hash === attempt.lastHash) for (const r of attempt.records) done.add(r);
    }
    if (!done.size) return chunk;
    for (const r of done) {
      this.written.add(r);
      this.attempts.delete(r);
    }
    this.stats.recovered += done.size;
    this.log?.warn(`audit write: ${done.size} rows were committed by an earlier attempt whose answer was lost; not writing them again`, { partitionKey });
    return chunk.filter((r) => !done.has(r));
  }

  /**
   * One range query over the vault's partitions from the day the rotation started (an hour earlier, for clocks that
   * disagree) on: O(1) requests whatever the age of the log, since a rotation's rows span days, not years.
   */
  async hasRecord(vault: string, rotationId: string, action: AuditRecord['action'], since: Date): Promise<boolean> {
    await this.ensureTable();
    const from = auditPartition(vault, new Date(since.getTime() - HAS_RECORD_SKEW_MS));
    const filter = odata`PartitionKey ge ${from} and PartitionKey lt ${`${vaultKey(vault)}|~`} and rotationId eq ${rotationId} and action eq ${action}`;
    for await (const page of this.client.listEntities({ queryOptions: { filter, select: ['rotationId'] } }).byPage({ maxPageSize: 1 })) {
      if (page.length) return true;
    }
    return false;
  }
}

/** A stored row read back: the record plus its chain fields. */
export type StoredAuditRow = AuditRow;

/** Why a stored row cannot be read as Rotor wrote it: the first field that is wrong, and all of them. */
export interface UnreadableRow {
  readonly field: string;
  readonly message: string;
}

const AUDIT_TEXT_FIELDS = AUDIT_CONTENT_FIELDS.filter((f) => f !== 'timestamp');

const describeValue = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * A stored row read back, checked field by field: the record and chain fields, and — when some field is missing, of
 * the wrong type or not a valid time — what is wrong with it. Never throws: readers report unreadable rows
 * (warnings, verification findings) instead of failing on them.
 */
export function readAuditEntity(e: Record<string, unknown>): { row: AuditRow; unreadable?: UnreadableRow | undefined } {
  const problems: { field: string; message: string }[] = [];
  const str = (k: string): string => {
    const v = e[k];
    if (typeof v === 'string') return v;
    problems.push({ field: k, message: v === undefined ? 'is missing' : `is ${describeValue(v)}, not text` });
    return '';
  };
  const eventTime = e['eventTime'];
  let timestamp: Date;
  if (eventTime instanceof Date) timestamp = eventTime;
  else if (typeof eventTime === 'string') timestamp = new Date(eventTime);
  else timestamp = new Date(NaN);
  if (Number.isNaN(timestamp.getTime())) {
    problems.push({ field: 'eventTime', message: eventTime === undefined ? 'is missing' : typeof eventTime === 'string' ? `"${eventTime.slice(0, 40)}" is not a time` : `is ${describeValue(eventTime)}, not a time` });
  }
  const text = Object.fromEntries(AUDIT_TEXT_FIELDS.map((f) => [f, str(f)]));
  const record = { timestamp, ...text } as unknown as AuditRecord;
  const rawSeq = e['chainSeq'];
  const seq = typeof rawSeq === 'number' ? rawSeq : NaN;
  if (!Number.isInteger(seq) || seq < 0) problems.push({ field: 'chainSeq', message: rawSeq === undefined ? 'is missing' : `is not a chain position (${describeValue(rawSeq)})` });
  const row: AuditRow = {
    partitionKey: typeof e['partitionKey'] === 'string' ? e['partitionKey'] : '',
    rowKey: typeof e['rowKey'] === 'string' ? e['rowKey'] : '',
    record,
    chainSeq: Number.isInteger(seq) && seq >= 0 ? seq : -1,
    prevRowKey: str('prevRowKey'),
    prevHash: str('prevHash'),
    hash: str('hash'),
  };
  const first = problems[0];
  if (!first) return { row };
  const all = problems.map((p) => `${p.field} ${p.message}`);
  const more = all.length > 3 ? `; and ${all.length - 3} more` : '';
  return { row, unreadable: { field: first.field, message: `${all.slice(0, 3).join('; ')}${more}` } };
}

export function fromEntity(e: Record<string, unknown>): AuditRow {
  return readAuditEntity(e).row;
}

/** Rows written on or after `since` (of the given runs, if any), oldest first: the CLI's run summary. */
export async function readRecentRows(client: TableClient, since: Date, runIds?: readonly string[]): Promise<AuditRecord[]> {
  const runs = runIds?.length ? ` and (${runIds.map((id) => odata`runId eq ${id}`).join(' or ')})` : '';
  const filter = `${odata`eventTime ge ${since}`}${runs} and ${odata`RowKey ne ${HEAD_ROW_KEY}`}`;
  const rows: StoredAuditRow[] = [];
  for await (const e of client.listEntities({ queryOptions: { filter } })) {
    const read = readAuditEntity(e);
    if (!read.unreadable) rows.push(read.row);
  }
  return rows.sort((a, b) => a.record.timestamp.getTime() - b.record.timestamp.getTime() || a.chainSeq - b.chainSeq).map((r) => r.record);
}
