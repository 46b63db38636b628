/**
 * Pacing of write operations per vault, so that a wave of rotations stays inside Key Vault's per-vault limits
 * instead of failing: a sliding-window limiter per operation class (the window Key Vault measures, plus a small
 * margin for network jitter), FIFO among waiters, and a pause whenever Key Vault answers 429 with Retry-After.
 */
import type { RotorConfig } from './config.js';
import type { Clock, Sleep } from './ports.js';

export type OperationClass = 'rsa2048Create' | 'otherKeyCreate' | 'secretWrite';

export const KEY_VAULT_WINDOW_MS = 10_000;
/** Requests leave a little after they are admitted; the margin keeps the vault's window from seeing N + 1. */
export const WINDOW_MARGIN_MS = 250;

export function operationClassForKey(keyType: string | undefined, keySize: number | undefined): OperationClass {
  return keyType?.toUpperCase().startsWith('RSA') && (keySize ?? 2048) === 2048 ? 'rsa2048Create' : 'otherKeyCreate';
}

/**
 * What a vault's pacer knows that the next holder of the vault's lease must know too (src/core/vault-work.ts): the
 * admission times still inside the window, per operation class, and how long Key Vault asked to pause. It travels with
 * the lease row, so a new holder does not start with a full budget that its predecessor has just spent.
 */
export interface PacerState {
  readonly admitted: Partial<Record<OperationClass, number[]>>;
  readonly pausedUntil: number;
}

class SlidingWindow {
  private admitted: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Admits one operation when the window has room; callers are served in arrival order. */
  acquire(clock: Clock, sleep: Sleep, pausedUntil: () => number): Promise<void> {
    const turn = this.tail.then(async () => {
      for (;;) {
        const now = clock.now().getTime();
        while (this.admitted.length && (this.admitted[0] ?? 0) <= now - this.windowMs) this.admitted.shift();
        const pause = pausedUntil() - now;
        if (pause > 0) {
          await sleep(pause);
          continue;
        }
        if (this.admitted.length < this.limit) {
          this.admitted.push(now);
          return;
        }
        await sleep((this.admitted[0] ?? now) + this.windowMs - now);
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Admission times still inside the window at `now`. */
  recent(now: number): number[] {
    return this.admitted.filter((t) => t > now - this.windowMs);
  }

  /** Takes over admissions made elsewhere (another instance's, for this vault): both are counted against the limit. */
  merge(times: readonly number[], now: number): void {
    const fresh = times.filter((t) => Number.isFinite(t) && t > now - this.windowMs && t <= now + this.windowMs);
    this.admitted = [...this.admitted, ...fresh].sort((a, b) => a - b).slice(-Math.max(this.limit, 1) * 2);
  }
}

export class VaultPacer {
  private readonly windows: Record<OperationClass, SlidingWindow>;
  private pausedUntilMs = 0;
  private throttledCount = 0;

  constructor(
    limits: RotorConfig['limits'],
    private readonly clock: Clock,
    private readonly sleep: Sleep,
    windowMs = KEY_VAULT_WINDOW_MS + WINDOW_MARGIN_MS,
  ) {
    this.windows = {
      rsa2048Create: new SlidingWindow(limits.rsa2048CreatesPer10s, windowMs),
      otherKeyCreate: new SlidingWindow(limits.otherKeyCreatesPer10s, windowMs),
      secretWrite: new SlidingWindow(limits.secretWritesPer10s, windowMs),
    };
  }

  acquire(operation: OperationClass): Promise<void> {
    return this.windows[operation].acquire(this.clock, this.sleep, () => this.pausedUntilMs);
  }

  /** Key Vault answered 429: hold every write to this vault until Retry-After has passed. */
  throttled(retryAfterMs: number): void {
    this.throttledCount++;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, this.clock.now().getTime() + Math.max(retryAfterMs, 0));
  }

  get throttledResponses(): number {
    return this.throttledCount;
  }

  /** The budget spent in the current window and any pause, to hand over with the vault's lease. */
  snapshot(): PacerState {
    const now = this.clock.now().getTime();
    const admitted: Partial<Record<OperationClass, number[]>> = {};
    for (const [op, window] of Object.entries(this.windows) as [OperationClass, SlidingWindow][]) {
      const recent = window.recent(now);
      if (recent.length) admitted[op] = recent;
    }
    return { admitted, pausedUntil: this.pausedUntilMs > now ? this.pausedUntilMs : 0 };
  }

  /** Counts a previous holder's admissions (and pause) against this pacer's budget. */
  restore(state: PacerState | undefined): void {
    if (!state) return;
    const now = this.clock.now().getTime();
    for (const [op, window] of Object.entries(this.windows) as [OperationClass, SlidingWindow][]) {
      const times = state.admitted[op];
      if (Array.isArray(times)) window.merge(times, now);
    }
    if (Number.isFinite(state.pausedUntil)) this.pausedUntilMs = Math.max(this.pausedUntilMs, Math.min(state.pausedUntil, now + 5 * 60_000));
  }
}
