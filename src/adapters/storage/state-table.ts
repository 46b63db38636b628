/**
 * Per-object rotation state in Azure Table storage (table RotorState), with optimistic concurrency: every write
 * carries the ETag that was read, and Table storage refuses it (412) when another writer got there first.
 */
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { ObjectType } from '../../core/model.js';
import { ConcurrencyError, type RotationStateStore, type Versioned } from '../../core/ports.js';
import { CONSUMER_COUNT_KEYS, OPEN_STATUSES, type ConsumerCounts, type RotationState, type VerificationSummary } from '../../core/state.js';
import { ensureOnce } from './clients.js';
import { stateRowKey, vaultKey } from './keys.js';
import { checkEntity } from './table-limits.js';

type StateEntity = TableEntity<Record<string, unknown>>;

const DATE_FIELDS = ['nextAttemptAt', 'leaseUntil', 'startedAt', 'updatedAt', 'completedAt', 'nextCheckAt', 'verifyDeadline'] as const;

/** Columns of the verification summary: `verifyStartedAt`, `verifyChecks` and one count column per consumer state. */
const countColumn = (k: string): string => `consumers${k[0]?.toUpperCase()}${k.slice(1)}`;

export function toEntity(state: RotationState): StateEntity {
  const entity: StateEntity = { partitionKey: vaultKey(state.vault), rowKey: stateRowKey(state.objectType, state.objectName) };
  for (const [k, v] of Object.entries(state)) if (v !== undefined && k !== 'verification') entity[k] = v;
  const v = state.verification;
  if (v) {
    entity['verifyStartedAt'] = v.startedAt;
    entity['verifyChecks'] = v.checks;
    for (const k of CONSUMER_COUNT_KEYS) entity[countColumn(k)] = v.counts[k];
  }
  return entity;
}

/** Rows written before consumer results moved to RotorConsumers kept them as a JSON document in `verification`. */
function legacyVerification(text: unknown): VerificationSummary | undefined {
  if (typeof text !== 'string' || !text) return undefined;
  try {
    const doc = JSON.parse(text) as { startedAt?: string; checks?: number; consumers?: Array<{ status?: string }> };
    const counts: Record<string, number> = Object.fromEntries(CONSUMER_COUNT_KEYS.map((k) => [k, 0]));
    const key: Record<string, string> = { Verified: 'verified', Stale: 'stale', Unreachable: 'unreachable', Pending: 'pending', Misconfigured: 'misconfigured', UnknownCertificate: 'misconfigured', Skipped: 'skipped' };
    for (const c of doc.consumers ?? []) {
      const k = key[c.status ?? ''];
      if (k) counts[k] = (counts[k] ?? 0) + 1;
    }
    const startedAt = new Date(doc.startedAt ?? '');
    if (Number.isNaN(startedAt.getTime())) return undefined;
    return { startedAt, checks: Number(doc.checks) || 1, counts: counts as ConsumerCounts };
  } catch {
    return undefined;
  }
}

export function fromEntity(e: Record<string, unknown>): RotationState {
  const state: Record<string, unknown> = {};
  const summaryColumns = new Set(['verifyStartedAt', 'verifyChecks', 'verification', ...CONSUMER_COUNT_KEYS.map(countColumn)]);
  for (const [k, v] of Object.entries(e)) {
    if (k === 'partitionKey' || k === 'rowKey' || k === 'etag' || k === 'timestamp' || k.startsWith('odata') || summaryColumns.has(k)) continue;
    state[k] = v;
  }
  for (const field of DATE_FIELDS) {
    const v = state[field];
    state[field] = v === undefined || v === null || v === '' ? undefined : new Date(v as string | Date);
  }
  const startedAt = e['verifyStartedAt'];
  if (startedAt !== undefined && startedAt !== null && startedAt !== '') {
    state['verification'] = {
      startedAt: new Date(startedAt as string | Date),
      checks: Number(e['verifyChecks']) || 0,
      counts: Object.fromEntries(CONSUMER_COUNT_KEYS.map((k) => [k, Number(e[countColumn(k)]) || 0])) as ConsumerCounts,
    } satisfies VerificationSummary;
  } else {
    state['verification'] = legacyVerification(e['verification']);
  }
  return state as unknown as RotationState;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | undefined)?.statusCode;

export class TableStateStore implements RotationStateStore {
  constructor(private readonly client: TableClient) {}

  private ensureTable(): Promise<void> {
    return ensureOnce(`table:${this.client.url}/${this.client.tableName}`, () => this.client.createTable());
  }

  async get(vault: string, type: ObjectType, name: string): Promise<Versioned<RotationState> | undefined> {
    await this.ensureTable();
    try {
      const e = await this.client.getEntity(vaultKey(vault), stateRowKey(type, name), { disableTypeConversion: false });
      return { value: fromEntity(e), etag: e.etag };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async put(state: RotationState, etag: string | undefined): Promise<string> {
    const entity = toEntity(state);
    checkEntity(this.client.tableName, entity);
    await this.ensureTable();
    try {
      const response = etag
        ? await this.client.updateEntity(entity, 'Replace', { etag })
        : await this.client.createEntity(entity);
      return response.etag ?? '';
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409) throw new ConcurrencyError(`state of ${state.objectType} ${state.objectName} changed concurrently`);
      throw err;
    }
  }

  listOpen(vault: string): AsyncIterable<Versioned<RotationState>> {
    const statuses = OPEN_STATUSES.map((s) => odata`status eq ${s}`).join(' or ');
    return this.query(`${odata`PartitionKey eq ${vaultKey(vault)}`} and (${statuses})`);
  }

  list(vault: string): AsyncIterable<Versioned<RotationState>> {
    return this.query(odata`PartitionKey eq ${vaultKey(vault)}`);
  }

  private async *query(filter: string): AsyncIterable<Versioned<RotationState>> {
    await this.ensureTable();
    for await (const e of this.client.listEntities({ queryOptions: { filter } })) {
      yield { value: fromEntity(e), etag: e.etag };
    }
  }
}
