/**
 * Fuzz: Key Vault event deliveries through the registered Event Grid function, with the real services on the local
 * stack (Azurite tables and queues, the Key Vault endpoint). Deliveries in both schemas — valid, with mutated types,
 * missing fields, 10k–200k-character strings, unicode and lone surrogates, `__proto__`/`constructor` keys, batches
 * of 0–500, non-JSON bodies, foreign hosts, topics and clouds. Invariants, per delivery:
 *   - the handler throws nothing but a transient storage error;
 *   - every event becomes exactly one work item that fits the worker's schema, or exactly one EventRejected row
 *     (durable when the handler returns; every field within its documented bound);
 *   - nothing for a vault that is not configured, nothing for an event on another vault's host, topic or cloud;
 *     an unmutated event for the configured vault is accepted;
 * and afterwards: the rows and messages are really in storage, the audit chains verify, and the process is healthy
 * (a normal event is accepted and the worker rotates a due secret).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServices, type AppServices } from '../../src/app/services.js';
import { AUDIT_FIELD_MAX, type AuditRecord } from '../../src/core/audit.js';
import type { AuditLog } from '../../src/core/ports.js';
import { parseWorkItem, type WorkItem, type WorkQueue } from '../../src/core/work.js';
import { QUEUES, queueClient, TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { TableAuditReader } from '../../src/adapters/storage/audit-reader.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { vaultEvents } from '../../src/functions/vaultEvents.js';
import { invocationContext } from '../../src/local/functions-host.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';
import { hostileString, hostileValue, hugeString, shortString, withPrototypeKeys } from './arbitraries.js';
import { fuzzParameters, fuzzRuns } from './settings.js';

const VAULT = 'hpc-kv';
const DELIVERIES = 2000;
const topic = (vault: string): string => `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${vault}`;

let t: TestEnv;
let services: AppServices;
let vaultUrl: string;
const enqueued: WorkItem[] = [];
const appended: AuditRecord[] = [];
let transient = 0;

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: [VAULT] } });
  vaultUrl = t.vaultUrl(VAULT);
  services = await t.services({ vaults: [{ name: VAULT, url: vaultUrl }], secretKinds: { pw: { generator: 'password', length: 16 } } });
  // The real queue and audit log, recording what went through them.
  const queue: WorkQueue = {
    async enqueue(item, options) {
      await services.queue.enqueue(item, options);
      enqueued.push(item);
    },
  };
  const audit: AuditLog = {
    append(record) {
      services.audit.append(record);
      appended.push(record);
    },
    flush: (options) => services.audit.flush(options),
    hasRecord: (vault, rotationId, action, since) => services.audit.hasRecord(vault, rotationId, action, since),
  };
  useServices({ ...services, queue, audit });
  await queueClient(services.storage, QUEUES.work).createIfNotExists();
});

afterAll(async () => {
  await t?.stop();
});

type Label = 'valid' | 'foreign' | 'mutated';
interface Delivery {
  readonly body: unknown;
  readonly events: number;
  /** What each event (by id) must become: valid → a work item, foreign → an EventRejected row, mutated → either. */
  readonly labels: ReadonlyMap<string, Label>;
}

const OBJECT_TYPES = ['Certificate', 'Key', 'Secret'] as const;
const KINDS = ['NewVersionCreated', 'NearExpiry', 'Expired'] as const;
const FIELDS = ['id', 'type', 'topic', 'data', 'data.Id', 'data.VaultName', 'data.ObjectName', 'data.ObjectType', 'data.Version', 'data.NBF', 'data.EXP', 'specversion'] as const;

const objectName = fc.oneof(fc.constantFrom('due-secret', 'hpc-node-comm', 'a', 'x'.repeat(127)), fc.stringMatching(/^[0-9a-zA-Z-]{1,40}$/));

const mutation = fc.record({
  field: fc.constantFrom(...FIELDS),
  op: fc.constantFrom('delete', 'set', 'prototype-keys', 'case'),
  value: hostileValue(hostileString),
});

const foreign = fc.constantFrom(
  { Id: 'https://evil.vault.azure.net' },
  { Id: 'https://hpc-kv.vault.azure.cn' },
  { Id: 'https://hpc-kv.vault.usgovcloudapi.net' },
  { Id: 'https://hpc-kv.vault.azure.net' },
  { Id: 'local-http' },
  { Id: 'local-other-port' },
  { topic: 'other-kv' },
  { topic: 'not-a-resource' },
  { VaultName: 'other-kv' },
  { VaultName: 'evil' },
);

const eventSpec = (strings: fc.Arbitrary<string>) =>
  fc.record({
    cloud: fc.boolean(),
    id: fc.uuid(),
    type: fc.constantFrom(...OBJECT_TYPES),
    kind: fc.constantFrom(...KINDS),
    name: objectName,
    foreign: fc.option(foreign, { nil: undefined, freq: 4 }),
    mutations: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(mutation.map((m) => ({ ...m, value: typeof m.value === 'string' ? m.value : m.value })), { minLength: 1, maxLength: 3 }) }),
    strings: fc.array(strings, { minLength: 1, maxLength: 1 }),
  });

type Spec = { cloud: boolean; id: string; type: (typeof OBJECT_TYPES)[number]; kind: (typeof KINDS)[number]; name: string; foreign?: Record<string, string> | undefined; mutations: { field: string; op: string; value: unknown }[] };

function idOn(spec: Spec, host: string): string {
  const collection = `${spec.type.toLowerCase()}s`;
  const base = host === 'local' ? vaultUrl.replace(/\/+$/, '') : host === 'local-http' ? vaultUrl.replace(/^https:/, 'http:').replace(/\/+$/, '') : host === 'local-other-port' ? vaultUrl.replace(/:(\d+)/, (_, p: string) => `:${Number(p) + 1}`).replace(/\/+$/, '') : host;
  return `${base}/${collection}/${spec.name}/0123456789abcdef0123456789abcdef`;
}

/** One event as Key Vault sends it, then made foreign or mutated as the spec says. */
function buildEvent(spec: Spec): { event: unknown; label: Label } {
  const data: Record<string, unknown> = {
    Id: idOn(spec, spec.foreign?.['Id'] ?? 'local'),
    VaultName: spec.foreign?.['VaultName'] ?? VAULT,
    ObjectType: spec.type,
    ObjectName: spec.name,
    Version: '0123456789abcdef0123456789abcdef',
    NBF: 1764000000,
    EXP: 1796000000,
  };
  const resource = spec.foreign?.['topic'] === 'not-a-resource' ? '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x' : topic(spec.foreign?.['topic'] ?? VAULT);
  const type = `Microsoft.KeyVault.${spec.type}${spec.kind}`;
  let event: Record<string, unknown> = spec.cloud
    ? { specversion: '1.0', id: spec.id, source: resource, subject: spec.name, type, time: '2026-12-04T00:00:00Z', data }
    : { id: spec.id, topic: resource, subject: spec.name, eventType: type, eventTime: '2026-12-04T00:00:00Z', data, dataVersion: '1', metadataVersion: '1' };
  if (spec.foreign) return { event, label: 'foreign' };
  if (!spec.mutations.length) return { event, label: 'valid' };
  for (const m of spec.mutations) {
    const [head, sub] = m.field.split('.') as [string, string | undefined];
    const key = head === 'type' ? (spec.cloud ? 'type' : 'eventType') : head === 'topic' ? (spec.cloud ? 'source' : 'topic') : head;
    const target: Record<string, unknown> = sub ? (typeof event['data'] === 'object' && event['data'] !== null && !Array.isArray(event['data']) ? { ...(event['data'] as Record<string, unknown>) } : {}) : event;
    const name = sub ?? key;
    if (m.op === 'delete') delete target[name];
    else if (m.op === 'case') target[name.toUpperCase()] = target[name];
    else if (m.op === 'prototype-keys') {
      const replaced = withPrototypeKeys(target, m.value ?? null);
      if (!sub) event = replaced;
      else event['data'] = replaced;
      continue;
    } else target[name] = m.value;
    if (sub) event['data'] = target;
  }
  return { event, label: 'mutated' };
}

const small = eventSpec(shortString).map((s) => buildEvent(s as Spec));
const any = eventSpec(hostileString).map((s) => buildEvent(s as Spec));
const nonJson = fc.oneof(
  fc.string({ maxLength: 100 }),
  hugeString,
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.constant('{"id": "truncated'),
  fc.constant([[]]),
);

function delivery(events: readonly { event: unknown; label: Label }[], single: boolean): Delivery {
  const labels = new Map<string, Label>();
  for (const e of events) {
    const id = (e.event as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && !labels.has(id)) labels.set(id, e.label);
    else if (typeof id === 'string' && labels.get(id) !== e.label) labels.set(id, 'mutated');
  }
  return { body: single ? events[0]?.event : events.map((e) => e.event), events: single ? 1 : Math.max(1, events.length), labels };
}

const deliveries: fc.Arbitrary<Delivery> = fc.oneof(
  { weight: 30, arbitrary: any.map((e) => delivery([e], true)) },
  { weight: 12, arbitrary: fc.array(any, { minLength: 0, maxLength: 6 }).map((es) => delivery(es, false)) },
  { weight: 1, arbitrary: fc.array(small, { minLength: 100, maxLength: 500 }).map((es) => delivery(es, false)) },
  { weight: 4, arbitrary: nonJson.map((body) => ({ body, events: Array.isArray(body) ? Math.max(1, body.length) : 1, labels: new Map<string, Label>() })) },
);

/** Errors a storage outage may cause (retried by Event Grid): anything else is a defect. */
function isTransient(err: unknown): boolean {
  const status = (err as { statusCode?: number; status?: number }).statusCode ?? (err as { status?: number }).status;
  const code = (err as { code?: string }).code ?? '';
  return (status !== undefined && (status >= 500 || status === 408 || status === 429)) || /ECONNRESET|ETIMEDOUT|ECONNREFUSED|Unavailable|Timeout/.test(String(code));
}

function fitsBounds(r: AuditRecord): boolean {
  return Object.entries(AUDIT_FIELD_MAX).every(([field, max]) => String((r as unknown as Record<string, unknown>)[field]).length <= max);
}

describe('fuzz: Key Vault event deliveries through the Event Grid function', () => {
  it(`${fuzzRuns(DELIVERIES)} seeded deliveries: one work item or one EventRejected row per event, nothing foreign, then healthy`, { timeout: 3_600_000 }, async () => {
    let events = 0;
    const since = new Date(Date.now() - 1000);
    await fc.assert(
      fc.asyncProperty(deliveries, async (d) => {
        const e0 = enqueued.length;
        const a0 = appended.length;
        try {
          await vaultEvents(d.body, invocationContext('vaultEvents', quietSink));
        } catch (err) {
          if (isTransient(err)) {
            transient++;
            return;
          }
          throw err;
        }
        events += d.events;
        const items = enqueued.slice(e0);
        const rows = appended.slice(a0);
        expect(rows.every((r) => r.action === 'EventRejected')).toBe(true);
        expect(items.length + rows.length).toBe(d.events);
        for (const item of items) {
          expect(parseWorkItem(JSON.stringify(item))).toEqual({ ok: true, item });
          expect(item.vault).toBe(VAULT);
          const label = item.kind === 'object' && item.eventId !== undefined ? d.labels.get(item.eventId) : undefined;
          expect(label, `event ${item.kind === 'object' ? item.eventId : ''} accepted`).not.toBe('foreign');
        }
        for (const r of rows) expect(fitsBounds(r)).toBe(true);
        const accepted = new Set(items.map((i) => (i.kind === 'object' ? i.eventId : undefined)));
        for (const [id, label] of d.labels) if (label === 'valid') expect(accepted.has(id), `valid event ${id} accepted`).toBe(true);
      }),
      fuzzParameters(DELIVERIES),
    );
    // Durable: what the handler reported is what storage holds.
    const stored = (await t.auditRows(since)).filter((r) => r.action === 'EventRejected');
    expect(stored.length).toBe(appended.filter((r) => r.action === 'EventRejected').length);
    const queue = queueClient(services.storage, QUEUES.work);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(enqueued.length);
    const report = await new TableAuditReader(tableClient(services.storage, TABLES.audit)).verify({});
    expect(report.findings).toEqual([]);
    console.info(`fuzz: ${fuzzRuns(DELIVERIES)} deliveries, ${events} events, ${enqueued.length} work items, ${stored.length} EventRejected rows, ${transient} transient errors`);

    // Healthy afterwards: a normal event is accepted and a due secret is rotated.
    await queue.clearMessages();
    await t.clients(VAULT).secrets.setSecret('due-secret', 'initial', { tags: { 'rotor-secret-kind': 'pw' }, expiresOn: new Date(Date.now() + 2 * 86_400_000) });
    const healthy = new Date();
    await vaultEvents(buildEvent({ cloud: false, id: 'after-the-fuzz', type: 'Secret', kind: 'NearExpiry', name: 'due-secret', mutations: [] }).event, invocationContext('vaultEvents', quietSink));
    await t.drain(rotationWorker, services);
    const after = (await t.auditRows(healthy)).filter((r) => r.objectName === 'due-secret');
    expect(after.map((r) => r.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    expect(await versionCount(t.clients(VAULT), 'secret', 'due-secret')).toBe(2);
  });
});
