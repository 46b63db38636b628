/**
 * Notifications end to end: Rotor's real services against the local stack with the local Event Grid topic. The
 * events are published by the official EventGridPublisherClient (bearer token, CloudEvents batch over HTTPS) from
 * the durable audit rows: a rotation announces itself (Rotor.VersionCreated, Rotor.RotationCompleted) with versions
 * but never the secret value; a notify-only object asks for a person; a topic that keeps failing does not fail the
 * rotation — the publish is retried, then audited as NotificationFailed; a topic that fails once gets the events on
 * a retry.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requestRotation } from '../../src/core/on-demand.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import type { AppServices } from '../../src/app/services.js';
import { startEventGridTopic, type EventGridTopicEmulator } from '../../src/local/eventgrid/topic.js';
import { startTestEnv, type TestEnv } from '../support/local.js';

let t: TestEnv;
let topic: EventGridTopicEmulator;
let services: AppServices;

beforeAll(async () => {
  t = await startTestEnv({
    services: { eventgrid: startEventGridTopic },
    keyVault: {
      vaults: ['notify-kv'],
      seed: {
        vaults: {
          'notify-kv': {
            secrets: [
              { name: 'db-password', notBefore: '-85d', expires: '+5d', tags: { 'rotor-secret-kind': 'pw' } },
              { name: 'api-password', notBefore: '-5d', expires: '+85d', tags: { 'rotor-secret-kind': 'pw' } },
              { name: 'svc-password', notBefore: '-5d', expires: '+85d', tags: { 'rotor-secret-kind': 'pw' } },
            ],
            keys: [{ name: 'k-notify', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d', tags: { 'rotor-policy': 'notify' } }],
          },
        },
      },
    },
  });
  topic = t.stack.services.get('eventgrid') as EventGridTopicEmulator;
  expect(t.env['ROTOR_EVENTS_TOPIC_ENDPOINT']).toBe(topic.endpoint);
  // No waiting between publish retries in tests (the backoff itself is unit-tested).
  services = await t.services(
    { vaults: [{ name: 'notify-kv', url: t.vaultUrl('notify-kv') }], secretKinds: { pw: { generator: 'password', length: 24 } } },
    { sleep: () => Promise.resolve() },
  );
}, 60_000);

afterAll(async () => t?.stop());
beforeEach(() => topic.clear());

/** An on-demand rotation through the queue worker (rotateNow's path); returns the object's decisive audit action. */
const rotate = async (type: 'secret' | 'key', name: string, force = false): Promise<string> => {
  const since = new Date(Date.now() - 1000);
  const accepted = await requestRotation(services, { vault: 'notify-kv', objectType: type, objectName: name, force });
  expect(accepted.kind).toBe('accepted');
  await t.drain(rotationWorker, services); // each work item waits for its notifications before it ends
  const actions: string[] = (await t.auditRows(since)).filter((r) => r.objectName === name).map((r) => r.action);
  return ['RotationCompleted', 'ManualActionRequired', 'RotationFailed'].find((a) => actions.includes(a)) ?? actions.join(',');
};

describe('notifications', () => {
  it('a rotation publishes CloudEvents through EventGridPublisherClient, with versions and never the secret value', async () => {
    expect(await rotate('secret', 'db-password')).toBe('RotationCompleted');
    const events = topic.published().filter((e) => e.subject === 'notify-kv/secret/db-password');
    expect(events.map((e) => e.type)).toEqual(['Rotor.VersionCreated', 'Rotor.RotationCompleted']);
    const completed = events[1]!;
    expect(completed).toMatchObject({ specversion: '1.0', source: '/rotor/notify-kv', datacontenttype: 'application/json' });
    const data = completed.data as Record<string, string>;
    expect(data).toMatchObject({ vault: 'notify-kv', objectType: 'secret', objectName: 'db-password', action: 'RotationCompleted', outcome: 'Succeeded', trigger: 'manual' });
    expect(data['runId']).toMatch(/^manual-/);
    expect(data['version']).toMatch(/^[0-9a-f]{32}$/);
    expect(data['previousVersion']).toMatch(/^[0-9a-f]{32}$/);
    const value = (await t.clients('notify-kv').secrets.getSecret('db-password')).value ?? '';
    expect(value.length).toBe(24);
    expect(JSON.stringify(topic.published())).not.toContain(value);
    // Events are the audit rows' story: each one matches a durable row.
    const rows = (await t.auditRows()).filter((r) => r.objectName === 'db-password');
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['VersionCreated', 'RotationCompleted']));
  });

  it('an object that needs a person publishes Rotor.ManualActionRequired', async () => {
    expect(await rotate('key', 'k-notify')).toBe('ManualActionRequired');
    const manual = topic.published().filter((e) => e.type === 'Rotor.ManualActionRequired');
    expect(manual.map((e) => e.subject)).toEqual(['notify-kv/key/k-notify']);
    expect((manual[0]!.data as Record<string, string>)['reason']).toBe('NotifyOnly');
  });

  it('a topic that fails once: the publish is retried and the events arrive', async () => {
    topic.failNext(1, 503);
    expect(await rotate('secret', 'svc-password', true)).toBe('RotationCompleted');
    expect(topic.published().filter((e) => e.subject === 'notify-kv/secret/svc-password').map((e) => e.type)).toEqual(['Rotor.VersionCreated', 'Rotor.RotationCompleted']);
    expect(topic.requests()).toBeGreaterThanOrEqual(2);
  });

  it('a topic that keeps failing never fails the rotation: the publish is retried, then audited as NotificationFailed', async () => {
    topic.failNext(1000, 503);
    const before = new Date(Date.now() - 1000);
    expect(await rotate('secret', 'api-password', true)).toBe('RotationCompleted');
    expect(topic.published()).toEqual([]);
    expect(topic.requests()).toBeGreaterThanOrEqual(4); // Rotor's attempts (each with the SDK's own retries)
    await services.auditLog.flush();
    const failed = (await t.auditRows(before)).filter((r) => r.action === 'NotificationFailed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]).toMatchObject({ vault: 'notify-kv', outcome: 'Failed', reason: 'PublishFailed' });
    expect(failed[0]!.detail).toContain('Rotor.RotationCompleted');
    expect(failed[0]!.detail).toContain('notify-kv/secret/api-password');
    const rows = (await t.auditRows(before)).filter((r) => r.objectName === 'api-password');
    expect(rows.map((r) => r.action)).toContain('RotationCompleted');
    topic.failNext(0);
  }, 120_000);
});
