/**
 * Key Vault events through the Event Grid function, in both schemas, single and batched; malformed and foreign
 * events are rejected and audited; the timer plus ten duplicate events for one object produce exactly one version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import { nightlyScan } from '../../src/functions/nightlyScan.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { vaultEvents } from '../../src/functions/vaultEvents.js';
import { invocationContext, invokeEventGrid, invokeTimer } from '../../src/local/functions-host.js';
import type { KeyVaultEventGridEvent } from '../../src/local/keyvault/types.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
let services: AppServices;
const subscriber: KeyVaultEventGridEvent[] = [];

beforeAll(async () => {
  t = await startTestEnv({
    keyVault: {
      vaults: ['hpc-kv'],
      pendingDelayMs: 50,
      seed: {
        vaults: {
          'hpc-kv': {
            certificates: [
              { name: 'dup-cert', notBefore: '-355d', expires: '+5d' },
              { name: 'ev-cert', notBefore: '-355d', expires: '+20d', tags: { 'rotor-renew-before': '7d' } },
            ],
            secrets: [{ name: 'ev-secret', notBefore: '-85d', expires: '+2d', tags: { 'rotor-secret-kind': 'pw' } }],
          },
        },
      },
    },
  });
  services = await t.services({
    vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }],
    secretKinds: { pw: { generator: 'password', length: 16 } },
    rotation: { pollIntervalSeconds: 0.05 },
  });
  t.stack.keyVault.subscribe({ kind: 'callback', deliver: (e) => void subscriber.push(e) });
});

afterAll(async () => {
  await t?.stop();
});

const eventGridEvent = (type: string, name: string, extra: Record<string, unknown> = {}) => ({
  id: `id-${Math.random().toString(16).slice(2)}`,
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/hpc-kv',
  subject: name,
  eventType: type,
  eventTime: new Date().toISOString(),
  data: { Id: `${t.vaultUrl('hpc-kv')}${type.includes('Secret') ? 'secrets' : 'certificates'}/${name}/abc`, VaultName: 'hpc-kv', ObjectType: type.includes('Secret') ? 'Secret' : 'Certificate', 'ObjectName ': `${name} `, Version: 'abc', NBF: '1559081980', EXP: 1559082102, ...extra },
  dataVersion: '1',
  metadataVersion: '1',
});

const cloudEvent = (type: string, name: string) => {
  const secret = type.includes('Secret');
  return {
    specversion: '1.0',
    id: `ce-${Math.random().toString(16).slice(2)}`,
    source: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/hpc-kv',
    subject: name,
    type,
    time: new Date().toISOString(),
    data: {
      id: `${t.vaultUrl('hpc-kv')}${secret ? 'secrets' : 'certificates'}/${name}/abc`,
      vaultName: 'HPC-KV',
      objectType: secret ? 'Secret' : 'Certificate',
      objectName: name,
      version: 'abc',
      nbf: 1559081980,
      exp: '1559082102',
    },
  };
};

describe('Key Vault events', () => {
  it('timer plus ten duplicate events (both schemas) for one object create exactly one new version', async () => {
    const since = new Date();
    const events = Array.from({ length: 10 }, (_, i) =>
      i % 2 ? eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', 'dup-cert') : cloudEvent('Microsoft.KeyVault.CertificateNearExpiry', 'dup-cert'),
    );
    await Promise.all([invokeTimer('nightlyScan', nightlyScan, quietSink), invokeEventGrid('vaultEvents', vaultEvents, events, quietSink)]);
    await t.drain(rotationWorker, services);
    expect(await versionCount(t.clients('hpc-kv'), 'certificate', 'dup-cert')).toBe(2);
    const rows = await t.auditRows(since);
    expect(rows.filter((r) => r.objectName === 'dup-cert' && r.action === 'VersionCreated')).toHaveLength(1);
    expect(rows.filter((r) => r.action === 'EventRejected')).toHaveLength(0);
    // The emulator announced the new version the way Key Vault does.
    expect(subscriber.some((e) => e.eventType === 'Microsoft.KeyVault.CertificateNewVersionCreated' && e.data.ObjectName === 'dup-cert')).toBe(true);
  });

  it('an event is only a hint: the worker re-reads the vault and acts only on what is due', async () => {
    const since = new Date();
    await t.clients('hpc-kv').secrets.setSecret('ev-secret2', 'initial', { tags: { 'rotor-secret-kind': 'pw' }, expiresOn: new Date(Date.now() + 2 * 86_400_000) });
    // ev-cert has 20 days left but renews 7 days before expiry: the NearExpiry event does not make it due.
    await invokeEventGrid('vaultEvents', vaultEvents, [eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', 'ev-cert')], quietSink);
    // A batched delivery (both schemas in one array) for a due secret is acted on once.
    await vaultEvents([cloudEvent('Microsoft.KeyVault.SecretNearExpiry', 'ev-secret2'), eventGridEvent('Microsoft.KeyVault.SecretExpired', 'ev-secret2')], invocationContext('vaultEvents', quietSink));
    await t.drain(rotationWorker, services);
    const rows = await t.auditRows(since);
    expect(rows.filter((r) => r.objectName === 'ev-cert')).toEqual([]);
    expect(await versionCount(t.clients('hpc-kv'), 'certificate', 'ev-cert')).toBe(1);
    const secretRows = rows.filter((r) => r.objectName === 'ev-secret2');
    expect(secretRows.map((r) => r.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    expect(secretRows.every((r) => r.trigger === 'eventgrid')).toBe(true);
  });

  it('records a version created outside Rotor when told by NewVersionCreated', async () => {
    const since = new Date();
    await t.clients('hpc-kv').secrets.setSecret('ev-secret', 'set-by-a-person', { tags: { 'rotor-secret-kind': 'pw' }, expiresOn: new Date(Date.now() + 90 * 86_400_000) });
    await invokeEventGrid('vaultEvents', vaultEvents, eventGridEvent('Microsoft.KeyVault.SecretNewVersionCreated', 'ev-secret'), quietSink);
    await t.drain(rotationWorker, services);
    const rows = await t.auditRows(since);
    expect(rows.map((r) => `${r.action}:${r.reason}`)).toEqual(['NewVersionObserved:CreatedOutsideRotor']);
    expect(JSON.stringify(rows)).not.toContain('set-by-a-person');
  });

  it('rejects malformed, unsupported and foreign events, audits each, and never acts on them', async () => {
    const since = new Date();
    const bad: unknown[] = [
      42,
      { id: 'x1', eventType: 'Microsoft.KeyVault.CertificateNearExpiry' },
      { ...eventGridEvent('Microsoft.KeyVault.VaultAccessPolicyChanged', 'dup-cert') },
      eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', 'dup-cert', { VaultName: 'someone-elses-kv' }),
      eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', 'dup-cert', { ObjectType: 'Secret' }),
      eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', 'dup-cert', { EXP: 'next tuesday' }),
      eventGridEvent('Microsoft.KeyVault.CertificateNearExpiry', "x' or PartitionKey ne '"),
    ];
    await invokeEventGrid('vaultEvents', vaultEvents, bad, quietSink);
    await t.drain(rotationWorker, services);
    const rows = await t.auditRows(since);
    expect(rows.map((r) => `${r.action}:${r.reason}`)).toEqual([
      'EventRejected:MalformedEvent',
      'EventRejected:MalformedEvent',
      'EventRejected:UnsupportedEventType',
      'EventRejected:UnknownVault',
      'EventRejected:InconsistentEvent',
      'EventRejected:MalformedEvent',
      'EventRejected:MalformedEvent',
    ]);
    expect(rows[3]).toMatchObject({ vault: 'someone-elses-kv', trigger: 'eventgrid' });
    expect(rows[5]?.detail).toContain('data.EXP is not a Unix time');
  });
});
