/**
 * Every transition of a rotation, in one place, top to bottom: `transition(state, event) → next state + audit rows`
 * is the only way a rotation's state changes, and `advance` / `record` (below) are the only code that writes a
 * state (RotationStateStore.put). rotation.ts, verification.ts and scan.ts decide *when*; this file says *what*.
 *
 *   (none | Idle | Completed | Failed)
 *        │ Claim (due, mode auto) ─ or Retry (Failed on the same version, attempts left) ─┐
 *        │ CreatedElsewhere (a NewVersionCreated event for a version Rotor did not make)    │
 *        │                                                                                   ▼
 *        │                                       RotationStarted ──Resume (lease expired), HandOver (certificate
 *        │                                             │                still pending: a delayed work item)──▶ itself
 *        │                                             │ VersionCreated
 *        ├─────────────────────────────────────────────▼
 *        │                                       VersionCreated ──Resume──▶ itself
 *        │                                        │ Verifying          │ Complete (no consumers / all converged)
 *        │                                        ▼                    ▼
 *        │                        Verifying ──Recheck / Checked──▶ itself
 *        │                           │ Complete (converged)  │ DeadlinePassed
 *        │                           ▼                        ▼
 *        │                       Completed ◀──Complete──── Failed (verification: re-checked on request;
 *        │                           │ PreviousVersionDisabled, Checked (rotor verify)   late convergence completes it)
 *        │ Report (a finding audited once per version) · Observe (an externally rotated secret's new version)
 *   Fail: RotationStarted | VersionCreated | Verifying ──▶ Failed (retried with exponential backoff; once the
 *         attempts are exhausted, ManualActionRequired: a person must act).
 *
 * Rows and the state are made durable in an order that keeps the log truthful after a crash: a rotation's state is
 * written before the rows that announce its next step (Claim, VersionCreated: a resume finds the state and writes
 * what is missing), and the rows of an outcome (Complete, Fail, DeadlinePassed, Report, Observe) are durable before
 * the state that says it happened (ROWS_FIRST).
 */
import { auditRecord, type AuditInput, type AuditRecord, type RunContext } from './audit.js';
import type { AuditLog, RotationStateStore } from './ports.js';
import {
  isOpen,
  type CompletedState,
  type FailedState,
  type IdleState,
  type RotatingState,
  type RotationState,
  type StartedState,
  type VerificationSummary,
  type VersionCreatedState,
  type VerifyingState,
} from './state.js';

/** A version as a rotation records it. */
export interface VersionRef {
  readonly version: string;
  readonly thumbprint?: string | undefined;
  readonly secretId?: string | undefined;
  readonly expiresOn?: string | undefined;
}

export type RotationEvent =
  /** A finding was audited (it needs a person, or is only reported): remember it so it is audited once. */
  | { readonly kind: 'Report'; readonly key: string; readonly rows: readonly AuditInput[] }
  /** An externally rotated secret has a version Rotor had not seen (any state: Rotor never writes such secrets). */
  | { readonly kind: 'Observe'; readonly identity: string; readonly row: AuditInput }
  /** A due object is claimed for a new rotation (a new rotation id, attempt 1). */
  | { readonly kind: 'Claim'; readonly rotationId: string; readonly reason: string; readonly findingMessage: string; readonly from: VersionRef; readonly leaseUntil: Date }
  /** A failed rotation of the same version is tried again (a new rotation id, the next attempt). */
  | { readonly kind: 'Retry'; readonly rotationId: string; readonly reason: string; readonly findingMessage: string; readonly from: VersionRef; readonly leaseUntil: Date }
  /** A stopped worker's rotation is taken over after its lease expired. */
  | { readonly kind: 'Resume'; readonly leaseUntil: Date }
  /**
   * The new version exists (created, or adopted from an interrupted attempt). `own: false`: it does not carry this
   * rotation's id — someone else made it meanwhile; it is recorded as observed, and verified like Rotor's own.
   */
  | { readonly kind: 'VersionCreated'; readonly created: VersionRef; readonly own?: boolean | undefined; readonly note?: string | undefined }
  /**
   * The certificate operation is still pending when the invocation must stop waiting: a delayed work item resumes it.
   * The lease is held until then; `since` (the operation's start) becomes the rotation's start, from which
   * certificateTimeoutMinutes counts.
   */
  | { readonly kind: 'HandOver'; readonly since: Date; readonly leaseUntil: Date }
  /** A version created outside Rotor: its consumers are verified like a rotation's. */
  | { readonly kind: 'CreatedElsewhere'; readonly rotationId: string; readonly from?: VersionRef | undefined; readonly to: VersionRef }
  /** Some consumers have not picked the new version up yet: wait for them until the deadline. */
  | { readonly kind: 'Verifying'; readonly verification: VerificationSummary; readonly nextCheckAt: Date; readonly deadline: Date }
  /** A re-check is claimed (concurrent re-checks back off on the ETag). */
  | { readonly kind: 'Recheck' }
  /** A check ran and the rotation keeps its status (still waiting; or failed/completed and checked on request). */
  | { readonly kind: 'Checked'; readonly verification: VerificationSummary; readonly nextCheckAt?: Date | undefined }
  /** Done: no consumer, or every consumer converged. `recorded`: the RotationCompleted row already exists. */
  | { readonly kind: 'Complete'; readonly note: string; readonly verification?: VerificationSummary | undefined; readonly recorded?: boolean | undefined }
  /** The verification deadline passed with consumers not converged: failed, and a person must act. */
  | { readonly kind: 'DeadlinePassed'; readonly verification: VerificationSummary; readonly detail: string }
  /** An attempt failed (`audit: false` when the audit log itself is what failed). */
  | { readonly kind: 'Fail'; readonly reason: string; readonly message: string; readonly audit: boolean }
  /** After convergence, the previous version was disabled (verification.disablePreviousVersion). */
  | { readonly kind: 'PreviousVersionDisabled' };

export type RotationEventKind = RotationEvent['kind'];

/** Events whose rows must be durable before the state that records them is written. */
export const ROWS_FIRST: ReadonlySet<RotationEventKind> = new Set(['Report', 'Observe', 'Complete', 'DeadlinePassed', 'Fail']);

export interface TransitionEnv {
  readonly now: Date;
  readonly run: RunContext;
  readonly rotation: { readonly maxAttempts: number; readonly retryBaseMinutes: number };
}

export interface Step {
  readonly event: RotationEventKind;
  readonly from: RotationState['status'] | 'None';
  readonly next: RotationState;
  readonly rows: readonly AuditRecord[];
}

export class IllegalTransition extends Error {
  constructor(
    readonly from: RotationState['status'] | 'None',
    readonly event: RotationEventKind,
    why = '',
  ) {
    super(`illegal rotation transition: ${event} in state ${from}${why ? ` (${why})` : ''}`);
    this.name = 'IllegalTransition';
  }
}

// ── helpers: the parts of a state that carry over ────────────────────────────────────────────────────────────

const baseOf = (s: RotationState) => ({
  vault: s.vault,
  objectType: s.objectType,
  objectName: s.objectName,
  reportedFinding: s.reportedFinding,
  observedVersion: s.observedVersion,
});

const rotationOf = (s: RotatingState) => ({
  rotationId: s.rotationId,
  runId: s.runId,
  trigger: s.trigger,
  reason: s.reason,
  fromVersion: s.fromVersion,
  fromThumbprint: s.fromThumbprint,
  fromExpiresOn: s.fromExpiresOn,
  attempts: s.attempts,
  startedAt: s.startedAt,
});

const newVersionOf = (s: { toVersion: string; toThumbprint?: string | undefined; toSecretId?: string | undefined; toExpiresOn?: string | undefined }) => ({
  toVersion: s.toVersion,
  toThumbprint: s.toThumbprint,
  toSecretId: s.toSecretId,
  toExpiresOn: s.toExpiresOn,
});

const objectOf = (s: RotationState) => ({ vault: s.vault, objectType: s.objectType, objectName: s.objectName });

/** The object, the rotation and its from → to versions, as audit fields (also the consumer rows' base). */
export function versionPairFields(s: RotatingState) {
  return {
    ...objectOf(s),
    rotationId: s.rotationId,
    version: s.toVersion ?? '',
    previousVersion: s.fromVersion ?? '',
    thumbprint: s.toThumbprint ?? '',
    previousThumbprint: s.fromThumbprint ?? '',
  };
}

/** The from → to of a rotation whose new version exists, as audit fields. */
function versionFields(s: RotatingState) {
  return { ...versionPairFields(s), reason: s.reason, secretId: s.toSecretId ?? '', expiresOn: s.toExpiresOn ?? '' };
}

const iso = (d: Date | undefined): string => (d ? d.toISOString() : '');

/** The rows that open a rotation: Detected and RotationStarted (also written again by a resume that misses them). */
export function startRows(s: StartedState, findingMessage: string, env: TransitionEnv, note = ''): AuditRecord[] {
  const base = { ...objectOf(s), rotationId: s.rotationId, version: s.fromVersion ?? '', thumbprint: s.fromThumbprint ?? '', expiresOn: s.fromExpiresOn ?? '' };
  return [
    auditRecord(env.run, env.now, { ...base, action: 'Detected', outcome: 'Info', reason: s.reason, detail: findingMessage + note }),
    auditRecord(env.run, env.now, {
      ...base,
      action: 'RotationStarted',
      outcome: 'Pending',
      reason: s.reason,
      detail: `attempt ${s.attempts} of ${env.rotation.maxAttempts}: creating a new version${s.objectType === 'certificate' ? " from the certificate's own policy" : ''}${note}`,
    }),
  ];
}

/** keyVaultLifetimeActions takeOver: the row saying Key Vault's own renewal was switched off before Rotor renews. */
export function renewalTakenOverRow(s: StartedState, env: TransitionEnv): AuditRecord {
  return auditRecord(env.run, env.now, {
    ...objectOf(s),
    rotationId: s.rotationId,
    version: s.fromVersion ?? '',
    thumbprint: s.fromThumbprint ?? '',
    action: 'KeyVaultRenewalTakenOver',
    outcome: 'Succeeded',
    reason: 'TakeOver',
    detail:
      s.objectType === 'certificate'
        ? "keyVaultLifetimeActions is takeOver: the certificate policy's AutoRenew became EmailContacts (same trigger); Rotor renews it"
        : "keyVaultLifetimeActions is takeOver: the key rotation policy's Rotate became Notify (same trigger); Rotor rotates it",
  });
}

/** The VersionCreated row (also written again by a resume that misses it). */
export function versionCreatedRow(s: VersionCreatedState, env: TransitionEnv, note = ''): AuditRecord {
  return auditRecord(env.run, env.now, {
    ...versionFields(s),
    action: 'VersionCreated',
    outcome: 'Succeeded',
    detail:
      `new version ${s.toVersion}${s.toExpiresOn ? ` valid until ${s.toExpiresOn}` : ''}; previous version ` +
      `${s.fromVersion ?? '(unknown)'} left enabled${s.toSecretId ? `; secret identifier ${s.toSecretId}` : ''}${note}`,
  });
}

function failureRows(s: RotatingState, reason: string, message: string, exhausted: boolean, attempts: number, nextAttemptAt: Date | undefined, env: TransitionEnv): AuditRecord[] {
  const base = { ...objectOf(s), rotationId: s.rotationId, version: s.toVersion ?? '', previousVersion: s.fromVersion ?? '', previousThumbprint: s.fromThumbprint ?? '' };
  const rollback = s.toVersion
    ? `new version ${s.toVersion} exists; previous version ${s.fromVersion ?? '(unknown)'} stays enabled`
    : `no new version was created; version ${s.fromVersion ?? '(unknown)'} stays current`;
  const retry = exhausted ? 'retries exhausted: a person must act' : `next attempt after ${iso(nextAttemptAt)}`;
  const rows = [auditRecord(env.run, env.now, { ...base, action: 'RotationFailed', outcome: 'Failed', reason, detail: `${message}; ${rollback}; ${retry}` })];
  if (exhausted) {
    rows.push(
      auditRecord(env.run, env.now, {
        ...base,
        action: 'ManualActionRequired',
        outcome: 'ActionRequired',
        reason: 'RetriesExhausted',
        detail: `rotation failed ${attempts} times; last error: ${message}`,
      }),
    );
  }
  return rows;
}

function started(prior: RotationState | undefined, e: Extract<RotationEvent, { kind: 'Claim' | 'Retry' }>, attempts: number, env: TransitionEnv, object: Pick<RotationState, 'vault' | 'objectType' | 'objectName'>): StartedState {
  return {
    ...(prior ? baseOf(prior) : object),
    status: 'RotationStarted',
    rotationId: e.rotationId,
    runId: env.run.runId,
    trigger: env.run.trigger,
    reason: e.reason,
    fromVersion: e.from.version,
    fromThumbprint: e.from.thumbprint,
    fromExpiresOn: e.from.expiresOn,
    attempts,
    startedAt: env.now,
    leaseUntil: e.leaseUntil,
    updatedAt: env.now,
  };
}

function completed(s: VersionCreatedState | VerifyingState | FailedState, verification: VerificationSummary | undefined, env: TransitionEnv): CompletedState {
  if (!s.toVersion) throw new IllegalTransition(s.status, 'Complete', 'no new version exists');
  return {
    ...baseOf(s),
    ...rotationOf(s),
    ...newVersionOf({ ...s, toVersion: s.toVersion }),
    status: 'Completed',
    verification: verification ?? s.verification,
    verifyDeadline: s.status === 'VersionCreated' ? undefined : s.verifyDeadline,
    completedAt: env.now,
    updatedAt: env.now,
  };
}

/** A failed rotation can still converge (or be re-checked) when it failed while verifying its new version. */
const failedWhileVerifying = (s: FailedState): boolean => Boolean(s.toVersion && s.verification);

// ── the transition function ──────────────────────────────────────────────────────────────────────────────────

/**
 * The next state and the audit rows of `event` in `state` (undefined: no row yet). `object` names the object when
 * there is no state. Throws IllegalTransition for an event the state does not allow.
 */
export function transition(
  state: RotationState | undefined,
  event: RotationEvent,
  env: TransitionEnv,
  object?: Pick<RotationState, 'vault' | 'objectType' | 'objectName'>,
): Step {
  const from = state?.status ?? 'None';
  const illegal = (why?: string): never => {
    throw new IllegalTransition(from, event.kind, why);
  };
  const step = (next: RotationState, rows: readonly AuditRecord[] = []): Step => ({ event: event.kind, from, next, rows });
  const subject = state ?? (object ? ({ ...object, status: 'Idle', updatedAt: env.now } satisfies IdleState) : illegal('no state and no object named'));
  const s = subject;

  switch (event.kind) {
    // ── findings and observations (any state without a rotation under way) ──
    case 'Report':
      if (isOpen(s)) return illegal('a rotation is under way');
      return step(
        { ...s, reportedFinding: event.key, updatedAt: env.now },
        event.rows.map((r) => auditRecord(env.run, env.now, r)),
      );
    case 'Observe': // in any state: it only remembers which version of an externally rotated secret was seen
      return step({ ...s, observedVersion: event.identity, updatedAt: env.now }, [auditRecord(env.run, env.now, event.row)]);

    // ── a new rotation ──
    case 'Claim': {
      if (isOpen(s)) return illegal('a rotation is under way');
      if (s.status === 'Failed' && s.fromVersion === event.from.version) return illegal('the same version failed before: Retry');
      const next = started(state, event, 1, env, s);
      return step(next, startRows(next, event.findingMessage, env));
    }
    case 'Retry': {
      if (s.status !== 'Failed') return illegal('only a failed rotation is retried');
      if (s.fromVersion !== event.from.version) return illegal('a different version is a new rotation: Claim');
      if (s.attempts >= env.rotation.maxAttempts) return illegal('retries are exhausted');
      const next = started(s, event, s.attempts + 1, env, s);
      return step(next, startRows(next, event.findingMessage, env));
    }
    case 'CreatedElsewhere': {
      if (isOpen(s)) return illegal('a rotation is under way');
      const next: VersionCreatedState = {
        ...baseOf(s),
        status: 'VersionCreated',
        rotationId: event.rotationId,
        runId: env.run.runId,
        trigger: env.run.trigger,
        reason: 'CreatedOutsideRotor',
        fromVersion: event.from?.version,
        fromThumbprint: event.from?.thumbprint,
        fromExpiresOn: event.from?.expiresOn,
        attempts: 1,
        startedAt: env.now,
        toVersion: event.to.version,
        toThumbprint: event.to.thumbprint,
        toSecretId: event.to.secretId,
        toExpiresOn: event.to.expiresOn,
        updatedAt: env.now,
      };
      return step(next);
    }

    // ── a rotation under way ──
    case 'Resume':
      if (s.status === 'RotationStarted') return step({ ...s, runId: env.run.runId, trigger: env.run.trigger, leaseUntil: event.leaseUntil, updatedAt: env.now });
      if (s.status === 'VersionCreated') return step({ ...s, runId: env.run.runId, trigger: env.run.trigger, leaseUntil: event.leaseUntil, updatedAt: env.now });
      return illegal('only a claimed rotation without an outcome is resumed');
    case 'VersionCreated': {
      if (s.status !== 'RotationStarted') return illegal();
      const next: VersionCreatedState = {
        ...baseOf(s),
        ...rotationOf(s),
        status: 'VersionCreated',
        toVersion: event.created.version,
        toThumbprint: event.created.thumbprint,
        toSecretId: event.created.secretId,
        toExpiresOn: event.created.expiresOn,
        leaseUntil: s.leaseUntil,
        updatedAt: env.now,
      };
      if (event.own === false) {
        return step(next, [
          auditRecord(env.run, env.now, {
            ...versionFields(next),
            action: 'NewVersionObserved',
            outcome: 'Info',
            reason: 'CreatedOutsideRotor',
            detail: `rotation ${next.rotationId} found a new version it did not create; its consumers are verified like Rotor's own`,
          }),
        ]);
      }
      return step(next, [versionCreatedRow(next, env, event.note)]);
    }
    case 'HandOver':
      if (s.status !== 'RotationStarted') return illegal('only a rotation waiting for its new version is handed over');
      return step({ ...s, startedAt: event.since, leaseUntil: event.leaseUntil, updatedAt: env.now });
    case 'Verifying': {
      if (s.status !== 'VersionCreated') return illegal();
      const next: VerifyingState = {
        ...baseOf(s),
        ...rotationOf(s),
        ...newVersionOf(s),
        status: 'Verifying',
        verification: event.verification,
        nextCheckAt: event.nextCheckAt,
        verifyDeadline: event.deadline,
        updatedAt: env.now,
      };
      return step(next);
    }
    case 'Recheck':
      if (s.status === 'Verifying') return step({ ...s, runId: env.run.runId, trigger: env.run.trigger, updatedAt: env.now });
      if (s.status === 'Failed' && failedWhileVerifying(s)) return step({ ...s, runId: env.run.runId, trigger: env.run.trigger, updatedAt: env.now });
      return illegal('nothing to re-check');
    case 'Checked':
      if (s.status === 'Verifying') {
        return step({ ...s, verification: event.verification, nextCheckAt: event.nextCheckAt ?? s.nextCheckAt, updatedAt: env.now });
      }
      if (s.status === 'Failed' && failedWhileVerifying(s)) return step({ ...s, verification: event.verification, updatedAt: env.now });
      if (s.status === 'Completed') return step({ ...s, verification: event.verification, updatedAt: env.now });
      return illegal('no verification to record');

    // ── outcomes ──
    case 'Complete': {
      if (s.status !== 'VersionCreated' && s.status !== 'Verifying' && !(s.status === 'Failed' && failedWhileVerifying(s))) return illegal();
      const next = completed(s, event.verification, env);
      const rows = event.recorded
        ? []
        : [auditRecord(env.run, env.now, { ...versionFields(next), action: 'RotationCompleted', outcome: 'Succeeded', detail: `rotated from ${next.fromVersion ?? '(unknown)'} to ${next.toVersion}${event.note}` })];
      return step(next, rows);
    }
    case 'DeadlinePassed': {
      if (s.status !== 'Verifying') return illegal();
      const attempts = env.rotation.maxAttempts;
      const next: FailedState = {
        ...baseOf(s),
        ...rotationOf(s),
        ...newVersionOf(s),
        status: 'Failed',
        attempts,
        verification: event.verification,
        verifyDeadline: s.verifyDeadline,
        lastError: event.detail.slice(0, 1000),
        nextAttemptAt: undefined,
        updatedAt: env.now,
      };
      return step(next, failureRows(next, 'Timeout', event.detail, true, attempts, undefined, env));
    }
    case 'Fail': {
      if (!isOpen(s)) return illegal('no rotation under way');
      const { maxAttempts, retryBaseMinutes } = env.rotation;
      const exhausted = s.attempts >= maxAttempts;
      const nextAttemptAt = exhausted ? undefined : new Date(env.now.getTime() + retryBaseMinutes * 60_000 * 2 ** (s.attempts - 1));
      const next: FailedState = {
        ...baseOf(s),
        ...rotationOf(s),
        toVersion: s.toVersion,
        toThumbprint: s.toThumbprint,
        toSecretId: s.toSecretId,
        toExpiresOn: s.toExpiresOn,
        status: 'Failed',
        verification: s.verification,
        verifyDeadline: s.verifyDeadline,
        lastError: event.message.slice(0, 1000),
        nextAttemptAt,
        updatedAt: env.now,
      };
      return step(next, event.audit ? failureRows(next, event.reason, event.message, exhausted, s.attempts, nextAttemptAt, env) : []);
    }
    case 'PreviousVersionDisabled':
      if (s.status !== 'Completed' || !s.fromVersion) return illegal('only a completed rotation with a previous version');
      return step({ ...s, updatedAt: env.now }, [
        auditRecord(env.run, env.now, {
          ...objectOf(s),
          rotationId: s.rotationId,
          version: s.fromVersion,
          thumbprint: s.fromThumbprint ?? '',
          action: 'PreviousVersionDisabled',
          outcome: 'Succeeded',
          reason: 'ConsumersConverged',
          detail: `previous version ${s.fromVersion} disabled after every consumer picked up ${s.toVersion} (verification.disablePreviousVersion)`,
        }),
      ]);
  }
}

// ── the store: the only writer of rotation states ───────────────────────────────────────────────────────────────

export interface TransitionContext {
  readonly states: RotationStateStore;
  readonly audit: AuditLog;
  readonly clock: { now(): Date };
  readonly run: RunContext;
  readonly config: { readonly rotation: TransitionEnv['rotation'] };
}

export const envOf = (ctx: TransitionContext): TransitionEnv => ({ now: ctx.clock.now(), run: ctx.run, rotation: ctx.config.rotation });

/** Writes a step's state (compare-and-swap on `etag`; undefined: only if no row exists). Returns the new etag. */
export function persist(ctx: Pick<TransitionContext, 'states'>, step: Step, etag: string | undefined): Promise<string> {
  return ctx.states.put(step.next, etag);
}

/**
 * Takes `event` where the state comes first: writes the next state, then appends the rows (the caller flushes them
 * when its protocol says so). For events in ROWS_FIRST use `record`.
 */
export async function advance(
  ctx: TransitionContext,
  current: { state: RotationState | undefined; etag: string | undefined },
  event: RotationEvent,
  object?: Pick<RotationState, 'vault' | 'objectType' | 'objectName'>,
): Promise<{ step: Step; etag: string }> {
  if (ROWS_FIRST.has(event.kind)) throw new Error(`${event.kind}: its rows are written before its state (use record)`);
  const step = transition(current.state, event, envOf(ctx), object);
  const etag = await persist(ctx, step, current.etag);
  for (const row of step.rows) ctx.audit.append(row);
  return { step, etag };
}

/**
 * Takes `event` where the rows come first: appends them, makes them durable with `flush` (default: the audit log's
 * own), then writes the next state. Returns the step and the new etag.
 */
export async function record(
  ctx: TransitionContext,
  current: { state: RotationState | undefined; etag: string | undefined },
  event: RotationEvent,
  options: { flush?: () => Promise<void>; object?: Pick<RotationState, 'vault' | 'objectType' | 'objectName'> } = {},
): Promise<{ step: Step; etag: string }> {
  const step = transition(current.state, event, envOf(ctx), options.object);
  for (const row of step.rows) ctx.audit.append(row);
  if (step.rows.length) await (options.flush ? options.flush() : ctx.audit.flush());
  const etag = await persist(ctx, step, current.etag);
  return { step, etag };
}
