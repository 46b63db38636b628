/**
 * The local Key Vault endpoint's HTTP behaviour and fault injection, seen through raw requests and the SDK: the
 * bearer challenge, api-version and path handling, throttling (budgets and shares) with Retry-After, injected
 * server errors, latency, and the /_rotor control API.
 */
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultClients } from '../../src/adapters/azure-clients.js';
import type { LocalStack } from '../../src/local/stack.js';
import { DEFAULT_SEND_RETRY_AFTER } from '../../src/local/keyvault/types.js';
import { clientsFor, rawRequest, startKeyVaultStack } from './helpers/keyvault.js';

let stack: LocalStack;
let kv: KeyVaultClients;
const NO_FAULTS = {
  throttleShare: 0,
  serverErrorShare: 0,
  latencyMs: 0,
  limits: { rsa2048Create: 20, read: 4000, secretCreate: 300 },
  sendRetryAfter: DEFAULT_SEND_RETRY_AFTER,
};
const REAL_429_BODY = {
  error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' },
};

beforeAll(async () => {
  stack = await startKeyVaultStack({ vaults: ['hpc-prod', 'hpc-test'] });
  kv = clientsFor(stack, 'hpc-prod');
  await kv.secrets.setSecret('probe', 'value');
  stack.keyVault.resetCounters();
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(() => {
  stack.keyVault.setFaults('*', NO_FAULTS);
  stack.keyVault.resetCounters();
});

describe('requests', () => {
  it('challenges requests without the bearer token (before reading any body) and the SDK then succeeds', async () => {
    const anonymous = await rawRequest(stack, 'PUT', 'secrets/x?api-version=2025-07-01', { body: { value: 'v' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[0-9a-f-]{36}", resource="https:\/\/vault\.azure\.net"$/,
    );
    expect(anonymous.json().error.code).toBe('Unauthorized');
    const wrong = await rawRequest(stack, 'GET', 'secrets?api-version=2025-07-01', { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBeDefined();

    const fresh = clientsFor(stack, 'hpc-prod');
    expect((await fresh.secrets.getSecret('probe')).value).toBe('value');
    expect(stack.keyVault.counters('hpc-prod')).toMatchObject({ unauthorized: 3, 'secrets.get': 1 });
  });

  it('accepts 2025-07-01 and 7.x api-versions, percent-encoded, and rejects missing or unknown ones with 400', async () => {
    for (const query of ['api-version=2025-07-01', 'api%2Dversion=7.5', 'api-version=7.6-preview.2']) {
      expect((await rawRequest(stack, 'GET', `secrets/probe?${query}`, { token: stack.token })).status).toBe(200);
    }
    const missing = await rawRequest(stack, 'GET', 'secrets/probe', { token: stack.token });
    expect(missing.status).toBe(400);
    expect(missing.json().error.code).toBe('BadParameter');
    const unknown = await rawRequest(stack, 'GET', 'secrets/probe?api-version=1999-01-01', { token: stack.token });
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'BadParameter', message: expect.stringContaining('1999-01-01') });
  });

  it('accepts paths with and without a trailing slash, and answers 501 for operations it does not emulate', async () => {
    const withSlash = await rawRequest(stack, 'GET', 'secrets/probe/?api-version=2025-07-01', { token: stack.token });
    const without = await rawRequest(stack, 'GET', 'secrets/probe?api-version=2025-07-01', { token: stack.token });
    expect(withSlash.json().id).toBe(without.json().id);
    const backup = await rawRequest(stack, 'POST', 'secrets/probe/backup?api-version=2025-07-01', { token: stack.token });
    expect(backup.status).toBe(501);
    expect(backup.json().error.code).toBe('NotImplemented');
  });

  it('serves each vault on its own port with its own objects', async () => {
    const [prod, test] = ['hpc-prod', 'hpc-test'].map((v) => new URL(stack.keyVault.vaultUrl(v)).port);
    expect(prod).not.toBe(test);
    await expect(clientsFor(stack, 'hpc-test').secrets.getSecret('probe')).rejects.toMatchObject({ statusCode: 404 });
    expect(JSON.parse(stack.keyVault.settings()['ROTOR_LOCAL_VAULTS'] ?? '{}')).toEqual({
      'hpc-prod': `${stack.keyVault.vaultUrl('hpc-prod')}/`,
      'hpc-test': `${stack.keyVault.vaultUrl('hpc-test')}/`,
    });
    expect(stack.keyVault.ports()).toEqual({ 'hpc-prod': Number(prod), 'hpc-test': Number(test) });
  });
});

describe('throttling and faults', () => {
  it("answers 429 Throttled with an integer Retry-After once an operation class's 10-second budget is spent", async () => {
    stack.keyVault.setFaults('hpc-prod', { limits: { rsa2048Create: 1 }, sendRetryAfter: true });
    await kv.keys.createRsaKey('budgeted', { keySize: 2048 });
    const throttled = await rawRequest(stack, 'POST', 'keys/budgeted2/create?api-version=2025-07-01', { token: stack.token, body: { kty: 'RSA' } });
    expect(throttled.status).toBe(429);
    expect(throttled.json()).toEqual(REAL_429_BODY);
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10).toBe(true);
    // Another class (and an EC create) still has budget; a certificate create counts as a key create.
    expect((await rawRequest(stack, 'POST', 'keys/ec-ok/create?api-version=2025-07-01', { token: stack.token, body: { kty: 'EC' } })).status).toBe(200);
    const certificate = await rawRequest(stack, 'POST', 'certificates/c/create?api-version=2025-07-01', {
      token: stack.token,
      body: { policy: { x509_props: { subject: 'CN=c' } } },
    });
    expect(certificate.status).toBe(429);
    expect(stack.keyVault.counters('hpc-prod')).toMatchObject({ 'keys.create': 3, 'certificates.create': 1, throttled: 2 });
  });

  it("answers 429 as a real Key Vault does, without Retry-After and with the real body, which the SDK does not retry", async () => {
    stack.keyVault.setFaults('hpc-prod', { throttleShare: 1, sendRetryAfter: false });
    const throttled = await rawRequest(stack, 'PUT', 'secrets/budgeted-secret?api-version=2025-07-01', { token: stack.token, body: { value: 'v2' } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBeUndefined();
    expect(throttled.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(throttled.headers['cache-control']).toBe('no-cache');
    expect(throttled.json()).toEqual(REAL_429_BODY);
    // The Azure SDK's own retry policy retries a 429 only when it carries Retry-After: this one surfaces at once
    // (a plain SDK client; Rotor's clients add their own backoff, see test/integration/throttling.test.ts).
    const plain = new SecretClient(`${stack.keyVault.vaultUrl('hpc-prod')}/`, stack.credential, { tlsOptions: { ca: stack.ca.certPem }, disableChallengeResourceVerification: true });
    await expect(plain.setSecret('budgeted-secret', 'v3')).rejects.toMatchObject({ statusCode: 429, code: 'Throttled' });
    expect(stack.keyVault.counters('hpc-prod')).toMatchObject({ 'secrets.set': 2, throttled: 2 });
  });

  it('throttles a seeded share of requests; the SDK honours Retry-After and succeeds', async () => {
    stack.keyVault.setFaults('hpc-prod', { throttleShare: 0.5, retryAfterSeconds: 1, seed: 42, sendRetryAfter: true });
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await kv.secrets.getSecret('probe')).value).toBe('value');
    const counters = stack.keyVault.counters('hpc-prod');
    expect(counters['throttled']).toBeGreaterThan(0);
    expect(counters['secrets.get']).toBe(3 + (counters['throttled'] ?? 0));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000 * (counters['throttled'] ?? 0) - 50);
  });

  it('answers a seeded share of requests with 500/503, which the SDK retries', async () => {
    stack.keyVault.setFaults('hpc-prod', { serverErrorShare: 0.4, seed: 7 });
    for (let i = 0; i < 3; i++) await kv.secrets.setSecret('flaky', `v${i}`);
    const counters = stack.keyVault.counters('hpc-prod');
    expect(counters['serverError']).toBeGreaterThan(0);
    expect(counters['secrets.set']).toBe(3 + (counters['serverError'] ?? 0));
    expect((await kv.secrets.getSecret('flaky')).value).toBe('v2');
  });

  it('adds a fixed latency to every request', async () => {
    stack.keyVault.setFaults('hpc-prod', { latencyMs: 150 });
    const started = performance.now();
    await kv.secrets.getSecret('probe');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    stack.keyVault.setFaults('hpc-prod', { latencyMs: 0 });
  });
});

describe('control API', () => {
  it('exposes counters, faults, seeding and expiry checks over HTTP, behind the bearer token', async () => {
    expect((await rawRequest(stack, 'GET', '_rotor/counters')).status).toBe(401);
    await kv.secrets.getSecret('probe');
    const counters = await rawRequest(stack, 'GET', '_rotor/counters', { token: stack.token, vault: 'hpc-prod' });
    expect(counters.json()).toMatchObject({ 'secrets.get': 1 });

    const faults = await rawRequest(stack, 'POST', '_rotor/faults', { token: stack.token, body: { throttleShare: 1, retryAfterSeconds: 3, sendRetryAfter: true } });
    expect(faults.status).toBe(200);
    const throttled = await rawRequest(stack, 'GET', 'secrets/probe?api-version=2025-07-01', { token: stack.token });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('3');
    const invalid = await rawRequest(stack, 'POST', '_rotor/faults', { token: stack.token, body: { throttleShare: 2 } });
    expect(invalid.status).toBe(400);
    expect(invalid.json().error.message).toContain('throttleShare');
    stack.keyVault.setFaults('hpc-prod', { throttleShare: 0 });

    const seed = await rawRequest(stack, 'POST', '_rotor/seed', {
      token: stack.token,
      body: { vaults: { 'hpc-test': { secrets: [{ name: 'seeded-over-http', value: 's', expires: '-1d' }] } } },
    });
    expect(seed.status).toBe(200);
    expect((await clientsFor(stack, 'hpc-test').secrets.getSecret('seeded-over-http')).value).toBe('s');
    const badSeed = await rawRequest(stack, 'POST', '_rotor/seed', { token: stack.token, body: { vaults: { nope: {} } } });
    expect(badSeed.status).toBe(400);
    expect(badSeed.json().error.message).toContain('nope');

    const check = await rawRequest(stack, 'POST', '_rotor/check-expiry', { token: stack.token });
    expect(check.json()).toEqual({ emitted: 1 });
  });
});
