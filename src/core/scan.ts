/**
 * The work of one vault: resume interrupted rotations, stream the list pages of each object type (the three
 * collections concurrently), run the trigger chain on every object, and act on what is due with bounded
 * concurrency. Objects that are not due cost nothing beyond their share of a list page, and nothing is collected:
 * memory does not grow with the size of the vault.
 */
import { auditRecord, type AuditInput } from './audit.js';
import { findVault, resolveObjectPolicy, vaultTypes, type ObjectPolicy } from './config.js';
import type { ObjectSnapshot, ObjectType, ObjectVersion } from './model.js';
import { evaluate, type Finding } from './policy.js';
import {
  CERTIFICATE_PENDING_HINT,
  CompletionQueue,
  preflight,
  reportOnce,
  resumeRotation,
  rotateDueObject,
  versionIdentity,
  verifyVersionCreatedElsewhere,
  type GroupMember,
  type ObjectOutcome,
  type RotationContext,
} from './rotation.js';
import { rotationIdOf } from './ownership.js';
import { ConcurrencyError, type AuditLog } from './ports.js';
import { isOpen } from './state.js';
import { record } from './transitions.js';

export interface ObjectResult {
  readonly type: ObjectType;
  readonly name: string;
  readonly outcome: ObjectOutcome | 'Error';
  readonly reason: string;
}

export interface VaultSummary {
  readonly vault: string;
  readonly runId: string;
  readonly scanned: Record<ObjectType, number>;
  readonly notDue: number;
  readonly outcomes: Partial<Record<ObjectOutcome | 'Error', number>>;
  /** Objects with an outcome other than NotDue (capped at MAX_LISTED; `unlisted` counts the rest). */
  readonly objects: ObjectResult[];
  readonly unlisted: number;
  readonly errors: string[];
  readonly durationMs: number;
  /** The work item's time budget ran out after some progress: the rest continues in a new work item. */
  readonly continued: boolean;
}

const MAX_LISTED = 1000;

class Summary {
  readonly scanned: Record<ObjectType, number> = { certificate: 0, key: 0, secret: 0 };
  notDue = 0;
  readonly outcomes: Partial<Record<ObjectOutcome | 'Error', number>> = {};
  readonly objects: ObjectResult[] = [];
  unlisted = 0;
  readonly errors: string[] = [];

  constructor(private readonly onOutcome: (result: ObjectResult) => void) {}

  record(result: ObjectResult): void {
    this.onOutcome(result);
    this.outcomes[result.outcome] = (this.outcomes[result.outcome] ?? 0) + 1;
    if (result.outcome === 'NotDue') return;
    if (this.objects.length < MAX_LISTED) this.objects.push(result);
    else this.unlisted++;
  }

  finish(vault: string, runId: string, started: number, now: number, continued: boolean): VaultSummary {
    return {
      continued,
      vault,
      runId,
      scanned: this.scanned,
      notDue: this.notDue,
      outcomes: this.outcomes,
      objects: this.objects,
      unlisted: this.unlisted,
      errors: this.errors,
      durationMs: now - started,
    };
  }
}

/** Runs tasks with at most `limit` in flight; `submit` waits for a free slot (back-pressure on the page loop). */
export class BoundedExecutor {
  private readonly running = new Set<Promise<void>>();
  constructor(private readonly limit: number) {}

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    const p: Promise<void> = task().finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits until `n` slots are free. */
  async whenFree(n: number): Promise<void> {
    while (this.running.size > Math.max(0, this.limit - n)) await Promise.race(this.running);
  }

  async drain(): Promise<void> {
    while (this.running.size) await Promise.race(this.running);
  }
}

/**
 * Admits due objects to the executor in groups: a group starts when it is full (half the vault's concurrency) and
 * there are slots for all of it. Rotations that start together open with audit rows written together, and each
 * group's start also commits the completions queued since the previous one — so a wave of rotations writes many
 * audit rows per Table storage request instead of one or two, while the pacer keeps creations inside the vault's
 * limits.
 */
export class GroupAdmission {
  private group: ((member: GroupMember) => Promise<void>)[] = [];
  /** Commits in flight (each removes itself when done). */
  private readonly commits = new Set<Promise<void>>();

  constructor(
    private readonly executor: BoundedExecutor,
    private readonly size: number,
    private readonly completions: CompletionQueue,
    private readonly audit: AuditLog,
  ) {}

  async admit(task: (member: GroupMember) => Promise<void>): Promise<void> {
    this.group.push(task);
    if (this.group.length >= this.size) await this.release();
  }

  async release(): Promise<void> {
    const tasks = this.group;
    this.group = [];
    if (!tasks.length) return;
    await this.executor.whenFree(tasks.length);
    const commit: Promise<void> = this.completions.commit().finally(() => this.commits.delete(commit));
    this.commits.add(commit);
    // When every member has appended its opening rows (or finished without any), the group's write goes out.
    let waiting = tasks.length;
    const member = (): GroupMember => {
      let ready = false;
      return {
        ready: () => {
          if (ready) return;
          ready = true;
          if (--waiting === 0) this.audit.flush().catch(() => undefined); // each member awaits its own rows
        },
      };
    };
    for (const task of tasks) {
      const m = member();
      await this.executor.submit(() => task(m).finally(() => m.ready()));
    }
  }

  /** Releases the last group and waits for every task. */
  async finish(): Promise<void> {
    await this.release();
    await this.executor.drain();
  }

  /** Commits the completions still queued (with whatever else was appended meanwhile). */
  async settle(): Promise<void> {
    await this.completions.commit(0);
    await Promise.all([...this.commits]);
  }
}

/** A delayed re-check may arrive a little before the lease it was scheduled for ends (queue visibility is not exact). */
const LEASE_SLACK_MS = 5_000;

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const REPORT_ACTIONS: Record<string, Pick<AuditInput, 'action' | 'outcome'> & { outcome: AuditInput['outcome']; result: ObjectOutcome }> = {
  InvalidPolicy: { action: 'PolicyViolation', outcome: 'ActionRequired', result: 'PolicyViolation' },
  Disabled: { action: 'Skipped', outcome: 'Skipped', result: 'Skipped' },
  NoExpiry: { action: 'Skipped', outcome: 'ActionRequired', result: 'Skipped' },
  ExternalRotationStale: { action: 'ExternalRotationStale', outcome: 'ActionRequired', result: 'Reported' },
  Expired: { action: 'ManualActionRequired', outcome: 'ActionRequired', result: 'ManualActionRequired' },
};

/**
 * What to do about an object's finding — decided once, here, for the run (handleFinding) and the dry run
 * (planObject) alike: nothing, report it (once per version), skip it (mode off), hand it to a person (mode notify),
 * or rotate it (mode auto; the preflight may still refuse).
 */
export type Decision =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'report' | 'skip' | 'notify';
      /** De-duplication key of the report (reason@version identity). */
      readonly key: string;
      /** The rows to audit (once per key). */
      readonly rows: readonly AuditInput[];
      readonly result: ObjectOutcome;
      /** For the dry run. */
      readonly message: string;
    }
  | { readonly kind: 'rotate'; readonly policy: ObjectPolicy };

export function decide(object: ObjectSnapshot, finding: Finding, policy: ObjectPolicy | undefined): Decision {
  if (finding.disposition === 'ignore') return { kind: 'none' };
  const base = { vault: object.vault, objectType: object.type, objectName: object.name, version: object.version ?? '', thumbprint: object.thumbprint ?? '' };
  const key = `${finding.reason}@${versionIdentity(object)}`;
  if (finding.disposition === 'report' || !policy) {
    const mapping = REPORT_ACTIONS[finding.reason] ?? { action: 'Skipped', outcome: 'Info', result: 'Reported' as const };
    return {
      kind: 'report',
      key,
      rows: [{ ...base, action: mapping.action, outcome: mapping.outcome, reason: finding.reason, detail: finding.message }],
      result: mapping.result,
      message: finding.message,
    };
  }
  const detected: AuditInput = { ...base, action: 'Detected', outcome: 'Info', reason: finding.reason, detail: finding.message };
  switch (policy.mode) {
    case 'off':
      return {
        kind: 'skip',
        key: `PolicyOff:${key}`,
        rows: [detected, { ...base, action: 'Skipped', outcome: 'Skipped', reason: 'PolicyOff', detail: `due, but rotation is off (${policy.sources['mode'] ?? 'default'})` }],
        result: 'Skipped',
        message: `${finding.message}; rotation is off`,
      };
    case 'notify':
      return {
        kind: 'notify',
        key: `NotifyOnly:${key}`,
        rows: [
          detected,
          {
            ...base,
            action: 'ManualActionRequired',
            outcome: 'ActionRequired',
            reason: 'NotifyOnly',
            detail: `due; Rotor only notifies for this object (${policy.sources['mode'] ?? 'default mode notify'})`,
          },
        ],
        result: 'ManualActionRequired',
        message: `${finding.message}; notify only`,
      };
    case 'auto':
      return { kind: 'rotate', policy };
  }
}

/** Acts on one object's finding as `decide` says. */
async function handleFinding(
  object: ObjectSnapshot,
  finding: Finding,
  policy: ObjectPolicy | undefined,
  ctx: RotationContext,
): Promise<ObjectOutcome> {
  const decision = decide(object, finding, policy);
  switch (decision.kind) {
    case 'none':
      return 'NotDue';
    case 'rotate':
      return rotateDueObject(object, finding, decision.policy, ctx);
    default:
      return reportOnce(object, decision.key, decision.rows, ctx, decision.result);
  }
}

/**
 * Externally rotated secrets (Operator Nexus): Rotor never writes them; it audits each new version it observes.
 * Returns true when a new version was recorded.
 */
async function observeExternalSecret(object: ObjectSnapshot, policy: ObjectPolicy, ctx: RotationContext): Promise<boolean> {
  const identity = versionIdentity(object);
  const existing = await ctx.states.get(object.vault, object.type, object.name);
  if (existing?.value.observedVersion === identity) return false;
  const current = object.version ? object : await ctx.gateway.getCurrent(object.type, object.name);
  const rotatedBy = policy.secretKind?.generator === 'external' && policy.secretKind.rotatedBy ? ` by ${policy.secretKind.rotatedBy}` : '';
  const row: AuditInput = {
    vault: object.vault,
    objectType: object.type,
    objectName: object.name,
    version: current?.version ?? '',
    action: 'ExternalRotationObserved',
    outcome: 'Info',
    reason: existing?.value.observedVersion ? 'NewVersion' : 'FirstObservation',
    expiresOn: object.expiresOn?.toISOString() ?? '',
    detail: `${existing?.value.observedVersion ? 'new version' : 'current version'} created ${object.createdOn?.toISOString() ?? 'at an unknown time'}, rotated externally${rotatedBy}; Rotor does not write this secret`,
  };
  try {
    await record(ctx, { state: existing?.value, etag: existing?.etag }, { kind: 'Observe', identity, row }, { object: { vault: object.vault, objectType: object.type, objectName: object.name } });
  } catch (err) {
    if (!(err instanceof ConcurrencyError)) throw err;
  }
  return true;
}

/**
 * A person asked for a new version of an object that is not due. Objects whose findings forbid rotation (disabled,
 * rotated externally, invalid tags, managed by a certificate) are never forced; the object's mode still applies.
 */
function forcedFinding(object: ObjectSnapshot, finding: Finding | undefined): Finding | undefined {
  if (finding) return finding;
  const expiry = object.expiresOn ? `expires ${object.expiresOn.toISOString().slice(0, 10)}` : 'has no expiry';
  return { reason: 'ManualRequest', message: `rotation requested on demand; not due (${expiry})`, disposition: 'rotate' };
}

/** Evaluates and acts on one object snapshot (`force`: rotate now even when not due). */
async function processSnapshot(object: ObjectSnapshot, ctx: RotationContext, options: { force?: boolean } = {}): Promise<ObjectResult> {
  const resolution = resolveObjectPolicy(ctx.config, object);
  const evaluated = evaluate({ object, resolution }, ctx.clock.now());
  const finding = options.force ? forcedFinding(object, evaluated) : evaluated;
  const policy = resolution.ok ? resolution.policy : undefined;
  try {
    if (policy?.secretKind?.generator === 'external' && object.type === 'secret' && object.enabled) {
      await observeExternalSecret(object, policy, ctx);
    }
    if (!finding) return { type: object.type, name: object.name, outcome: 'NotDue', reason: '' };
    const outcome = await handleFinding(object, finding, policy, ctx);
    return { type: object.type, name: object.name, outcome, reason: finding.reason };
  } catch (err) {
    ctx.log.error(`could not process ${object.vault}/${object.type}/${object.name}: ${errorMessage(err)}`);
    return { type: object.type, name: object.name, outcome: 'Error', reason: errorMessage(err) };
  }
}

function describe(summary: Summary): string {
  const s = summary.scanned;
  const parts = Object.entries(summary.outcomes)
    .filter(([k]) => k !== 'NotDue')
    .map(([k, v]) => `${k} ${v}`);
  return (
    `scanned ${s.certificate} certificates, ${s.key} keys, ${s.secret} secrets; ` +
    `${summary.notDue} not due${parts.length ? `; ${parts.join(', ')}` : ''}` +
    (summary.errors.length ? `; errors: ${summary.errors.join(' | ')}` : '')
  );
}

/** The nightly work for one vault. Throws only when the vault could not be scanned at all (the queue retries). */
export async function processVault(ctx: RotationContext): Promise<VaultSummary> {
  const started = ctx.clock.now().getTime();
  const vaultName = ctx.gateway.vault.name;
  const vault = findVault(ctx.config, vaultName);
  if (!vault) throw new Error(`vault "${vaultName}" is not in the configuration`);
  const summary = new Summary((r) => {
    if (r.outcome !== 'NotDue') ctx.metrics?.objectOutcome({ vault: vault.name, type: r.type }, r.outcome);
  });
  const concurrency = ctx.config.rotation.concurrencyPerVault;
  const executor = new BoundedExecutor(concurrency);
  const completions = new CompletionQueue(ctx);
  const admission = new GroupAdmission(executor, Math.max(1, Math.floor(concurrency / 2)), completions, ctx.audit);
  // Past the work item's time budget, no new object is taken on; what is in flight finishes.
  const budgetMs = ctx.config.rotation.workItemMinutes * 60_000;
  let outOfTime = false;
  const overBudget = (): boolean => (outOfTime ||= ctx.clock.now().getTime() - started >= budgetMs);
  let taken = 0;

  // 1. Rotations a stopped worker left behind (lease expired) resume first.
  // Rotations waiting for their consumers are re-checked when their next check is due.
  for await (const open of ctx.states.listOpen(vault.name)) {
    if (overBudget()) break;
    const state = open.value;
    if (!isOpen(state)) continue;
    const verifying = state.status === 'Verifying';
    if (verifying && (!ctx.hooks || (state.nextCheckAt && state.nextCheckAt.getTime() > ctx.clock.now().getTime()))) continue;
    if (!verifying && state.leaseUntil && state.leaseUntil.getTime() > ctx.clock.now().getTime()) continue;
    taken++;
    await executor.submit(async () => {
      const work = verifying && ctx.hooks ? ctx.hooks.recheck(open, ctx) : resumeRotation(open, ctx);
      const outcome = await work.catch((err: unknown) => {
        summary.errors.push(`${state.objectType}/${state.objectName}: ${errorMessage(err)}`);
        return 'Error' as const;
      });
      summary.record({ type: state.objectType, name: state.objectName, outcome, reason: verifying ? 'ConsumersRechecked' : 'Resumed' });
    });
  }

  // 2. Stream each collection's list pages; act on what is due.
  const scanType = async (type: ObjectType): Promise<void> => {
    try {
      for await (const page of ctx.gateway.listObjects(type)) {
        if (overBudget()) break;
        for (const object of page) {
          summary.scanned[type]++;
          ctx.metrics?.objectExpiry(object, object.expiresOn);
          const resolution = resolveObjectPolicy(ctx.config, object);
          const finding = evaluate({ object, resolution }, ctx.clock.now());
          const external = resolution.ok && resolution.policy.secretKind?.generator === 'external' && type === 'secret';
          if (!external && (!finding || finding.disposition === 'ignore')) {
            summary.notDue++;
            continue;
          }
          if (overBudget()) break;
          taken++;
          await admission.admit(async (group) => {
            const result = await processSnapshot(object, { ...ctx, completions, group });
            if (result.outcome === 'NotDue') summary.notDue++;
            if (result.outcome === 'Error') summary.errors.push(`${type}/${object.name}: ${result.reason}`);
            summary.record(result);
          });
        }
      }
    } catch (err) {
      summary.errors.push(`listing ${type}s failed: ${errorMessage(err)}`);
      ctx.audit.append(
        auditRecord(ctx.run, ctx.clock.now(), {
          vault: vault.name,
          action: 'ScanFailed',
          outcome: 'Failed',
          reason: 'ListFailed',
          objectType: type,
          detail: `listing ${type}s failed: ${errorMessage(err)}`,
        }),
      );
    }
  };
  await Promise.all(vaultTypes(ctx.config, vault).map(scanType));
  await admission.finish();

  // Out of time: continue in a new work item — unless nothing was taken on (then another try would fare no better).
  const continued = outOfTime && taken > 0;
  ctx.audit.append(
    auditRecord(ctx.run, ctx.clock.now(), {
      vault: vault.name,
      ...(outOfTime
        ? {
            action: continued ? 'ScanContinued' : 'ScanFailed',
            outcome: continued ? 'Info' : 'Failed',
            reason: 'WorkItemTimeBudget',
            detail:
              `stopped taking on objects after ${ctx.config.rotation.workItemMinutes} minutes ` +
              `(${continued ? 'the rest continues in a new work item' : 'no object could be taken on; the next run tries again'}): ${describe(summary)}`,
          }
        : {
            action: 'ScanCompleted',
            outcome: summary.errors.length ? 'Failed' : 'Succeeded',
            reason: summary.errors.length ? 'PartialScan' : 'Scanned',
            detail: describe(summary),
          }),
    }),
  );
  await admission.settle();
  await ctx.audit.flush();
  const result = summary.finish(vault.name, ctx.run.runId, started, ctx.clock.now().getTime(), continued);
  if (Object.values(result.scanned).every((n) => n === 0) && result.errors.length) {
    throw new Error(`vault ${vault.name} could not be scanned: ${result.errors.join('; ')}`);
  }
  return result;
}

/**
 * One object on demand (an Event Grid hint, `rotateNow`): re-read it from the vault — the event is only a hint —
 * and act on it like the nightly scan would. A NewVersionCreated hint records versions Rotor did not create.
 */
export async function processObject(
  type: ObjectType,
  name: string,
  hint: string | undefined,
  ctx: RotationContext,
  options: { force?: boolean } = {},
): Promise<ObjectResult> {
  if (hint === CERTIFICATE_PENDING_HINT) {
    // The delayed re-check of a pending certificate operation resumes its rotation (not a fresh evaluation: while
    // pending, the current version is the disabled pending one).
    const open = await ctx.states.get(ctx.gateway.vault.name, type, name);
    if (open?.value.status === 'RotationStarted') {
      const held = open.value.leaseUntil && open.value.leaseUntil.getTime() > ctx.clock.now().getTime() + LEASE_SLACK_MS;
      return { type, name, outcome: held ? 'InProgressElsewhere' : await resumeRotation(open, ctx), reason: CERTIFICATE_PENDING_HINT };
    }
  }
  const current = await ctx.gateway.getCurrent(type, name);
  if (!current) return { type, name, outcome: 'NotDue', reason: 'NotFound' };
  if (hint?.endsWith('NewVersionCreated')) await recordNewVersion(current, ctx);
  return processSnapshot(current, ctx, options);
}

async function recordNewVersion(current: ObjectVersion, ctx: RotationContext): Promise<void> {
  const state = await ctx.states.get(current.vault, current.type, current.name);
  const resolution = resolveObjectPolicy(ctx.config, current);
  if (resolution.ok && resolution.policy.secretKind?.generator === 'external') return; // observed by processSnapshot
  if (state && (state.value.toVersion === current.version || state.value.fromVersion === current.version)) return; // Rotor's own
  if (state?.value.rotationId && rotationIdOf(current) === state.value.rotationId) return; // Rotor's own, by its tag
  // An object Rotor reported as Key Vault's to renew (KeyVaultManaged / RenewalOverdue): this is that renewal.
  const byKeyVault = /^(KeyVaultManaged|RenewalOverdue)@/.test(state?.value.reportedFinding ?? '');
  ctx.audit.append(
    auditRecord(ctx.run, ctx.clock.now(), {
      vault: current.vault,
      objectType: current.type,
      objectName: current.name,
      version: current.version ?? '',
      thumbprint: current.thumbprint ?? '',
      action: 'NewVersionObserved',
      outcome: 'Info',
      reason: byKeyVault ? 'KeyVaultManaged' : 'CreatedOutsideRotor',
      expiresOn: current.expiresOn?.toISOString() ?? '',
      detail: byKeyVault
        ? "Key Vault renewed it itself (its own lifetime action; Rotor created no version); its consumers are verified (Key Vault NewVersionCreated event)"
        : 'a new version was created outside Rotor (Key Vault NewVersionCreated event)',
    }),
  );
  await ctx.audit.flush();
  // Its consumers must pick it up as they would one of Rotor's versions.
  if (!state || !isOpen(state.value)) await verifyVersionCreatedElsewhere(current, state, ctx);
}

export interface PlanEntry {
  readonly type: ObjectType;
  readonly name: string;
  readonly reason: string;
  readonly message: string;
  /** What a real run would do. */
  readonly action: 'rotate' | 'notify' | 'skip' | 'report' | 'manual' | 'refuse';
  readonly expiresOn?: Date | undefined;
}

/** Dry run: what would rotate and why (the run's decision, `decide`). Reads only (list pages, plus the policy of due certificates). */
export async function planObject(object: ObjectSnapshot, ctx: Pick<RotationContext, 'config' | 'gateway' | 'clock'>): Promise<PlanEntry | undefined> {
  const resolution = resolveObjectPolicy(ctx.config, object);
  const finding = evaluate({ object, resolution }, ctx.clock.now());
  if (!finding) return undefined;
  const decision = decide(object, finding, resolution.ok ? resolution.policy : undefined);
  if (decision.kind === 'none') return undefined;
  const entry = { type: object.type, name: object.name, reason: finding.reason, message: finding.message, expiresOn: object.expiresOn };
  if (decision.kind !== 'rotate') return { ...entry, action: decision.kind, message: decision.message };
  const current = object.version ? undefined : await ctx.gateway.getCurrent(object.type, object.name);
  const { refusal } = await preflight(current ?? { ...object, version: object.version ?? '', id: '' }, decision.policy, ctx);
  if (refusal) {
    // Key Vault's own renewal: reported under its own reason (RenewalOverdue is "overdue" in Needs attention).
    if (refusal.action === 'KeyVaultManaged' || refusal.action === 'RenewalOverdue') {
      return { ...entry, action: 'report', reason: refusal.reason, message: `${finding.message}; ${refusal.detail}` };
    }
    return { ...entry, action: refusal.action === 'PolicyViolation' ? 'refuse' : 'manual', message: `${finding.message}; ${refusal.detail}` };
  }
  return { ...entry, action: 'rotate' };
}

export async function planVault(ctx: Pick<RotationContext, 'config' | 'gateway' | 'clock'>): Promise<PlanEntry[]> {
  const vault = findVault(ctx.config, ctx.gateway.vault.name);
  if (!vault) throw new Error(`vault "${ctx.gateway.vault.name}" is not in the configuration`);
  const entries: PlanEntry[] = [];
  await Promise.all(
    vaultTypes(ctx.config, vault).map(async (type) => {
      for await (const page of ctx.gateway.listObjects(type)) {
        for (const object of page) {
          const entry = await planObject(object, ctx);
          if (entry) entries.push(entry);
        }
      }
    }),
  );
  return entries.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}
