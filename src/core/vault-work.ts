/**
 * One owner per vault at a time, whatever the number of Functions instances.
 *
 * Azure Functions scales Rotor out to many instances, but a vault has one budget (Key Vault counts creations per
 * vault, e.g. 20 RSA-2048 per 10 s) and one audit chain per day. So a vault's work — the nightly scan and the
 * per-object work items that Key Vault events produce — is done by the one instance that holds the vault's lease:
 *
 * - a work item for a vault first lands in the vault's **pending set** (one row per object: a burst of events for the
 *   same object is one entry; a scan request is one entry too), then its instance tries to take the lease;
 * - the **holder drains** the pending set in groups — objects first, in the same group commit as the scan
 *   (GroupAdmission, CompletionQueue), then a requested scan — with one pacer that owns the vault's whole budget;
 *   other instances take other vaults' items and return at once (their items wait in the set);
 * - the lease carries the pacer's recent admissions, so the next holder counts them against the budget;
 * - a crashed holder's lease expires (VAULT_LEASE_MS): an instance that found the lease held scheduled one delayed
 *   `drainVault` work item for just after that expiry (one per lease period, not one per deferred item), which takes
 *   the lease over and drains what is left. Exactly one new version per object still rests on the per-object claim
 *   (RotationState ETag and lease): a lost or stolen vault lease can cost budget, never a duplicate.
 *
 * Why a Table row with an ETag and an expiry rather than a blob lease: Rotor already holds Storage Table Data
 * Contributor on its storage account, so no new service endpoint, setting or role is needed; the lease row and the
 * pending set live in one partition per vault, so a holder reads its work with one query and removes it with one batch
 * transaction; the row can carry the pacer's state to the next holder; and a blob lease (15–60 s or infinite) would
 * still need the same renewal and expiry logic. Expiry is judged on the instances' clocks (NTP-synchronised in Azure);
 * the lease is 60 s, renewed at half-life, so skew of seconds costs at most an overlap of pacing, never correctness.
 */
import type { RunContext } from './audit.js';
import type { RotorConfig } from './config.js';
import type { PacerState, VaultPacer } from './pacing.js';
import type { Clock, Logger } from './ports.js';
import { CompletionQueue, type GroupMember, type RotationContext } from './rotation.js';
import { BoundedExecutor, GroupAdmission, type ObjectResult, type VaultSummary } from './scan.js';
import type { WorkItem, WorkQueue } from './work.js';

/** How long a vault lease lasts without renewal; the holder renews it at half-life. */
export const VAULT_LEASE_MS = 60_000;
/** A deferred instance schedules its check this long after the lease's expiry. */
export const LEASE_CHECK_GRACE_MS = 15_000;
/** Pending entries read per round (one Table query page; one batch transaction removes them). */
export const PENDING_PAGE = 100;

export type ObjectWorkItem = Extract<WorkItem, { kind: 'object' }>;

/** One entry of a vault's pending set, as stored. `tag` is the store's version of the entry (an ETag). */
export type PendingEntry =
  | { readonly kind: 'object'; readonly key: string; readonly item: ObjectWorkItem; readonly tag: string }
  | { readonly kind: 'scan'; readonly key: string; readonly run: RunContext; readonly tag: string };

export interface HeldLease {
  readonly vault: string;
  readonly holder: string;
  readonly until: Date;
  /** The previous holder's pacer state (its admissions still inside the window). */
  readonly pacer?: PacerState | undefined;
}

export type AcquireResult =
  | { readonly acquired: true; readonly lease: HeldLease }
  /** `checkAt`: this caller must schedule a drainVault work item for then (nobody else has scheduled one). */
  | { readonly acquired: false; readonly holder: string; readonly until: Date; readonly checkAt?: Date | undefined };

export class VaultLeaseLost extends Error {
  constructor(vault: string) {
    super(`the lease of vault ${vault} was taken over by another instance`);
    this.name = 'VaultLeaseLost';
  }
}

/** The vault lease and pending set in storage (adapters/storage/vault-work-table.ts). */
export interface VaultWorkStore {
  /** Adds an object work item to the vault's pending set; an entry for the same object (and kind of hint) is replaced. */
  addObject(item: ObjectWorkItem): Promise<void>;
  /** Asks for a scan of the vault (one entry, whatever the number of requests). */
  addScan(vault: string, run: RunContext): Promise<void>;
  /**
   * Takes the vault's lease when it is free, expired, or already this holder's. Otherwise returns its holder and
   * expiry, and `checkAt` when no check after that expiry is scheduled yet (it is then recorded as scheduled).
   */
  acquire(vault: string, holder: string, now: Date, leaseMs: number, graceMs: number): Promise<AcquireResult>;
  /** Extends the lease; throws VaultLeaseLost when another instance holds it now. */
  renew(lease: HeldLease, now: Date, leaseMs: number, pacer: PacerState): Promise<HeldLease>;
  /** Gives the lease up (with the pacer's state for the next holder). Never throws for a lease already lost. */
  release(lease: HeldLease, pacer: PacerState): Promise<void>;
  /** Records a check scheduled for `at` unless one is already scheduled then or later: true when the caller must enqueue it. */
  scheduleCheck(vault: string, at: Date): Promise<boolean>;
  /** Up to `limit` pending entries, objects before a scan. */
  pending(vault: string, limit: number): Promise<PendingEntry[]>;
  /** Removes entries that were handled — unless they changed since they were read (then they are handled again). */
  remove(vault: string, entries: readonly PendingEntry[]): Promise<void>;
}

/** The key of an object's entry: one per object, and one more for a NewVersionCreated hint (it records a version). */
export function pendingObjectKey(item: ObjectWorkItem): string {
  const newVersion = item.hint?.endsWith('NewVersionCreated') ? '|new-version' : '';
  const forced = (item as { force?: unknown }).force === true ? '|force' : '';
  return `${item.objectType}|${item.objectName}${newVersion}${forced}`;
}

/** What the application hands the vault work: how to run one object item, and the context of a run. */
export interface VaultWorkHost {
  readonly config: RotorConfig;
  readonly clock: Clock;
  readonly queue: WorkQueue;
  pacer(): VaultPacer;
  context(run: RunContext): RotationContext;
  /** Runs one object work item in `ctx` (which carries the group membership and the completion queue). */
  runObject(item: ObjectWorkItem, ctx: RotationContext): Promise<ObjectResult>;
  /** The vault scan (processVault) in `ctx`, with at most `budgetMs` to take on objects. */
  runScan(ctx: RotationContext, budgetMs: number): Promise<VaultSummary>;
  readonly log: Logger;
}

export interface DrainResult {
  readonly vault: string;
  /** Another instance holds the vault: this work item's entry waits in the pending set for it. */
  readonly deferred?: { readonly holder: string; readonly until: Date } | undefined;
  readonly objects: ObjectResult[];
  readonly scans: VaultSummary[];
  /** Entries left for a continuation work item (time budget spent). */
  readonly continued: boolean;
  readonly leaseLost: boolean;
}

/** A drain running in this process: items for its vault join it instead of taking the lease themselves. */
interface ActiveDrain {
  /** Set when the drain will not read the pending set again before it lets go of the lease. */
  closing: boolean;
}

const joined = (vault: string, holder: string, now: Date): DrainResult => ({
  vault,
  deferred: { holder, until: now },
  objects: [],
  scans: [],
  continued: false,
  leaseLost: false,
});

const MAX_LISTED = 1000;

/**
 * The vault leases of one instance (one per process, built by the composition root). `holder` names this instance
 * in the lease rows.
 */
export class VaultWork {
  private readonly active = new Map<string, ActiveDrain>();

  constructor(
    readonly store: VaultWorkStore,
    readonly holder: string,
    private readonly leaseMs = VAULT_LEASE_MS,
    private readonly graceMs = LEASE_CHECK_GRACE_MS,
  ) {}

  /**
   * An object work item: into the vault's pending set, then drained by this instance if it can hold the vault. The
   * result is this object's when this instance's own drain handled it. When a drain of the vault already runs in this
   * instance, the item joins it (that drain reads the set again before it lets go) and the invocation ends at once, so
   * the host's queue slots stay free for other vaults' work.
   */
  async objectItem(item: ObjectWorkItem, host: VaultWorkHost): Promise<{ result?: ObjectResult | undefined; drain: DrainResult }> {
    await this.store.addObject(item);
    const running = this.active.get(item.vault.toLowerCase());
    if (running && !running.closing) return { drain: joined(item.vault, this.holder, host.clock.now()) };
    const drain = await this.drain(item.vault, { runId: item.runId, trigger: item.trigger }, host);
    return { result: drain.objects.find((r) => r.type === item.objectType && r.name === item.objectName), drain };
  }

  /** A scan request: into the pending set, then drained like object items. */
  async scanItem(vault: string, run: RunContext, host: VaultWorkHost): Promise<{ summary?: VaultSummary | undefined; drain: DrainResult }> {
    await this.store.addScan(vault, run);
    const running = this.active.get(vault.toLowerCase());
    if (running && !running.closing) return { drain: joined(vault, this.holder, host.clock.now()) };
    const drain = await this.drain(vault, run, host);
    return { summary: drain.scans[drain.scans.length - 1], drain };
  }

  /**
   * Takes the vault's lease and drains its pending set until it is empty or the work item's time budget is spent
   * (then a continuation work item is queued). When another instance holds the lease, returns at once (deferred),
   * after scheduling a check for just after its expiry if nobody has.
   */
  async drain(vault: string, run: RunContext, host: VaultWorkHost): Promise<DrainResult> {
    const { runId, trigger } = run;
    const started = host.clock.now().getTime();
    const budgetMs = host.config.rotation.workItemMinutes * 60_000;
    const overBudget = (): boolean => host.clock.now().getTime() - started >= budgetMs;
    const objects: ObjectResult[] = [];
    const scans: VaultSummary[] = [];
    let continued = false;
    let leaseLost = false;
    const id = vault.toLowerCase();
    const existing = this.active.get(id);
    if (existing && !existing.closing) {
      // One drain per vault per instance: this one's items are in the set the running drain reads.
      return { vault, deferred: { holder: this.holder, until: host.clock.now() }, objects, scans, continued, leaseLost };
    }
    for (let round = 0; ; round++) {
      // Registered before the first await, so that items arriving meanwhile in this process wait for this drain.
      const running: ActiveDrain = { closing: false };
      this.active.set(id, running);
      let taken: AcquireResult;
      try {
        taken = await this.store.acquire(vault, this.holder, host.clock.now(), this.leaseMs, this.graceMs);
      } catch (err) {
        this.close(id, running);
        throw err;
      }
      if (!taken.acquired) {
        this.close(id, running);
        if (taken.checkAt) await this.enqueueCheck(vault, run, taken.checkAt, host);
        if (round === 0) return { vault, deferred: { holder: taken.holder, until: taken.until }, objects, scans, continued, leaseLost };
        break; // another instance took over between our release and this look: it drains the rest
      }
      const pacer = host.pacer();
      pacer.restore(taken.lease.pacer);
      const keeper = new LeaseKeeper(this.store, taken.lease, host.clock, this.leaseMs, pacer, host.log);
      let outcome: { continued: boolean };
      try {
        outcome = await this.drainHeld(vault, run, host, keeper, overBudget, budgetMs - (host.clock.now().getTime() - started), objects, scans);
      } finally {
        running.closing = true;
        await keeper.stop();
        this.close(id, running);
      }
      leaseLost ||= keeper.lost;
      if (leaseLost) break;
      if (outcome.continued) {
        continued = true;
        break;
      }
      // Entries added after our last look but before the release found the lease held and returned: look once more.
      const left = await this.store.pending(vault, 1);
      if (!left.length) break;
      if (overBudget()) {
        continued = true;
        break;
      }
    }
    if (continued) {
      await host.queue
        .enqueue({ kind: 'drainVault', vault, runId, trigger })
        .catch((err: unknown) => host.log.error(`could not queue the continuation of vault ${vault}'s pending work: ${String(err)}`));
    }
    return { vault, objects: objects.slice(0, MAX_LISTED), scans, continued, leaseLost };
  }

  /** A delayed drainVault work item: looks at the vault again just after a lease's expiry. */
  private async enqueueCheck(vault: string, run: RunContext, at: Date, host: VaultWorkHost): Promise<void> {
    const delaySeconds = Math.max(1, Math.ceil((at.getTime() - host.clock.now().getTime()) / 1000));
    await host.queue
      .enqueue({ kind: 'drainVault', vault, runId: run.runId, trigger: run.trigger }, { delaySeconds })
      .catch((err: unknown) => host.log.warn(`could not schedule a check of vault ${vault} after its lease: ${String(err)}`));
  }

  private close(id: string, running: ActiveDrain): void {
    running.closing = true;
    if (this.active.get(id) === running) this.active.delete(id);
  }

  private async drainHeld(
    vault: string,
    run: RunContext,
    host: VaultWorkHost,
    keeper: LeaseKeeper,
    overBudget: () => boolean,
    budgetLeftMs: number,
    objects: ObjectResult[],
    scans: VaultSummary[],
  ): Promise<{ continued: boolean }> {
    const scanStarted = host.clock.now().getTime();
    let checkScheduled = false;
    for (;;) {
      if (keeper.lost) return { continued: false };
      if (overBudget()) return { continued: true };
      await keeper.renewIfDue();
      const entries = await this.store.pending(vault, PENDING_PAGE);
      if (!entries.length) return { continued: false };
      if (!checkScheduled) {
        // Items that joined this drain rely on it: should this instance stop, a check after the lease's expiry takes
        // over (each check that finds the lease renewed schedules the next, so one message per lease period).
        checkScheduled = true;
        const at = new Date(keeper.until.getTime() + this.graceMs);
        if (await this.store.scheduleCheck(vault, at)) await this.enqueueCheck(vault, run, at, host);
      }
      const items = entries.filter((e): e is Extract<PendingEntry, { kind: 'object' }> => e.kind === 'object');
      if (items.length) {
        const results = await this.runObjects(items, host, keeper, overBudget);
        const done = items.filter((e) => results.has(e.key));
        for (const e of done) {
          const result = results.get(e.key);
          if (result) objects.push(result);
        }
        await this.store.remove(vault, done);
        if (done.length < items.length) return { continued: true };
        continue;
      }
      const scan = entries.find((e): e is Extract<PendingEntry, { kind: 'scan' }> => e.kind === 'scan');
      if (!scan) return { continued: false };
      // A scan takes on objects only inside what is left of this work item's budget.
      const left = budgetLeftMs - (host.clock.now().getTime() - scanStarted);
      if (left < 60_000) return { continued: true };
      const summary = await host.runScan(host.context(scan.run), left);
      scans.push(summary);
      if (summary.continued) return { continued: true }; // the scan entry stays: the continuation resumes it
      await this.store.remove(vault, [scan]);
    }
  }

  /**
   * Runs a page of object items in groups (the scan's GroupAdmission): members start together so that their opening
   * audit rows share one write, and completions ride along with the next group's. Entries of the same object run
   * one after the other in one task. Past the budget, or once the lease is lost, no further object is started.
   */
  private async runObjects(
    entries: ReadonlyArray<Extract<PendingEntry, { kind: 'object' }>>,
    host: VaultWorkHost,
    keeper: LeaseKeeper,
    overBudget: () => boolean,
  ): Promise<Map<string, ObjectResult>> {
    const results = new Map<string, ObjectResult>();
    const runOf = (item: ObjectWorkItem): RunContext => ({ runId: item.runId, trigger: item.trigger });
    const base = host.context(runOf(entries[0]!.item));
    const concurrency = host.config.rotation.concurrencyPerVault;
    const executor = new BoundedExecutor(concurrency);
    const completions = new CompletionQueue(base);
    const admission = new GroupAdmission(executor, Math.max(1, Math.floor(concurrency / 2)), completions, base.audit);
    const byObject = new Map<string, Array<Extract<PendingEntry, { kind: 'object' }>>>();
    for (const e of entries) {
      const object = `${e.item.objectType}|${e.item.objectName}`;
      byObject.set(object, [...(byObject.get(object) ?? []), e]);
    }
    for (const group of byObject.values()) {
      if (overBudget() || keeper.lost) break;
      await admission.admit(async (member: GroupMember) => {
        for (const e of group) {
          const ctx = { ...host.context(runOf(e.item)), completions, group: member };
          try {
            results.set(e.key, await host.runObject(e.item, ctx));
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            host.log.error(`could not process ${e.item.vault}/${e.item.objectType}/${e.item.objectName}: ${message}`);
            results.set(e.key, { type: e.item.objectType, name: e.item.objectName, outcome: 'Error', reason: message });
          } finally {
            member.ready();
          }
        }
        void keeper.renewIfDue();
      });
    }
    await admission.finish();
    await admission.settle();
    return results;
  }
}

/**
 * Keeps a held lease alive: renewed at half-life between groups and as objects finish, and by a timer while a long
 * step (a scan) runs. A renewal that finds another holder marks the lease lost: the drain stops taking on work.
 */
class LeaseKeeper {
  lost = false;
  private lease: HeldLease;
  private renewing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: VaultWorkStore,
    lease: HeldLease,
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly pacer: VaultPacer,
    private readonly log: Logger,
  ) {
    this.lease = lease;
    this.timer = setInterval(() => void this.renewIfDue(), Math.max(1_000, Math.floor(leaseMs / 4)));
    this.timer.unref();
  }

  get until(): Date {
    return this.lease.until;
  }

  renewIfDue(): Promise<void> {
    if (this.lost) return Promise.resolve();
    if (this.lease.until.getTime() - this.clock.now().getTime() > this.leaseMs / 2) return Promise.resolve();
    this.renewing ??= this.store
      .renew(this.lease, this.clock.now(), this.leaseMs, this.pacer.snapshot())
      .then((lease) => void (this.lease = lease))
      .catch((err: unknown) => {
        if (err instanceof VaultLeaseLost) {
          this.lost = true;
          this.log.warn(err.message);
        } else {
          // A failed renewal is tried again at the next occasion; the lease is still ours until it expires.
          this.log.warn(`could not renew the lease of vault ${this.lease.vault}: ${String(err)}`);
        }
      })
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    if (this.lost) return;
    await this.store.release(this.lease, this.pacer.snapshot()).catch((err: unknown) => {
      this.log.warn(`could not release the lease of vault ${this.lease.vault} (it expires by itself): ${String(err)}`);
    });
  }
}
