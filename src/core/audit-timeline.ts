/**
 * The timeline of one object for auditors: each rotation (rows sharing a rotationId) told as one story — detected,
 * started, new version created (from which version and thumbprint to which), completed or failed, and which
 * consumers confirmed the new version and when — plus the rows that belong to no rotation (reports, observations,
 * rejected events). Pure: it only regroups rows that were read.
 */
import type { AuditRecord } from './audit.js';
import type { AuditRow } from './audit-chain.js';
import type { AuditReader, ObjectRef } from './audit-query.js';
import type { ConsumerStatus } from './consumers.js';
import type { ConsumerRecord, ConsumerResultReader } from './ports.js';

/** Rows of one object read at most (a timeline longer than this says it is truncated). */
export const TIMELINE_ROW_LIMIT = 10_000;

export type RotationStatus = 'Completed' | 'Failed' | 'ManualActionRequired' | 'VersionCreated' | 'InProgress';

export type ConsumerState = 'Verified' | 'Pending' | 'Stale' | 'Unreachable' | 'Misconfigured' | 'Skipped';

/** Rotations (newest first) whose consumer rows a timeline reads; older ones tell their consumers from audit rows. */
export const TIMELINE_CONSUMER_ROTATIONS = 20;

export interface ConsumerStory {
  readonly consumer: string;
  /** The latest state reported for this consumer. */
  readonly state: ConsumerState;
  readonly at: string;
  readonly expected: string;
  readonly observed: string;
  readonly detail: string;
  /** When the consumer first confirmed the new version, if it did. */
  readonly verifiedAt: string | null;
  readonly checks: number;
  /** When it is due to be checked again (from its consumer row; null when converged or unknown). */
  readonly nextCheckAt: string | null;
}

export interface RotationStory {
  readonly rotationId: string;
  readonly status: RotationStatus;
  readonly trigger: string;
  readonly runIds: readonly string[];
  readonly reason: string;
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly fromThumbprint: string;
  readonly toThumbprint: string;
  readonly secretId: string;
  readonly expiresOn: string;
  readonly detectedAt: string | null;
  readonly startedAt: string | null;
  readonly versionCreatedAt: string | null;
  readonly completedAt: string | null;
  readonly failedAt: string | null;
  readonly consumers: readonly ConsumerStory[];
  /** Every consumer confirmed the new version; false while any is stale, unreachable or offline (skipped). */
  readonly converged: boolean;
  readonly convergedAt: string | null;
  /** The rotation's rows, oldest first. */
  readonly rows: readonly AuditRow[];
}

export interface ObjectTimeline {
  readonly object: ObjectRef;
  /** Newest rotation first. */
  readonly rotations: readonly RotationStory[];
  /** Rows without a rotation (reports, observations), newest first. */
  readonly other: readonly AuditRow[];
  readonly rowCount: number;
  readonly truncated: boolean;
}

const CONSUMER_ACTIONS: Readonly<Record<string, ConsumerState>> = {
  ConsumerVerified: 'Verified',
  ConsumerPending: 'Pending',
  ConsumerStale: 'Stale',
  ConsumerUnreachable: 'Unreachable',
  ConsumerMisconfigured: 'Misconfigured',
  ConsumerSkipped: 'Skipped',
};

const iso = (r: AuditRecord | undefined): string | null => (r ? r.timestamp.toISOString() : null);

/** Chain order inside a partition, time order across partitions: oldest first. */
const oldestFirst = (a: AuditRow, b: AuditRow): number =>
  a.record.timestamp.getTime() - b.record.timestamp.getTime() || (a.partitionKey === b.partitionKey ? a.chainSeq - b.chainSeq : 0);

function consumers(rows: readonly AuditRow[]): ConsumerStory[] {
  const byConsumer = new Map<string, AuditRecord[]>();
  for (const { record } of rows) {
    if (!(record.action in CONSUMER_ACTIONS)) continue;
    const key = record.consumer || '(unnamed consumer)';
    const list = byConsumer.get(key);
    if (list) list.push(record);
    else byConsumer.set(key, [record]);
  }
  return [...byConsumer].map(([consumer, list]) => {
    const last = list[list.length - 1] as AuditRecord;
    const verified = list.find((r) => r.action === 'ConsumerVerified');
    return {
      consumer,
      state: CONSUMER_ACTIONS[last.action] as ConsumerState,
      at: last.timestamp.toISOString(),
      expected: last.expected,
      observed: last.observed,
      detail: last.detail,
      verifiedAt: iso(verified),
      checks: list.length,
      nextCheckAt: null,
    };
  });
}

const STATE_OF: Readonly<Record<ConsumerStatus, ConsumerState>> = {
  Verified: 'Verified',
  Pending: 'Pending',
  Stale: 'Stale',
  UnknownCertificate: 'Misconfigured',
  Unreachable: 'Unreachable',
  Misconfigured: 'Misconfigured',
  Skipped: 'Skipped',
};

/**
 * A rotation's consumers from its consumer rows (RotorConsumers): each one's latest check, however many checks ran.
 * (Audit rows record a consumer only when its state changes, so they alone cannot say when it was last checked.)
 */
function consumersFromRecords(records: readonly ConsumerRecord[]): ConsumerStory[] {
  return records.map((r) => ({
    consumer: `${r.label} (${r.id})`,
    state: STATE_OF[r.status] ?? 'Misconfigured',
    at: r.checkedAt.toISOString(),
    expected: r.expected,
    observed: r.observed,
    detail: r.detail,
    verifiedAt: r.verifiedAt ? r.verifiedAt.toISOString() : null,
    checks: r.checks,
    nextCheckAt: r.status !== 'Verified' && r.nextCheckAt ? r.nextCheckAt.toISOString() : null,
  }));
}

function story(rotationId: string, rows: AuditRow[], consumerRecords: readonly ConsumerRecord[] | undefined): RotationStory {
  const records = rows.map((r) => r.record);
  const first = (action: string): AuditRecord | undefined => records.find((r) => r.action === action);
  const last = (action: string): AuditRecord | undefined => [...records].reverse().find((r) => r.action === action);
  const created = last('VersionCreated');
  const completed = last('RotationCompleted');
  const failed = last('RotationFailed');
  const manual = last('ManualActionRequired');
  const decisive = [completed, failed, manual].filter((r): r is AuditRecord => Boolean(r)).sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())[0];
  const status: RotationStatus =
    decisive?.action === 'RotationCompleted'
      ? 'Completed'
      : decisive?.action === 'RotationFailed'
        ? 'Failed'
        : decisive?.action === 'ManualActionRequired'
          ? 'ManualActionRequired'
          : created
            ? 'VersionCreated'
            : 'InProgress';
  const versioned = completed ?? created;
  const origin = records[0] as AuditRecord;
  const cs = consumerRecords?.length ? consumersFromRecords(consumerRecords) : consumers(rows);
  const converged = cs.length > 0 && cs.every((c) => c.state === 'Verified');
  return {
    rotationId,
    status,
    trigger: origin.trigger,
    runIds: [...new Set(records.map((r) => r.runId).filter(Boolean))],
    reason: (first('Detected') ?? first('RotationStarted') ?? origin).reason,
    fromVersion: versioned?.previousVersion ?? (first('RotationStarted') ?? origin).version,
    toVersion: versioned?.version ?? '',
    fromThumbprint: versioned?.previousThumbprint ?? (first('RotationStarted') ?? origin).thumbprint,
    toThumbprint: versioned?.thumbprint ?? '',
    secretId: versioned?.secretId ?? '',
    expiresOn: versioned?.expiresOn ?? '',
    detectedAt: iso(first('Detected')),
    startedAt: iso(first('RotationStarted')),
    versionCreatedAt: iso(created),
    completedAt: iso(completed),
    failedAt: iso(failed),
    consumers: cs,
    converged,
    convergedAt: converged ? cs.map((c) => c.verifiedAt ?? c.at).sort().at(-1) ?? null : null,
    rows,
  };
}

/**
 * Groups an object's rows into rotations. Consumer rows written without a rotation id are attached to the rotation
 * that created the version they report on. A rotation's consumers come from its consumer rows when given (by
 * rotation id), else from its audit rows.
 */
export function buildTimeline(
  object: ObjectRef,
  rows: readonly AuditRow[],
  truncated = false,
  consumerRows: ReadonlyMap<string, readonly ConsumerRecord[]> = new Map(),
): ObjectTimeline {
  const sorted = [...rows].sort(oldestFirst);
  const groups = new Map<string, AuditRow[]>();
  for (const row of sorted) {
    if (!row.record.rotationId) continue;
    const list = groups.get(row.record.rotationId);
    if (list) list.push(row);
    else groups.set(row.record.rotationId, [row]);
  }
  const byNewVersion = new Map<string, string>();
  for (const [id, list] of groups) {
    for (const { record } of list) if (record.action === 'VersionCreated' && record.version) byNewVersion.set(record.version, id);
  }
  const other: AuditRow[] = [];
  for (const row of sorted) {
    if (row.record.rotationId) continue;
    const owner = row.record.action in CONSUMER_ACTIONS ? byNewVersion.get(row.record.version || row.record.expected) : undefined;
    if (owner) groups.get(owner)?.push(row);
    else other.push(row);
  }
  const rotations = [...groups].map(([id, list]) => story(id, list.sort(oldestFirst), consumerRows.get(id)));
  rotations.sort((a, b) => ((b.rows[0]?.record.timestamp.getTime() ?? 0) - (a.rows[0]?.record.timestamp.getTime() ?? 0)));
  return { object, rotations, other: other.reverse(), rowCount: rows.length, truncated };
}

/** Rotation ids of an object's rows, newest rotation first. */
function rotationIdsNewestFirst(rows: readonly AuditRow[]): string[] {
  const first = new Map<string, number>();
  for (const { record } of rows) {
    if (!record.rotationId) continue;
    const t = record.timestamp.getTime();
    if (!first.has(record.rotationId) || t < (first.get(record.rotationId) as number)) first.set(record.rotationId, t);
  }
  return [...first].sort((a, b) => b[1] - a[1]).map(([id]) => id);
}

/**
 * Reads and builds one object's timeline: its audit rows (at most `limit`), and the consumer rows of its newest
 * rotations (at most TIMELINE_CONSUMER_ROTATIONS, read one rotation at a time).
 */
export async function readTimeline(
  reader: Pick<AuditReader, 'objectRows'>,
  consumers: ConsumerResultReader | undefined,
  object: ObjectRef,
  limit = TIMELINE_ROW_LIMIT,
): Promise<ObjectTimeline> {
  const { rows, truncated } = await reader.objectRows(object, limit);
  const consumerRows = new Map<string, ConsumerRecord[]>();
  if (consumers) {
    for (const id of rotationIdsNewestFirst(rows).slice(0, TIMELINE_CONSUMER_ROTATIONS)) {
      const records = await consumers.list(id);
      if (records.length) consumerRows.set(id, records);
    }
  }
  return buildTimeline(object, rows, truncated, consumerRows);
}
