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

class SlidingWindow {
  private readonly admitted: number[] = [];
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
}
