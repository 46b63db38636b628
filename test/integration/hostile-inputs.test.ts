/**
 * Issue 13: nothing one input can do stops Rotor. Each case here is a defect found with hostile inputs — an event
 * whose names or id are too long for storage or for the work queue, an event naming another vault's host, topic or
 * cloud, and a row that storage refuses — delivered through the registered Event Grid function with the real
 * services on the local stack; after each, the next event and the next rotation in the same process still succeed.
 */
import { createHash } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import { auditRecord, canonicalAuditContent } from '../../src/core/audit.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { vaultEvents } from '../../src/functions/vaultEvents.js';
import { invokeEventGrid } from '../../src/local/functions-host.js';
import { QUEUES, queueClient, TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
let services: AppServices;
/** A value the service refuses: requests carrying it are rewritten on the wire to hold 40,000 characters instead. */
const REFUSE = 'refuse-me-on-the-wire';
const refuseOnTheWire: PipelinePolicy = {
  name: 'refuse-on-the-wire',
  sendRequest(request, next) {
    if (typeof request.body === 'string' && request.body.includes(REFUSE)) {
      request.body = request.body.replaceAll(REFUSE, 'x'.repeat(40_000));
      request.headers.delete('Content-Length');
    }
    return next(request);
  },
};
let secretSeq = 0;

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: ['hpc-kv'] } });
  services = await t.services({ vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }], secretKinds: { pw: { generator: 'password', length: 16 } } });
  (services.auditLog as unknown as { client: TableClient }).client.pipeline.addPolicy(refuseOnTheWire);
});

afterAll(async () => {
  await t?.stop();
});

const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/hpc-kv';

function event(name: string, data: Record<string, unknown> = {}, envelope: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `id-${Math.random().toString(16).slice(2)}`,
    topic: TOPIC,
    subject: name,
    eventType: 'Microsoft.KeyVault.SecretNearExpiry',
    eventTime: new Date().toISOString(),
    data: { Id: `${t.vaultUrl('hpc-kv')}secrets/${name}/abc`, VaultName: 'hpc-kv', ObjectType: 'Secret', ObjectName: name, Version: 'abc', NBF: 1559081980, EXP: 1559082102, ...data },
    dataVersion: '1',
    metadataVersion: '1',
    ...envelope,
  };
}

async function queued(): Promise<number> {
  const queue = queueClient(services.storage, QUEUES.work);
  await queue.createIfNotExists();
  const props = await queue.getProperties();
  return props.approximateMessagesCount ?? 0;
}

/** The process is healthy: a normal event for a due secret is accepted, and the worker rotates the secret. */
async function expectHealthy(): Promise<void> {
  const name = `due-secret-${++secretSeq}`;
  await t.clients('hpc-kv').secrets.setSecret(name, 'initial', { tags: { 'rotor-secret-kind': 'pw' }, expiresOn: new Date(Date.now() + 2 * 86_400_000) });
  const since = new Date();
  await invokeEventGrid('vaultEvents', vaultEvents, event(name), quietSink);
  await t.drain(rotationWorker, services);
  const rows = (await t.auditRows(since)).filter((r) => r.objectName === name);
  expect(rows.map((r) => r.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
  expect(await versionCount(t.clients('hpc-kv'), 'secret', name)).toBe(2);
}

describe('hostile events', () => {
  it('an event with 40,000-character names is audited with bounded fields, and Rotor carries on', async () => {
    const since = new Date();
    const huge = 'n'.repeat(40_000);
    await invokeEventGrid('vaultEvents', vaultEvents, [event(huge, { VaultName: `v${huge}` }), event(huge)], quietSink);
    const rows = (await t.auditRows(since)).filter((r) => r.action === 'EventRejected');
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.objectName.length).toBeLessThanOrEqual(127);
      expect(r.objectName).toMatch(/^n+…sha256:[0-9a-f]{16}$/);
    }
    const full = createHash('sha256').update(huge).digest('hex');
    expect(rows[1]?.objectName.endsWith(full.slice(0, 16))).toBe(true);
    await expectHealthy();
  });

  it('an event id too long for a work item is rejected at the edge, and nothing reaches the queue', async () => {
    const since = new Date();
    const before = await queued();
    await invokeEventGrid('vaultEvents', vaultEvents, [event('some-secret', {}, { id: 'i'.repeat(60_000) }), event('some-secret', {}, { id: 'j'.repeat(300) })], quietSink);
    expect(await queued()).toBe(before);
    const rows = (await t.auditRows(since)).filter((r) => r.action === 'EventRejected');
    expect(rows.map((r) => r.reason)).toEqual(['MalformedEvent', 'MalformedEvent']);
    expect(rows[0]?.detail).toContain('id');
    await expectHealthy();
  });

  it('an event naming another host, cloud, vault topic or source is rejected as VaultMismatch', async () => {
    const since = new Date();
    const before = await queued();
    const foreign = [
      event('some-secret', { Id: 'https://evil.vault.azure.net/secrets/some-secret/abc' }),
      event('some-secret', { Id: 'https://hpc-kv.vault.azure.cn/secrets/some-secret/abc' }),
      event('some-secret', {}, { topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/other-kv' }),
      {
        specversion: '1.0',
        id: 'ce-1',
        source: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/other-kv',
        type: 'Microsoft.KeyVault.SecretNearExpiry',
        data: { id: `${t.vaultUrl('hpc-kv')}secrets/some-secret/abc`, vaultName: 'hpc-kv', objectType: 'Secret', objectName: 'some-secret' },
      },
    ];
    await invokeEventGrid('vaultEvents', vaultEvents, foreign, quietSink);
    expect(await queued()).toBe(before);
    const rows = (await t.auditRows(since)).filter((r) => r.action === 'EventRejected');
    expect(rows.map((r) => `${r.vault}:${r.reason}`)).toEqual(Array(4).fill('hpc-kv:VaultMismatch'));
  });

  it('a row that storage refuses is replaced by an AuditRowRejected row; the chain verifies; the next event and rotation succeed', async () => {
    const since = new Date();
    // A row the guard at the adapter boundary lets through but the service refuses (here: made oversize on the wire).
    const refused = auditRecord({ runId: 'hostile-run', trigger: 'eventgrid' }, new Date(), { vault: 'hpc-kv', action: 'EventRejected', outcome: 'Failed', detail: REFUSE });
    const neighbour = auditRecord({ runId: 'hostile-run', trigger: 'eventgrid' }, new Date(), { vault: 'hpc-kv', action: 'EventRejected', outcome: 'Failed', detail: 'the row after' });
    services.audit.append(refused);
    services.audit.append(neighbour);
    await services.audit.flush();
    const rows = (await t.auditRows(since)).filter((r) => r.runId === 'hostile-run');
    expect(rows.map((r) => r.action)).toEqual(['AuditRowRejected', 'EventRejected']);
    const hash = createHash('sha256').update(canonicalAuditContent(refused)).digest('hex');
    expect(rows[0]?.detail).toContain(hash);
    expect(rows[0]?.observed).toBe(`sha256:${hash}`);
    expect(rows[0]?.reason).toMatch(/^StorageRefused:/);
    expect(rows[1]?.detail).toBe('the row after');
    const report = await new TableAuditReader(tableClient(services.storage, TABLES.audit)).verify({ vault: 'hpc-kv' });
    expect(report.findings).toEqual([]);
    await expectHealthy();
  });

  it('one refused row in a batch: the rest of the batch is written in order around its stand-in, and counted', async () => {
    const since = new Date();
    const before = services.auditLog.stats.rejected;
    const run = { runId: 'batch-run', trigger: 'timer' } as const;
    const rows = Array.from({ length: 10 }, (_, i) => auditRecord(run, new Date(), { vault: 'hpc-kv', action: 'Detected', outcome: 'Info', detail: i === 4 ? REFUSE : `row ${i}` }));
    for (const r of rows) services.audit.append(r);
    await services.audit.flush();
    const stored = (await t.auditRows(since)).filter((r) => r.runId === 'batch-run');
    expect(stored.map((r) => (r.action === 'AuditRowRejected' ? 'rejected' : r.detail))).toEqual(['row 0', 'row 1', 'row 2', 'row 3', 'rejected', 'row 5', 'row 6', 'row 7', 'row 8', 'row 9']);
    expect(services.auditLog.stats.rejected).toBe(before + 1);
    expect(services.auditLog.pendingRows).toBe(0);
    const report = await new TableAuditReader(tableClient(services.storage, TABLES.audit)).verify({ vault: 'hpc-kv' });
    expect(report.findings).toEqual([]);
  });
});
