/**
 * The local ARM endpoint as clients see it when things go wrong: authentication, api-version, injected 5xx, 429 with
 * Retry-After, latency and hangs (per resource provider, deterministic by seed), the `/_rotor` HTTP control
 * surface, persistence across a restart, and stop() releasing its port even with a request hanging.
 */
import { BatchManagementClient } from '@azure/arm-batch';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { StorageCacheManagementClient } from '@azure/arm-storagecache';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StaticTokenCredential } from '../../src/adapters/credentials.js';
import { BatchPools } from '../../src/adapters/consumers/arm.js';
import { DEFAULT_SUBSCRIPTION_ID, startArmEmulator, type ArmEmulator, type ArmSeed } from '../../src/local/arm/index.js';
import { mulberry32 as seededRandom } from '../../src/core/generators.js';
import { createTestContext, type TestContext } from '../helpers/local-context.js';
import { httpsRequest, portIsClosed } from '../helpers/net.js';

const SEED: ArmSeed = {
  batchAccounts: [{ resourceGroup: 'rg', name: 'acct' }],
  batchPools: [{ resourceGroup: 'rg', account: 'acct', name: 'pool' }],
  caches: [{ resourceGroup: 'rg', name: 'cache' }],
  vaults: [{ resourceGroup: 'rg', name: 'kv', vaultUri: 'https://kv.vault.azure.net' }],
};

let t: TestContext;
let arm: ArmEmulator;

const batch = (maxRetries = 0, credential = t.credential): BatchManagementClient =>
  new BatchManagementClient(credential, DEFAULT_SUBSCRIPTION_ID, {
    endpoint: arm.url,
    credentialScopes: ['https://management.azure.com/.default'],
    tlsOptions: { ca: t.ca.certPem },
    retryOptions: { maxRetries, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
  });

const caches = (): StorageCacheManagementClient =>
  new StorageCacheManagementClient(t.credential, DEFAULT_SUBSCRIPTION_ID, {
    endpoint: arm.url,
    tlsOptions: { ca: t.ca.certPem },
    retryOptions: { maxRetries: 0 },
  });

const control = (method: string, path: string, body?: unknown, token = t.ctx.token) =>
  httpsRequest(`${arm.url}/_rotor/${path}`, {
    ca: t.ca.certPem,
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  t = await createTestContext();
  arm = await startArmEmulator(t.ctx, { seed: SEED });
});

afterEach(() => {
  arm.clearFaults('*');
  arm.resetCounters();
});

afterAll(async () => {
  await arm.stop();
  await t.dispose();
});

describe('authentication and protocol errors', () => {
  it('answers 401 with an ARM error and a Bearer challenge without a token', async () => {
    const res = await httpsRequest(`${arm.url}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Batch/batchAccounts?api-version=2023-11-01`, {
      ca: t.ca.certPem,
    });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'AuthenticationFailed', message: expect.stringContaining('Authorization') } });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('rejects an SDK client with the wrong token', async () => {
    const client = batch(0, new StaticTokenCredential('not-the-token'));
    await expect(client.batchAccountOperations.get('rg', 'acct')).rejects.toMatchObject({
      statusCode: 401,
      code: 'InvalidAuthenticationToken',
    });
    expect(arm.counters()['unauthorized']).toBe(1);
  });

  it('requires a supported api-version', async () => {
    const base = `${arm.url}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct`;
    const headers = { authorization: `Bearer ${t.ctx.token}` };
    const missing = await httpsRequest(base, { ca: t.ca.certPem, headers });
    expect(missing.status).toBe(400);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('MissingApiVersionParameter');
    const wrong = await httpsRequest(`${base}?api-version=2017-01-01`, { ca: t.ca.certPem, headers });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('2023-11-01');
  });

  it('refuses writes and unknown paths with ARM error bodies', async () => {
    const headers = { authorization: `Bearer ${t.ctx.token}` };
    const put = await httpsRequest(
      `${arm.url}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct?api-version=2023-11-01`,
      { ca: t.ca.certPem, headers, method: 'PUT', body: '{}' },
    );
    expect(put.status).toBe(405);
    const unknown = await httpsRequest(`${arm.url}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Compute/virtualMachines?api-version=2024-01-01`, {
      ca: t.ca.certPem,
      headers,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('NotFound');
  });
});

describe('injected faults', () => {
  it('answers 5xx for one provider only and counts per operation', async () => {
    arm.setFaults('Microsoft.Batch', { serverErrorShare: 1, serverErrorStatus: 503 });
    await expect(batch().batchAccountOperations.get('rg', 'acct')).rejects.toMatchObject({ statusCode: 503, code: 'ServiceUnavailable' });
    await expect(caches().caches.get('rg', 'cache')).resolves.toMatchObject({ name: 'cache' });
    expect(arm.counters()).toEqual({
      'batch.accounts.get': 1,
      'faults.serverError': 1,
      'storagecache.caches.get': 1,
    });
  });

  it('fails the same requests for the same seed, and the SDK retries through them', async () => {
    const run = async (): Promise<Record<string, number>> => {
      arm.resetCounters();
      arm.setFaults('Microsoft.Batch', { serverErrorShare: 0.5, seed: 3 });
      for (let i = 0; i < 5; i++) await batch(10).poolOperations.get('rg', 'acct', 'pool');
      return arm.counters();
    };
    const first = await run();
    expect(first['faults.serverError']).toBeGreaterThan(0);
    expect(first['batch.pools.get']).toBe(5 + (first['faults.serverError'] ?? 0));
    expect(await run()).toEqual(first);
  });

  it('answers 429 with Retry-After, which the SDK honours', async () => {
    // Pick a seed whose first draw throttles and whose second does not.
    const seed = Array.from({ length: 100 }, (_, i) => i).find((s) => {
      const r = seededRandom(s);
      return r() < 0.5 && r() >= 0.5;
    });
    arm.setFaults('Microsoft.Batch', { throttleShare: 0.5, retryAfterSeconds: 1, seed });
    const started = Date.now();
    await expect(batch(3).batchAccountOperations.get('rg', 'acct')).resolves.toMatchObject({ name: 'acct' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(arm.counters()['faults.throttled']).toBe(1);

    arm.setFaults('Microsoft.Batch', { throttleShare: 1, retryAfterSeconds: 0 });
    const err = await batch(2).batchAccountOperations.get('rg', 'acct').catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 429, code: 'TooManyRequests' });
    expect(arm.counters()['faults.throttled']).toBe(4);
  });

  it("answers 429 without Retry-After, which only Rotor's clients retry (full-jitter backoff)", async () => {
    const seed = Array.from({ length: 100 }, (_, i) => i).find((s) => {
      const r = seededRandom(s);
      return r() < 0.5 && r() < 0.5 && r() >= 0.5;
    });
    arm.setFaults('Microsoft.Batch', { throttleShare: 0.5, sendRetryAfter: false, seed });
    const sdkAlone = await batch(3).poolOperations.get('rg', 'acct', 'pool').catch((e: unknown) => e);
    expect(sdkAlone).toMatchObject({ statusCode: 429 });
    arm.setFaults('Microsoft.Batch', { seed });
    arm.resetCounters();
    const environment = { credential: t.credential, caPem: t.ca.certPem, local: true, throttle: { baseDelayMs: 20 } };
    const pools = [];
    for await (const p of new BatchPools({ endpoint: arm.url, environment }, [{ accountId: `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct` }]).pools()) pools.push(p.name);
    expect(pools).toEqual(['pool']);
    expect(arm.counters()['faults.throttled']).toBe(2);
  });

  it('adds latency', async () => {
    arm.setFaults('Microsoft.StorageCache', { latencyMs: 150 });
    const started = Date.now();
    await caches().caches.get('rg', 'cache');
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('hangs until the client gives up, then serves again once cleared', async () => {
    arm.setFaults('Microsoft.KeyVault', { hang: true });
    const vaults = new KeyVaultManagementClient(t.credential, DEFAULT_SUBSCRIPTION_ID, {
      endpoint: arm.url,
      tlsOptions: { ca: t.ca.certPem },
      retryOptions: { maxRetries: 0 },
    });
    const started = Date.now();
    await expect(vaults.vaults.get('rg', 'kv', { abortSignal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(arm.counters()['faults.hang']).toBe(1);
    arm.clearFaults('Microsoft.KeyVault');
    await expect(vaults.vaults.get('rg', 'kv')).resolves.toMatchObject({ name: 'kv' });
  });
});

describe('HTTP control surface (/_rotor)', () => {
  it('sets and clears faults and reads and resets counters', async () => {
    expect((await control('PUT', 'faults/Microsoft.Batch', { serverErrorShare: 1 })).status).toBe(204);
    await expect(batch().batchAccountOperations.get('rg', 'acct')).rejects.toMatchObject({ statusCode: 500 });
    const counters = await control('GET', 'counters');
    expect(counters.json()).toEqual({ 'batch.accounts.get': 1, 'faults.serverError': 1 });
    expect((await control('DELETE', 'faults/*')).status).toBe(204);
    await expect(batch().batchAccountOperations.get('rg', 'acct')).resolves.toMatchObject({ name: 'acct' });
    expect((await control('DELETE', 'counters')).status).toBe(204);
    expect((await control('GET', 'counters')).json()).toEqual({});
  });

  it('names the bad field, rejects unknown providers and requires the token', async () => {
    const bad = await control('PUT', 'faults/Microsoft.StorageCache', { throttleShare: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('throttleShare');
    expect((await control('PUT', 'faults/Microsoft.Compute', {})).status).toBe(400);
    expect((await control('GET', 'counters', undefined, '')).status).toBe(401);
    expect((await control('POST', 'cache-rotation/check')).json()).toEqual({ scheduled: 0 });
  });
});

describe('lifecycle', () => {
  it('persists seeded and changed state to stateDir and serves it again on the same port', async () => {
    const stateDir = join(t.dir, 'arm-state');
    const first = await startArmEmulator(t.withState(stateDir), { seed: SEED });
    first.updateCache({ resourceGroup: 'rg', name: 'cache' }, { health: { state: 'Degraded', statusDescription: 'disk' } });
    await first.save();
    const ports = first.ports();
    const url = first.url;
    await first.stop();

    const second = await startArmEmulator(t.withState(stateDir, ports), { seed: { caches: [{ resourceGroup: 'rg', name: 'ignored' }] } });
    try {
      expect(second.url).toBe(url);
      const client = new StorageCacheManagementClient(t.credential, DEFAULT_SUBSCRIPTION_ID, {
        endpoint: second.url,
        tlsOptions: { ca: t.ca.certPem },
      });
      const names: string[] = [];
      for await (const c of client.caches.list()) names.push(c.name ?? '');
      expect(names).toEqual(['cache']);
      expect((await client.caches.get('rg', 'cache')).health).toMatchObject({ state: 'Degraded', statusDescription: 'disk' });
    } finally {
      await second.stop();
    }
  });

  it('stop() frees its port even while a request hangs', async () => {
    const own = await startArmEmulator(t.ctx, { seed: SEED, faults: { '*': { hang: true } } });
    const port = own.ports()['https'] ?? 0;
    const pending = httpsRequest(`${own.url}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Batch/batchAccounts?api-version=2023-11-01`, {
      ca: t.ca.certPem,
      headers: { authorization: `Bearer ${t.ctx.token}` },
    }).catch((e: unknown) => e);
    await expect.poll(() => own.counters()['faults.hang']).toBe(1);
    await own.stop();
    expect(await pending).toBeInstanceOf(Error);
    expect(await portIsClosed(port)).toBe(true);
  });
});
