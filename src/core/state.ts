/**
 * Per-object rotation state: the persisted state machine that makes rotation resumable, typed by status (a
 * discriminated union: each status has exactly the fields it needs; absent values are undefined, never '').
 *
 *   Idle ──claim──▶ RotationStarted ──new version──▶ VersionCreated ──▶ Verifying ──▶ Completed
 *                          │                                │               │
 *                          └────────── error ──────────────┴──────────────┴──▶ Failed (retry with backoff)
 *
 * Every transition, and the only writes of a state, are in transitions.ts. A worker claims an object by writing
 * RotationStarted with the ETag it read (optimistic concurrency) and holds a lease; a crashed worker's rotation is
 * resumed once the lease has expired. `Idle` rows exist only to remember what was already reported about an object
 * (so a finding that needs a person is audited once per version).
 */
import type { ObjectType, Trigger } from './model.js';

export const ROTATION_STATUSES = ['Idle', 'RotationStarted', 'VersionCreated', 'Verifying', 'Completed', 'Failed'] as const;
export type RotationStatus = (typeof ROTATION_STATUSES)[number];

/** Statuses in which a rotation is under way (to resume or re-check). */
export const OPEN_STATUSES: readonly RotationStatus[] = ['RotationStarted', 'VersionCreated', 'Verifying'];

/** Fields every state has. */
interface StateBase {
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
  readonly updatedAt: Date;
  /** Key of the last finding audited for this object (reason@version-identity), so it is reported once. */
  readonly reportedFinding?: string | undefined;
  /** Externally rotated secrets: identity (creation time) of the last version Rotor observed. */
  readonly observedVersion?: string | undefined;
}

/** Fields of a rotation (every status but Idle). */
interface RotationFields {
  readonly rotationId: string;
  readonly runId: string;
  readonly trigger: Trigger;
  /** The finding that started the rotation (trigger rule reason), or CreatedOutsideRotor. */
  readonly reason: string;
  /** The version being replaced (absent for a version created outside Rotor whose predecessor is unknown). */
  readonly fromVersion?: string | undefined;
  readonly fromThumbprint?: string | undefined;
  readonly fromExpiresOn?: string | undefined;
  /** Attempts of the current rotation (1 on the first). */
  readonly attempts: number;
  readonly startedAt: Date;
}

/** The new version of a rotation. */
interface NewVersionFields {
  readonly toVersion: string;
  readonly toThumbprint?: string | undefined;
  readonly toSecretId?: string | undefined;
  readonly toExpiresOn?: string | undefined;
}

/** Fields a status does not have: readable (always undefined), never settable. */
type Absent<K extends string> = { readonly [P in K]?: undefined };

type RotationKeys = keyof RotationFields;
type NewVersionKeys = keyof NewVersionFields;
type VerifyKeys = 'verification' | 'nextCheckAt' | 'verifyDeadline';

/** Nothing rotated yet; the row only remembers what was reported or observed. */
export interface IdleState extends StateBase, Absent<RotationKeys | NewVersionKeys | VerifyKeys | 'leaseUntil' | 'nextAttemptAt' | 'lastError' | 'completedAt'> {
  readonly status: 'Idle';
}

/** Claimed: the RotationStarted row is (being) written; no new version exists yet, or one is being adopted. */
export interface StartedState extends StateBase, RotationFields, Absent<NewVersionKeys | VerifyKeys | 'nextAttemptAt' | 'lastError' | 'completedAt'> {
  readonly status: 'RotationStarted';
  readonly leaseUntil: Date;
}

/** The new version exists; its consumers are about to be checked (or the rotation completes). */
export interface VersionCreatedState extends StateBase, RotationFields, NewVersionFields, Absent<'nextCheckAt' | 'verifyDeadline' | 'nextAttemptAt' | 'lastError' | 'completedAt'> {
  readonly status: 'VersionCreated';
  readonly leaseUntil?: Date | undefined;
  readonly verification?: VerificationSummary | undefined;
}

/** Waiting for consumers to pick up the new version, re-checked at nextCheckAt until the deadline. */
export interface VerifyingState extends StateBase, RotationFields, NewVersionFields, Absent<'leaseUntil' | 'nextAttemptAt' | 'lastError' | 'completedAt'> {
  readonly status: 'Verifying';
  readonly verification: VerificationSummary;
  readonly nextCheckAt: Date;
  readonly verifyDeadline: Date;
}

export interface CompletedState extends StateBase, RotationFields, NewVersionFields, Absent<'leaseUntil' | 'nextAttemptAt' | 'lastError' | 'nextCheckAt'> {
  readonly status: 'Completed';
  readonly completedAt: Date;
  readonly verification?: VerificationSummary | undefined;
  readonly verifyDeadline?: Date | undefined;
}

/** Failed: retried after nextAttemptAt, or (no nextAttemptAt) handed to a person. */
export interface FailedState extends StateBase, RotationFields, Partial<NewVersionFields>, Absent<'leaseUntil' | 'nextCheckAt' | 'completedAt'> {
  readonly status: 'Failed';
  readonly lastError: string;
  readonly nextAttemptAt?: Date | undefined;
  /** Present when the rotation failed while verifying (its consumers are still re-checked on request). */
  readonly verification?: VerificationSummary | undefined;
  readonly verifyDeadline?: Date | undefined;
}

/** Per-object rotation state: a discriminated union by status (no empty strings for absent values). */
export type RotationState = IdleState | StartedState | VersionCreatedState | VerifyingState | CompletedState | FailedState;
export type RotatingState = Exclude<RotationState, IdleState>;

/** Consumers of a rotation by state (UnknownCertificate counts as misconfigured, an offline node as skipped). */
export const CONSUMER_COUNT_KEYS = ['verified', 'stale', 'unreachable', 'pending', 'misconfigured', 'skipped'] as const;
export type ConsumerCountKey = (typeof CONSUMER_COUNT_KEYS)[number];
export type ConsumerCounts = Readonly<Record<ConsumerCountKey, number>>;

export interface VerificationSummary {
  readonly startedAt: Date;
  readonly checks: number;
  readonly counts: ConsumerCounts;
}

export function emptyState(vault: string, objectType: ObjectType, objectName: string, now: Date): IdleState {
  return { vault, objectType, objectName, status: 'Idle', updatedAt: now };
}

export const isOpen = (s: RotationState): s is StartedState | VersionCreatedState | VerifyingState => OPEN_STATUSES.includes(s.status);
