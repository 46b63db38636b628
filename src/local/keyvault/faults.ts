/**
 * Fault and load injection for one vault: fixed latency, 429s from Key Vault's per-10-second budgets or for a share
 * of requests, and 500/503 for a share of requests. Shares are drawn from a seeded PRNG so tests are repeatable.
 */
import { z } from 'zod';
import { KeyVaultError, throttled } from './errors.js';
import { SlidingWindowBudget, type OperationClass } from './throttle.js';
import { withoutUndefined } from './util.js';
import { DEFAULT_SEND_RETRY_AFTER, KEY_VAULT_PUBLISHED_LIMITS, type FaultOptions, type ThrottleLimits } from './types.js';
import { mulberry32 } from '../../core/generators.js';

const share = z.number().min(0).max(1);
const budget = z.number().int().min(0);

/** FaultOptions as accepted over HTTP (POST /_rotor/faults). */
export const faultOptionsSchema = z.strictObject({
  latencyMs: z.number().int().min(0).optional(),
  throttleShare: share.optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
  serverErrorShare: share.optional(),
  limits: z
    .union([
      z.literal(false),
      z.strictObject({
        read: budget.optional(),
        rsa2048Create: budget.optional(),
        otherKeyCreate: budget.optional(),
        secretCreate: budget.optional(),
        write: budget.optional(),
      }),
    ])
    .optional(),
  seed: z.number().int().optional(),
  sendRetryAfter: z.boolean().optional(),
});


interface FaultState {
  latencyMs: number;
  throttleShare: number;
  retryAfterSeconds: number;
  serverErrorShare: number;
  limits: ThrottleLimits | false;
  sendRetryAfter: boolean;
}

export class FaultController {
  private state: FaultState = {
    latencyMs: 0,
    throttleShare: 0,
    retryAfterSeconds: 1,
    serverErrorShare: 0,
    limits: { ...KEY_VAULT_PUBLISHED_LIMITS },
    sendRetryAfter: DEFAULT_SEND_RETRY_AFTER,
  };
  private random = mulberry32(1);
  private readonly budget: SlidingWindowBudget;

  constructor(monotonicNow: () => number, initial: FaultOptions = {}) {
    this.budget = new SlidingWindowBudget(monotonicNow);
    this.update(initial);
  }

  /** Merges options into the current faults; `limits` merges per class, `false` switches budgets off. */
  update(options: FaultOptions): void {
    const { limits, seed, ...rest } = options;
    this.state = { ...this.state, ...withoutUndefined(rest) };
    if (limits === false) this.state.limits = false;
    else if (limits) this.state.limits = { ...(this.state.limits || KEY_VAULT_PUBLISHED_LIMITS), ...withoutUndefined(limits) };
    if (seed !== undefined) this.random = mulberry32(seed);
  }

  get latencyMs(): number {
    return this.state.latencyMs;
  }

  /**
   * Decides whether a request that reached a handler fails: share-based 429, share-based 500/503, then the budgets
   * of its operation classes. Returns the error to answer with, or undefined to proceed.
   */
  decide(classes: readonly OperationClass[]): KeyVaultError | undefined {
    const { throttleShare, serverErrorShare, retryAfterSeconds, limits, sendRetryAfter } = this.state;
    if (throttleShare > 0 && this.random() < throttleShare) {
      return throttled(sendRetryAfter ? retryAfterSeconds : undefined);
    }
    if (serverErrorShare > 0 && this.random() < serverErrorShare) {
      return this.random() < 0.5
        ? new KeyVaultError(500, 'InternalServerError', 'Injected server error (serverErrorShare).')
        : new KeyVaultError(503, 'ServiceUnavailable', 'Injected service unavailability (serverErrorShare).');
    }
    if (limits === false) return undefined;
    const decision = this.budget.tryAcquire(classes, limits);
    if (decision.ok) return undefined;
    return throttled(sendRetryAfter ? decision.retryAfterSeconds : undefined);
  }
}
