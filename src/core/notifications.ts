/**
 * Notifications: Rotor tells people what happened by publishing CloudEvents (Rotor.RotationCompleted,
 * Rotor.RotationFailed, Rotor.ManualActionRequired, Rotor.ConsumerStale, Rotor.ObjectExpired, …) that they route
 * anywhere (Event Grid → Logic App → Teams or email, Functions, Service Bus).
 *
 * Design: the events are derived from the audit rows Rotor already writes, after they are durable (an observer of
 * the audit log), so the rotation code has no notification calls and an event never announces something the audit
 * log does not hold. Publishing is asynchronous and can never fail a rotation: a failed publish is retried with
 * backoff and jitter, and when it still fails it is audited (NotificationFailed). An audit write that fails is itself
 * announced (Rotor.AuditWriteFailed). Events carry what audit rows carry — never a secret value or a private key.
 */
import { auditRecord, type AuditAction, type AuditRecord } from './audit.js';
import type { AuditLog, Clock, Logger, Random, Sleep } from './ports.js';

export const ROTOR_EVENT_TYPES = {
  RotationCompleted: 'Rotor.RotationCompleted',
  RotationFailed: 'Rotor.RotationFailed',
  VersionCreated: 'Rotor.VersionCreated',
  ManualActionRequired: 'Rotor.ManualActionRequired',
  ObjectExpired: 'Rotor.ObjectExpired',
  ConsumerStale: 'Rotor.ConsumerStale',
  ConsumerVerified: 'Rotor.ConsumerVerified',
  ExternalRotationOverdue: 'Rotor.ExternalRotationOverdue',
  NewVersionObserved: 'Rotor.NewVersionObserved',
  WorkItemFailed: 'Rotor.WorkItemFailed',
  ScanFailed: 'Rotor.ScanFailed',
  AuditWriteFailed: 'Rotor.AuditWriteFailed',
} as const;
export type RotorEventType = (typeof ROTOR_EVENT_TYPES)[keyof typeof ROTOR_EVENT_TYPES];

/** The `data` of every Rotor event: the audit row's fields (no secret value is ever in a row). */
export interface RotorEventData {
  readonly vault: string;
  readonly objectType: string;
  readonly objectName: string;
  readonly version: string;
  readonly previousVersion: string;
  readonly thumbprint: string;
  readonly previousThumbprint: string;
  readonly action: string;
  readonly reason: string;
  readonly outcome: string;
  readonly detail: string;
  readonly rotationId: string;
  readonly runId: string;
  readonly trigger: string;
  readonly consumer: string;
  readonly consumerState: string;
  readonly expected: string;
  readonly observed: string;
  readonly secretId: string;
  readonly expiresOn: string;
}

/** A CloudEvents 1.0 event, before the transport. */
export interface RotorEvent {
  readonly id: string;
  readonly type: RotorEventType;
  /** Rotor's instance: `/rotor/<vault>` unless an instance source is configured. */
  readonly source: string;
  /** `<vault>/<type>/<name>` (or `<vault>` for vault-level events): subscribers filter on it. */
  readonly subject: string;
  readonly time: Date;
  readonly data: RotorEventData | { readonly rows: number; readonly vaults: readonly string[]; readonly error: string };
}

/** The port: publishes a batch of events (an adapter sends them to an Event Grid topic). */
export interface Notifier {
  publish(events: readonly RotorEvent[]): Promise<void>;
}

/** Observes the audit log: rows once they are durable, and writes that failed. Observers must not throw. */
export interface AuditObserver {
  durable(rows: readonly AuditRecord[]): void;
  writeFailed(rows: readonly AuditRecord[], error: unknown): void;
}

const CONSUMER_PROBLEMS: ReadonlySet<AuditAction> = new Set(['ConsumerStale', 'ConsumerUnreachable', 'ConsumerMisconfigured']);

/** The event type an audit row announces, if any. Rows about notifications themselves announce nothing (no loops). */
export function eventTypeOf(row: AuditRecord): RotorEventType | undefined {
  if (row.reason === 'Expired' && (row.action === 'ManualActionRequired' || row.action === 'Detected')) return ROTOR_EVENT_TYPES.ObjectExpired;
  switch (row.action) {
    case 'RotationCompleted':
      return ROTOR_EVENT_TYPES.RotationCompleted;
    case 'RotationFailed':
      return ROTOR_EVENT_TYPES.RotationFailed;
    case 'VersionCreated':
      return ROTOR_EVENT_TYPES.VersionCreated;
    case 'ManualActionRequired':
    case 'PolicyViolation':
      return ROTOR_EVENT_TYPES.ManualActionRequired;
    case 'ConsumerVerified':
      return ROTOR_EVENT_TYPES.ConsumerVerified;
    case 'ExternalRotationStale':
      return ROTOR_EVENT_TYPES.ExternalRotationOverdue;
    case 'NewVersionObserved':
      return ROTOR_EVENT_TYPES.NewVersionObserved;
    case 'WorkItemFailed':
      return ROTOR_EVENT_TYPES.WorkItemFailed;
    case 'ScanFailed':
      return ROTOR_EVENT_TYPES.ScanFailed;
    default:
      return CONSUMER_PROBLEMS.has(row.action) ? ROTOR_EVENT_TYPES.ConsumerStale : undefined;
  }
}

/** FNV-1a 64-bit of a string, hex: a stable event id from the row's content (a retried publish keeps its ids). */
function stableId(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

export function rowEvent(row: AuditRecord, type: RotorEventType, source?: string): RotorEvent {
  const subject = row.objectName ? `${row.vault}/${row.objectType}/${row.objectName}` : row.vault;
  return {
    id: `${row.rotationId || row.runId}-${stableId(`${row.timestamp.toISOString()}|${row.action}|${subject}|${row.consumer}|${row.version}|${row.reason}`)}`.slice(0, 120),
    type,
    source: source ?? `/rotor/${row.vault}`,
    subject,
    time: row.timestamp,
    data: {
      vault: row.vault,
      objectType: row.objectType,
      objectName: row.objectName,
      version: row.version,
      previousVersion: row.previousVersion,
      thumbprint: row.thumbprint,
      previousThumbprint: row.previousThumbprint,
      action: row.action,
      reason: row.reason,
      outcome: row.outcome,
      detail: row.detail,
      rotationId: row.rotationId,
      runId: row.runId,
      trigger: row.trigger,
      consumer: row.consumer,
      consumerState: row.action.startsWith('Consumer') ? row.action.slice('Consumer'.length) : '',
      expected: row.expected,
      observed: row.observed,
      secretId: row.secretId,
      expiresOn: row.expiresOn,
    },
  };
}

export function eventsForRows(rows: readonly AuditRecord[], source?: string): RotorEvent[] {
  const out: RotorEvent[] = [];
  for (const row of rows) {
    const type = eventTypeOf(row);
    if (type) out.push(rowEvent(row, type, source));
  }
  return out;
}

export interface DispatcherOptions {
  readonly notifier: Notifier;
  /** Where a publish that still fails after its retries is audited (NotificationFailed). */
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: Random;
  readonly log?: Logger | undefined;
  /** CloudEvents `source` of every event (default `/rotor/<vault>`). */
  readonly source?: string | undefined;
  /** Publish attempts per batch (default 4) and the first backoff (default 2 s, doubling, with full jitter). */
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  /** Events held at most (default 5,000): beyond it the oldest are dropped and the drop audited. */
  readonly maxQueued?: number;
}

/** Event Grid accepts up to 1 MB per request; Rotor's events are small, 100 per request stays well inside. */
const BATCH = 100;

/**
 * The audit observer that publishes: queues the events of durable rows and publishes them in order, one request at
 * a time (bounded memory, no fan-out), retrying with backoff and jitter. Never throws into the audit log or the
 * rotation; `settle()` waits for what is queued (a function invocation awaits it before it returns).
 */
export class NotificationDispatcher implements AuditObserver {
  private queue: RotorEvent[] = [];
  private running: Promise<void> | undefined;
  private dropped = 0;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxQueued: number;

  constructor(private readonly options: DispatcherOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 2000;
    this.maxQueued = options.maxQueued ?? 5000;
  }

  durable(rows: readonly AuditRecord[]): void {
    this.enqueue(eventsForRows(rows, this.options.source));
  }

  writeFailed(rows: readonly AuditRecord[], error: unknown): void {
    const vaults = [...new Set(rows.map((r) => r.vault))].slice(0, 50);
    const now = this.options.clock.now();
    this.enqueue([
      {
        id: `audit-write-failed-${now.getTime()}-${stableId(vaults.join(','))}`,
        type: ROTOR_EVENT_TYPES.AuditWriteFailed,
        source: this.options.source ?? '/rotor',
        subject: vaults.length === 1 ? (vaults[0] as string) : '_system',
        time: now,
        data: { rows: rows.length, vaults, error: (error instanceof Error ? error.message : String(error)).slice(0, 1000) },
      },
    ]);
  }

  /** Resolves when every queued event was published or given up on (never rejects). */
  settle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private enqueue(events: RotorEvent[]): void {
    if (!events.length) return;
    this.queue.push(...events);
    if (this.queue.length > this.maxQueued) {
      const over = this.queue.length - this.maxQueued;
      this.queue.splice(0, over);
      this.dropped += over;
    }
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, BATCH);
      await this.publishWithRetries(batch);
    }
    if (this.dropped) {
      const dropped = this.dropped;
      this.dropped = 0;
      this.auditFailure([], `${dropped} events were dropped: more than ${this.maxQueued} were waiting to be published`);
    }
  }

  private async publishWithRetries(batch: RotorEvent[]): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        await this.options.notifier.publish(batch);
        return;
      } catch (err) {
        lastError = err;
        this.options.log?.warn(`publishing ${batch.length} events failed (attempt ${attempt} of ${this.maxAttempts}): ${String(err)}`);
        if (attempt < this.maxAttempts) {
          const cap = this.baseDelayMs * 2 ** (attempt - 1);
          await this.options.sleep(cap / 2 + this.options.random.int(Math.max(1, Math.floor(cap / 2))));
        }
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    this.auditFailure(batch, `publishing failed after ${this.maxAttempts} attempts: ${message}`);
  }

  private auditFailure(batch: readonly RotorEvent[], why: string): void {
    const types = [...new Set(batch.map((e) => e.type))].join(', ');
    const subjects = [...new Set(batch.map((e) => e.subject))].slice(0, 10).join(', ');
    const vaults = new Set(batch.map((e) => ('vault' in e.data ? e.data.vault : '_system')));
    const vault = vaults.size === 1 ? ([...vaults][0] as string) : '_system';
    try {
      this.options.audit.append(
        auditRecord({ runId: 'notifications', trigger: 'timer' }, this.options.clock.now(), {
          vault,
          action: 'NotificationFailed',
          outcome: 'Failed',
          reason: 'PublishFailed',
          detail: `${batch.length} event(s)${types ? ` (${types}; ${subjects})` : ''} not published: ${why}`,
        }),
      );
      void this.options.audit.flush().catch((err: unknown) => this.options.log?.error(`could not audit a failed notification: ${String(err)}`));
    } catch (err) {
      this.options.log?.error(`could not audit a failed notification: ${String(err)}`);
    }
  }
}
