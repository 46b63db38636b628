/**
 * Key Vault's service limits: per vault, each operation class has a budget of requests per 10-second window. This
 * is a sliding window over a monotonic clock; a request over budget learns how long until the window frees a slot.
 */
import type { KeyShape } from './key-material.js';
import type { ThrottleLimits } from './types.js';

export type OperationClass = keyof ThrottleLimits;

const THROTTLE_WINDOW_MS = 10_000;

/** Key Vault budgets RSA-2048 key creation apart from the costlier RSA sizes and EC keys. */
export const keyCreateClass = (shape: KeyShape): OperationClass =>
  shape.kind === 'RSA' && shape.size === 2048 ? 'rsa2048Create' : 'otherKeyCreate';

export type BudgetDecision = { ok: true } | { ok: false; operationClass: OperationClass; retryAfterSeconds: number };

export class SlidingWindowBudget {
  /** Accepted request times per class, oldest first. */
  private readonly accepted = new Map<OperationClass, number[]>();

  constructor(
    private readonly monotonicNow: () => number,
    private readonly windowMs = THROTTLE_WINDOW_MS,
  ) {}

  /**
   * Admits a request that costs one unit of each class, or refuses it without charging anything. Retry-After is the
   * time until the oldest accepted request of the exhausted class leaves the window, in whole seconds (at least 1).
   */
  tryAcquire(classes: readonly OperationClass[], limits: ThrottleLimits): BudgetDecision {
    const now = this.monotonicNow();
    for (const operationClass of classes) {
      const times = this.prune(operationClass, now);
      if (times.length >= limits[operationClass]) {
        const oldest = times[times.length - limits[operationClass]] ?? now;
        const waitMs = oldest + this.windowMs - now;
        return { ok: false, operationClass, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
      }
    }
    for (const operationClass of classes) this.prune(operationClass, now).push(now);
    return { ok: true };
  }

  reset(): void {
    this.accepted.clear();
  }

  private prune(operationClass: OperationClass, now: number): number[] {
    let times = this.accepted.get(operationClass);
    if (!times) {
      times = [];
      this.accepted.set(operationClass, times);
    }
    let expired = 0;
    while (expired < times.length && (times[expired] ?? 0) <= now - this.windowMs) expired++;
    if (expired > 0) times.splice(0, expired);
    return times;
  }
}
