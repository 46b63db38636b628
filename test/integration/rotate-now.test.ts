/**
 * rotateNow, the on-demand HTTP function, through its registered handler against the local stack: a dry run (GET),
 * a rotation of a due object (POST → 202 Accepted with a status URL; the work goes through the queue worker), a
 * forced rotation of one that is not due (POST ?force=true), the status URL showing the outcome, and the answers
 * for bad parameters (400 naming the parameter), unknown vaults and missing objects (404).
 */
import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import { rotateNow } from '../../src/functions/rotateNow.js';
import { rotateStatus } from '../../src/functions/rotateStatus.js';
import { rotationWorker } from '../../src/functions/rotationWorker.js';
import { invocationContext } from '../../src/local/functions-host.js';
import { quietSink, startTestEnv, versionCount, type TestEnv } from '../support/local.js';

let t: TestEnv;
let services: AppServices;

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
  services = await t.services({ vaults: [{ name: 'hpc-kv', url: t.vaultUrl('hpc-kv') }], secretKinds: { pw: { generator: 'password', length: 20 } } });
});

afterAll(async () => t?.stop());

async function call(method: 'GET' | 'POST', path: string, query = '') {
  const [vault = '', type = '', name = ''] = path.split('/');
  const request = new HttpRequest({ method, url: `http://localhost/api/rotate/${path}${query}`, params: { vault, type, name } });
  const response = await rotateNow(request, invocationContext('rotateNow', quietSink));
  return {
    status: response.status ?? 200,
    headers: new Headers(response.headers),
    body: response.jsonBody as Record<string, unknown> & { plan?: Record<string, unknown>; error?: Record<string, unknown>; statusUrl?: string; runId?: string },
  };
}

/** GET the status URL a 202 answered with (through the registered status handler). */
async function status(statusUrl: string) {
  const url = new URL(statusUrl);
  const [, , , vault = '', type = '', name = ''] = url.pathname.split('/');
  const response = await rotateStatus(new HttpRequest({ method: 'GET', url: statusUrl, params: { vault, type, name } }), invocationContext('rotateStatus', quietSink));
  return { status: response.status ?? 200, body: response.jsonBody as { phase: string; reason: string; runId: string; rotation?: Record<string, unknown>; events: Array<{ action: string }> } };
}

/** POST, then let the queue worker run what it queued; returns the status the status URL shows. */
async function rotate(path: string, query = '') {
  const accepted = await call('POST', path, query);
  expect(accepted.status).toBe(202);
  expect(accepted.headers.get('location')).toBe(accepted.body.statusUrl);
  expect((await status(accepted.body.statusUrl!)).body.phase).toBe('Queued');
  await t.drain(rotationWorker, services);
  return { accepted, result: await status(accepted.body.statusUrl!) };
}

describe('rotateNow', () => {
  it('GET is a dry run: says what would happen and why, creates nothing', async () => {
    const { status, body } = await call('GET', 'hpc-kv/key/k-due');
    expect(status).toBe(200);
    expect(body).toMatchObject({ dryRun: true, plan: { action: 'rotate', reason: 'NearExpiry' } });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(1);
    expect((await call('GET', 'hpc-kv/key/k-fresh')).body.plan).toMatchObject({ action: 'none', message: 'not due' });
  });

  it('POST answers 202 with a status URL; the queue worker rotates the due object once; a second POST finds it not due', async () => {
    const { accepted, result } = await rotate('hpc-kv/key/k-due');
    expect(accepted.body).toMatchObject({ accepted: true, runId: expect.stringMatching(/^manual-/) });
    expect(accepted.body.statusUrl).toMatch(/^http:\/\/localhost\/api\/rotate\/hpc-kv\/key\/k-due\/status\?runId=manual-/);
    expect(result).toMatchObject({ status: 200, body: { phase: 'Completed', runId: accepted.body.runId, rotation: { status: 'Completed' } } });
    expect(result.body.events.map((e) => e.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(2);
    const again = await rotate('hpc-kv/key/k-due');
    expect(again.result.body).toMatchObject({ phase: 'Queued', events: [] }); // ran, found nothing due, wrote nothing
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-due')).toBe(2);
  });

  it('POST ?force=true rotates an object that is not due, audited as a manual request', async () => {
    await rotate('hpc-kv/key/k-fresh');
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-fresh')).toBe(1);
    const forced = await rotate('hpc-kv/key/k-fresh', '?force=true');
    expect(forced.result.body).toMatchObject({ phase: 'Completed', reason: 'ManualRequest' });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-fresh')).toBe(2);
    const rows = (await t.auditRows()).filter((r) => r.objectName === 'k-fresh');
    expect(rows.map((r) => r.action)).toEqual(['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted']);
    expect(rows.every((r) => r.trigger === 'manual' && r.reason === 'ManualRequest')).toBe(true);
  });

  it('force does not override the object: notify mode notifies, a disabled secret is only reported', async () => {
    expect((await rotate('hpc-kv/key/k-notify', '?force=true')).result.body).toMatchObject({ phase: 'ActionRequired', reason: 'NotifyOnly' });
    expect((await rotate('hpc-kv/secret/s-disabled', '?force=true')).result.body).toMatchObject({ phase: 'NotRotated', reason: 'Disabled' });
    expect(await versionCount(t.clients('hpc-kv'), 'key', 'k-notify')).toBe(1);
    expect(await versionCount(t.clients('hpc-kv'), 'secret', 's-disabled')).toBe(1);
  });

  it('answers bad parameters with 400 naming the parameter, unknown vaults and missing objects with 404', async () => {
    expect(await call('GET', 'hpc-kv/blob/x')).toMatchObject({ status: 400, body: { error: { parameter: 'type' } } });
    expect(await call('GET', "hpc-kv/key/x' or 1 eq 1")).toMatchObject({ status: 400, body: { error: { parameter: 'name' } } });
    expect(await call('POST', 'hpc-kv/key/k-due', '?dryRun=maybe')).toMatchObject({ status: 400, body: { error: { parameter: 'dryRun' } } });
    expect(await call('POST', 'hpc-kv/key/k-due', '?force=yes')).toMatchObject({ status: 400, body: { error: { parameter: 'force' } } });
    expect(await call('POST', 'other-kv/key/k-due')).toMatchObject({ status: 404, body: { error: { code: 'VaultNotManaged' } } });
    expect(await call('POST', 'hpc-kv/key/missing')).toMatchObject({ status: 404, body: { error: { code: 'ObjectNotFound' } } });
  });
});
