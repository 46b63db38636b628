/**
 * Consumer results in Azure Table storage (table RotorConsumers): one row per consumer per rotation, PartitionKey the
 * rotation id and RowKey the consumer's stable id (escaped for Table keys, src/adapters/storage/keys.ts). A check
 * writes its rows in batch transactions of at most 100 upserts (one partition), so a 10,000-node cluster costs 100
 * requests per check and a constant number of bytes per node; the rotation's state row keeps only the counts.
 */
import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { ConsumerKind, ConsumerStatus } from '../../core/consumers.js';
import type { ObjectType } from '../../core/model.js';
import type { ConsumerRecord, ConsumerResultStore } from '../../core/ports.js';
import { ensureOnce } from './clients.js';
import { consumerPartition, consumerRowKey } from './keys.js';
import { checkEntity } from './table-limits.js';

/** Table storage allows 100 operations per batch transaction. */
const CONSUMER_ROWS_PER_TRANSACTION = 100;

type ConsumerEntity = TableEntity<Record<string, unknown>>;

function toConsumerEntity(r: ConsumerRecord): ConsumerEntity {
  const entity: ConsumerEntity = {
    partitionKey: consumerPartition(r.rotationId),
    rowKey: consumerRowKey(r.id),
    rotationId: r.rotationId,
    vault: r.vault,
    objectType: r.objectType,
    objectName: r.objectName,
    consumerId: r.id,
    kind: r.kind,
    label: r.label,
    status: r.status,
    reason: r.reason,
    detail: r.detail,
    expected: r.expected,
    observed: r.observed,
    checkedAt: r.checkedAt,
    firstCheckedAt: r.firstCheckedAt,
    statusSince: r.statusSince,
    checks: r.checks,
  };
  if (r.nextCheckAt) entity['nextCheckAt'] = r.nextCheckAt;
  if (r.verifiedAt) entity['verifiedAt'] = r.verifiedAt;
  return entity;
}

const str = (e: Record<string, unknown>, k: string): string => {
  const v = e[k];
  return typeof v === 'string' ? v : '';
};
const date = (e: Record<string, unknown>, k: string): Date | undefined => {
  const v = e[k];
  if (v === undefined || v === null || v === '') return undefined;
  const d = v instanceof Date ? v : typeof v === 'string' || typeof v === 'number' ? new Date(v) : new Date(NaN);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

function fromConsumerEntity(e: Record<string, unknown>): ConsumerRecord {
  const checkedAt = date(e, 'checkedAt') ?? new Date(0);
  return {
    rotationId: str(e, 'rotationId'),
    vault: str(e, 'vault'),
    objectType: str(e, 'objectType') as ObjectType,
    objectName: str(e, 'objectName'),
    id: str(e, 'consumerId'),
    kind: str(e, 'kind') as ConsumerKind,
    label: str(e, 'label'),
    status: str(e, 'status') as ConsumerStatus,
    reason: str(e, 'reason'),
    detail: str(e, 'detail'),
    expected: str(e, 'expected'),
    observed: str(e, 'observed'),
    checkedAt,
    nextCheckAt: date(e, 'nextCheckAt'),
    firstCheckedAt: date(e, 'firstCheckedAt') ?? checkedAt,
    statusSince: date(e, 'statusSince') ?? checkedAt,
    verifiedAt: date(e, 'verifiedAt'),
    checks: Number(e['checks']) || 1,
  };
}

export class TableConsumerStore implements ConsumerResultStore {
  /** Requests made (the benchmark reports them). */
  readonly stats = { transactions: 0, rows: 0, queries: 0 };

  constructor(private readonly client: TableClient) {}

  private ensureTable(): Promise<void> {
    return ensureOnce(`table:${this.client.url}/${this.client.tableName}`, () => this.client.createTable());
  }

  async write(rotationId: string, records: readonly ConsumerRecord[], removed: readonly string[] = []): Promise<void> {
    if (!records.length && !removed.length) return;
    // Every entity is checked before the first request: an oversize one fails the write as a whole, not half of it.
    const entities = records.map((r) => {
      if (r.rotationId !== rotationId) throw new Error(`consumer row of rotation ${r.rotationId} written with rotation ${rotationId}`);
      const entity = toConsumerEntity(r);
      checkEntity(this.client.tableName, entity);
      return entity;
    });
    await this.ensureTable();
    const unique = new Map(entities.map((e) => [e.rowKey, e]));
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += CONSUMER_ROWS_PER_TRANSACTION) {
      const actions: TransactionAction[] = all.slice(i, i + CONSUMER_ROWS_PER_TRANSACTION).map((e) => ['upsert', e, 'Replace']);
      await this.client.submitTransaction(actions);
      this.stats.transactions++;
      this.stats.rows += actions.length;
    }
    const partitionKey = consumerPartition(rotationId);
    const gone = [...new Set(removed.map(consumerRowKey))].filter((k) => !unique.has(k));
    for (let i = 0; i < gone.length; i += CONSUMER_ROWS_PER_TRANSACTION) {
      const keys = gone.slice(i, i + CONSUMER_ROWS_PER_TRANSACTION);
      try {
        await this.client.submitTransaction(keys.map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]));
        this.stats.transactions++;
      } catch (err) {
        // One row already gone fails the whole transaction: delete them one by one, tolerating those that are gone.
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        for (const rowKey of keys) {
          await this.client.deleteEntity(partitionKey, rowKey).catch((e: unknown) => {
            if ((e as { statusCode?: number }).statusCode !== 404) throw e;
          });
        }
      }
    }
  }

  async list(rotationId: string): Promise<ConsumerRecord[]> {
    await this.ensureTable();
    const out: ConsumerRecord[] = [];
    const filter = odata`PartitionKey eq ${consumerPartition(rotationId)}`;
    for await (const page of this.client.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: 1000 })) {
      this.stats.queries++;
      for (const e of page) out.push(fromConsumerEntity(e));
    }
    return out;
  }
}
