/**
 * The local Key Vault endpoint's Event Grid events (callback and webhook subscribers, both schemas, expiry events
 * under an injected clock), seeding with relative times, persistence across a restart, and a clean stop.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultEventGridEvent } from '../../src/local/keyvault/types.js';
import type { LocalStack } from '../../src/local/stack.js';
import { clientsFor, startKeyVaultStack, testClock } from './helpers/keyvault.js';

const DAY = 86_400_000;

interface Received {
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A local webhook that records what it receives. */
async function startWebhook(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/api/events?code=webhook-key`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('events', () => {
  const clock = testClock('2026-06-01T00:00:00Z');
  let stack: LocalStack;
  const events: KeyVaultEventGridEvent[] = [];
  const logLines: string[] = [];
  let webhook: Awaited<ReturnType<typeof startWebhook>>;

  beforeAll(async () => {
    stack = await startKeyVaultStack({ vaults: ['hpc-events'] }, { now: clock.now, log: (line) => logLines.push(line) });
    stack.keyVault.subscribe({ kind: 'callback', deliver: (event) => void events.push(event) });
    webhook = await startWebhook();
  });
  afterAll(async () => {
    await stack?.stop();
    await webhook?.close();
  });

  it('emits NewVersionCreated for secrets, keys and certificates (one Certificate event for a certificate)', async () => {
    const kv = clientsFor(stack);
    const secret = await kv.secrets.setSecret('db-password', 'x', { expiresOn: new Date('2026-09-01T00:00:00Z') });
    await kv.keys.createEcKey('ec-key');
    const poller = await kv.certificates.beginCreateCertificate('web', { issuerName: 'Self', subject: 'CN=web' }, { intervalInMs: 20 });
    const certificate = await poller.pollUntilDone();
    await stack.keyVault.drainEvents();

    expect(events.map((e) => e.eventType)).toEqual([
      'Microsoft.KeyVault.SecretNewVersionCreated',
      'Microsoft.KeyVault.KeyNewVersionCreated',
      'Microsoft.KeyVault.CertificateNewVersionCreated',
    ]);
    expect(events[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      topic: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rotor-local/providers/Microsoft.KeyVault/vaults/hpc-events',
      subject: 'db-password',
      eventType: 'Microsoft.KeyVault.SecretNewVersionCreated',
      eventTime: '2026-06-01T00:00:00.000Z',
      data: {
        Id: secret.properties.id,
        VaultName: 'hpc-events',
        ObjectType: 'Secret',
        ObjectName: 'db-password',
        Version: secret.properties.version,
        NBF: null,
        EXP: Date.parse('2026-09-01T00:00:00Z') / 1000,
      },
      dataVersion: '1',
      metadataVersion: '1',
    });
    expect(events[2]?.data).toMatchObject({
      Id: certificate.properties.id,
      ObjectType: 'Certificate',
      NBF: Date.parse('2026-06-01T00:00:00Z') / 1000 - 600,
      EXP: Date.parse('2027-06-01T00:00:00Z') / 1000,
    });
  });

  it('delivers to webhooks: an array in the Event Grid schema, one application/cloudevents+json event in CloudEvents', async () => {
    const unsubscribeGrid = stack.keyVault.subscribe({ kind: 'webhook', url: webhook.url, schema: 'eventgrid' });
    const unsubscribeCloud = stack.keyVault.subscribe({ kind: 'webhook', url: webhook.url, schema: 'cloudevents', headers: { 'x-test': 'yes' } });
    await clientsFor(stack).secrets.setSecret('webhooked', 'v');
    await stack.keyVault.drainEvents();
    unsubscribeGrid();
    unsubscribeCloud();

    const grid = webhook.received.find((r) => Array.isArray(r.body));
    const cloud = webhook.received.find((r) => !Array.isArray(r.body));
    expect(grid?.headers['content-type']).toBe('application/json');
    expect(grid?.headers['aeg-event-type']).toBe('Notification');
    expect(grid?.body).toEqual([expect.objectContaining({ eventType: 'Microsoft.KeyVault.SecretNewVersionCreated', subject: 'webhooked' })]);
    expect(cloud?.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(cloud?.headers['x-test']).toBe('yes');
    expect(cloud?.body).toMatchObject({
      specversion: '1.0',
      type: 'Microsoft.KeyVault.SecretNewVersionCreated',
      source: expect.stringMatching(/\/vaults\/hpc-events$/),
      subject: 'webhooked',
      time: '2026-06-01T00:00:00.000Z',
      data: { ObjectName: 'webhooked', ObjectType: 'Secret' },
    });

    // The official Event Grid SDK reads both deliveries as Key Vault system events. It leaves the data as Key Vault
    // sends it (PascalCase, although its typings say camelCase) — one reason Rotor parses field names case-insensitively.
    const deserializer = new EventGridDeserializer();
    const [gridEvent] = await deserializer.deserializeEventGridEvents(JSON.stringify(grid?.body));
    const [cloudEvent] = await deserializer.deserializeCloudEvents(JSON.stringify(cloud?.body));
    expect(gridEvent && isSystemEvent('Microsoft.KeyVault.SecretNewVersionCreated', gridEvent)).toBe(true);
    expect(cloudEvent && isSystemEvent('Microsoft.KeyVault.SecretNewVersionCreated', cloudEvent)).toBe(true);
    for (const event of [gridEvent?.data, cloudEvent?.data]) expect(event).toMatchObject({ ObjectName: 'webhooked', ObjectType: 'Secret', VaultName: 'hpc-events' });
  });

  it('logs failed webhook deliveries (without the URL query) and never fails the operation', async () => {
    const unsubscribe = stack.keyVault.subscribe({ kind: 'webhook', url: 'http://127.0.0.1:1/unreachable?code=function-key', schema: 'eventgrid' });
    await expect(clientsFor(stack).secrets.setSecret('still-works', 'v')).resolves.toBeDefined();
    await stack.keyVault.drainEvents();
    unsubscribe();
    const failure = logLines.find((line) => line.includes('still-works'));
    expect(failure).toContain('http://127.0.0.1:1/unreachable failed');
    expect(logLines.join('\n')).not.toContain('function-key');
  });

  it('emits NearExpiry and Expired once per version as the clock moves', async () => {
    await stack.keyVault.seed({
      vaults: {
        'hpc-events': {
          certificates: [{ name: 'expiring-cert', expires: '+20d' }],
          keys: [{ name: 'expired-key', expires: '-1d' }],
          secrets: [{ name: 'later-secret', expires: '+45d' }],
        },
      },
    });
    events.length = 0;
    expect(await stack.keyVault.checkExpiry()).toBe(2);
    await stack.keyVault.drainEvents();
    expect(events.map((e) => `${e.eventType} ${e.subject}`).sort()).toEqual([
      'Microsoft.KeyVault.CertificateNearExpiry expiring-cert',
      'Microsoft.KeyVault.KeyExpired expired-key',
    ]);
    expect(await stack.keyVault.checkExpiry()).toBe(0);

    clock.advance(21 * DAY);
    events.length = 0;
    // db-password (2026-09-01) is not yet within 30 days on 2026-06-22.
    expect(await stack.keyVault.checkExpiry()).toBe(2);
    await stack.keyVault.drainEvents();
    expect(events.map((e) => `${e.eventType} ${e.subject}`).sort()).toEqual([
      'Microsoft.KeyVault.CertificateExpired expiring-cert',
      'Microsoft.KeyVault.SecretNearExpiry later-secret',
    ]);
  });
});

describe('seeding, persistence and stop', () => {
  const clock = testClock('2026-01-15T00:00:00Z');
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'rotor-kv-state-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('seeds relative times on the injected clock, persists everything across a restart, and frees its ports on stop', async () => {
    const seed = {
      vaults: {
        'rotor-local': {
          certificates: [
            { name: 'batch-cert', expires: '+10d', olderVersions: 2, tags: { pool: 'render' }, dnsNames: ['batch.example'] },
            { name: 'pending-ca', issuer: 'Unknown', notBefore: '-355d' },
          ],
          keys: [{ name: 'cache-cmk', kty: 'RSA' as const, expires: '+36h', rotationExpiryTime: 'P90D', enabled: false }],
          secrets: [{ name: 'nexus-cred', value: 'sekret', notBefore: '-90m', expires: '2026-03-01T00:00:00Z' }],
        },
      },
    };
    const first = await startKeyVaultStack({ seed }, { stateDir, now: clock.now });
    const kv = clientsFor(first);
    const now = clock.now().getTime();

    const cert = await kv.certificates.getCertificate('batch-cert');
    expect(cert.properties.expiresOn).toEqual(new Date(now + 10 * DAY));
    expect(cert.properties.notBefore).toEqual(new Date('2025-01-25T00:00:00Z'));
    expect(cert.properties.tags).toEqual({ pool: 'render' });
    expect(cert.policy?.subjectAlternativeNames?.dnsNames).toEqual(['batch.example']);
    const versions = [];
    for await (const v of kv.certificates.listPropertiesOfCertificateVersions('batch-cert')) versions.push(v);
    // Key Vault lists versions by version id, not by creation.
    expect(versions.map((v) => v.expiresOn?.toISOString()).sort()).toEqual(['2024-01-26T00:00:00.000Z', '2025-01-25T00:00:00.000Z', '2026-01-25T00:00:00.000Z']);
    expect(versions.map((v) => v.version)).toEqual(versions.map((v) => v.version).sort());

    const pendingCa = await kv.certificates.getCertificate('pending-ca');
    expect(pendingCa.policy?.issuerName).toBe('Unknown');
    expect(pendingCa.properties.notBefore).toEqual(new Date(now - 355 * DAY));
    await kv.certificates.beginCreateCertificate('pending-ca', await kv.certificates.getCertificatePolicy('pending-ca'), { intervalInMs: 20 });
    const key = await kv.keys.getKey('cache-cmk');
    expect(key.properties).toMatchObject({ enabled: false, expiresOn: new Date(now + 36 * 3_600_000) });
    expect((await kv.keys.getKeyRotationPolicy('cache-cmk')).expiresIn).toBe('P90D');
    const secret = await kv.secrets.getSecret('nexus-cred');
    expect(secret.properties).toMatchObject({ notBefore: new Date(now - 90 * 60_000), expiresOn: new Date('2026-03-01T00:00:00Z') });

    const created = await kv.secrets.setSecret('created-at-runtime', 'runtime-value');
    const pfx = (await kv.secrets.getSecret('batch-cert')).value;
    const ports = first.keyVault.ports();
    await first.stop();

    const port = ports['rotor-local'] as number;
    await new Promise<void>((resolve, reject) => {
      const probe = createNetServer().once('error', reject);
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });

    const second = await startKeyVaultStack({ seed: { vaults: { 'rotor-local': { secrets: [{ name: 'not-seeded-again' }] } } } }, { stateDir, now: clock.now });
    try {
      expect(second.keyVault.ports()).toEqual(ports);
      const again = clientsFor(second);
      const reloaded = await again.certificates.getCertificate('batch-cert');
      expect(Buffer.from(reloaded.cer as Uint8Array)).toEqual(Buffer.from(cert.cer as Uint8Array));
      expect(reloaded.properties.x509Thumbprint).toEqual(cert.properties.x509Thumbprint);
      expect((await again.secrets.getSecret('batch-cert')).value?.length).toBe(pfx?.length);
      expect((await again.secrets.getSecret('created-at-runtime')).properties.version).toBe(created.properties.version);
      expect((await again.keys.getKey('cache-cmk')).key?.n).toEqual(key.key?.n);
      const operation = (await again.certificates.getCertificateOperation('pending-ca', { intervalInMs: 20 })).getOperationState().certificateOperation;
      expect(operation?.status).toBe('inProgress');
      await expect(again.secrets.getSecret('not-seeded-again')).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await second.stop();
    }
  });
});
