/**
 * Audit records: one per action Rotor takes or observes. Auditors read them to answer what was rotated, when, by
 * which trigger, from which version and thumbprint to which, which consumers confirmed it, and what failed or needs
 * a person. Records never carry a secret value or a private key: the domain never holds them except inside the
 * secret generator → vault write call.
 */
import { createHash } from 'node:crypto';
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
  /** Table storage refused a row permanently: this row stands in for it (reason, SHA-256 of the original). */
  'AuditRowRejected',
  /** Key Vault renews the object itself (its own lifetime action): Rotor creates no version. */
  'KeyVaultManaged',
  /** Key Vault's own renewal has not happened by its trigger plus the grace period. */
  'RenewalOverdue',
  /** keyVaultLifetimeActions takeOver: Key Vault's own renewal was switched off before Rotor renewed. */
  'KeyVaultRenewalTakenOver',
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

/**
 * The longest value each audit field may hold, in UTF-16 code units (what Table storage counts: at most 32K per
 * string property, 1 MiB per row). Longer values are shortened where records are built (`boundAuditField`): the
 * first characters, `…sha256:`, and the first 16 hex digits of the SHA-256 of the full value — so a shortened value
 * still says what it was, rows about different long values stay distinct, and a query for the full value finds
 * the row (the reader shortens filter values the same way). Documented in docs/audit-api.md.
 */
export const AUDIT_FIELD_MAX = {
  runId: 128,
  trigger: 16,
  vault: 127,
  objectType: 16,
  objectName: 127,
  version: 64,
  previousVersion: 64,
  thumbprint: 128,
  previousThumbprint: 128,
  action: 64,
  reason: 128,
  outcome: 32,
  detail: 4000,
  rotationId: 128,
  consumer: 1024,
  expected: 1024,
  observed: 1024,
  secretId: 1024,
  expiresOn: 64,
} as const satisfies Record<Exclude<keyof AuditRecord, 'timestamp'>, number>;

export type BoundedAuditField = keyof typeof AUDIT_FIELD_MAX;

/** `…sha256:` + 16 hex digits. */
const HASH_DIGITS = 16;
const MARKER = '…sha256:';

const LONE_SURROGATE_SOURCE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const LONE_SURROGATE = new RegExp(LONE_SURROGATE_SOURCE);
const LONE_SURROGATE_G = new RegExp(LONE_SURROGATE_SOURCE, 'g');

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * A value at most `max` code units long, well-formed (lone surrogates become U+FFFD: storage and JSON readers would
 * change them anyway, and the row's hash must survive the round trip). A longer value keeps its beginning and gains
 * `…sha256:<16 hex>` of the full (well-formed) value, the whole exactly `max` long.
 */
export function boundText(value: string, max: number): string {
  const text = LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATE_G, '\uFFFD') : value;
  if (text.length <= max) return text;
  let keep = Math.max(0, max - MARKER.length - HASH_DIGITS);
  // Never cut a surrogate pair in half.
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return `${text.slice(0, keep)}${MARKER}${sha256Hex(text).slice(0, HASH_DIGITS)}`;
}

/** A field's value as records store it (see AUDIT_FIELD_MAX). */
export const boundAuditField = (field: BoundedAuditField, value: string): string => boundText(value, AUDIT_FIELD_MAX[field]);

/** Whether a stored value was shortened at the edge. */
export const isShortened = (value: string): boolean => new RegExp(`${MARKER}[0-9a-f]{${HASH_DIGITS}}$`).test(value);

/** Builds a complete record: every field present (empty string when not applicable), timestamped by the clock. */
export function auditRecord(run: RunContext, now: Date, input: AuditInput): AuditRecord {
  const b = boundAuditField;
  return {
    timestamp: now,
    runId: b('runId', run.runId),
    trigger: run.trigger,
    vault: b('vault', input.vault),
    objectType: input.objectType ?? '',
    objectName: b('objectName', input.objectName ?? ''),
    version: b('version', input.version ?? ''),
    previousVersion: b('previousVersion', input.previousVersion ?? ''),
    thumbprint: b('thumbprint', input.thumbprint ?? ''),
    previousThumbprint: b('previousThumbprint', input.previousThumbprint ?? ''),
    action: input.action,
    reason: b('reason', input.reason ?? ''),
    outcome: input.outcome,
    detail: b('detail', input.detail ?? ''),
    rotationId: b('rotationId', input.rotationId ?? ''),
    consumer: b('consumer', input.consumer ?? ''),
    expected: b('expected', input.expected ?? ''),
    observed: b('observed', input.observed ?? ''),
    secretId: b('secretId', input.secretId ?? ''),
    expiresOn: b('expiresOn', input.expiresOn ?? ''),
  };
}

/** SHA-256 (hex) of a record's canonical content: how an AuditRowRejected row names the row it stands in for. */
export const auditContentHash = (record: AuditRecord): string => sha256Hex(canonicalAuditContent(record));

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
      // An unreadable stored timestamp must not crash a verification: it hashes as what it is (and fails to match).
      return value instanceof Date ? (Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()) : value;
    }),
  );
}
