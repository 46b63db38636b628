/**
 * Detect, rotate and audit through the real path: the nightly timer function enqueues one work item per vault on
 * the Azurite queue, the queue function scans each vault through the official Key Vault SDK clients against the
 * local endpoint, rotates what is due and writes audit rows to Azurite tables.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import type { AuditRecord } from '../../src/core/audit.js';
import { nightlyScan } from '../../src/functions/nightlyScan.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { invokeTimer } from '../../src/local/functions-host.js';
import type { SeedFixture } from '../../src/local/keyvault/types.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

const HPC_KU = ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'];
const AUTH_EKU = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'];

const SEED: SeedFixture = {
  vaults: {
    'hpc-kv': {
      certificates: [
        { name: 'c-near', notBefore: '-355d', expires: '+10d' },
        { name: 'c-lifetime', notBefore: '-300d', expires: '+65d' },
        { name: 'c-expired', notBefore: '-400d', expires: '-5d' },
        { name: 'c-healthy', notBefore: '-10d', expires: '+355d' },
        {
          name: 'c-hpcpack',
          subject: 'CN=HPC Pack Node Communication',
          keyUsage: HPC_KU,
          ekus: AUTH_EKU,
          exportable: true,
          notBefore: '-355d',
          expires: '+10d',
          tags: { 'rotor-profile': 'hpc-pack' },
        },
        { name: 'c-hpcpack-bad', keyUsage: ['digitalSignature'], ekus: ['1.3.6.1.5.5.7.3.1'], notBefore: '-355d', expires: '+10d', tags: { 'rotor-profile': 'hpc-pack' } },
        { name: 'c-unknown-issuer', issuer: 'Unknown', notBefore: '-355d', expires: '+10d' },
        { name: 'c-disabled', notBefore: '-355d', expires: '+10d', enabled: false },
        { name: 'c-notify', notBefore: '-355d', expires: '+10d', tags: { 'rotor-policy': 'notify' } },
        { name: 'c-off', notBefore: '-355d', expires: '+10d', tags: { 'rotor-policy': 'off' } },
        { name: 'c-badtag', notBefore: '-355d', expires: '+10d', tags: { 'rotor-renew-before': 'soon' } },
      ],
      keys: [
        { name: 'k-cache', kty: 'RSA', keySize: 2048, notBefore: '-353d', expires: '+12d', tags: { 'rotor-profile': 'hpc-cache' } },
        { name: 'k-ec', kty: 'EC', curve: 'P-256', notBefore: '-300d', expires: '+65d' },
        { name: 'k-cache-bad', kty: 'RSA', keySize: 3072, notBefore: '-353d', expires: '+12d', tags: { 'rotor-profile': 'hpc-cache' } },
        { name: 'k-expired', kty: 'RSA', keySize: 2048, notBefore: '-370d', expires: '-5d' },
      ],
      secrets: [
        { name: 's-password', notBefore: '-85d', expires: '+5d', contentType: 'text/plain', tags: { 'rotor-secret-kind': 'batch-password' } },
        { name: 's-noexpiry', notBefore: '-85d', expires: null },
        { name: 's-nokind', notBefore: '-85d', expires: '+3d' },
        { name: 's-nexus', notBefore: '-45d', expires: null, tags: { 'rotor-secret-kind': 'nexus-credential' } },
        { name: 's-expired', notBefore: '-95d', expires: '-5d', tags: { 'rotor-secret-kind': 'batch-password' } },
      ],
    },
  },
};

let t: TestEnv;
let services: AppServices;
let rows: AuditRecord[];
const before = new Map<string, string>();

const byObject = (name: string): AuditRecord[] => rows.filter((r) => r.objectName === name);
const actions = (name: string): string[] => byObject(name).map((r) => r.action);

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: ['hpc-kv'], seed: SEED, pendingDelayMs: 50 } });
  services = await t.services({
    vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }],
    secretKinds: {
      'batch-password': { generator: 'password', length: 20, minOfEach: 2 },
      'nexus-credential': { generator: 'external', expectedRotationDays: 30, rotatedBy: 'Azure Operator Nexus' },
    },
    rotation: { pollIntervalSeconds: 0.05 },
  });
  const clients = t.clients('hpc-kv');
  for (const name of ['c-near', 'c-hpcpack']) before.set(name, (await clients.certificates.getCertificate(name)).properties.version ?? '');
  await invokeTimer('nightlyScan', nightlyScan, quietSink);
  await t.drain(rotationWorker, services);
  rows = await t.auditRows();
});

afterAll(async () => {
  await t?.stop();
});

describe('a nightly run on the local stack', () => {
  it('rotates certificates for each reason, from their own policy, with genuine thumbprints and secret ids', async () => {
    const clients = t.clients('hpc-kv');
    for (const [name, reason] of [
      ['c-near', 'NearExpiry'],
      ['c-lifetime', 'LifetimeElapsed'],
      ['c-expired', 'Expired'],
    ] as const) {
      expect(actions(name)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
      expect(byObject(name)[0]?.reason).toBe(reason);
      expect(await versionCount(clients, 'certificate', name)).toBe(2);
    }
    const current = await clients.certificates.getCertificate('c-near');
    const created = byObject('c-near').find((r) => r.action === 'VersionCreated')!;
    const sha1 = createHash('sha1').update(current.cer!).digest('hex').toUpperCase();
    expect(created).toMatchObject({ version: current.properties.version, previousVersion: before.get('c-near'), thumbprint: sha1, secretId: current.secretId, trigger: 'timer' });
    expect(created.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(created.previousThumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(created.previousThumbprint).not.toBe(created.thumbprint);
    // The previous version stays enabled (rollback stays possible).
    const old = await clients.certificates.getCertificateVersion('c-near', before.get('c-near')!);
    expect(old.properties.enabled).toBe(true);
  });

  it('issues an HPC Pack certificate with the required key usages, and refuses a non-compliant policy before creating anything', async () => {
    const clients = t.clients('hpc-kv');
    const current = await clients.certificates.getCertificate('c-hpcpack');
    const cert = new x509.X509Certificate(current.cer!);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    const F = x509.KeyUsageFlags;
    expect(ku.usages & (F.digitalSignature | F.keyEncipherment | F.keyAgreement | F.keyCertSign)).toBe(F.digitalSignature | F.keyEncipherment | F.keyAgreement | F.keyCertSign);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual(expect.arrayContaining(AUTH_EKU));
    expect(current.policy?.exportable).toBe(true);
    expect(actions('c-hpcpack-bad')).toEqual(['Detected', 'PolicyViolation']);
    expect(byObject('c-hpcpack-bad')[1]?.detail).toMatch(/key usage lacks keyEncipherment, keyAgreement, keyCertSign; enhanced key usage lacks Client Authentication/);
    expect(await versionCount(clients, 'certificate', 'c-hpcpack-bad')).toBe(1);
  });

  it('rotates an expired key and an expired secret, with reason Expired', async () => {
    const clients = t.clients('hpc-kv');
    for (const [type, name] of [['key', 'k-expired'], ['secret', 's-expired']] as const) {
      expect(actions(name)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
      expect(byObject(name).every((r) => r.reason === 'Expired')).toBe(true);
      expect(await versionCount(clients, type, name)).toBe(2);
    }
  });

  it('rotates keys (RSA 2048 for HPC Cache, EC) and keeps their lifetime; refuses a 3072-bit HPC Cache key', async () => {
    const clients = t.clients('hpc-kv');
    expect(actions('k-cache')).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    const key = await clients.keys.getKey('k-cache');
    expect(key.key?.kty).toBe('RSA');
    expect((key.key?.n?.length ?? 0) * 8).toBe(2048);
    expect(key.properties.expiresOn!.getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    expect(actions('k-ec')).toContain('RotationCompleted');
    expect((await clients.keys.getKey('k-ec')).key?.crv).toBe('P-256');
    expect(actions('k-cache-bad')).toEqual(['Detected', 'PolicyViolation']);
    expect(byObject('k-cache-bad')[1]?.detail).toContain('key size is 3072; HPC Cache needs 2048');
  });

  it('generates a new secret value by its kind and never writes a secret value to the audit log', async () => {
    const clients = t.clients('hpc-kv');
    expect(actions('s-password')).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    const secret = await clients.secrets.getSecret('s-password');
    expect(secret.value).toMatch(/^.{20}$/);
    expect(secret.properties.tags).toMatchObject({ 'rotor-secret-kind': 'batch-password' });
    expect(secret.properties.contentType).toBe('text/plain');
    const allRows = JSON.stringify(rows);
    expect(allRows).not.toContain(secret.value);
    for await (const v of clients.secrets.listPropertiesOfSecretVersions('s-password')) {
      expect(allRows).not.toContain((await clients.secrets.getSecret('s-password', { version: v.version! })).value);
    }
  });

  it('reports what needs a person, what is skipped and what is stale, once', () => {
    const outcome = (name: string) => byObject(name).map((r) => `${r.action}:${r.reason}`);
    expect(outcome('c-unknown-issuer')).toEqual(['Detected:NearExpiry', 'ManualActionRequired:IssuerNotAutoRenewable']);
    expect(outcome('c-disabled')).toEqual(['Skipped:Disabled']);
    expect(outcome('c-notify')).toEqual(['Detected:NearExpiry', 'ManualActionRequired:NotifyOnly']);
    expect(outcome('c-off')).toEqual(['Detected:NearExpiry', 'Skipped:PolicyOff']);
    expect(outcome('c-badtag')).toEqual(['PolicyViolation:InvalidPolicy']);
    expect(byObject('c-badtag')[0]?.detail).toMatch(/^tag rotor-renew-before: /);
    expect(outcome('s-noexpiry')).toEqual(['Skipped:NoExpiry']);
    expect(outcome('s-nokind')).toEqual(['Detected:NearExpiry', 'ManualActionRequired:NoSecretGenerator']);
    expect(outcome('s-nexus')).toEqual(['ExternalRotationObserved:FirstObservation', 'ExternalRotationStale:ExternalRotationStale']);
    expect(outcome('c-healthy')).toEqual([]);
  });

  it('ends each vault scan with a ScanCompleted row', () => {
    const scan = rows.filter((r) => r.action === 'ScanCompleted');
    expect(scan).toHaveLength(1);
    expect(scan[0]?.detail).toMatch(/^scanned 11 certificates, \d+ keys, \d+ secrets; /);
  });

  it('a second run creates nothing and re-reports nothing', async () => {
    const since = new Date();
    const clients = t.clients('hpc-kv');
    await invokeTimer('nightlyScan', nightlyScan, quietSink);
    await t.drain(rotationWorker, services);
    const second = await t.auditRows(since);
    expect(second.map((r) => r.action)).toEqual(['ScanCompleted']);
    expect(second[0]?.detail).toContain('AlreadyReported');
    expect(await versionCount(clients, 'certificate', 'c-near')).toBe(2);
  });
});
