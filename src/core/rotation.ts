/**
 * Rotation of one due object as a resumable state machine (see state.ts). Guarantees:
 * - fail closed: no new version is created unless the RotationStarted audit row was durably written first;
 * - exactly one new version per rotation: a worker claims the object with optimistic concurrency and a lease, and
 *   every resume first adopts a version created before an interruption (or waits for a pending certificate
 *   operation) instead of creating another;
 * - the previous version is left enabled (rollback stays possible);
 * - failures are audited and retried with exponential backoff, then handed to a person.
 */
import type { AuditInput, RunContext } from './audit.js';
import { resolveObjectPolicy, type ObjectPolicy, type RotorConfig, type SecretKind } from './config.js';
import { generateSecretValue } from './generators.js';
import { MS_PER_DAY, type CertificatePolicyModel, type KeyVaultRenewal, type ObjectSnapshot, type ObjectVersion } from './model.js';
import { operationClassForKey, type VaultPacer } from './pacing.js';
import { keyVaultRenewalFinding, type Finding } from './policy.js';
import {
  ConcurrencyError,
  GatewayError,
  type AuditLog,
  type Clock,
  type Logger,
  type Metrics,
  type Random,
  type RotationStateStore,
  type Sleep,
  type VaultGateway,
  type Versioned,
} from './ports.js';
import { findOwnVersion, isOwnVersion, isPending, tagsForRotation } from './ownership.js';
import { hpcCacheKeyViolations, hpcPackPolicyViolations } from './profiles.js';
import type { WorkQueue } from './work.js';
import { isOpen, type CompletedState, type FailedState, type RotationState, type StartedState, type VerificationSummary, type VersionCreatedState, type VerifyingState } from './state.js';
import { advance, envOf, persist, record, renewalTakenOverRow, startRows, transition, versionCreatedRow, type Step, type VersionRef } from './transitions.js';

/** What consumer verification found right after a new version was created. */
export type VerificationVerdict =
  | { readonly next: 'completed'; readonly note: string; readonly verification?: VerificationSummary | undefined }
  | { readonly next: 'verifying'; readonly verification: VerificationSummary; readonly nextCheckAt: Date; readonly deadline: Date };

/** Called once a new version exists (consumer verification plugs in here). */
export interface VersionCreatedHook {
  /** Checks the consumers: 'completed' when nothing needs verifying (or all converged), else 'verifying'. */
  afterVersionCreated(state: VersionCreatedState, ctx: RotationContext): Promise<VerificationVerdict>;
  /** After RotationCompleted was recorded (e.g. disable the previous version, when configured). */
  afterCompleted(state: CompletedState, ctx: RotationContext): Promise<void>;
  /** Re-checks a rotation that is Verifying (queue message, nightly run, `rotor verify`). */
  recheck(existing: Versioned<RotationState>, ctx: RotationContext, options?: { force?: boolean }): Promise<ObjectOutcome>;
}

export interface RotationContext {
  readonly config: RotorConfig;
  readonly gateway: VaultGateway;
  readonly states: RotationStateStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly pacer: VaultPacer;
  readonly random: Random;
  readonly run: RunContext;
  readonly log: Logger;
  /** New rotation ids (UUIDs in production; deterministic in tests). */
  readonly newId: () => string;
  readonly hooks?: VersionCreatedHook | undefined;
  readonly metrics?: Metrics | undefined;
  /** For delayed re-checks of consumers (verify work items). */
  readonly queue?: WorkQueue | undefined;
  /** When the work item's time budget (rotation.workItemMinutes) runs out: consumer checks start no new probe after it. */
  readonly budgetEndsAt?: Date | undefined;
  /** No wait of this invocation may run past this (the function timeout minus a margin); undefined: no limit. */
  readonly deadline?: Date | undefined;
  /**
   * Group commit of completions (processVault): a completed rotation's rows are written with other rows, and its
   * Completed state once they are durable. Without it, each completion is written on its own.
   */
  readonly completions?: CompletionQueue | undefined;
  /**
   * Membership in a group of due objects started together (processVault): `ready()` says this object's opening
   * audit rows are appended (or that it has none), so the group's rows can go out in one write.
   */
  readonly group?: GroupMember | undefined;
}

export interface GroupMember {
  ready(): void;
}

/**
 * The audit rows that open a rotation (or report a finding) may wait this long (ms) for the other members of its
 * group to append theirs, so that they share one Table storage request; the rotation waits until they are durable.
 */
const START_ROWS_MAX_DELAY_MS = 1_000;
/** Completed rotations' rows wait at most this long (ms) for a write they can join. */
const COMPLETION_ROWS_MAX_DELAY_MS = 2_000;

interface PendingCompletion {
  readonly step: Step;
  readonly etag: string;
}

/**
 * Completions awaiting a group commit. A rotation whose new version exists and needs no verification appends its
 * RotationCompleted row and hands itself over here, freeing its worker slot; `commit` makes the rows durable (in
 * the same request as other rotations' rows where possible) and only then writes the Completed states. Until then
 * the persisted state says VersionCreated: after a crash, resuming finds the row (or writes it) and completes.
 */
export class CompletionQueue {
  private pending: PendingCompletion[] = [];

  constructor(private readonly ctx: RotationContext) {}

  add(state: VersionCreatedState, etag: string, note: string, verification?: VerificationSummary): void {
    const step = transition(state, { kind: 'Complete', note, verification }, envOf(this.ctx));
    for (const row of step.rows) this.ctx.audit.append(row);
    this.pending.push({ step, etag });
  }

  /** Makes the queued completions durable and records them; failures leave them to be resumed (never thrown). */
  async commit(maxDelayMs = COMPLETION_ROWS_MAX_DELAY_MS): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    const { ctx } = this;
    try {
      await ctx.audit.flush({ maxDelayMs });
    } catch (err) {
      ctx.log.error(`could not write the RotationCompleted rows of ${batch.length} rotations; they complete when resumed: ${message(err)}`);
      return;
    }
    await Promise.all(
      batch.map(async ({ step, etag }) => {
        const state = step.next as CompletedState;
        try {
          await persist(ctx, step, etag);
          await ctx.hooks?.afterCompleted(state, ctx);
        } catch (err) {
          ctx.log.error(`could not record the completion of ${state.vault}/${state.objectType}/${state.objectName}: ${message(err)}`, {
            rotationId: state.rotationId,
          });
        }
      }),
    );
  }
}

export type ObjectOutcome =
  | 'Rotated'
  | 'Verifying'
  | 'Failed'
  | 'ManualActionRequired'
  | 'PolicyViolation'
  | 'Skipped'
  | 'Reported'
  | 'AlreadyReported'
  | 'InProgressElsewhere'
  | 'WaitingForRetry'
  /** Key Vault renews the object itself (keyVaultLifetimeActions respect): Rotor creates nothing. */
  | 'KeyVaultManaged'
  /** A certificate operation is still pending; a delayed work item looks again. */
  | 'Pending'
  | 'NotDue';

const iso = (d: Date | undefined): string => (d ? d.toISOString() : '');

function objectFields(o: Pick<ObjectSnapshot, 'vault' | 'type' | 'name'>) {
  return { vault: o.vault, objectType: o.type, objectName: o.name } as const;
}

/** A version as a rotation records it. */
function versionRef(v: Pick<ObjectSnapshot, 'thumbprint' | 'expiresOn'> & { version?: string | undefined; secretId?: string | undefined }): VersionRef {
  return { version: v.version ?? '', thumbprint: v.thumbprint || undefined, secretId: v.secretId || undefined, expiresOn: v.expiresOn ? v.expiresOn.toISOString() : undefined };
}

/** Audits a finding once per object version: a finding that needs a person is not re-audited every night. */
export async function reportOnce(
  object: ObjectSnapshot,
  key: string,
  rows: readonly AuditInput[],
  ctx: RotationContext,
  outcome: ObjectOutcome,
): Promise<ObjectOutcome> {
  const existing = await ctx.states.get(object.vault, object.type, object.name);
  if (existing && isOpen(existing.value)) return 'InProgressElsewhere'; // a rotation is under way: its rows tell the story
  if (existing?.value.reportedFinding === key) return 'AlreadyReported';
  try {
    await record(ctx, { state: existing?.value, etag: existing?.etag }, { kind: 'Report', key, rows }, { flush: () => flushOpeningRows(ctx), object: objectFields(object) });
  } catch (err) {
    if (!(err instanceof ConcurrencyError)) throw err;
    // Another worker updated the row meanwhile; it will report on its own terms.
  }
  return outcome;
}

/**
 * Identity of the object's current version for de-duplicating reports. List pages carry no version id, so it is the
 * version's creation time — the same whether the object came from a list page (nightly scan) or was read
 * individually (an event, rotateNow).
 */
export function versionIdentity(object: ObjectSnapshot): string {
  return iso(object.createdOn ?? object.notBefore ?? object.updatedOn) || (object.version ?? '');
}

interface Refusal {
  readonly action: 'ManualActionRequired' | 'PolicyViolation' | 'KeyVaultManaged' | 'RenewalOverdue';
  readonly reason: string;
  readonly detail: string;
}

interface Prepared {
  readonly current: ObjectVersion;
  readonly certificatePolicy?: CertificatePolicyModel | undefined;
  /** keyVaultLifetimeActions takeOver: Key Vault's own renewal to switch off before Rotor rotates. */
  readonly takeOver?: KeyVaultRenewal | undefined;
}

/**
 * Key Vault renews the object itself: with `respect` (default) a refusal that reports it (KeyVaultManaged, or
 * RenewalOverdue past its trigger plus the grace period) — Rotor creates nothing; with `takeOver` the renewal to
 * switch off before rotating.
 */
function keyVaultRenewalCheck(
  current: ObjectVersion,
  renewal: KeyVaultRenewal | undefined,
  ctx: Pick<RotationContext, 'config' | 'clock'>,
): { refusal?: Refusal; takeOver?: KeyVaultRenewal } {
  if (!renewal) return {};
  const { keyVaultLifetimeActions, keyVaultRenewalGraceHours } = ctx.config.defaults;
  if (keyVaultLifetimeActions === 'takeOver') return { takeOver: renewal };
  const finding = keyVaultRenewalFinding(current, renewal, ctx.clock.now(), keyVaultRenewalGraceHours * 3_600_000);
  return { refusal: { action: finding.reason, reason: finding.reason, detail: finding.message } };
}

/** Checks that need the object's details (policy, key parameters) before anything is claimed or created. */
export async function preflight(
  current: ObjectVersion,
  policy: ObjectPolicy,
  ctx: Pick<RotationContext, 'config' | 'gateway' | 'clock'>,
): Promise<{ refusal?: Refusal; prepared: Prepared }> {
  switch (current.type) {
    case 'certificate': {
      const certificatePolicy = await ctx.gateway.getCertificatePolicy(current.name);
      const prepared = { current, certificatePolicy };
      const renewable = ctx.config.defaults.autoRenewableIssuers.some(
        (i) => i.toLowerCase() === certificatePolicy.issuerName.toLowerCase(),
      );
      if (!renewable) {
        return {
          prepared,
          refusal: {
            action: 'ManualActionRequired',
            reason: 'IssuerNotAutoRenewable',
            detail:
              `issuer "${certificatePolicy.issuerName}" cannot be renewed automatically (auto-renewable: ` +
              `${ctx.config.defaults.autoRenewableIssuers.join(', ')}); a person must request the certificate from its CA and merge it`,
          },
        };
      }
      // AutoRenew with an issuer Key Vault can use: Key Vault renews it (one due point, one renewal).
      const renewalCheck = keyVaultRenewalCheck(current, certificatePolicy.renewal, ctx);
      if (renewalCheck.refusal) return { prepared, refusal: renewalCheck.refusal };
      if (policy.profile === 'hpc-pack') {
        const problems = hpcPackPolicyViolations(certificatePolicy);
        if (problems.length) {
          return {
            prepared,
            refusal: {
              action: 'PolicyViolation',
              reason: 'HpcPackCertificateRequirements',
              detail: `refused before creation: the certificate policy does not meet HPC Pack's requirements: ${problems.join('; ')}`,
            },
          };
        }
      }
      return { prepared: { ...prepared, takeOver: renewalCheck.takeOver } };
    }
    case 'key': {
      const renewalCheck = keyVaultRenewalCheck(current, await ctx.gateway.getKeyRenewal(current.name), ctx);
      if (renewalCheck.refusal) return { prepared: { current }, refusal: renewalCheck.refusal };
      if (policy.profile === 'hpc-cache') {
        const problems = hpcCacheKeyViolations(current);
        if (problems.length) {
          return {
            prepared: { current },
            refusal: {
              action: 'PolicyViolation',
              reason: 'HpcCacheKeyRequirements',
              detail: `refused before creation: ${problems.join('; ')}`,
            },
          };
        }
      }
      return { prepared: { current, takeOver: renewalCheck.takeOver } };
    }
    case 'secret': {
      if (!policy.secretKind) {
        return {
          prepared: { current },
          refusal: {
            action: 'ManualActionRequired',
            reason: 'NoSecretGenerator',
            detail: 'Rotor does not know how to make a new value: tag it rotor-secret-kind=<kind> with a kind from secretKinds',
          },
        };
      }
      return { prepared: { current } };
    }
  }
}

/**
 * How long a worker holds an object. No wait of one invocation outlasts the function timeout (a pending certificate
 * is handed to a delayed work item), so the same lease serves every type.
 */
function leaseMs(ctx: RotationContext, _type: ObjectSnapshot['type']): number {
  return ctx.config.rotation.leaseMinutes * 60_000;
}

/**
 * Rotates a due object in mode `auto`: preflight, claim, audit (fail closed), create, record, complete.
 * `object` is what the list page reported; the current version is re-read here (due objects only).
 */
export async function rotateDueObject(
  object: ObjectSnapshot,
  finding: Finding,
  policy: ObjectPolicy,
  ctx: RotationContext,
): Promise<ObjectOutcome> {
  const now = ctx.clock.now();
  const existing = await ctx.states.get(object.vault, object.type, object.name);
  const prior = existing?.value;
  if (existing && prior && isOpen(prior)) {
    if (prior.status === 'Verifying') return 'Verifying'; // the new version exists; its consumers are being verified
    if (prior.leaseUntil && prior.leaseUntil.getTime() > now.getTime()) return 'InProgressElsewhere';
    return resumeRotation(existing, ctx);
  }

  const current = await ctx.gateway.getCurrent(object.type, object.name);
  if (!current) return 'NotDue';
  const sameVersionFailed = prior?.status === 'Failed' && prior.fromVersion === current.version;
  if (sameVersionFailed && prior.nextAttemptAt && prior.nextAttemptAt.getTime() > now.getTime()) return 'WaitingForRetry';
  if (sameVersionFailed && prior.attempts >= ctx.config.rotation.maxAttempts) return 'AlreadyReported';

  const { refusal, prepared } = await preflight(current, policy, ctx);
  if (refusal) {
    const outcome = refusal.action === 'PolicyViolation' ? 'PolicyViolation' : refusal.action === 'KeyVaultManaged' ? 'KeyVaultManaged' : 'ManualActionRequired';
    const base = { ...objectFields(current), version: current.version, thumbprint: current.thumbprint ?? '' };
    return reportOnce(
      current,
      `${refusal.reason}@${current.version}`,
      [
        { ...base, action: 'Detected', outcome: 'Info', reason: finding.reason, detail: finding.message },
        { ...base, action: refusal.action, outcome: refusal.action === 'KeyVaultManaged' ? 'Info' : 'ActionRequired', reason: refusal.reason, detail: refusal.detail },
      ],
      ctx,
      outcome,
    );
  }

  let claimed: { step: Step; etag: string };
  try {
    claimed = await advance(
      ctx,
      { state: prior, etag: existing?.etag },
      {
        kind: sameVersionFailed ? 'Retry' : 'Claim',
        rotationId: ctx.newId(),
        reason: finding.reason,
        findingMessage: finding.message,
        from: versionRef(current),
        leaseUntil: new Date(now.getTime() + leaseMs(ctx, object.type)),
      },
      objectFields(object),
    );
  } catch (err) {
    if (err instanceof ConcurrencyError) return 'InProgressElsewhere';
    throw err;
  }
  const state = claimed.step.next as StartedState;
  try {
    await flushOpeningRows(ctx);
  } catch (err) {
    // Fail closed: nothing is created without its RotationStarted row.
    return failRotation(state, claimed.etag, new GatewayError('Unavailable', `audit log unavailable, nothing was created: ${message(err)}`), ctx, {
      audit: false,
    });
  }
  let ready = prepared;
  if (prepared.takeOver && state.objectType !== 'secret') {
    // keyVaultLifetimeActions takeOver: Key Vault's own renewal is switched off before Rotor renews (one renewal). The
    // new certificate version is created from the updated policy: a create request's policy replaces the
    // certificate's, and the one read before would bring AutoRenew back.
    try {
      const updated = await ctx.gateway.stopKeyVaultRenewal(state.objectType, state.objectName);
      if (updated) ready = { ...prepared, certificatePolicy: updated };
    } catch (err) {
      return failRotation(state, claimed.etag, err, ctx, { audit: true });
    }
    ctx.audit.append(renewalTakenOverRow(state, envOf(ctx)));
  }
  return continueRotation(state, claimed.etag, ctx, ready);
}

/** Makes the rows just appended durable: alone, at once; in a group, together with the group's other rows. */
function flushOpeningRows(ctx: RotationContext): Promise<void> {
  if (!ctx.group) return ctx.audit.flush();
  const flushed = ctx.audit.flush({ maxDelayMs: START_ROWS_MAX_DELAY_MS });
  ctx.group.ready();
  return flushed;
}

/** Resumes a rotation whose worker stopped (crash, timeout, redelivery) once its lease has expired. */
export async function resumeRotation(existing: Versioned<RotationState>, ctx: RotationContext): Promise<ObjectOutcome> {
  if (existing.value.status === 'Verifying') return 'Verifying';
  const now = ctx.clock.now();
  let resumed: { step: Step; etag: string };
  try {
    resumed = await advance(ctx, { state: existing.value, etag: existing.etag }, { kind: 'Resume', leaseUntil: new Date(now.getTime() + leaseMs(ctx, existing.value.objectType)) });
  } catch (err) {
    if (err instanceof ConcurrencyError) return 'InProgressElsewhere';
    throw err;
  }
  const state = resumed.step.next as StartedState | VersionCreatedState;
  const { etag } = resumed;
  const note = ' (resumed after an interrupted attempt)';
  // Only the partitions the rotation can have written are read (from its start on): O(1) whatever the log's age.
  const has = (action: 'RotationStarted' | 'RotationCompleted' | 'VersionCreated') => ctx.audit.hasRecord(state.vault, state.rotationId, action, state.startedAt);
  if (state.status === 'RotationStarted' && !(await has('RotationStarted'))) {
    for (const row of startRows(state, `rotation ${state.rotationId} was claimed but not yet recorded`, envOf(ctx), note)) ctx.audit.append(row);
    try {
      await ctx.audit.flush();
    } catch (err) {
      return failRotation(state, etag, new GatewayError('Unavailable', `audit log unavailable, nothing was created: ${message(err)}`), ctx, {
        audit: false,
      });
    }
  }
  if (state.status === 'VersionCreated') {
    if (await has('RotationCompleted')) {
      // Interrupted after the completion was audited: only the state is missing.
      await record(ctx, { state, etag }, { kind: 'Complete', note: '', recorded: true });
      return 'Rotated';
    }
    if (!(await has('VersionCreated'))) ctx.audit.append(versionCreatedRow(state, envOf(ctx), note));
  }
  return continueRotation(state, etag, ctx, undefined);
}

/** Drives a claimed rotation from its current status to Completed (or Verifying, or Failed). */
async function continueRotation(
  start: StartedState | VersionCreatedState,
  startEtag: string,
  ctx: RotationContext,
  prepared: Prepared | undefined,
): Promise<ObjectOutcome> {
  let state: RotationState = start;
  let etag = startEtag;
  let elsewhere = '';
  try {
    if (state.status === 'RotationStarted') {
      const { version: created, own } = await ensureNewVersion(state, ctx, prepared);
      const done = await advance(ctx, { state, etag }, { kind: 'VersionCreated', created: versionRef(created), own });
      [state, etag] = [done.step.next, done.etag];
      if (!own) elsewhere = `; version ${done.step.next.toVersion ?? ''} was created outside Rotor (it does not carry this rotation's id), so this rotation created none`;
    }
    if (state.status === 'VersionCreated') {
      const verified: VerificationVerdict = ctx.hooks ? await ctx.hooks.afterVersionCreated(state, ctx) : { next: 'completed', note: '' };
      const verdict: VerificationVerdict = verified.next === 'completed' ? { ...verified, note: verified.note + elsewhere } : verified;
      if (verdict.next === 'verifying') {
        await ctx.audit.flush();
        await advance(ctx, { state, etag }, { kind: 'Verifying', verification: verdict.verification, nextCheckAt: verdict.nextCheckAt, deadline: verdict.deadline });
        return 'Verifying';
      }
      if (ctx.completions) {
        ctx.completions.add(state, etag, verdict.note, verdict.verification);
        return 'Rotated';
      }
      return await completeRotation(state, etag, ctx, verdict.note, verdict.verification);
    }
    return state.status === 'Verifying' ? 'Verifying' : 'NotDue';
  } catch (err) {
    if (err instanceof ConcurrencyError) return 'InProgressElsewhere';
    if (err instanceof CertificateStillPending && state.status === 'RotationStarted') {
      try {
        return await handOverPending(state, etag, err, ctx);
      } catch (handOverErr) {
        if (handOverErr instanceof ConcurrencyError) return 'InProgressElsewhere';
        // The state keeps its lease; the nightly scan resumes the rotation once it expires.
        ctx.log.error(`could not schedule the re-check of a pending certificate: ${message(handOverErr)}`, { rotationId: state.rotationId });
        return 'Pending';
      }
    }
    return failRotation(state, etag, err, ctx, { audit: true });
  }
}

/** The version before `current`: the newest one created earlier (from the versions list, properties only). */
async function previousVersion(current: ObjectVersion, ctx: RotationContext): Promise<ObjectSnapshot | undefined> {
  let previous: ObjectSnapshot | undefined;
  const created = (o: ObjectSnapshot): number => o.createdOn?.getTime() ?? 0;
  for await (const page of ctx.gateway.listVersions(current.type, current.name)) {
    for (const v of page) {
      if (v.version === current.version || created(v) > created(current)) continue;
      if (!previous || created(v) > created(previous)) previous = v;
    }
  }
  return previous;
}

/**
 * A version created outside Rotor (a NewVersionCreated event for a version Rotor did not make): its consumers are
 * verified like those of a rotation (reason CreatedOutsideRotor), with the same re-checks, deadline and audit rows.
 * Nothing is recorded when nothing consumes the object.
 */
export async function verifyVersionCreatedElsewhere(
  current: ObjectVersion,
  existing: Versioned<RotationState> | undefined,
  ctx: RotationContext,
): Promise<void> {
  if (!ctx.hooks) return;
  const previous = await previousVersion(current, ctx);
  const created = transition(
    existing?.value,
    { kind: 'CreatedElsewhere', rotationId: ctx.newId(), from: previous ? versionRef(previous) : undefined, to: versionRef(current) },
    envOf(ctx),
    objectFields(current),
  );
  const state = created.next as VersionCreatedState;
  const verdict = await ctx.hooks.afterVersionCreated(state, ctx);
  if (verdict.next === 'completed' && !verdict.verification) return; // no consumer found
  try {
    if (verdict.next === 'verifying') {
      await ctx.audit.flush();
      const verifying = transition(state, { kind: 'Verifying', verification: verdict.verification, nextCheckAt: verdict.nextCheckAt, deadline: verdict.deadline }, envOf(ctx));
      await persist(ctx, verifying, existing?.etag);
      return;
    }
    const etag = await persist(ctx, created, existing?.etag);
    await completeRotation(state, etag, ctx, `${verdict.note}; the version was created outside Rotor`, verdict.verification);
  } catch (err) {
    if (err instanceof ConcurrencyError) return; // another worker took the object meanwhile
    throw err;
  }
}

/**
 * Writes RotationCompleted (durably), then the Completed state — the one way a rotation completes (the group
 * commit's CompletionQueue does the same in two halves) — then runs the after-completion hook.
 */
export async function completeRotation(
  state: VersionCreatedState | VerifyingState | FailedState,
  etag: string,
  ctx: RotationContext,
  note: string,
  verification?: VerificationSummary,
): Promise<ObjectOutcome> {
  const { step } = await record(ctx, { state, etag }, { kind: 'Complete', note, verification });
  await ctx.hooks?.afterCompleted(step.next as CompletedState, ctx);
  return 'Rotated';
}

/** The new version of a rotation: Rotor's own (tagged with the rotation id), or one someone else made meanwhile. */
interface NewVersion {
  readonly version: ObjectVersion;
  /** False: a version Rotor did not create became current (by a person, another tool, Key Vault's own renewal). */
  readonly own: boolean;
}

/**
 * Creates the new version — or adopts the one an interrupted attempt of this rotation already created, recognised by
 * its rotation-id tag (ownership.ts). `prepared` is set on a first attempt (nothing can exist yet); a resumed
 * rotation (`prepared` undefined) looks for its own version first.
 */
async function ensureNewVersion(state: StartedState, ctx: RotationContext, prepared: Prepared | undefined): Promise<NewVersion> {
  const { gateway } = ctx;
  if (!prepared) {
    const own = await ownVersion(state, ctx);
    if (own) return { version: own, own: true };
  }
  const current = prepared?.current ?? (await gateway.getCurrent(state.objectType, state.objectName));
  if (!current) throw new GatewayError('NotFound', `${state.objectType} ${state.objectName} no longer exists`);
  if (state.objectType === 'certificate' && !prepared) {
    // A create is pending — an interrupted attempt's, or someone else's: wait for it, never issue a second one.
    const operation = await gateway.getCertificateOperation(state.objectName);
    if (operation.status === 'inProgress') return settleCertificate(state, ctx);
  }
  if (current.version !== state.fromVersion && !isPending(current)) {
    // Someone else made a new version since this rotation started: that due point is served, nothing is created.
    return { version: current, own: false };
  }
  const tags = tagsForRotation(current.tags, state.rotationId);
  switch (state.objectType) {
    case 'certificate': {
      const operation = prepared ? await gateway.getCertificateOperation(state.objectName) : { status: 'none' as const };
      if (operation.status === 'inProgress') return settleCertificate(state, ctx);
      const policy = prepared?.certificatePolicy ?? (await gateway.getCertificatePolicy(state.objectName));
      let issuedAt = ctx.clock.now().getTime();
      await ctx.pacer.paced(operationClassForKey(policy.keyType, policy.keySize), () => {
        issuedAt = ctx.clock.now().getTime(); // the operation's start, after any wait for the vault's budget
        return gateway.startCertificateVersion(state.objectName, policy, tags);
      });
      return settleCertificate(state, ctx, issuedAt);
    }
    case 'key':
      return { version: await createKeyVersion(current, tags, ctx), own: true };
    case 'secret': {
      // The secret's policy as every other decision sees it (configuration, then tags): resolveObjectPolicy.
      const resolution = resolveObjectPolicy(ctx.config, current);
      const kind = resolution.ok ? resolution.policy.secretKind : undefined;
      const value = kind ? generateSecretValue(kind, ctx.random) : undefined;
      if (value === undefined) throw new GatewayError('BadRequest', resolution.ok ? 'no generator for this secret kind' : `${resolution.field}: ${resolution.message}`);
      const now = ctx.clock.now();
      const version = await ctx.pacer.paced('secretWrite', () =>
        gateway.setSecretVersion(state.objectName, value, {
          tags,
          contentType: current.contentType ?? (kind && 'contentType' in kind ? kind.contentType : undefined),
          notBefore: now,
          expiresOn: new Date(now.getTime() + secretLifetimeMs(kind, current)),
        }),
      );
      return { version, own: true };
    }
  }
}

/** This rotation's own finished version, found by its tag (the current one, or an older one someone built upon). */
async function ownVersion(state: StartedState, ctx: RotationContext): Promise<ObjectVersion | undefined> {
  const found = await findOwnVersion(ctx.gateway, state.objectType, state.objectName, state.rotationId);
  if (!found?.version) return undefined;
  const version = await ctx.gateway.getVersion(state.objectType, state.objectName, found.version);
  return version && isOwnVersion(version, state.rotationId) ? version : undefined;
}

/** Waits for the pending certificate operation, then names the version it produced: this rotation's, or another's. */
async function settleCertificate(state: StartedState, ctx: RotationContext, issuedAt?: number): Promise<NewVersion> {
  await waitForCertificate(state, ctx, issuedAt);
  const created = await ctx.gateway.getCurrent('certificate', state.objectName);
  if (created && isOwnVersion(created, state.rotationId)) return { version: created, own: true };
  const own = await ownVersion(state, ctx);
  if (own) return { version: own, own: true };
  if (created && created.version !== state.fromVersion && !isPending(created)) return { version: created, own: false };
  throw new GatewayError('Unknown', 'the certificate operation completed but no new version is visible');
}

/** A new secret version keeps the previous version's lifetime when it had one; otherwise its kind's validity. */
function secretLifetimeMs(kind: SecretKind | undefined, current: ObjectVersion): number {
  const validityDays = kind && kind.generator !== 'external' ? kind.validityDays : 90;
  const start = current.notBefore ?? current.createdOn;
  const previousLifetime = current.expiresOn && start ? current.expiresOn.getTime() - start.getTime() : 0;
  return previousLifetime > 0 ? previousLifetime : validityDays * MS_PER_DAY;
}

/**
 * A new key version of the same type, size, curve and operations, keeping the previous lifetime. Created with
 * createKey rather than rotateKey: only a create request carries tags, and the rotation id must travel in it.
 */
async function createKeyVersion(current: ObjectVersion, tags: Record<string, string>, ctx: RotationContext): Promise<ObjectVersion> {
  return ctx.pacer.paced(operationClassForKey(current.keyType, current.keySize), () =>
    ctx.gateway.createKeyVersion(
      current.name,
      { keyType: current.keyType ?? 'RSA', keySize: current.keySize, curve: current.curve, keyOps: current.keyOps },
      { tags, notBefore: ctx.clock.now(), expiresOn: nextExpiry(current, ctx) },
    ),
  );
}

function nextExpiry(current: ObjectVersion, ctx: RotationContext): Date | undefined {
  const start = current.notBefore ?? current.createdOn;
  if (!current.expiresOn || !start) return undefined;
  return new Date(ctx.clock.now().getTime() + (current.expiresOn.getTime() - start.getTime()));
}

/**
 * The certificate operation is still pending when this invocation has to stop waiting (its deadline: the function
 * timeout minus a margin). Not a failure: a delayed work item looks again (like consumer re-checks).
 */
export class CertificateStillPending extends Error {
  constructor(
    /** When the pending operation started (epoch ms): certificateTimeoutMinutes counts from here. */
    readonly since: number,
    pendingFor: string,
  ) {
    super(`the certificate is still pending (${pendingFor}); a delayed work item checks it again`);
    this.name = 'CertificateStillPending';
  }
}

/** Work item hint of the delayed re-check of a pending certificate operation. */
export const CERTIFICATE_PENDING_HINT = 'CertificatePending';
/** Delay before a pending certificate operation is checked again. */
export const CERTIFICATE_RECHECK_SECONDS = 60;

/**
 * Polls the pending certificate operation. `certificateTimeoutMinutes` is a deadline across work items, counted from
 * `issuedAt` (this attempt issued the create) or else from the rotation's start (a resumed or re-checked rotation;
 * a hand-over records the operation's start there); inside one invocation no wait runs past `ctx.deadline`
 * (CertificateStillPending).
 */
async function waitForCertificate(state: StartedState, ctx: RotationContext, issuedAt?: number): Promise<void> {
  const { pollIntervalSeconds, certificateTimeoutMinutes } = ctx.config.rotation;
  const pollMs = pollIntervalSeconds * 1000;
  const started = issuedAt ?? (state.startedAt ?? ctx.clock.now()).getTime();
  const timeoutAt = started + certificateTimeoutMinutes * 60_000;
  for (;;) {
    const operation = await ctx.gateway.getCertificateOperation(state.objectName);
    if (operation.status === 'completed' || operation.status === 'none') return;
    if (operation.status === 'failed' || operation.status === 'cancelled') {
      throw new GatewayError('Unknown', `certificate operation ${operation.status}: ${operation.message}`);
    }
    const now = ctx.clock.now().getTime();
    if (now >= timeoutAt) throw new GatewayError('Timeout', `the certificate is still pending ${certificateTimeoutMinutes} minutes after its operation started`);
    if (ctx.deadline && now + pollMs >= ctx.deadline.getTime()) {
      throw new CertificateStillPending(started, `${Math.round((now - started) / 1000)} s since the operation started`);
    }
    await ctx.sleep(Math.min(pollMs, timeoutAt - now));
  }
}

/**
 * Hands a rotation whose certificate is still pending over to a delayed work item: the state keeps its lease until
 * the re-check is due (nobody else takes it meanwhile), then the re-check resumes it and waits again.
 */
async function handOverPending(state: StartedState, etag: string, err: CertificateStillPending, ctx: RotationContext): Promise<ObjectOutcome> {
  const now = ctx.clock.now();
  const delaySeconds = Math.max(CERTIFICATE_RECHECK_SECONDS, ctx.config.rotation.pollIntervalSeconds);
  const item = {
    kind: 'object' as const,
    vault: state.vault,
    objectType: state.objectType,
    objectName: state.objectName,
    runId: ctx.run.runId,
    trigger: ctx.run.trigger,
    hint: CERTIFICATE_PENDING_HINT,
  };
  const startedAt = new Date(err.since); // the operation's start: the re-check's certificateTimeoutMinutes counts from it
  await advance(ctx, { state, etag }, { kind: 'HandOver', since: startedAt, leaseUntil: new Date(now.getTime() + delaySeconds * 1000) });
  if (ctx.queue) await ctx.queue.enqueue(item, { delaySeconds });
  ctx.log.info(`${state.vault}/${state.objectType}/${state.objectName}: ${err.message}`, { rotationId: state.rotationId });
  return 'Pending';
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Records a failed attempt: audited, retried with exponential backoff, then handed to a person. */
async function failRotation(
  state: RotationState,
  etag: string,
  err: unknown,
  ctx: RotationContext,
  options: { audit: boolean },
): Promise<ObjectOutcome> {
  ctx.log.error(`rotation of ${state.vault}/${state.objectType}/${state.objectName} failed: ${message(err)}`, {
    rotationId: state.rotationId,
    attempt: state.attempts,
  });
  const flush = async (): Promise<void> => {
    try {
      await ctx.audit.flush();
    } catch (flushErr) {
      ctx.log.error(`could not write the RotationFailed audit row: ${message(flushErr)}`, { rotationId: state.rotationId });
    }
  };
  try {
    await record(ctx, { state, etag }, { kind: 'Fail', reason: err instanceof GatewayError ? err.kind : 'Error', message: message(err), audit: options.audit }, { flush });
  } catch (putErr) {
    ctx.log.error(`could not record the failed rotation state: ${message(putErr)}`, { rotationId: state.rotationId });
  }
  return 'Failed';
}
