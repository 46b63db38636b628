/**
 * Rotor's own 429 handling (src/adapters/throttling.ts) in the SDK's real pipeline (createPipelineFromOptions with
 * the SDK's default retry policy), with a scripted HTTP client underneath: a 429 without Retry-After — what real Key
 * Vault sends — is retried with full-jitter backoff inside the budget and the deadline; alone, the SDK gives up.
 */
import {
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { asyncDeadlines } from '../../src/adapters/deadline.js';
import { fullJitterDelay, throttleDecision, throttleRetryPolicy, type ThrottledRequest, type ThrottleRetryDeps } from '../../src/adapters/throttling.js';

const THROTTLED_BODY = JSON.stringify({
  error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' },
});

/** Answers each request with the next scripted status (then 200), recording them. */
function scripted(statuses: Array<number | [number, Record<string, string>]>): HttpClient & { sent: number } {
  const client = {
    sent: 0,
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      const next = statuses[client.sent++] ?? 200;
      const [status, headers] = Array.isArray(next) ? next : [next, {}];
      return { request, status, headers: createHttpHeaders(headers), bodyAsText: status === 429 ? THROTTLED_BODY : '{}' };
    },
  };
  return client;
}

function pipeline(withRotor: boolean, deps: ThrottleRetryDeps = {}, options = {}) {
  const p = createPipelineFromOptions({ retryOptions: { maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 2 } });
  if (withRotor) p.addPolicy(throttleRetryPolicy(options, deps), { afterPhase: 'Retry' });
  return p;
}

const request = () => createPipelineRequest({ url: 'https://kv.vault.azure.net/keys/k/rotate?api-version=2025-07-01', method: 'POST' });

function recordingDeps(random = () => 0.5): ThrottleRetryDeps & { waits: number[]; reported: number[]; requests: ThrottledRequest[] } {
  const waits: number[] = [];
  const reported: number[] = [];
  const requests: ThrottledRequest[] = [];
  return {
    waits,
    reported,
    requests,
    random,
    sleep: async (ms) => void waits.push(ms),
    onThrottled: (ms, r) => {
      reported.push(ms);
      requests.push(r);
    },
  };
}

describe('throttleRetryPolicy in the SDK pipeline', () => {
  it('the SDK alone does not retry a 429 without Retry-After (why Rotor needs its own)', async () => {
    const client = scripted([429]);
    const response = await pipeline(false).sendRequest(client, request());
    expect(response.status).toBe(429);
    expect(client.sent).toBe(1);
  });

  it('retries 429s without Retry-After with exponential full-jitter backoff, and reports each wait', async () => {
    const client = scripted([429, 429, 429, 429]);
    const deps = recordingDeps(() => 0.5);
    const response = await pipeline(true, deps, { baseDelayMs: 100, maxDelayMs: 10_000 }).sendRequest(client, request());
    expect(response.status).toBe(200);
    expect(client.sent).toBe(5);
    // Half of the ceiling 100 · 2^n at random = 0.5.
    expect(deps.waits).toEqual([50, 100, 200, 400]);
    expect(deps.reported).toEqual(deps.waits);
    // One request: the same id on every report, and the waits were Rotor's choice (no Retry-After).
    expect(new Set(deps.requests.map((r) => r.id)).size).toBe(1);
    expect(deps.requests.every((r) => !r.retryAfter && r.method === 'POST')).toBe(true);
  });

  it('caps the backoff ceiling', async () => {
    const deps = recordingDeps(() => 0.999);
    await pipeline(true, deps, { baseDelayMs: 1000, maxDelayMs: 3000 }).sendRequest(scripted([429, 429, 429, 429]), request());
    expect(deps.waits).toEqual([999, 1998, 2997, 2997]);
  });

  it('honours Retry-After when the service sends one', async () => {
    const deps = recordingDeps();
    const response = await pipeline(true, deps).sendRequest(scripted([[429, { 'Retry-After': '2' }], [429, { 'retry-after-ms': '250' }]]), request());
    expect(response.status).toBe(200);
    expect(deps.waits).toEqual([2000, 250]);
    expect(deps.requests.map((r) => r.retryAfter)).toEqual([true, true]); // the pacer holds every write as long
  });

  it('gives up after its retries and returns the 429 without Retry-After, so no other layer waits longer', async () => {
    const client = scripted(Array.from({ length: 20 }, () => [429, { 'Retry-After': '1' }] as [number, Record<string, string>]));
    const deps = recordingDeps();
    const response = await pipeline(true, deps, { maxRetries: 3 }).sendRequest(client, request());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeUndefined();
    expect(response.headers.get('x-rotor-throttle-gave-up')).toMatch(/3 retries/);
    // Our 3 retries, and the SDK's retry policy passes the 429 through once (no Retry-After left, not a 5xx).
    expect(client.sent).toBe(4);
  });

  it('stops when the wait budget of the request is spent', async () => {
    const deps = recordingDeps(() => 0.99);
    const response = await pipeline(true, deps, { baseDelayMs: 1000, maxWaitMs: 2500 }).sendRequest(scripted([429, 429, 429, 429]), request());
    expect(response.status).toBe(429);
    expect(deps.waits).toEqual([990]); // 990 + 1980 would pass 2500
  });

  it("stops before the invocation's deadline", async () => {
    const deps = recordingDeps(() => 0.99);
    const client = scripted([429, 429, 429]);
    const response = await asyncDeadlines.run(1500, () => pipeline(true, deps, { baseDelayMs: 1000 }).sendRequest(client, request()));
    expect(response.status).toBe(429);
    expect(deps.waits).toEqual([990]);
    expect(response.headers.get('x-rotor-throttle-gave-up')).toMatch(/deadline/);
  });

  it('leaves other statuses to the SDK (5xx are retried by its exponential strategy)', async () => {
    const deps = recordingDeps();
    const client = scripted([503, 500, 404]);
    const response = await pipeline(true, deps).sendRequest(client, request());
    expect(response.status).toBe(404);
    expect(client.sent).toBe(3);
    expect(deps.waits).toEqual([]);
  });
});

describe('throttle decisions', () => {
  it('full jitter stays in [0, min(cap, base·2^n))', () => {
    for (let n = 0; n < 40; n++) {
      expect(fullJitterDelay(n, { baseDelayMs: 1000, maxDelayMs: 30_000 }, () => 0)).toBe(0);
      expect(fullJitterDelay(n, { baseDelayMs: 1000, maxDelayMs: 30_000 }, () => 0.999999)).toBeLessThan(Math.min(30_000, 1000 * 2 ** n));
    }
  });

  it('a nested deadline scope only shortens the outer one', async () => {
    const now = 1_000_000;
    const decide = (deadline: number | undefined) => throttleDecision(0, 0, 5000, {}, () => 0, now, deadline);
    expect(decide(undefined)).toEqual({ retry: true, delayMs: 5000 });
    expect(decide(now + 4000)).toMatchObject({ retry: false });
    const { currentDeadline } = await import('../../src/adapters/deadline.js');
    const inner = await asyncDeadlines.run(10_000, () => asyncDeadlines.run(60_000, async () => currentDeadline()));
    expect(inner! - Date.now()).toBeLessThanOrEqual(10_000);
  });
});

describe('Key Vault write classes of a throttled request', () => {
  it('names key creations and secret writes, nothing for reads', async () => {
    const { keyVaultWriteClasses } = await import('../../src/adapters/azure-clients.js');
    const kv = 'https://kv.vault.azure.net';
    expect(keyVaultWriteClasses({ method: 'POST', url: `${kv}/keys/k1/rotate?api-version=2025-07-01` })).toEqual(['rsa2048Create', 'otherKeyCreate']);
    expect(keyVaultWriteClasses({ method: 'POST', url: `${kv}/certificates/c1/create/?api-version=2025-07-01` })).toEqual(['rsa2048Create', 'otherKeyCreate']);
    expect(keyVaultWriteClasses({ method: 'PUT', url: `${kv}/secrets/s1/?api-version=2025-07-01` })).toEqual(['secretWrite']);
    expect(keyVaultWriteClasses({ method: 'GET', url: `${kv}/secrets/s1/?api-version=2025-07-01` })).toEqual([]);
    expect(keyVaultWriteClasses({ method: 'GET', url: `${kv}/keys?maxresults=25` })).toEqual([]);
  });
});
