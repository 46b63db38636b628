/**
 * Consumer verification: a rotation is only done when the things that use the secret have picked up the new
 * version. Right after a version is created, Rotor finds the consumers (Batch pools by secret URL or thumbprint,
 * HPC Pack clusters by configuration, HPC Caches by key URL) and checks each one. Each consumer's latest result is a
 * row of RotorConsumers (ConsumerResultStore); the rotation's state keeps the counts. The audit log gets a row for a
 * consumer when its state changes (first result, Stale → Verified, ...) and one VerificationChecked row per check
 * with the counts, so its volume stays bounded at thousands of nodes. Until all have converged the rotation stays
 * Verifying, re-checked at the consumers' next-check time (a delayed queue message, and the nightly run); past the
 * deadline it fails naming the consumers that did not converge — the previous version stays enabled. Only after
 * convergence may the previous version be disabled, and only if configured.
 */
import { auditRecord } from './audit.js';
import {
  cacheUsesKey,
  checkBatchPool,
  checkHpcCache,
  checkHpcPackNode,
  CONVERGED,
  poolConsumes,
  type BatchPoolModel,
  type ConsumerResult,
  type ConsumerStatus,
  type HpcCacheModel,
  type HpcPackNodeModel,
  type RotatedCertificate,
  type RotatedKey,
  type TlsProbeResult,
  type VaultProtection,
} from './consumers.js';
import pLimit from 'p-limit';
import { DEFAULT_CONSUMER_CONCURRENCY, type HpcPackClusterConfig } from './config.js';
import { ConcurrencyError, GatewayError, type ConsumerRecord, type ConsumerResultStore, type Limit, type Versioned } from './ports.js';
import { completeRotation, type ObjectOutcome, type RotationContext, type VerificationVerdict, type VersionCreatedHook } from './rotation.js';
import type { CompletedState, ConsumerCountKey, ConsumerCounts, FailedState, RotationState, VerificationSummary, VersionCreatedState, VerifyingState } from './state.js';
import { advance, envOf, record as recordTransition, transition, versionPairFields } from './transitions.js';

/** A rotation whose new version may exist: what verification looks at. */
type Rotated = VersionCreatedState | VerifyingState | CompletedState | FailedState;

/** Where consumers are read from (Batch and HPC Cache management APIs, HPC Pack head nodes, TLS probes). */
export interface ConsumerGateway {
  /** Pools of the configured Batch accounts. */
  batchPools(): AsyncIterable<BatchPoolModel>;
  /** Nodes of a cluster (head node REST API and/or the static list); throws GatewayError when the head node fails. */
  hpcPackNodes(cluster: HpcPackClusterConfig): Promise<HpcPackNodeModel[]>;
  /** A real TLS handshake: the SHA-1 thumbprint of the certificate the peer presents. */
  probeTls(host: string, port: number, timeoutMs: number): Promise<TlsProbeResult>;
  /** The configured HPC Caches. */
  hpcCaches(): AsyncIterable<HpcCacheModel>;
  /** Soft delete / purge protection of a vault (by ARM id), or undefined when it cannot be read. */
  vaultProtection(vaultResourceId: string): Promise<VaultProtection | undefined>;
}

export const ACTION_BY_STATUS: Record<ConsumerStatus, 'ConsumerVerified' | 'ConsumerPending' | 'ConsumerStale' | 'ConsumerUnreachable' | 'ConsumerMisconfigured' | 'ConsumerSkipped'> = {
  Verified: 'ConsumerVerified',
  Pending: 'ConsumerPending',
  Stale: 'ConsumerStale',
  UnknownCertificate: 'ConsumerMisconfigured',
  Unreachable: 'ConsumerUnreachable',
  Misconfigured: 'ConsumerMisconfigured',
  Skipped: 'ConsumerSkipped',
};

const COUNT_KEY: Record<ConsumerStatus, ConsumerCountKey> = {
  Verified: 'verified',
  Pending: 'pending',
  Stale: 'stale',
  UnknownCertificate: 'misconfigured',
  Unreachable: 'unreachable',
  Misconfigured: 'misconfigured',
  Skipped: 'skipped',
};

/** Consumers by state (the counts a rotation's state row keeps). */
export function countConsumers(results: ReadonlyArray<Pick<ConsumerResult, 'status'>>): ConsumerCounts {
  const counts: Record<ConsumerCountKey, number> = { verified: 0, stale: 0, unreachable: 0, pending: 0, misconfigured: 0, skipped: 0 };
  for (const r of results) counts[COUNT_KEY[r.status]]++;
  return counts;
}

/** Consumers named at most in a failure message (the rest are counted; every one has its row). */
const NAMED_IN_FAILURE = 20;

/** One check's results, merged with what the earlier checks of the rotation recorded. */
interface Check {
  readonly results: readonly ConsumerResult[];
  readonly records: readonly ConsumerRecord[];
  /** Consumers an earlier check found and this one did not. */
  readonly removed: readonly string[];
  readonly summary: VerificationSummary;
  readonly converged: boolean;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class ConsumerVerifier implements VersionCreatedHook {
  /**
   * @param limit bounds the TLS probes and head-node calls in flight (the composition root shares one per instance
   *   with the ARM reads, sized by verification.concurrency); by default a limit of its own of that default size.
   */
  constructor(
    private readonly consumers: ConsumerGateway,
    /** Where each consumer's result is kept (RotorConsumers). */
    private readonly results: ConsumerResultStore,
    private readonly limit: Limit = pLimit(DEFAULT_CONSUMER_CONCURRENCY),
  ) {}

  /**
   * Finds and checks every consumer of the rotated object. `earlier`: the rotation's consumer rows so far (by id), so
   * that a check cut short by the work item's time budget probes the nodes that have not confirmed yet first, and
   * keeps the earlier result of a verified node it had no time to probe again.
   */
  async check(state: Rotated, ctx: RotationContext, earlier: ReadonlyMap<string, ConsumerRecord> = new Map()): Promise<ConsumerResult[]> {
    const toVersion = state.toVersion ?? '';
    const now = ctx.clock.now();
    const recheckAt = new Date(now.getTime() + ctx.config.verification.recheckMinutes * 60_000);
    const vaultUrl = ctx.gateway.vault.url;
    if (state.objectType === 'certificate') {
      const cert: RotatedCertificate = {
        vaultUrl,
        name: state.objectName,
        newVersion: toVersion,
        newThumbprint: state.toThumbprint ?? '',
        oldThumbprints: await this.oldThumbprints(state, ctx),
        // The first check runs right after the version was created; later checks keep that time.
        versionCreatedAt: state.verification?.startedAt ?? now,
      };
      return [...(await this.checkPools(cert, now, recheckAt)), ...(await this.checkClusters(state, cert, ctx, now, recheckAt, earlier))];
    }
    if (state.objectType === 'key') {
      const version = toVersion ? await ctx.gateway.getVersion('key', state.objectName, toVersion) : undefined;
      const key: RotatedKey = {
        vaultUrl,
        name: state.objectName,
        newVersion: toVersion,
        laterVersions: await this.versionsAfter('key', state.objectName, version?.createdOn, ctx),
        keyType: version?.keyType,
        keySize: version?.keySize,
        enabled: version?.enabled ?? true,
      };
      return this.checkCaches(key, now, recheckAt);
    }
    return [];
  }

  /** Versions of an object created after `createdOn` (none when it is unknown). */
  private async versionsAfter(type: 'key', name: string, createdOn: Date | undefined, ctx: RotationContext): Promise<string[]> {
    if (!createdOn) return [];
    const out: string[] = [];
    for await (const page of ctx.gateway.listVersions(type, name)) {
      for (const v of page) if (v.version && v.createdOn && v.createdOn.getTime() > createdOn.getTime()) out.push(v.version);
    }
    return out;
  }

  private async oldThumbprints(state: Rotated, ctx: RotationContext): Promise<string[]> {
    const out = new Set<string>(state.fromThumbprint ? [state.fromThumbprint.toUpperCase()] : []);
    const current = (state.toThumbprint ?? '').toUpperCase();
    for await (const page of ctx.gateway.listVersions('certificate', state.objectName)) {
      for (const v of page) if (v.thumbprint && v.thumbprint.toUpperCase() !== current) out.add(v.thumbprint.toUpperCase());
    }
    return [...out];
  }

  private async checkPools(cert: RotatedCertificate, now: Date, recheckAt: Date): Promise<ConsumerResult[]> {
    const results: ConsumerResult[] = [];
    try {
      for await (const pool of this.consumers.batchPools()) if (poolConsumes(pool, cert)) results.push(checkBatchPool(pool, cert, now, recheckAt));
    } catch (err) {
      results.push(unreachable('batch://accounts', 'batch-pool', 'Batch accounts', err, now, recheckAt));
    }
    return results;
  }

  /**
   * Nodes of every cluster that consumes the certificate: the head nodes are asked concurrently, then every online
   * node is probed, all within the instance's limit — an unreachable node costs one probe timeout in a slot, never a
   * queue of them. Past the work item's time budget no new probe starts: the nodes left are Pending (NotCheckedYet)
   * with their next check now, so a follow-up work item checks them — nodes not verified yet first, and a verified
   * node left unprobed keeps its earlier result, so every follow-up makes progress.
   */
  private async checkClusters(
    state: Rotated,
    cert: RotatedCertificate,
    ctx: RotationContext,
    now: Date,
    recheckAt: Date,
    earlier: ReadonlyMap<string, ConsumerRecord>,
  ): Promise<ConsumerResult[]> {
    const clusters = ctx.config.consumers.hpcPack.filter(
      (c) => c.certificate.vault.toLowerCase() === state.vault.toLowerCase() && c.certificate.name === state.objectName,
    );
    // The work item's time budget, and never past the invocation's deadline (the function timeout less a margin).
    const budgetEndsAt = Math.min(
      (ctx.budgetEndsAt ?? new Date(now.getTime() + ctx.config.rotation.workItemMinutes * 60_000)).getTime(),
      ctx.deadline?.getTime() ?? Number.POSITIVE_INFINITY,
    );
    const listed = await Promise.all(
      clusters.map(async (cluster) => {
        try {
          return { ok: true as const, cluster, nodes: await this.limit(() => this.consumers.hpcPackNodes(cluster)) };
        } catch (err) {
          return { ok: false as const, cluster, error: unreachable(`hpcpack://${cluster.name}`, 'hpc-pack-cluster', `HPC Pack cluster ${cluster.name} (head node)`, err, now, recheckAt) };
        }
      }),
    );
    const results: ConsumerResult[] = [];
    for (const entry of listed) {
      if (!entry.ok) {
        results.push(entry.error);
        continue;
      }
      const { cluster, nodes } = entry;
      const verifiedBefore = (node: HpcPackNodeModel): ConsumerRecord | undefined => {
        const before = earlier.get(`hpcpack://${cluster.name}/${node.name}`);
        return before?.status === 'Verified' ? before : undefined;
      };
      // The limit runs tasks in the order they are queued: nodes that have not confirmed the new version go first.
      const order = nodes.map((node, i) => ({ node, i })).sort((a, b) => Number(Boolean(verifiedBefore(a.node))) - Number(Boolean(verifiedBefore(b.node))));
      const checks: Array<Promise<ConsumerResult>> = new Array<Promise<ConsumerResult>>(nodes.length);
      for (const { node, i } of order) {
        if (node.state.toLowerCase() !== 'online') {
          checks[i] = Promise.resolve(checkHpcPackNode(cluster.name, node, undefined, cert, now, recheckAt));
          continue;
        }
        checks[i] = this.limit(async () => {
          if (ctx.clock.now().getTime() >= budgetEndsAt) {
            const before = verifiedBefore(node);
            return before ? carriedOver(before) : notCheckedYet(cluster.name, node, cert, now, ctx.config.rotation.workItemMinutes);
          }
          return checkHpcPackNode(cluster.name, node, await this.consumers.probeTls(node.host, node.port, cluster.probeTimeoutMs), cert, now, recheckAt);
        });
      }
      results.push(...(await Promise.all(checks)));
    }
    return results;
  }

  private async checkCaches(key: RotatedKey, now: Date, recheckAt: Date): Promise<ConsumerResult[]> {
    const results: ConsumerResult[] = [];
    try {
      for await (const cache of this.consumers.hpcCaches()) {
        if (!cacheUsesKey(cache, key)) continue;
        const protection = cache.sourceVaultId ? await this.consumers.vaultProtection(cache.sourceVaultId) : undefined;
        results.push(checkHpcCache(cache, key, protection, now, recheckAt));
      }
    } catch (err) {
      results.push(unreachable('hpccache://caches', 'hpc-cache', 'HPC Caches', err, now, recheckAt));
    }
    return results;
  }

  /**
   * Records one check: merges the results with the consumer rows of the earlier checks, appends an audit row for each
   * consumer whose state changed (its first result, Stale → Verified, ...) and one summary row with the counts. The
   * consumer rows are written by `store` once the audit rows are durable.
   */
  private async record(state: Rotated, results: readonly ConsumerResult[], ctx: RotationContext, known?: ReadonlyMap<string, ConsumerRecord>): Promise<Check> {
    const now = ctx.clock.now();
    const earlier = known ?? (await this.earlierRecords(state));
    const base = versionPairFields(state);
    let changed = 0;
    const records = results.map((r): ConsumerRecord => {
      const before = earlier.get(r.id);
      const isChange = !before || before.status !== r.status;
      if (isChange) {
        changed++;
        ctx.audit.append(
          auditRecord(ctx.run, now, {
            ...base,
            action: ACTION_BY_STATUS[r.status],
            outcome: r.status === 'Verified' ? 'Succeeded' : r.status === 'Pending' ? 'Pending' : r.status === 'Skipped' ? 'Skipped' : 'Failed',
            reason: r.reason,
            consumer: `${r.label} (${r.id})`,
            expected: r.expected,
            observed: r.observed,
            detail: before ? `${r.detail} (was ${before.status} since ${before.statusSince.toISOString()})` : r.detail,
          }),
        );
      }
      return {
        ...r,
        rotationId: state.rotationId,
        vault: state.vault,
        objectType: state.objectType,
        objectName: state.objectName,
        firstCheckedAt: before?.firstCheckedAt ?? r.checkedAt,
        statusSince: isChange ? r.checkedAt : (before?.statusSince ?? r.checkedAt),
        verifiedAt: before?.verifiedAt ?? (r.status === 'Verified' ? r.checkedAt : undefined),
        // A result carried over from an earlier check (no time to probe again) is not another check.
        checks: (before?.checks ?? 0) + (before && before.checkedAt.getTime() === r.checkedAt.getTime() ? 0 : 1),
      };
    });
    const seen = new Set(results.map((r) => r.id));
    const removed = [...earlier.keys()].filter((id) => !seen.has(id));
    const counts = countConsumers(results);
    const summary: VerificationSummary = { startedAt: state.verification?.startedAt ?? now, checks: (state.verification?.checks ?? 0) + 1, counts };
    const converged = results.every((r) => CONVERGED.includes(r.status));
    ctx.audit.append(
      auditRecord(ctx.run, now, {
        ...base,
        action: 'VerificationChecked',
        outcome: converged ? 'Succeeded' : 'Pending',
        reason: converged ? 'Converged' : 'NotConverged',
        detail:
          `check ${summary.checks}: ${summarize(results)}; ${changed} changed state since the previous check` +
          (removed.length ? `; ${removed.length} no longer found (${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', …' : ''})` : ''),
      }),
    );
    ctx.metrics?.consumerStates({ vault: state.vault, type: state.objectType, name: state.objectName }, countByStatus(results));
    return { results, records, removed, summary, converged };
  }

  /** The rotation's consumer rows so far, by consumer id. */
  private async earlierRecords(state: Rotated): Promise<Map<string, ConsumerRecord>> {
    return new Map((await this.results.list(state.rotationId)).map((r) => [r.id, r]));
  }

  /** Makes the check's audit rows durable, then writes its consumer rows (so no change is lost from the log). */
  private async store(state: Rotated, check: Check, ctx: RotationContext): Promise<void> {
    await ctx.audit.flush();
    await this.results.write(state.rotationId, check.records, check.removed);
  }

  async afterVersionCreated(state: VersionCreatedState, ctx: RotationContext): Promise<VerificationVerdict> {
    const results = await this.check(state, ctx);
    if (!results.length) return { next: 'completed', note: '; no consumers found to verify' };
    const check = await this.record(state, results, ctx);
    await this.store(state, check, ctx);
    if (check.converged) return { next: 'completed', note: `; ${summarize(results)}`, verification: check.summary };
    const deadline = new Date(ctx.clock.now().getTime() + ctx.config.verification.deadlineHours * 3_600_000);
    const nextCheckAt = nextCheck(results, deadline);
    await this.schedule(state, nextCheckAt, ctx);
    return { next: 'verifying', verification: check.summary, nextCheckAt, deadline };
  }

  /** Re-checks a rotation that is Verifying (or that failed its deadline): converge, wait more, or fail. */
  async recheck(existing: Versioned<RotationState>, ctx: RotationContext, options: { force?: boolean } = {}): Promise<ObjectOutcome> {
    const now = ctx.clock.now();
    const current = existing.value;
    if (current.status === 'Completed' && options.force && current.toVersion) return this.recheckCompleted(current, existing.etag, ctx);
    const reopen = current.status === 'Failed' && Boolean(current.toVersion) && Boolean(current.verification);
    if (current.status !== 'Verifying' && !reopen) return 'NotDue';
    if (!options.force && current.status === 'Verifying' && current.nextCheckAt.getTime() > now.getTime()) return 'Verifying';
    let claimed;
    try {
      // Claim this check: a concurrent re-check (queue message and nightly run) backs off.
      claimed = await advance(ctx, { state: current, etag: existing.etag }, { kind: 'Recheck' });
    } catch (err) {
      if (err instanceof ConcurrencyError) return 'InProgressElsewhere';
      throw err;
    }
    const state = claimed.step.next as VerifyingState | FailedState;
    const { etag } = claimed;
    const earlier = await this.earlierRecords(state);
    const results = await this.check(state, ctx, earlier);
    const check = await this.record(state, results, ctx, earlier);
    await this.store(state, check, ctx);
    if (check.converged) {
      const late = reopen ? ' (after the verification deadline)' : '';
      return completeRotation(state, etag, ctx, `; ${summarize(results)}${late}`, check.summary);
    }
    if (state.status === 'Failed') {
      await advance(ctx, { state, etag }, { kind: 'Checked', verification: check.summary });
      return 'Failed';
    }
    const deadline = state.verifyDeadline;
    if (now.getTime() >= deadline.getTime()) {
      const pending = results.filter((r) => !CONVERGED.includes(r.status));
      const named = pending.slice(0, NAMED_IN_FAILURE).map((r) => `${r.label}: ${r.status} (${r.reason})`);
      const more = pending.length > named.length ? `; and ${pending.length - named.length} more (see the consumer rows)` : '';
      const detail = `${pending.length} of ${results.length} consumers did not converge by ${deadline.toISOString()}: ${named.join('; ')}${more}`;
      ctx.log.error(`rotation of ${state.vault}/${state.objectType}/${state.objectName} failed: ${detail}`, { rotationId: state.rotationId });
      await recordTransition(ctx, { state, etag }, { kind: 'DeadlinePassed', verification: check.summary, detail });
      return 'Failed';
    }
    const nextCheckAt = nextCheck(results, deadline);
    await advance(ctx, { state, etag }, { kind: 'Checked', verification: check.summary, nextCheckAt });
    await this.schedule(state, nextCheckAt, ctx);
    return 'Verifying';
  }

  /** `rotor verify` on a finished rotation: check and audit the consumers again; the rotation stays Completed. */
  private async recheckCompleted(state: CompletedState, etag: string, ctx: RotationContext): Promise<ObjectOutcome> {
    const earlier = await this.earlierRecords(state);
    const results = await this.check(state, ctx, earlier);
    const check = await this.record(state, results, ctx, earlier);
    await this.store(state, check, ctx);
    try {
      await advance(ctx, { state, etag }, { kind: 'Checked', verification: check.summary });
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
    return 'Rotated';
  }

  private async schedule(state: Rotated, at: Date, ctx: RotationContext): Promise<void> {
    if (!ctx.queue) return; // the nightly run re-checks as well
    const delaySeconds = Math.max(1, Math.ceil((at.getTime() - ctx.clock.now().getTime()) / 1000));
    try {
      await ctx.queue.enqueue(
        { kind: 'verify', vault: state.vault, objectType: state.objectType, objectName: state.objectName, rotationId: state.rotationId, runId: ctx.run.runId, trigger: ctx.run.trigger },
        { delaySeconds },
      );
    } catch (err) {
      ctx.log.warn(`could not schedule the re-check of ${state.objectType} ${state.objectName}; the nightly run will do it: ${errorMessage(err)}`);
    }
  }

  /** Only after convergence, and only when configured: disable the previous version. */
  async afterCompleted(state: CompletedState, ctx: RotationContext): Promise<void> {
    if (!ctx.config.verification.disablePreviousVersion || !state.fromVersion) return;
    try {
      await ctx.gateway.updateVersion(state.objectType, state.objectName, state.fromVersion, { enabled: false });
      // The state does not change (it stays Completed); the transition gives the row.
      for (const row of transition(state, { kind: 'PreviousVersionDisabled' }, envOf(ctx)).rows) ctx.audit.append(row);
      await ctx.audit.flush();
    } catch (err) {
      ctx.log.error(`could not disable the previous version of ${state.objectType} ${state.objectName}: ${errorMessage(err)}`);
    }
  }
}

/** A verified node's earlier result, kept when the work item had no time left to probe it again. */
function carriedOver(before: ConsumerRecord): ConsumerResult {
  return {
    id: before.id,
    kind: before.kind,
    label: before.label,
    status: before.status,
    reason: before.reason,
    detail: before.detail,
    expected: before.expected,
    observed: before.observed,
    checkedAt: before.checkedAt,
    nextCheckAt: before.nextCheckAt,
  };
}

/** A node the work item had no time left to probe: looked at again at once, by a follow-up work item. */
function notCheckedYet(cluster: string, node: HpcPackNodeModel, cert: RotatedCertificate, now: Date, budgetMinutes: number): ConsumerResult {
  return {
    id: `hpcpack://${cluster}/${node.name}`,
    kind: 'hpc-pack-node',
    label: `HPC Pack node ${cluster}/${node.name}`,
    status: 'Pending',
    reason: 'NotCheckedYet',
    detail: `not probed yet: the work item's time budget (rotation.workItemMinutes, ${budgetMinutes}) ran out first; a follow-up work item probes it`,
    expected: cert.newThumbprint,
    observed: '',
    checkedAt: now,
    nextCheckAt: now,
  };
}

function unreachable(id: string, kind: ConsumerResult['kind'], label: string, err: unknown, now: Date, recheckAt: Date): ConsumerResult {
  const reason = err instanceof GatewayError ? err.kind : 'Error';
  return { id, kind, label, status: 'Unreachable', reason, detail: `could not be read: ${errorMessage(err)}`, expected: '', observed: '', checkedAt: now, nextCheckAt: recheckAt };
}

function nextCheck(results: readonly ConsumerResult[], deadline: Date): Date {
  const times = results.filter((r) => !CONVERGED.includes(r.status) && r.nextCheckAt).map((r) => r.nextCheckAt!.getTime());
  return new Date(Math.min(deadline.getTime(), ...times));
}

function countByStatus(results: readonly ConsumerResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

export function summarize(results: readonly ConsumerResult[]): string {
  const counts = new Map<ConsumerStatus, number>();
  for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const verified = counts.get('Verified') ?? 0;
  const parts = [...counts].filter(([s]) => s !== 'Verified').map(([s, n]) => `${n} ${s.toLowerCase()}`);
  return `${verified} of ${results.length} consumers verified${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
