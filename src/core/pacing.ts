/**
 * Pacing of write operations per vault, so that a wave of rotations stays inside Key Vault's per-vault limits
 * instead of failing: a sliding-window limiter per operation class (the window Key Vault measures, plus a small
 * margin), each write holding its place from admission until a window after its response, FIFO among waiters, and a
 * pause whenever Key Vault answers 429. A 429 on a creation also lowers that class's admitted rate to what the vault
 * let through in the window (at least by one, at most to 70 % per episode of 429s) — Key Vault's 429s carry no
 * Retry-After, and the vault's real budget may be below the configured one (other clients share it) — and each full
 * window without one raises it again towards the configured limit (by 5 % of it): a throttled wave settles at what
 * the vault grants instead of spending its retries.
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
  /** Rates lowered after 429s (only those below the configured limit), so the next holder does not start higher. */
  readonly limits?: Partial<Record<OperationClass, number>> | undefined;
}
/** What is known of a 429: the request (the same across its retries) and whether the service said how long to wait. */
export interface ThrottleInfo {
  readonly request?: string | undefined;
  /** Default true: `waitMs` is the service's Retry-After. */
  readonly retryAfter?: boolean | undefined;
}

/** The longest pause of every write after a 429 without Retry-After. */
export const SELF_CHOSEN_PAUSE_MS = 1_000;

/** Share of the admitted rate kept after a 429, and the share of the configured limit regained per quiet window. */
export const THROTTLE_DECREASE = 0.7;
export const RECOVERY_SHARE = 0.05;

/** An admitted write: it holds its place in the window until `done()` (its response arrived), then for a window. */
export interface PacerSlot {
  done(): void;
}

class SlidingWindow {
  /** When each finished slot's request completed, oldest first: each holds the window for `windowMs` from then. */
  private completed: number[] = [];
  /** Slots admitted whose request has not completed: each counts against the limit until it does. */
  private inFlight = 0;
  /** Wakes the waiter at the head of the queue when an in-flight slot completes (it may then count its window). */
  private released: (() => void) | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** The rate admitted now: the configured limit, lowered after 429s. */
  private limit: number;
  private changedAt = Number.NEGATIVE_INFINITY;
  /** This class's requests refused (429) within the last window, each with its latest refusal. */
  private readonly refusals = new Map<string, number>();
  private anonymous = 0;
  /** The rate when the current episode of 429s began. */
  private episodeStart: number;

  constructor(
    private readonly configured: number,
    private readonly windowMs: number,
  ) {
    this.limit = configured;
    this.episodeStart = configured;
  }

  get currentLimit(): number {
    return this.limit;
  }

  get lowered(): boolean {
    return this.limit < this.configured;
  }

  /**
   * A write of this class was throttled: admit fewer. The vault let through about what this window holds less what it
   * refused, so the rate drops to that estimate (at least by one per 429) — but within one episode of 429s (half a
   * window apart at most) never below THROTTLE_DECREASE of the rate it started from, so a burst of refusals with
   * another cause cannot collapse it.
   */
  decrease(now: number, request = `anonymous-${++this.anonymous}`): void {
    this.recover(now);
    this.prune(now);
    for (const [key, at] of this.refusals) if (at <= now - this.windowMs) this.refusals.delete(key);
    const again = this.refusals.has(request);
    this.refusals.set(request, now);
    if (now - this.changedAt >= this.windowMs / 2) this.episodeStart = this.limit;
    // A retry refused again is the same write: it says nothing new about the vault's budget.
    if (again) return;
    const granted = this.completed.length + this.inFlight - this.refusals.size;
    const floor = Math.max(1, Math.floor(this.episodeStart * THROTTLE_DECREASE));
    this.limit = Math.max(floor, Math.min(this.limit - 1, granted));
    this.changedAt = now;
  }

  private recover(now: number): void {
    if (this.limit >= this.configured) return;
    const quiet = Math.floor((now - this.changedAt) / this.windowMs);
    if (quiet < 1) return;
    this.limit = Math.min(this.configured, this.limit + quiet * Math.max(1, Math.round(this.configured * RECOVERY_SHARE)));
    this.changedAt = now;
  }

  /**
   * Admits one operation when the window has room; callers are served in arrival order. The window counts a slot from
   * its admission until a window after its request completed: Key Vault counts the request when it arrives, which is
   * somewhere in between (and the 429 retries of one request all arrive before it completes), so counting from the
   * completion never lets the vault's window see more than the limit, whatever the delays on the way.
   */
  acquire(clock: Clock, sleep: Sleep, pausedUntil: () => number): Promise<PacerSlot> {
    const turn = this.tail.then(async (): Promise<PacerSlot> => {
      for (;;) {
        const now = clock.now().getTime();
        this.prune(now);
        this.recover(now);
        const pause = pausedUntil() - now;
        if (pause > 0) {
          await sleep(pause);
          continue;
        }
        if (this.completed.length + this.inFlight < this.limit) {
          this.inFlight++;
          return this.slot(clock);
        }
        // Full. A completion frees nothing at once (its window starts then), so wait for the oldest one to leave the
        // window, or, with every slot still in flight, for one to complete.
        const oldest = this.completed[0];
        if (oldest !== undefined) await sleep(oldest + this.windowMs - now);
        else await new Promise<void>((resolve) => (this.released = resolve));
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private slot(clock: Clock): PacerSlot {
    let open = true;
    return {
      done: () => {
        if (!open) return;
        open = false;
        this.inFlight--;
        const now = clock.now().getTime();
        // Completions arrive in any order; keep the list sorted (the newest is nearly always last).
        let i = this.completed.length;
        while (i > 0 && (this.completed[i - 1] ?? 0) > now) i--;
        this.completed.splice(i, 0, now);
        const wake = this.released;
        this.released = undefined;
        wake?.();
      },
    };
  }

  private prune(now: number): void {
    let expired = 0;
    while (expired < this.completed.length && (this.completed[expired] ?? 0) <= now - this.windowMs) expired++;
    if (expired) this.completed.splice(0, expired);
  }

  /** Slot times still inside the window at `now` (a slot in flight counts as now). */
  recent(now: number): number[] {
    return [...this.completed.filter((t) => t > now - this.windowMs), ...Array.from({ length: this.inFlight }, () => now)];
  }

  /** Takes over a rate lowered elsewhere (never above the configured limit); it recovers from now as if lowered now. */
  adopt(limit: number, now: number): void {
    if (!Number.isFinite(limit) || limit >= this.limit) return;
    this.limit = Math.max(1, Math.min(this.configured, Math.floor(limit)));
    this.changedAt = now;
  }

  /** Takes over admissions made elsewhere (another instance's, for this vault): both are counted against the limit. */
  merge(times: readonly number[], now: number): void {
    const fresh = times.filter((t) => Number.isFinite(t) && t > now - this.windowMs && t <= now + this.windowMs);
    this.completed = [...this.completed, ...fresh].sort((a, b) => a - b).slice(-Math.max(this.limit, 1) * 2);
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

  /** Admits one write of the class; the caller calls `done()` once its request completed (see `paced`). */
  acquire(operation: OperationClass): Promise<PacerSlot> {
    return this.windows[operation].acquire(this.clock, this.sleep, () => this.pausedUntilMs);
  }

  /** Runs one write of the class inside the vault's budget: admitted by the window, counted until it completed. */
  async paced<T>(operation: OperationClass, write: () => Promise<T>): Promise<T> {
    const slot = await this.acquire(operation);
    try {
      return await write();
    } finally {
      slot.done();
    }
  }

  /**
   * Key Vault answered 429 and the client waits `waitMs` (its Retry-After, or its backoff): hold every write to this
   * vault as long; when the throttled request was a write of the classes `operations`, admit fewer of those from now on.
   */
  throttled(waitMs: number, operations: readonly OperationClass[] = [], options: ThrottleInfo = {}): void {
    this.throttledCount++;
    const now = this.clock.now().getTime();
    // The service's Retry-After holds every write; a wait Rotor's backoff chose for one request (which grows to 30 s
    // with its retries) holds the others only briefly — the lowered rate is what slows the vault's writes down.
    const pause = options.retryAfter === false ? Math.min(waitMs, SELF_CHOSEN_PAUSE_MS) : waitMs;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, now + Math.max(pause, 0));
    for (const operation of operations) this.windows[operation].decrease(now, options.request);
  }

  /** The rate of `operation` admitted now (per window): the configured limit, or less after 429s. */
  currentLimit(operation: OperationClass): number {
    return this.windows[operation].currentLimit;
  }

  get throttledResponses(): number {
    return this.throttledCount;
  }

  /** The budget spent in the current window and any pause, to hand over with the vault's lease. */
  snapshot(): PacerState {
    const now = this.clock.now().getTime();
    const admitted: Partial<Record<OperationClass, number[]>> = {};
    const limits: Partial<Record<OperationClass, number>> = {};
    for (const [op, window] of Object.entries(this.windows) as [OperationClass, SlidingWindow][]) {
      const recent = window.recent(now);
      if (recent.length) admitted[op] = recent;
      if (window.lowered) limits[op] = window.currentLimit;
    }
    return { admitted, pausedUntil: this.pausedUntilMs > now ? this.pausedUntilMs : 0, ...(Object.keys(limits).length ? { limits } : {}) };
  }

  /** Counts a previous holder's admissions (and pause) against this pacer's budget. */
  restore(state: PacerState | undefined): void {
    if (!state) return;
    const now = this.clock.now().getTime();
    for (const [op, window] of Object.entries(this.windows) as [OperationClass, SlidingWindow][]) {
      const times = state.admitted[op];
      if (Array.isArray(times)) window.merge(times, now);
      const limit = state.limits?.[op];
      if (typeof limit === 'number') window.adopt(limit, now);
    }
    if (Number.isFinite(state.pausedUntil)) this.pausedUntilMs = Math.max(this.pausedUntilMs, Math.min(state.pausedUntil, now + 5 * 60_000));
  }
}
