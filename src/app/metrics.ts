/**
 * Rotor's metrics with the OpenTelemetry API, mirroring cert-manager's:
 *   rotor_object_expiration_timestamp_seconds {vault, type, name}  gauge: expiry of each object's current version
 *   rotor_rotations_total                     {vault, type, outcome} counter: objects handled, by outcome
 *   rotor_consumers                           {vault, type, name, state} gauge: consumers of an object by state
 *   rotor_object_expiration_dropped                                   gauge: objects not tracked (cardinality cap)
 *   rotor_audit_rows_rejected_total           {outcome, code}      counter: audit rows storage refused for good
 *
 * Cardinality: the expiry gauge has one series per object (vault × type × name), like cert-manager's per
 * certificate. It is capped (default 2000, the OpenTelemetry SDK's default per-instrument limit); objects past the
 * cap are counted in rotor_object_expiration_dropped instead of silently overflowing. Entries that a scan has not
 * refreshed for `staleAfterMs` (default 48 h) are dropped, so deleted objects stop being reported.
 *
 * Works with any Meter: the one from src/app/telemetry.ts (exported to Application Insights) or the global API's
 * (a no-op unless the process registered a MeterProvider).
 */
import type { AuditObserver } from '../core/notifications.js';
import type { Attributes, Counter, Meter, ObservableResult } from '@opentelemetry/api';
import type { Metrics } from '../core/ports.js';

export const METRIC_NAMES = {
  objectExpiry: 'rotor_object_expiration_timestamp_seconds',
  objectExpiryDropped: 'rotor_object_expiration_dropped',
  rotations: 'rotor_rotations_total',
  consumers: 'rotor_consumers',
  auditWriteFailures: 'rotor_audit_write_failures_total',
  poisonMessages: 'rotor_poison_messages_total',
  auditRowsRejected: 'rotor_audit_rows_rejected_total',
} as const;

export interface OtelMetricsOptions {
  /** Most objects the expiry gauge tracks (one series each). */
  readonly maxObjects?: number;
  /** Entries not refreshed for this long are no longer reported, in ms. */
  readonly staleAfterMs?: number;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now?: () => number;
}

interface Series {
  readonly attributes: Attributes;
  value: number;
  seen: number;
}

type ObjectRef = { vault: string; type: string; name: string };

const objectKey = (o: ObjectRef): string => `${o.vault.toLowerCase()}\u0000${o.type}\u0000${o.name}`;

/** 32-bit FNV-1a: the dropped objects are only counted, so a number per object is enough (not its name). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The objects past the cap, counted without keeping their names: hashes in two generations of `staleAfterMs`
 * each, so objects no scan has seen for that long stop being counted, and memory stays a few bytes per object.
 */
class DroppedObjects {
  private current = new Set<number>();
  private previous = new Set<number>();
  private since: number;

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {
    this.since = now();
  }

  private roll(): void {
    const now = this.now();
    if (now - this.since < this.staleAfterMs) return;
    this.previous = now - this.since < 2 * this.staleAfterMs ? this.current : new Set();
    this.current = new Set();
    this.since = now;
  }

  add(key: string): void {
    this.roll();
    this.current.add(hash32(key));
  }

  delete(key: string): void {
    const h = hash32(key);
    this.current.delete(h);
    this.previous.delete(h);
  }

  get size(): number {
    this.roll();
    let size = this.current.size;
    for (const h of this.previous) if (!this.current.has(h)) size++;
    return size;
  }
}

/** A full scan of the expiry series for stale entries runs at most this often on the write path. */
const EVICTION_INTERVAL_MS = 60_000;

export class OtelMetrics implements Metrics {
  private readonly expiry = new Map<string, Series>();
  private readonly dropped: DroppedObjects;
  private lastEviction = Number.NEGATIVE_INFINITY;
  private readonly consumers = new Map<string, Map<string, Series>>();
  private readonly auditWriteFailures: Counter;
  private readonly poisonMessages: Counter;
  private readonly rotations: Counter;
  private readonly rejectedRows: Counter;
  private readonly maxObjects: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;

  constructor(meter: Meter, options: OtelMetricsOptions = {}) {
    this.maxObjects = options.maxObjects ?? 2000;
    this.staleAfterMs = options.staleAfterMs ?? 48 * 3_600_000;
    this.now = options.now ?? Date.now;
    this.dropped = new DroppedObjects(this.staleAfterMs, this.now);
    meter
      .createObservableGauge(METRIC_NAMES.objectExpiry, {
        description: 'Expiry time of the current version of a certificate, key or secret (Unix seconds)',
        unit: 's',
      })
      .addCallback((result) => this.observe(this.expiry, result));
    meter
      .createObservableGauge(METRIC_NAMES.objectExpiryDropped, {
        description: `Objects not tracked by ${METRIC_NAMES.objectExpiry} because of its cardinality cap`,
        unit: '{object}',
      })
      .addCallback((result) => result.observe(this.dropped.size));
    this.auditWriteFailures = meter.createCounter(METRIC_NAMES.auditWriteFailures, {
      description: 'Audit rows whose write to Table storage failed (kept and retried on the next flush)',
      unit: '{row}',
    });
    this.poisonMessages = meter.createCounter(METRIC_NAMES.poisonMessages, {
      description: 'Work items that failed on their last delivery and moved to the poison queue (audited as WorkItemFailed)',
      unit: '{message}',
    });
    this.rotations = meter.createCounter(METRIC_NAMES.rotations, {
      description: 'Objects handled by a run, by outcome (Rotated, Failed, ManualActionRequired, ...)',
      unit: '{object}',
    });
    this.rejectedRows = meter.createCounter(METRIC_NAMES.auditRowsRejected, {
      description: 'Audit rows Table storage refused for good: replaced by an AuditRowRejected row, or dropped when that was refused too',
      unit: '{row}',
    });
    meter
      .createObservableGauge(METRIC_NAMES.consumers, {
        description: 'Consumers of an object by verification state after the last check (Verified, Stale, ...)',
        unit: '{consumer}',
      })
      .addCallback((result) => {
        for (const [key, states] of this.consumers) {
          this.observe(states, result);
          if (states.size === 0) this.consumers.delete(key);
        }
      });
  }

  objectExpiry(object: ObjectRef, expiresOn: Date | undefined): void {
    const key = objectKey(object);
    const seconds = expiresOn ? Math.floor(expiresOn.getTime() / 1000) : NaN;
    if (!Number.isFinite(seconds)) {
      this.expiry.delete(key);
      this.dropped.delete(key);
      return;
    }
    const existing = this.expiry.get(key);
    if (existing) {
      existing.value = seconds;
      existing.seen = this.now();
      return;
    }
    if (this.expiry.size >= this.maxObjects && this.now() - this.lastEviction >= EVICTION_INTERVAL_MS) {
      // Only when full, and not for every object past the cap: a vault larger than the cap would scan it each time.
      this.lastEviction = this.now();
      this.evictStale(this.expiry);
    }
    if (this.expiry.size >= this.maxObjects) {
      this.dropped.add(key);
      return;
    }
    this.dropped.delete(key);
    this.expiry.set(key, { attributes: { vault: object.vault, type: object.type, name: object.name }, value: seconds, seen: this.now() });
  }

  /**
   * The audit log's observer for the two metrics that come from audit rows (src/core/notifications.ts
   * AuditObserver): failed audit writes, and poison messages (WorkItemFailed rows with reason PoisonMessage).
   */
  auditObserver(): AuditObserver {
    return {
      durable: (rows) => {
        for (const r of rows) if (r.action === 'WorkItemFailed' && r.reason === 'PoisonMessage') this.poisonMessages.add(1, { vault: r.vault });
      },
      writeFailed: (rows) => {
        if (rows.length) this.auditWriteFailures.add(rows.length);
      },
    };
  }

  objectOutcome(object: { vault: string; type: string }, outcome: string): void {
    this.rotations.add(1, { vault: object.vault, type: object.type, outcome });
  }

  consumerStates(object: ObjectRef, counts: Readonly<Record<string, number>>): void {
    const key = objectKey(object);
    let states = this.consumers.get(key);
    if (!states) {
      states = new Map();
      this.consumers.set(key, states);
    }
    const now = this.now();
    // A state that had consumers and now has none reports 0, so "Stale > 0" alerts resolve.
    for (const series of states.values()) {
      series.value = 0;
      series.seen = now;
    }
    for (const [state, count] of Object.entries(counts)) {
      if (!Number.isFinite(count) || count < 0) continue;
      const series = states.get(state);
      if (series) series.value = count;
      else states.set(state, { attributes: { vault: object.vault, type: object.type, name: object.name, state }, value: count, seen: now });
    }
  }

  auditRowRejected(outcome: 'replaced' | 'dropped', code: string): void {
    this.rejectedRows.add(1, { outcome, code: code.slice(0, 64) });
  }

  private observe(series: Map<string, Series>, result: ObservableResult): void {
    this.evictStale(series);
    for (const s of series.values()) result.observe(s.value, s.attributes);
  }

  private evictStale(series: Map<string, Series>): void {
    const cutoff = this.now() - this.staleAfterMs;
    for (const [key, s] of series) if (s.seen < cutoff) series.delete(key);
  }
}
