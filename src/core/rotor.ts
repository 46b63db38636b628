/**
 * Rotor's application services: what the Functions (and the CLI) call. The timer fans out one work item per vault;
 * the queue worker runs a work item; the Event Grid handler turns events into work items (or EventRejected rows).
 */
import { auditRecord, boundText, type RunContext } from './audit.js';
import { findVault, type RotorConfig, type VaultConfig } from './config.js';
import { eventRunId, parseVaultEvents, type ParsedEvents } from './events.js';
import type { ObjectType, Trigger } from './model.js';
import type { VaultPacer } from './pacing.js';
import type { AuditLog, Clock, ConsumerResultStore, DeadlineScope, Logger, Metrics, Random, RotationStateStore, Sleep, VaultGateway } from './ports.js';
import type { RotationContext, VersionCreatedHook } from './rotation.js';
import { planObject, planVault, processObject, processVault, type ObjectResult, type PlanEntry, type VaultSummary } from './scan.js';
import { MAX_EVENT_ID, parseWorkItem, type WorkItem, type WorkQueue } from './work.js';
import type { DrainResult, ObjectWorkItem, VaultWork, VaultWorkHost } from './vault-work.js';

/** Everything the application needs, built once per process by the composition root (src/app). */
export interface RotorServices {
  readonly config: RotorConfig;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: Random;
  readonly newId: () => string;
  readonly audit: AuditLog;
  readonly states: RotationStateStore;
  /** Each consumer's result per rotation (RotorConsumers); read by `rotor status` and the timelines. */
  readonly consumerResults?: ConsumerResultStore | undefined;
  readonly queue: WorkQueue;
  gateway(vault: VaultConfig): VaultGateway;
  pacer(vault: VaultConfig): VaultPacer;
  readonly hooks?: VersionCreatedHook | undefined;
  readonly metrics?: Metrics | undefined;
  /** Writes the vault's next signed audit digest at the end of a run (never throws; absent without a digest key). */
  readonly digestAfterRun?: ((vault: string) => Promise<void>) | undefined;
  /** Notifications published from durable audit rows: a work item waits for them before it ends (bounded). */
  readonly notifications?: { settle(): Promise<void> } | undefined;
  /**
   * Vault leases and pending sets in storage (src/core/vault-work.ts): with them, a vault's scans and object items are
   * done by the one instance holding its lease. Without them (unit tests), each work item runs where it lands.
   */
  readonly vaultWork?: VaultWork | undefined;
  /** Carries a work item's deadline to the adapters (their backoff after 429 ends before it). */
  readonly deadlines?: DeadlineScope | undefined;
}

/** How long a work item waits, at most, for its notifications to be published (they never fail the work). */
export const NOTIFICATION_SETTLE_MS = 60_000;

/** Waits for queued notifications, at most NOTIFICATION_SETTLE_MS; never throws. */
export async function settleNotifications(services: Pick<RotorServices, 'notifications'>): Promise<void> {
  if (!services.notifications) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, NOTIFICATION_SETTLE_MS);
  });
  try {
    await Promise.race([services.notifications.settle(), limit]);
  } catch {
    // settle never rejects; a notifier that misbehaves must not fail the work item either
  } finally {
    clearTimeout(timer);
  }
}

/** Waits inside one invocation end this long before the host's function timeout. */
export const INVOCATION_MARGIN_MS = 30_000;

/** When waits started now must have ended: the function timeout minus the margin. */
export function invocationDeadline(config: RotorConfig, now: Date): Date {
  return new Date(now.getTime() + config.rotation.functionTimeoutMinutes * 60_000 - INVOCATION_MARGIN_MS);
}

const compactTime = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/**
 * A run's id: trigger, time to the second and the last 8 hex digits of a new id (random for a UUID v4, and distinct
 * for ids that share a prefix, such as a counter's: two runs in one second must not share an id).
 */
export function newRunId(trigger: Trigger, now: Date, newId: () => string): string {
  return `${trigger}-${compactTime(now)}-${newId().replace(/-/g, '').slice(-8)}`;
}

export function rotationContext(services: RotorServices, vault: VaultConfig, run: RunContext, log: Logger, deadline?: Date): RotationContext {
  return {
    deadline,
    config: services.config,
    gateway: services.gateway(vault),
    states: services.states,
    audit: services.audit,
    clock: services.clock,
    sleep: services.sleep,
    pacer: services.pacer(vault),
    random: services.random,
    run,
    log,
    newId: services.newId,
    hooks: services.hooks,
    metrics: services.metrics,
    queue: services.queue,
    budgetEndsAt: new Date(services.clock.now().getTime() + services.config.rotation.workItemMinutes * 60_000),
  };
}

/** The nightly timer: one work item per configured vault, so vaults are scanned in parallel across instances. */
export async function scheduleRun(services: RotorServices, trigger: Trigger): Promise<{ runId: string; vaults: string[] }> {
  const runId = newRunId(trigger, services.clock.now(), services.newId);
  const vaults = services.config.vaults.map((v) => v.name);
  await Promise.all(vaults.map((vault) => services.queue.enqueue({ kind: 'scanVault', vault, runId, trigger })));
  return { runId, vaults };
}

export type WorkResult =
  | { kind: 'scanVault'; summary: VaultSummary }
  | { kind: 'object'; result: ObjectResult }
  | { kind: 'rejected'; message: string }
  /** The vault's pending set was drained by this instance, or (deferred) is drained by the instance holding it. */
  | { kind: 'vault'; drain: DrainResult };

export interface DeliveryInfo {
  /** How many times the queue has delivered this message (1 on the first delivery). */
  readonly dequeueCount: number;
  /** After this many deliveries the host moves the message to the poison queue. */
  readonly maxDequeueCount: number;
}

/**
 * Runs one work item. A malformed item is audited (WorkItemRejected) and dropped — retrying cannot fix it. A failure
 * is rethrown so the queue retries; on the last delivery it is audited (WorkItemFailed) before the host moves the
 * message to the poison queue, so nothing is lost silently.
 */
export async function runWorkItem(raw: unknown, services: RotorServices, delivery: DeliveryInfo, log: Logger): Promise<WorkResult> {
  const now = services.clock.now();
  const deadline = invocationDeadline(services.config, now);
  const work = (): Promise<WorkResult> => runWorkItemUntil(raw, services, delivery, log, deadline);
  try {
    return await (services.deadlines ? services.deadlines.run(deadline.getTime() - now.getTime(), work) : work());
  } finally {
    // The events of this work item's audit rows go out before the invocation ends (bounded; never fails the work).
    await settleNotifications(services);
  }
}

async function runWorkItemUntil(raw: unknown, services: RotorServices, delivery: DeliveryInfo, log: Logger, deadline: Date): Promise<WorkResult> {
  const parsed = parseWorkItem(raw);
  const now = services.clock.now();
  if (!parsed.ok) {
    log.warn(`rejected work item: ${parsed.message}`);
    services.audit.append(
      auditRecord({ runId: 'queue', trigger: 'timer' }, now, {
        vault: '_system',
        action: 'WorkItemRejected',
        outcome: 'Failed',
        reason: 'MalformedWorkItem',
        detail: `work item rejected: ${parsed.message}`,
      }),
    );
    await services.audit.flush();
    return { kind: 'rejected', message: parsed.message };
  }
  const item = parsed.item;
  const run: RunContext = { runId: item.runId, trigger: item.trigger };
  try {
    const vault = findVault(services.config, item.vault);
    if (!vault) throw new Error(`vault "${item.vault}" is not in the configuration`);
    const ctx = rotationContext(services, vault, run, log, deadline);
    if (services.vaultWork) {
      const host = vaultWorkHost(services, vault, log, deadline);
      let done: WorkResult | undefined;
      switch (item.kind) {
        case 'scanVault': {
          const { summary, drain } = await services.vaultWork.scanItem(item.vault, run, host);
          done = summary ? { kind: 'scanVault', summary } : { kind: 'vault', drain };
          break;
        }
        case 'object': {
          const { result, drain } = await services.vaultWork.objectItem(item, host);
          done = result ? { kind: 'object', result } : { kind: 'vault', drain };
          break;
        }
        case 'drainVault':
          done = { kind: 'vault', drain: await services.vaultWork.drain(item.vault, run, host) };
          break;
        case 'verify':
          break;
      }
      if (done) {
        // The run's rows are durable: the vault's next signed digest covers them. Only the work item that ran the
        // vault's work writes one: an item left in the pending set (another instance, or a drain in this process,
        // holds the vault) ran nothing, and the holder's drain covers its rows when it ends.
        if (ranWork(done)) await services.digestAfterRun?.(item.vault);
        return done;
      }
    }
    switch (item.kind) {
      case 'drainVault':
        return { kind: 'vault', drain: emptyDrain(item.vault) }; // nothing pends without vault leases
      case 'scanVault': {
        const summary = await processVault(ctx);
        await scheduleLeaseChecks(summary.objects, ctx);
        // The time budget ran out: the vault's scan continues in a new work item (same run).
        if (summary.continued) await services.queue.enqueue({ kind: 'scanVault', vault: item.vault, runId: item.runId, trigger: item.trigger });
        else await services.digestAfterRun?.(item.vault);
        return { kind: 'scanVault', summary };
      }
      case 'object': {
        const result = await processObject(item.objectType, item.objectName, item.hint, ctx, { force: item.force === true });
        await scheduleLeaseChecks([result], ctx);
        await services.digestAfterRun?.(item.vault);
        return { kind: 'object', result };
      }
      case 'verify':
        return { kind: 'object', result: await recheckObject(item.objectType, item.objectName, item.rotationId, ctx) };
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`work item ${describeItem(item)} failed (delivery ${delivery.dequeueCount}/${delivery.maxDequeueCount}): ${message}`);
    if (delivery.dequeueCount >= delivery.maxDequeueCount) {
      services.audit.append(
        auditRecord(run, services.clock.now(), {
          vault: item.vault,
          objectType: 'objectType' in item ? item.objectType : '',
          objectName: 'objectName' in item ? item.objectName : '',
          action: 'WorkItemFailed',
          outcome: 'Failed',
          reason: 'PoisonMessage',
          detail: `${describeItem(item)} failed ${delivery.dequeueCount} times and moves to the poison queue: ${message}`,
        }),
      );
      await services.audit.flush().catch((flushErr: unknown) => log.error(`could not audit the poison message: ${String(flushErr)}`));
    }
    throw err;
  }
}

/** Whether a work item ran anything itself (rather than leaving its entry to the vault's lease holder). */
const ranWork = (done: WorkResult): boolean =>
  done.kind !== 'vault' || (!done.drain.deferred && (done.drain.objects.length > 0 || done.drain.scans.length > 0));

const emptyDrain = (vault: string): DrainResult => ({ vault, objects: [], scans: [], continued: false, leaseLost: false });

/** How the vault work (lease holder) runs this application's work items for one vault. */
function vaultWorkHost(services: RotorServices, vault: VaultConfig, log: Logger, deadline: Date): VaultWorkHost {
  return {
    config: services.config,
    clock: services.clock,
    queue: services.queue,
    log,
    pacer: () => services.pacer(vault),
    context: (run) => rotationContext(services, vault, run, log, deadline),
    runObject: (item: ObjectWorkItem, ctx: RotationContext) => runObjectItem(item, ctx),
    runScan: async (ctx, budgetMs) => {
      // The scan takes on objects only inside what is left of the drain's budget.
      const workItemMinutes = Math.floor(Math.max(budgetMs, 0) / 600) / 100;
      const summary = await processVault({ ...ctx, config: { ...ctx.config, rotation: { ...ctx.config.rotation, workItemMinutes } } });
      await scheduleLeaseChecks(summary.objects, ctx);
      return summary;
    },
  };
}

/** One object work item: re-read the object and act on it (an event is only a hint). */
async function runObjectItem(item: ObjectWorkItem, ctx: RotationContext): Promise<ObjectResult> {
  const result = await processObject(item.objectType, item.objectName, item.hint, ctx, { force: item.force === true });
  await scheduleLeaseChecks([result], ctx);
  return result;
}

/** Grace after a lease expires before looking again, so a slow holder that just finished is not raced. */
const LEASE_GRACE_SECONDS = 30;

/**
 * Objects another worker holds (InProgressElsewhere) are looked at again just after its lease expires: if that
 * worker stopped, the rotation resumes then — not only at the next nightly run.
 */
async function scheduleLeaseChecks(results: readonly ObjectResult[], ctx: RotationContext): Promise<void> {
  if (!ctx.queue) return;
  for (const r of results) {
    if (r.outcome !== 'InProgressElsewhere') continue;
    const state = (await ctx.states.get(ctx.gateway.vault.name, r.type, r.name))?.value;
    if (!state?.leaseUntil) continue;
    const delaySeconds = Math.ceil((state.leaseUntil.getTime() - ctx.clock.now().getTime()) / 1000) + LEASE_GRACE_SECONDS;
    await ctx.queue
      .enqueue(
        { kind: 'object', vault: state.vault, objectType: r.type, objectName: r.name, runId: ctx.run.runId, trigger: ctx.run.trigger, hint: 'LeaseExpiryCheck' },
        { delaySeconds: Math.max(delaySeconds, LEASE_GRACE_SECONDS) },
      )
      .catch((err: unknown) => ctx.log.warn(`could not schedule a check of ${r.type} ${r.name} after its lease: ${String(err)}`));
  }
}

/** A delayed `verify` work item: re-check the consumers of one rotation (if it is still the current one). */
export async function recheckObject(type: ObjectType, name: string, rotationId: string | undefined, ctx: RotationContext, force = false): Promise<ObjectResult> {
  const existing = await ctx.states.get(ctx.gateway.vault.name, type, name);
  if (!existing || !ctx.hooks || (rotationId && existing.value.rotationId !== rotationId)) {
    return { type, name, outcome: 'NotDue', reason: 'NoVerificationPending' };
  }
  const outcome = await ctx.hooks.recheck(existing, ctx, { force });
  return { type, name, outcome, reason: 'ConsumersRechecked' };
}

function describeItem(item: WorkItem): string {
  if (item.kind === 'drainVault') return `pending work of ${item.vault}`;
  return item.kind === 'scanVault' ? `scan of ${item.vault}` : `${item.kind} ${item.vault}/${item.objectType}/${item.objectName}`;
}

/**
 * Key Vault events (one delivery, either schema, single or batched): accepted events become `object` work items
 * (the worker re-reads the vault); rejected ones are audited as EventRejected and logged, never acted on.
 */
export async function acceptVaultEvents(body: unknown, services: RotorServices, log: Logger): Promise<ParsedEvents> {
  const parsed = parseVaultEvents(body, services.config);
  const now = services.clock.now();
  for (const r of parsed.rejected) {
    log.warn(`rejected event ${r.eventId.slice(0, 100) || '(no id)'}: ${r.reason}: ${r.message.slice(0, 500)}`);
    services.audit.append(
      auditRecord({ runId: r.eventId ? eventRunId(r.eventId) : 'eventgrid', trigger: 'eventgrid' }, now, {
        vault: r.vault || '_unknown',
        objectName: r.objectName,
        action: 'EventRejected',
        outcome: 'Failed',
        reason: r.reason,
        // The id and type are shortened here so that the reason always fits in the detail.
        detail: `${boundText(r.eventType, 200) || 'event'}${r.eventId ? ` ${boundText(r.eventId, MAX_EVENT_ID)}` : ''}: ${r.message}`,
      }),
    );
  }
  if (parsed.rejected.length) await services.audit.flush();
  // Each accepted event's work item was validated by the worker's own schema when the event was parsed.
  await Promise.all(parsed.accepted.map((e) => services.queue.enqueue(e.workItem)));
  return parsed;
}

/** Dry run for one vault or one object: what would rotate and why. Writes nothing. */
export async function plan(
  services: RotorServices,
  target: { vault?: string | undefined; objectType?: ObjectType | undefined; objectName?: string | undefined },
): Promise<Array<PlanEntry & { vault: string }>> {
  const vaults = target.vault ? [findVault(services.config, target.vault)] : services.config.vaults;
  const out: Array<PlanEntry & { vault: string }> = [];
  let found = false;
  for (const vault of vaults) {
    if (!vault) throw new Error(`vault "${target.vault}" is not in the configuration`);
    const ctx = { config: services.config, gateway: services.gateway(vault), clock: services.clock };
    if (target.objectType && target.objectName) {
      const current = await ctx.gateway.getCurrent(target.objectType, target.objectName);
      if (!current) continue;
      found = true;
      const entry = await planObject(current, ctx);
      if (entry) out.push({ ...entry, vault: vault.name });
    } else {
      for (const entry of await planVault(ctx)) out.push({ ...entry, vault: vault.name });
    }
  }
  if (target.objectType && target.objectName && !found) {
    throw new Error(`${target.objectType} "${target.objectName}" does not exist in ${target.vault ? `vault ${target.vault}` : 'any configured vault'}`);
  }
  return out;
}

export interface VerifyResult {
  readonly vault: string;
  readonly type: ObjectType;
  readonly name: string;
  readonly outcome: string;
}

/**
 * `rotor verify`: re-check consumers now — every rotation that is Verifying (or failed its deadline), or one object's
 * last rotation (also a completed one). Each check writes its consumer rows.
 */
export async function verifyNow(
  services: RotorServices,
  target: { vault?: string | undefined; objectType?: ObjectType | undefined; objectName?: string | undefined },
  log: Logger,
): Promise<VerifyResult[]> {
  const vaults = target.vault ? [findVault(services.config, target.vault)] : services.config.vaults;
  const out: VerifyResult[] = [];
  const runId = newRunId('manual', services.clock.now(), services.newId);
  let found = false;
  for (const vault of vaults) {
    if (!vault) throw new Error(`vault "${target.vault}" is not in the configuration`);
    const ctx = rotationContext(services, vault, { runId, trigger: 'manual' }, log);
    const candidates = [];
    if (target.objectType && target.objectName) {
      const one = await services.states.get(vault.name, target.objectType, target.objectName);
      if (one?.value.rotationId) candidates.push(one);
    } else {
      for await (const s of services.states.list(vault.name)) {
        if (s.value.status === 'Verifying' || (s.value.status === 'Failed' && s.value.toVersion && s.value.verification)) candidates.push(s);
      }
    }
    for (const existing of candidates) {
      found = true;
      const result = await recheckObject(existing.value.objectType, existing.value.objectName, existing.value.rotationId, ctx, true);
      out.push({ vault: vault.name, type: result.type, name: result.name, outcome: result.outcome });
    }
    if (candidates.length) await services.digestAfterRun?.(vault.name);
  }
  if (target.objectType && target.objectName && !found) {
    throw new Error(`${target.objectType} "${target.objectName}" has no rotation to verify${target.vault ? ` in ${target.vault}` : ''}`);
  }
  return out;
}
