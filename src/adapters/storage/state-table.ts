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

function toEntity(state: RotationState): StateEntity {
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

/** Optional text fields: rows written by the previous format stored "absent" as an empty string. */
const OPTIONAL_TEXT = ['reportedFinding', 'observedVersion', 'fromVersion', 'fromThumbprint', 'fromExpiresOn', 'toVersion', 'toThumbprint', 'toSecretId', 'toExpiresOn', 'lastError'] as const;
/** Fields that belong to a rotation (an Idle row has none). */
const ROTATION_FIELDS = ['rotationId', 'runId', 'trigger', 'reason', 'attempts', 'startedAt', 'fromVersion', 'fromThumbprint', 'fromExpiresOn'] as const;
/** Fields each status does not have (rows of the previous format carried every field). */
const ABSENT: Record<string, readonly string[]> = {
  Idle: [...ROTATION_FIELDS, 'toVersion', 'toThumbprint', 'toSecretId', 'toExpiresOn', 'verification', 'nextCheckAt', 'verifyDeadline', 'leaseUntil', 'nextAttemptAt', 'lastError', 'completedAt'],
  RotationStarted: ['toVersion', 'toThumbprint', 'toSecretId', 'toExpiresOn', 'verification', 'nextCheckAt', 'verifyDeadline', 'nextAttemptAt', 'lastError', 'completedAt'],
  VersionCreated: ['nextCheckAt', 'verifyDeadline', 'nextAttemptAt', 'lastError', 'completedAt'],
  Verifying: ['leaseUntil', 'nextAttemptAt', 'lastError', 'completedAt'],
  Completed: ['leaseUntil', 'nextAttemptAt', 'lastError', 'nextCheckAt'],
  Failed: ['leaseUntil', 'nextCheckAt', 'completedAt'],
};

/**
 * The stored row as a typed state. Tolerates rows written by the previous format (every field present, "" for
 * absent, the verification as a JSON document): absent values become undefined, fields a status does not have are
 * dropped, and a required field that is missing gets the value the previous code implied.
 */
function fromEntity(e: Record<string, unknown>): RotationState {
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
  for (const field of OPTIONAL_TEXT) if (state[field] === '' || state[field] === null) state[field] = undefined;
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
  const status = typeof state['status'] === 'string' && state['status'] in ABSENT ? state['status'] : 'Idle';
  state['status'] = status;
  const updatedAt = (state['updatedAt'] as Date | undefined) ?? new Date(0);
  state['updatedAt'] = updatedAt;
  if (status !== 'Idle') {
    state['rotationId'] = typeof state['rotationId'] === 'string' ? state['rotationId'] : '';
    state['runId'] = typeof state['runId'] === 'string' ? state['runId'] : '';
    state['trigger'] = typeof state['trigger'] === 'string' && state['trigger'] ? state['trigger'] : 'timer';
    state['reason'] = typeof state['reason'] === 'string' ? state['reason'] : '';
    state['attempts'] = Number(state['attempts']) || 1;
    state['startedAt'] ??= updatedAt;
  }
  if (status === 'RotationStarted') state['leaseUntil'] ??= updatedAt;
  if (status === 'VersionCreated' || status === 'Verifying' || status === 'Completed') state['toVersion'] ??= '';
  if (status === 'Verifying') {
    state['nextCheckAt'] ??= updatedAt;
    state['verifyDeadline'] ??= updatedAt;
    state['verification'] ??= { startedAt: state['startedAt'], checks: 0, counts: Object.fromEntries(CONSUMER_COUNT_KEYS.map((k) => [k, 0])) };
  }
  if (status === 'Completed') state['completedAt'] ??= updatedAt;
  if (status === 'Failed') state['lastError'] ??= '';
  for (const field of ABSENT[status] ?? []) delete state[field];
  for (const [k, v] of Object.entries(state)) if (v === undefined) delete state[k];
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
