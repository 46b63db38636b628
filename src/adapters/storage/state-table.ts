/**
 * Per-object rotation state in Azure Table storage (table RotorState), with optimistic concurrency: every write
 * carries the ETag that was read, and Table storage refuses it (412) when another writer got there first.
 */
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { ObjectType } from '../../core/model.js';
import { ConcurrencyError, type RotationStateStore, type Versioned } from '../../core/ports.js';
import { OPEN_STATUSES, type RotationState } from '../../core/state.js';
import { ensureOnce } from './clients.js';
import { stateRowKey, vaultKey } from './keys.js';

type StateEntity = TableEntity<Record<string, unknown>>;

const DATE_FIELDS = ['nextAttemptAt', 'leaseUntil', 'startedAt', 'updatedAt', 'completedAt', 'nextCheckAt', 'verifyDeadline'] as const;

function toEntity(state: RotationState): StateEntity {
  const entity: StateEntity = { partitionKey: vaultKey(state.vault), rowKey: stateRowKey(state.objectType, state.objectName) };
  for (const [k, v] of Object.entries(state)) if (v !== undefined) entity[k] = v;
  return entity;
}

function fromEntity(e: Record<string, unknown>): RotationState {
  const state: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'partitionKey' || k === 'rowKey' || k === 'etag' || k === 'timestamp' || k.startsWith('odata')) continue;
    state[k] = v;
  }
  for (const field of DATE_FIELDS) {
    const v = state[field];
    state[field] = v === undefined || v === null || v === '' ? undefined : new Date(v as string | Date);
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
    await this.ensureTable();
    const entity = toEntity(state);
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
