/**
 * Fault injection shared by the consumer emulators: fixed latency, a share of 5xx answers, a share of 429 answers
 * with Retry-After, and "hang" (never answer, so the client's timeout fires). Which requests get a share-based
 * fault is drawn from a seeded PRNG, so a test that fixes the seed sees the same sequence on every run.
 */
import { mulberry32 } from '../../core/generators.js';

export interface FaultOptions {
  /** Fixed latency added to every request, in milliseconds. */
  latencyMs?: number;
  /** Share (0..1) of requests answered with `serverErrorStatus`. */
  serverErrorShare?: number;
  /** Status of share-based server errors (default 500). */
  serverErrorStatus?: 500 | 502 | 503 | 504;
  /** Share (0..1) of requests answered 429 with Retry-After. */
  throttleShare?: number;
  /** Retry-After (seconds) sent with 429s (default 1). */
  retryAfterSeconds?: number;
  /** Whether 429s carry Retry-After (default true); `false` answers 429 without it. */
  sendRetryAfter?: boolean;
  /** Never answer (the connection stays open until the client gives up or the emulator stops). */
  hang?: boolean;
  /** Seed of the PRNG that picks which requests get share-based faults. Setting it restarts the sequence. */
  seed?: number;
}

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'hang' }
  | { kind: 'throttle'; retryAfterSeconds: number | undefined }
  | { kind: 'serverError'; status: number };


const DEFAULT_SEED = 1;

function checkShare(field: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0 && value <= 1)) {
    throw new RangeError(`faults.${field} must be between 0 and 1, got ${value}`);
  }
}

function checkNonNegative(field: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`faults.${field} must be a non-negative number, got ${value}`);
  }
}

/** Throws a RangeError naming the field when a fault option is out of range. */
export function validateFaults(faults: FaultOptions): void {
  checkShare('serverErrorShare', faults.serverErrorShare);
  checkShare('throttleShare', faults.throttleShare);
  checkNonNegative('latencyMs', faults.latencyMs);
  checkNonNegative('retryAfterSeconds', faults.retryAfterSeconds);
}

/** The faults of one scope (a resource provider, a head node) and the PRNG that draws share-based faults. */
export class FaultPlan {
  private options: FaultOptions = {};
  private random = mulberry32(DEFAULT_SEED);

  /** Merges `faults` into the current options; a `seed` restarts the PRNG. */
  set(faults: FaultOptions): void {
    validateFaults(faults);
    this.options = { ...this.options, ...faults };
    if (faults.seed !== undefined) this.random = mulberry32(faults.seed);
  }

  clear(): void {
    this.options = {};
    this.random = mulberry32(DEFAULT_SEED);
  }

  latencyMs(): number {
    return this.options.latencyMs ?? 0;
  }

  /** Decides the fate of one request. Draws from the PRNG only for shares that are set, in a fixed order. */
  decide(): FaultDecision {
    const o = this.options;
    if (o.hang) return { kind: 'hang' };
    if (o.throttleShare && this.random() < o.throttleShare) {
      return { kind: 'throttle', retryAfterSeconds: o.sendRetryAfter === false ? undefined : (o.retryAfterSeconds ?? 1) };
    }
    if (o.serverErrorShare && this.random() < o.serverErrorShare) {
      return { kind: 'serverError', status: o.serverErrorStatus ?? 500 };
    }
    return { kind: 'none' };
  }
}
