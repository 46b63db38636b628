/**
 * Per-object rotation state: the persisted state machine that makes rotation resumable.
 *
 *   (due) ──claim──▶ RotationStarted ──new version──▶ VersionCreated ──▶ Verifying ──▶ Completed
 *                          │                                │               │
 *                          └────────── error ──────────────┴──────────────┴──▶ Failed (retry with backoff)
 *
 * A worker claims an object by writing RotationStarted with the ETag it read (optimistic concurrency) and holds a
 * lease; a crashed worker's rotation is resumed once the lease has expired. `Idle` rows exist only to remember what
 * was already reported about an object (so a finding that needs a person is audited once per version).
 */
import type { ObjectType, Trigger } from './model.js';

export const ROTATION_STATUSES = ['Idle', 'RotationStarted', 'VersionCreated', 'Verifying', 'Completed', 'Failed'] as const;
export type RotationStatus = (typeof ROTATION_STATUSES)[number];

/** Statuses in which a rotation is under way (to resume or re-check). */
export const OPEN_STATUSES: readonly RotationStatus[] = ['RotationStarted', 'VersionCreated', 'Verifying'];

export interface RotationState {
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
  readonly status: RotationStatus;
  readonly rotationId: string;
  readonly runId: string;
  readonly trigger: Trigger;
  /** The finding that started the rotation (trigger rule reason). */
  readonly reason: string;
  readonly fromVersion: string;
  readonly fromThumbprint: string;
  readonly fromExpiresOn: string;
  readonly toVersion: string;
  readonly toThumbprint: string;
  readonly toSecretId: string;
  readonly toExpiresOn: string;
  /** Attempts of the current rotation (1 on the first). */
  readonly attempts: number;
  readonly nextAttemptAt?: Date | undefined;
  readonly leaseUntil?: Date | undefined;
  readonly lastError: string;
  readonly startedAt?: Date | undefined;
  readonly updatedAt: Date;
  readonly completedAt?: Date | undefined;
  /** Key of the last finding audited for this object (reason@version-identity), so it is reported once. */
  readonly reportedFinding: string;
  /** Externally rotated secrets: identity (creation time) of the last version Rotor observed. */
  readonly observedVersion: string;
  /**
   * Consumer verification: when it started, how many checks ran and the consumers by state after the last one.
   * Each consumer's own result is a row of RotorConsumers (ConsumerResultStore); undefined when nothing was verified.
   */
  readonly verification?: VerificationSummary | undefined;
  readonly nextCheckAt?: Date | undefined;
  readonly verifyDeadline?: Date | undefined;
}

/** Consumers of a rotation by state (UnknownCertificate counts as misconfigured, an offline node as skipped). */
export const CONSUMER_COUNT_KEYS = ['verified', 'stale', 'unreachable', 'pending', 'misconfigured', 'skipped'] as const;
export type ConsumerCountKey = (typeof CONSUMER_COUNT_KEYS)[number];
export type ConsumerCounts = Readonly<Record<ConsumerCountKey, number>>;

export interface VerificationSummary {
  readonly startedAt: Date;
  readonly checks: number;
  readonly counts: ConsumerCounts;
}

export const consumerTotal = (counts: ConsumerCounts): number => CONSUMER_COUNT_KEYS.reduce((n, k) => n + counts[k], 0);

export function emptyState(vault: string, objectType: ObjectType, objectName: string, now: Date): RotationState {
  return {
    vault,
    objectType,
    objectName,
    status: 'Idle',
    rotationId: '',
    runId: '',
    trigger: 'timer',
    reason: '',
    fromVersion: '',
    fromThumbprint: '',
    fromExpiresOn: '',
    toVersion: '',
    toThumbprint: '',
    toSecretId: '',
    toExpiresOn: '',
    attempts: 0,
    lastError: '',
    updatedAt: now,
    reportedFinding: '',
    observedVersion: '',
  };
}

export const isOpen = (s: RotationState): boolean => OPEN_STATUSES.includes(s.status);
