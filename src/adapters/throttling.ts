/**
 * Rotor's own answer to throttling. Key Vault's real 429s carry no Retry-After (THROTTLING-429-NOTE: body code
 * "Throttled", reason VaultRequestTypeLimitReached), and the SDK's retry policy retries a 429 only when Retry-After
 * is present (throttlingRetryStrategy; exponentialRetryStrategy skips 429). So every throttled call would fail.
 *
 * `throttleRetryPolicy` is a pipeline policy placed inside the SDK's retry policy (position perRetry): it handles
 * every 429 itself — Retry-After when the service sends one, otherwise exponential backoff with full jitter
 * (a uniformly random wait between 0 and min(cap, base · 2^attempt)) — and stops when the request's own wait budget
 * or the invocation's deadline (see deadline.ts) would be passed. When it gives up it removes the Retry-After
 * headers from the 429 it returns, so no other layer waits beyond the budget: the caller sees the 429.
 * Each wait is reported (`onThrottled`) so the per-vault pacer holds the vault's writes meanwhile.
 */
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';
import { currentDeadline } from './deadline.js';

export interface ThrottleRetryOptions {
  /** First backoff ceiling in ms (doubles per retry). Default 1,000. */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling in ms. Default 30,000. */
  readonly maxDelayMs?: number;
  /** Retries of one request after 429s. Default 30. */
  readonly maxRetries?: number;
  /** Total wait one request may spend on 429s, in ms. Default 300,000 (and never past the invocation's deadline). */
  readonly maxWaitMs?: number;
}

/** What a throttled request was, for the pacer: its method and URL. */
export interface ThrottledRequest {
  readonly method: string;
  readonly url: string;
  /** The request's client id: the same across its retries. */
  readonly id: string;
  /** Whether the service said how long to wait (Retry-After), rather than Rotor's own backoff choosing it. */
  readonly retryAfter: boolean;
}

export interface ThrottleRetryDeps {
  /** Told about every wait (ms) after a 429: the per-vault pacer pauses the vault's writes as long. */
  readonly onThrottled?: ((delayMs: number, request: ThrottledRequest) => void) | undefined;
  /** Uniform in [0, 1); injected for tests. */
  readonly random?: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignalLike) => Promise<void>;
}

interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * Defaults. The invocation's deadline is the real bound; the per-request budget only keeps one request from waiting
 * out a whole invocation. (A first run of the 1,000-key wave with 10 retries and 2 minutes lost 15 rotations: retries
 * are not paced, so under a vault granting less than Rotor's configured limit some requests lost the race 10 times.)
 */
export const THROTTLE_DEFAULTS: Required<ThrottleRetryOptions> = { baseDelayMs: 1_000, maxDelayMs: 30_000, maxRetries: 30, maxWaitMs: 300_000 };

/** Retry-After of a response in ms (retry-after-ms, x-ms-retry-after-ms, Retry-After in seconds or as an HTTP date). */
export function retryAfterMs(headers: { get(name: string): string | undefined }, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full jitter: uniform in [0, min(cap, base · 2^attempt)) — spreads retries of many callers apart. */
export function fullJitterDelay(attempt: number, options: Pick<ThrottleRetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const base = options.baseDelayMs ?? THROTTLE_DEFAULTS.baseDelayMs;
  const cap = options.maxDelayMs ?? THROTTLE_DEFAULTS.maxDelayMs;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * What to do after the `attempt`-th 429 (0-based) of one request: wait `delayMs`, or give up. Pure, so the policy
 * and the HPC Pack head node client (plain HTTPS, no SDK pipeline) decide the same way.
 */
export function throttleDecision(
  attempt: number,
  waitedMs: number,
  retryAfter: number | undefined,
  options: ThrottleRetryOptions,
  random: () => number,
  now: number,
  deadline: number | undefined,
): { retry: true; delayMs: number } | { retry: false; why: string } {
  const o = { ...THROTTLE_DEFAULTS, ...options };
  if (attempt >= o.maxRetries) return { retry: false, why: `${o.maxRetries} retries after 429` };
  const delayMs = retryAfter ?? fullJitterDelay(attempt, o, random);
  if (waitedMs + delayMs > o.maxWaitMs) return { retry: false, why: `wait budget of ${o.maxWaitMs} ms spent` };
  if (deadline !== undefined && now + delayMs > deadline) return { retry: false, why: "the invocation's deadline would pass" };
  return { retry: true, delayMs };
}

function abortableSleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const err = new Error('The operation was aborted.');
  err.name = 'AbortError';
  return err;
}

const RETRY_AFTER_HEADERS = ['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms'];

/** Handles every 429 of the pipeline it is in (place it perRetry: inside the SDK's retry policy). */
export function throttleRetryPolicy(options: ThrottleRetryOptions = {}, deps: ThrottleRetryDeps = {}): PipelinePolicy {
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? abortableSleep;
  return {
    name: 'rotorThrottleRetry',
    async sendRequest(request, next) {
      let waited = 0;
      for (let attempt = 0; ; attempt++) {
        const response: PipelineResponse = await next(request);
        if (response.status !== 429) return response;
        const t = now();
        const retryAfter = retryAfterMs(response.headers, t);
        const decision = throttleDecision(attempt, waited, retryAfter, options, random, t, currentDeadline());
        if (!decision.retry) {
          // Nobody else waits past this budget: the SDK's throttling strategy only retries with Retry-After.
          for (const h of RETRY_AFTER_HEADERS) response.headers.delete(h);
          response.headers.set('x-rotor-throttle-gave-up', decision.why);
          return response;
        }
        deps.onThrottled?.(decision.delayMs, { method: request.method, url: request.url, id: request.requestId, retryAfter: retryAfter !== undefined });
        await sleep(decision.delayMs, request.abortSignal);
        waited += decision.delayMs;
      }
    },
  };
}
