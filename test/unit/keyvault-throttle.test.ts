import { describe, expect, it } from 'vitest';
import { FaultController } from '../../src/local/keyvault/faults.js';
import { THROTTLED_MESSAGE } from '../../src/local/keyvault/errors.js';
import { mulberry32 as seededRandom } from '../../src/core/generators.js';
import { SlidingWindowBudget } from '../../src/local/keyvault/throttle.js';
import { KEY_VAULT_PUBLISHED_LIMITS } from '../../src/local/keyvault/types.js';

const limits = { ...KEY_VAULT_PUBLISHED_LIMITS, rsa2048Create: 2, secretCreate: 1 };

describe('SlidingWindowBudget', () => {
  it('admits up to the budget per 10 s, then tells how long until the oldest request leaves the window', () => {
    let t = 1_000;
    const budget = new SlidingWindowBudget(() => t);
    expect(budget.tryAcquire(['rsa2048Create'], limits)).toEqual({ ok: true });
    t += 3_000;
    expect(budget.tryAcquire(['rsa2048Create'], limits)).toEqual({ ok: true });
    t += 1_000;
    expect(budget.tryAcquire(['rsa2048Create'], limits)).toEqual({ ok: false, operationClass: 'rsa2048Create', retryAfterSeconds: 6 });
    t = 1_000 + 10_000; // the first request leaves the window
    expect(budget.tryAcquire(['rsa2048Create'], limits)).toEqual({ ok: true });
    expect(budget.tryAcquire(['rsa2048Create'], limits)).toMatchObject({ ok: false, retryAfterSeconds: 3 });
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    let t = 0;
    const budget = new SlidingWindowBudget(() => t);
    budget.tryAcquire(['secretCreate'], limits);
    t = 9_999.5;
    expect(budget.tryAcquire(['secretCreate'], limits)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
  });

  it('charges every class of a request or none of them', () => {
    const budget = new SlidingWindowBudget(() => 0);
    expect(budget.tryAcquire(['secretCreate'], limits)).toEqual({ ok: true });
    expect(budget.tryAcquire(['write', 'secretCreate'], limits)).toMatchObject({ ok: false, operationClass: 'secretCreate' });
    for (let i = 0; i < limits.write; i++) expect(budget.tryAcquire(['write'], limits).ok).toBe(true);
  });

  it('keeps classes apart', () => {
    const budget = new SlidingWindowBudget(() => 0);
    budget.tryAcquire(['secretCreate'], limits);
    expect(budget.tryAcquire(['otherKeyCreate'], limits).ok).toBe(true);
  });
});

describe('FaultController', () => {
  it('is deterministic for a seed', () => {
    const decisions = (): (number | undefined)[] => {
      const faults = new FaultController(() => 0, { throttleShare: 0.3, serverErrorShare: 0.2, seed: 99, limits: false });
      return Array.from({ length: 40 }, () => faults.decide(['read'])?.status);
    };
    const first = decisions();
    expect(decisions()).toEqual(first);
    expect(first).toContain(429);
    expect(first.some((s) => s === 500 || s === 503)).toBe(true);
    expect(first).toContain(undefined);
  });

  it('merges updates: limits per class, false switches budgets off', () => {
    const faults = new FaultController(() => 0);
    faults.update({ limits: { secretCreate: 1 }, sendRetryAfter: true });
    expect(faults.decide(['secretCreate'])).toBeUndefined();
    expect(faults.decide(['secretCreate'])).toMatchObject({ status: 429, code: 'Throttled', headers: { 'Retry-After': '10' } });
    faults.update({ sendRetryAfter: false });
    const real = faults.decide(['secretCreate']);
    expect(real).toMatchObject({ status: 429, code: 'Throttled', headers: {} });
    expect(real?.body()).toEqual({ error: { code: 'Throttled', message: THROTTLED_MESSAGE } });
    expect(real?.headers).not.toHaveProperty('Retry-After');
    expect(faults.decide(['read'])).toBeUndefined();
    faults.update({ limits: false });
    expect(faults.decide(['secretCreate'])).toBeUndefined();
    faults.update({ latencyMs: 5 });
    expect(faults.latencyMs).toBe(5);
  });

  it('spreads the PRNG over [0, 1)', () => {
    const random = seededRandom(1);
    const values = Array.from({ length: 1000 }, random);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.filter((v) => v < 0.5).length).toBeGreaterThan(400);
  });
});
