/**
 * rotateNow, the on-demand HTTP function, through its registered handler against the local stack: a dry run (GET),
 * a rotation of a due object (POST), a forced rotation of one that is not due (POST ?force=true), and the answers
 * for bad parameters (400 naming the parameter), unknown vaults and missing objects (404).
 */
import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateNow } from '../../src/functions/rotateNow.js';
import { invocationContext } from '../../src/local/functions-host.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;

beforeAll(async () => {
  t = await startTestEnv({
    keyVault: {
      vaults: ['hpc-kv'],
      seed: {
        vaults: {
          'hpc-kv': {
            keys: [
              { name: 'k-due', kty: 'RSA', keySize: 2048, notBefore: '-355d', expires: '+10d' },
              { name: 'k-fresh', kty: 'RSA', keySize: 2048, notBefore: '-10d', expires: '+355d' },
              { name: 'k-notify', kty: 'RSA', keySize: 2048, notBefore: '-10d', expires: '+355d', tags: { 'rotor-policy': 'notify' } },
            ],
            secrets: [{ name: 's-disabled', notBefore: '-10d', expires: '+80d', enabled: false, tags: { 'rotor-secret-kind': 'pw' } }],
          },
        },
      },
    },
  });
  await t.services({ vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }], secretKinds: { pw: { generator: 'password', length: 20 } } });
});

afterAll(async () => t?.stop());

async function call(method: 'GET' | 'POST', path: string, query = '') {
  const [vault = '', type = '', name = ''] = path.split('/');
  const request = new HttpRequest({ method, url: `http://localhost/api/rotate/${path}${query}`, params: { vault, type, name } });
  const response = await rotateNow(request, invocationContext('rotateNow', quietSink));
  return { status: response.status ?? 200, body: response.jsonBody as Record<string, unknown> & { plan?: Record<string, unknown>; error?: Record<string, unknown> } };
}

describe('rotateNow', () => {
  it('GET is a dry run: says what would happen and why, creates nothing', async () => {
    const { status, body } = await call('GET', 'hpc-kv/key/k-due');
    expect(status).toBe(200);
    expect(body).toMatchObject({ dryRun: true, plan: { action: 'rotate', reason: 'NearExpiry' } });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(1);
    expect((await call('GET', 'hpc-kv/key/k-fresh')).body.plan).toMatchObject({ action: 'none', message: 'not due' });
  });

  it('POST rotates a due object once; a second POST finds it not due', async () => {
    const first = await call('POST', 'hpc-kv/key/k-due');
    expect(first).toMatchObject({ status: 200, body: { dryRun: false, outcome: 'Rotated', reason: 'NearExpiry' } });
    expect(first.body['runId']).toMatch(/^manual-/);
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(2);
    expect((await call('POST', 'hpc-kv/key/k-due')).body).toMatchObject({ outcome: 'NotDue' });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(2);
  });

  it('POST ?force=true rotates an object that is not due, audited as a manual request', async () => {
    expect((await call('POST', 'hpc-kv/key/k-fresh')).body).toMatchObject({ outcome: 'NotDue' });
    const forced = await call('POST', 'hpc-kv/key/k-fresh', '?force=true');
    expect(forced.body).toMatchObject({ outcome: 'Rotated', reason: 'ManualRequest' });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-fresh')).toBe(2);
    const rows = (await t.auditRows()).filter((r) => r.objectName === 'k-fresh');
    expect(rows.map((r) => r.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    expect(rows.every((r) => r.trigger === 'manual' && r.reason === 'ManualRequest')).toBe(true);
  });

  it('force does not override the object: notify mode notifies, a disabled secret is only reported', async () => {
    expect((await call('POST', 'hpc-kv/key/k-notify', '?force=true')).body).toMatchObject({ outcome: 'ManualActionRequired' });
    expect((await call('POST', 'hpc-kv/secret/s-disabled', '?force=true')).body).toMatchObject({ outcome: 'Skipped', reason: 'Disabled' });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-notify')).toBe(1);
    expect(await versionCount(t.clients('hpc-kv'), 'secret', 's-disabled')).toBe(1);
  });

  it('answers bad parameters with 400 naming the parameter, unknown vaults and missing objects with 404', async () => {
    expect(await call('GET', 'hpc-kv/blob/x')).toMatchObject({ status: 400, body: { error: { parameter: 'type' } } });
    expect(await call('GET', "hpc-kv/key/x' or 1 eq 1")).toMatchObject({ status: 400, body: { error: { parameter: 'name' } } });
    expect(await call('POST', 'hpc-kv/key/k-due', '?dryRun=maybe')).toMatchObject({ status: 400, body: { error: { parameter: 'dryRun' } } });
    expect(await call('POST', 'hpc-kv/key/k-due', '?force=yes')).toMatchObject({ status: 400, body: { error: { parameter: 'force' } } });
    expect(await call('POST', 'other-kv/key/k-due')).toMatchObject({ status: 404, body: { error: { code: 'VaultNotManaged' } } });
    expect(await call('POST', 'hpc-kv/key/missing')).toMatchObject({ status: 404, body: { reason: 'NotFound' } });
  });
});
