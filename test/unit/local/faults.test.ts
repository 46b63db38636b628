import { describe, expect, it } from 'vitest';
import { FaultPlan, validateFaults } from '../../../src/local/shared/faults.js';
import { mulberry32 as seededRandom } from '../../../src/core/generators.js';

describe('seededRandom', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    for (const x of seqA) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('FaultPlan', () => {
  it('answers normally without faults', () => {
    const plan = new FaultPlan();
    expect(plan.decide()).toEqual({ kind: 'none' });
    expect(plan.latencyMs()).toBe(0);
  });

  it('hangs before drawing any share', () => {
    const plan = new FaultPlan();
    plan.set({ hang: true, throttleShare: 1 });
    expect(plan.decide()).toEqual({ kind: 'hang' });
  });

  it('throttles with Retry-After and fails with the chosen status at share 1', () => {
    const plan = new FaultPlan();
    plan.set({ throttleShare: 1, retryAfterSeconds: 7 });
    expect(plan.decide()).toEqual({ kind: 'throttle', retryAfterSeconds: 7 });
    plan.clear();
    plan.set({ serverErrorShare: 1, serverErrorStatus: 503 });
    expect(plan.decide()).toEqual({ kind: 'serverError', status: 503 });
  });

  it('draws the same faults for the same seed, close to the share over many requests', () => {
    const run = (): string[] => {
      const plan = new FaultPlan();
      plan.set({ serverErrorShare: 0.3, seed: 7 });
      return Array.from({ length: 1000 }, () => plan.decide().kind);
    };
    const first = run();
    expect(run()).toEqual(first);
    const errors = first.filter((k) => k === 'serverError').length;
    expect(errors).toBeGreaterThan(250);
    expect(errors).toBeLessThan(350);
  });

  it('merges options and restarts the sequence when a seed is set', () => {
    const plan = new FaultPlan();
    plan.set({ latencyMs: 20 });
    plan.set({ throttleShare: 0.5, seed: 3 });
    expect(plan.latencyMs()).toBe(20);
    const first = Array.from({ length: 20 }, () => plan.decide().kind);
    plan.set({ seed: 3 });
    expect(Array.from({ length: 20 }, () => plan.decide().kind)).toEqual(first);
  });

  it('rejects out-of-range options naming the field', () => {
    expect(() => validateFaults({ serverErrorShare: 1.5 })).toThrow(/faults\.serverErrorShare/);
    expect(() => validateFaults({ latencyMs: -1 })).toThrow(/faults\.latencyMs/);
    expect(() => new FaultPlan().set({ throttleShare: -0.1 })).toThrow(/faults\.throttleShare/);
  });
});
