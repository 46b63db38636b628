/**
 * Rotor's tables on Azurite through the real TableClient: consumer rows (one partition per rotation, batch
 * transactions of at most 100, ids escaped for keys), the rotation state's verification summary (and rows written
 * in the previous format), and the guard at the storage boundary — for every table Rotor writes, an oversize value
 * is refused by Rotor, naming table and field, before any request reaches the service (which refuses it too).
 */
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { TABLES } from '../../src/adapters/storage/clients.js';
import { TableConsumerStore } from '../../src/adapters/storage/consumer-table.js';
import { stateRowKey, vaultKey } from '../../src/adapters/storage/keys.js';
import { TableStateStore } from '../../src/adapters/storage/state-table.js';
import { TableVaultWorkStore } from '../../src/adapters/storage/vault-work-table.js';
import { TableLimitError } from '../../src/adapters/storage/table-limits.js';
import { auditRecord } from '../../src/core/audit.js';
import type { ConsumerRecord } from '../../src/core/ports.js';
import { emptyState, type VerifyingState } from '../../src/core/state.js';
import { startAzurite, type Azurite } from '../../src/local/azurite.js';

const NOW = new Date('2026-11-24T02:00:00.000Z');
let azurite: Azurite;
const requests: Record<string, number> = {};

/** A client that counts the requests it sends (per table). */
function client(table: string): TableClient {
  const counter: PipelinePolicy = {
    name: 'count-requests',
    sendRequest: (request, next) => {
      requests[table] = (requests[table] ?? 0) + 1;
      return next(request);
    },
  };
  return TableClient.fromConnectionString(azurite.connectionString, table, {
    allowInsecureConnection: true,
    additionalPolicies: [{ policy: counter, position: 'perCall' }],
  });
}

const consumer = (rotationId: string, id: string, extra: Partial<ConsumerRecord> = {}): ConsumerRecord => ({
  rotationId,
  vault: 'hpc-kv',
  objectType: 'certificate',
  objectName: 'hpc-node-comm',
  id,
  kind: 'hpc-pack-node',
  label: `HPC Pack node ${id}`,
  status: 'Stale',
  reason: 'PresentsOldCertificate',
  detail: 'still presents a previous version',
  expected: 'A'.repeat(40),
  observed: 'B'.repeat(40),
  checkedAt: NOW,
  nextCheckAt: new Date(NOW.getTime() + 1_800_000),
  firstCheckedAt: NOW,
  statusSince: NOW,
  checks: 1,
  ...extra,
});

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => azurite?.stop());

describe('consumer rows (RotorConsumers)', () => {
  it('writes 250 consumers of a rotation in 3 batch transactions and reads them back in one partition', async () => {
    const store = new TableConsumerStore(client(TABLES.consumers));
    const ids = Array.from({ length: 250 }, (_, i) => `hpcpack://cluster-01/cn${String(i).padStart(4, '0')}`);
    await store.write('rot-250', ids.map((id) => consumer('rot-250', id)));
    expect(store.stats.transactions).toBe(3);
    const back = await store.list('rot-250');
    expect(back.map((r) => r.id)).toEqual(ids);
    expect(back[0]).toEqual(consumer('rot-250', ids[0]!));
    expect(await store.list('another-rotation')).toEqual([]);
  });

  it('replaces a consumer row on the next check and deletes the rows of consumers no longer found', async () => {
    const store = new TableConsumerStore(client(TABLES.consumers));
    const pool = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/a/pools/p#1?x';
    await store.write('rot-2', [consumer('rot-2', pool), consumer('rot-2', 'batch://accounts', { status: 'Unreachable' })]);
    const later = new Date(NOW.getTime() + 3_600_000);
    await store.write('rot-2', [consumer('rot-2', pool, { status: 'Verified', checkedAt: later, statusSince: later, verifiedAt: later, checks: 2, nextCheckAt: undefined })], ['batch://accounts']);
    const back = await store.list('rot-2');
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ id: pool, status: 'Verified', checks: 2, verifiedAt: later, firstCheckedAt: NOW });
    // Deleting a row that is already gone is not an error.
    await store.write('rot-2', [], ['batch://accounts', 'never-there']);
  });
});

describe('rotation state (RotorState)', () => {
  it('keeps the verification summary as columns and reads rows written with the previous JSON document', async () => {
    const states = new TableStateStore(client(TABLES.state));
    const state: VerifyingState = {
      vault: 'hpc-kv',
      objectType: 'certificate',
      objectName: 'c1',
      status: 'Verifying',
      rotationId: 'rot-s',
      runId: 'run-1',
      trigger: 'timer',
      reason: 'NearExpiry',
      fromVersion: 'v1',
      attempts: 1,
      startedAt: NOW,
      toVersion: 'v2',
      toThumbprint: 'AB12',
      verification: { startedAt: NOW, checks: 3, counts: { verified: 1900, stale: 50, unreachable: 40, pending: 0, misconfigured: 10, skipped: 0 } },
      nextCheckAt: NOW,
      verifyDeadline: NOW,
      updatedAt: NOW,
    };
    await states.put(state, undefined);
    expect((await states.get('hpc-kv', 'certificate', 'c1'))?.value).toEqual(state);

    const raw = client(TABLES.state);
    const legacy = {
      startedAt: NOW.toISOString(),
      deadline: NOW.toISOString(),
      checks: 2,
      consumers: [{ status: 'Verified' }, { status: 'Stale' }, { status: 'UnknownCertificate' }, { status: 'Skipped' }],
    };
    await raw.createEntity({ partitionKey: vaultKey('hpc-kv'), rowKey: stateRowKey('certificate', 'old'), ...emptyStateColumns('old'), status: 'Verifying', verification: JSON.stringify(legacy) });
    const read = (await states.get('hpc-kv', 'certificate', 'old'))!;
    expect(read.value.verification).toEqual({ startedAt: NOW, checks: 2, counts: { verified: 1, stale: 1, unreachable: 0, pending: 0, misconfigured: 1, skipped: 1 } });
    // "" meant absent; fields the status does not have are gone.
    expect(read.value).toMatchObject({ status: 'Verifying', rotationId: 'rot-old', fromVersion: 'v1', toVersion: 'v2', attempts: 1 });
    expect(read.value.fromThumbprint).toBeUndefined();
    expect(read.value.reportedFinding).toBeUndefined();
    expect('lastError' in read.value).toBe(false);
    // Written back, the row has the new columns and no JSON document.
    await states.put({ ...read.value, updatedAt: NOW }, read.etag);
    const stored = await raw.getEntity(vaultKey('hpc-kv'), stateRowKey('certificate', 'old'));
    expect(stored['verification']).toBeUndefined();
    expect(stored['consumersStale']).toBe(1);
  });
});

/** A row as the previous format wrote it: every field, "" for absent. */
function emptyStateColumns(name: string): Record<string, unknown> {
  return {
    vault: 'hpc-kv',
    objectType: 'certificate',
    objectName: name,
    status: 'Idle',
    rotationId: 'rot-old',
    runId: 'run-old',
    trigger: 'timer',
    reason: 'NearExpiry',
    fromVersion: 'v1',
    fromThumbprint: '',
    fromExpiresOn: '',
    toVersion: 'v2',
    toThumbprint: '',
    toSecretId: '',
    toExpiresOn: '',
    attempts: 1,
    lastError: '',
    startedAt: NOW,
    updatedAt: NOW,
    nextCheckAt: NOW,
    verifyDeadline: NOW,
    reportedFinding: '',
    observedVersion: '',
  };
}

describe('the guard at the storage boundary, for every table Rotor writes', () => {
  const oversize = 'x'.repeat(32_769);

  it('Table storage itself refuses a string property of 32,769 characters (the limit is real)', async () => {
    const raw = client('RotorLimitProbe');
    await raw.createTable();
    await expect(raw.createEntity({ partitionKey: 'p', rowKey: 'r', value: oversize })).rejects.toMatchObject({ statusCode: 400 });
    await expect(raw.createEntity({ partitionKey: 'p', rowKey: 'r2', value: oversize.slice(1) })).resolves.toBeDefined();
  });

  it('RotorAudit: an oversize field is refused at append, naming it, and the rows buffered with it are still written', async () => {
    const log = new TableAuditLog(client(TABLES.audit));
    const ok = auditRecord({ runId: 'r', trigger: 'timer' }, NOW, { vault: 'hpc-kv', action: 'Detected', outcome: 'Info', detail: 'fine' });
    log.append(ok);
    const before = requests[TABLES.audit] ?? 0;
    const bad = { ...ok, observed: oversize };
    expect(() => log.append(bad)).toThrow(TableLimitError);
    expect(() => log.append(bad)).toThrow('RotorAudit: observed: is 32769 characters');
    expect(requests[TABLES.audit] ?? 0).toBe(before);
    await log.flush();
    expect(log.stats.rows).toBe(1);
  });

  it('RotorState: an oversize field is refused before any request', async () => {
    const states = new TableStateStore(client(TABLES.state));
    const before = requests[TABLES.state] ?? 0;
    const state = { ...emptyState('hpc-kv', 'secret', 'big', NOW), reportedFinding: oversize };
    await expect(states.put(state, undefined)).rejects.toThrow('RotorState: reportedFinding: is 32769 characters');
    expect(requests[TABLES.state] ?? 0).toBe(before);
    expect(await states.get('hpc-kv', 'secret', 'big')).toBeUndefined();
  });

  it('RotorConsumers: one oversize row refuses the whole write before any request (no half-written check)', async () => {
    const store = new TableConsumerStore(client(TABLES.consumers));
    const before = requests[TABLES.consumers] ?? 0;
    const rows = [consumer('rot-big', 'n1'), consumer('rot-big', 'n2', { detail: oversize })];
    await expect(store.write('rot-big', rows)).rejects.toThrow('RotorConsumers: detail: is 32769 characters');
    expect(requests[TABLES.consumers] ?? 0).toBe(before);
    expect(await store.list('rot-big')).toEqual([]);
  });

  it('RotorVaultWork: an oversize field of a pending entry is refused before any request', async () => {
    const work = new TableVaultWorkStore(client(TABLES.vaultWork));
    const before = requests[TABLES.vaultWork] ?? 0;
    await expect(work.addScan('hpc-kv', { runId: oversize, trigger: 'timer' })).rejects.toThrow('RotorVaultWork: runId: is 32769 characters');
    expect(requests[TABLES.vaultWork] ?? 0).toBe(before);
  });
});
