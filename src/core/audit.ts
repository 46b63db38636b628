/**
 * Audit records: one per action Rotor takes or observes. Auditors read them to answer what was rotated, when, by
 * which trigger, from which version and thumbprint to which, which consumers confirmed it, and what failed or needs
 * a person. Records never carry a secret value or a private key: the domain never holds them except inside the
 * secret generator → vault write call.
 */
import type { ObjectType, Trigger } from './model.js';

export const AUDIT_ACTIONS = [
  'Detected',
  'Skipped',
  'RotationStarted',
  'VersionCreated',
  'RotationCompleted',
  'RotationFailed',
  'PolicyViolation',
  'ManualActionRequired',
  'ExternalRotationObserved',
  'ExternalRotationStale',
  'NewVersionObserved',
  'EventRejected',
  'WorkItemRejected',
  'WorkItemFailed',
  'ScanCompleted',
  'ScanContinued',
  'ScanFailed',
  'ConsumerVerified',
  'ConsumerPending',
  'ConsumerStale',
  'ConsumerUnreachable',
  'ConsumerMisconfigured',
  'ConsumerSkipped',
  'VerificationChecked',
  'PreviousVersionDisabled',
  'VerificationStarted',
  'NotificationFailed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['Succeeded', 'Failed', 'Skipped', 'ActionRequired', 'Info', 'Pending'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const TRIGGERS: readonly Trigger[] = ['timer', 'eventgrid', 'manual'];

export interface AuditRecord {
  readonly timestamp: Date;
  readonly runId: string;
  readonly trigger: Trigger;
  readonly vault: string;
  /** Empty for run-level rows (ScanCompleted of a whole vault, rejected events without an object). */
  readonly objectType: ObjectType | '';
  readonly objectName: string;
  readonly version: string;
  readonly previousVersion: string;
  readonly thumbprint: string;
  readonly previousThumbprint: string;
  readonly action: AuditAction;
  /** Machine-readable reason (the trigger rule's reason, an error code, ...). */
  readonly reason: string;
  readonly outcome: AuditOutcome;
  /** Human-readable detail. Never a secret value. */
  readonly detail: string;
  /** Groups the rows of one rotation (Detected → ... → RotationCompleted). */
  readonly rotationId: string;
  /** Consumer rows: which consumer (pool id, node name, cache id) and what was expected/observed. */
  readonly consumer: string;
  readonly expected: string;
  readonly observed: string;
  /** Secret identifier of the new version (certificates): what HPC Pack and the VM extension consume. */
  readonly secretId: string;
  readonly expiresOn: string;
}

export type AuditInput = Partial<Omit<AuditRecord, 'timestamp' | 'runId' | 'trigger' | 'action' | 'outcome'>> &
  Pick<AuditRecord, 'vault' | 'action' | 'outcome'>;

export interface RunContext {
  readonly runId: string;
  readonly trigger: Trigger;
}

/** Builds a complete record: every field present (empty string when not applicable), timestamped by the clock. */
export function auditRecord(run: RunContext, now: Date, input: AuditInput): AuditRecord {
  return {
    timestamp: now,
    runId: run.runId,
    trigger: run.trigger,
    vault: input.vault,
    objectType: input.objectType ?? '',
    objectName: input.objectName ?? '',
    version: input.version ?? '',
    previousVersion: input.previousVersion ?? '',
    thumbprint: input.thumbprint ?? '',
    previousThumbprint: input.previousThumbprint ?? '',
    action: input.action,
    reason: input.reason ?? '',
    outcome: input.outcome,
    detail: truncate(input.detail ?? '', 4000),
    rotationId: input.rotationId ?? '',
    consumer: input.consumer ?? '',
    expected: input.expected ?? '',
    observed: input.observed ?? '',
    secretId: input.secretId ?? '',
    expiresOn: input.expiresOn ?? '',
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The content fields of a record in a fixed order: what the tamper-evident hash covers. */
export const AUDIT_CONTENT_FIELDS = [
  'timestamp',
  'runId',
  'trigger',
  'vault',
  'objectType',
  'objectName',
  'version',
  'previousVersion',
  'thumbprint',
  'previousThumbprint',
  'action',
  'reason',
  'outcome',
  'detail',
  'rotationId',
  'consumer',
  'expected',
  'observed',
  'secretId',
  'expiresOn',
] as const satisfies readonly (keyof AuditRecord)[];

/** Canonical JSON of a record's content: fixed field order, ISO timestamp. */
export function canonicalAuditContent(record: AuditRecord): string {
  return JSON.stringify(
    AUDIT_CONTENT_FIELDS.map((field) => {
      const value = record[field];
      return value instanceof Date ? value.toISOString() : value;
    }),
  );
}
