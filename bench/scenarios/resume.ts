/**
 * Scenario 9 — what resuming an interrupted rotation costs in Table storage requests, with 1, 30 and 365 days of the
 * vault's audit history (one daily partition each). A key's rotation is interrupted after its RotationStarted row
 * (the worker dies while Key Vault creates the version: the call never returns), its lease runs out, and the next
 * run resumes it through the function app's services (official SDK clients, Azurite). Goal: the same number of
 * requests whatever the age of the log.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { auditPartition } from '../../src/adapters/storage/keys.js';
import { auditRecord } from '../../src/core/audit.js';
import type { VaultGateway } from '../../src/core/ports.js';
import { rotationContext } from '../../src/core/rotor.js';
import { processObject } from '../../src/core/scan.js';
import { buildServices } from '../../src/app/services.js';
import { parseConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/generators.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { RequestCounter } from '../lib/requests.js';
import { quiet, startBenchStack } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

const DAY = 86_400_000;

/**
 * The PartitionKey ranges of the audit queries this process sends (RotorAudit with a $filter): what a query scans on
 * the server. Azurite answers a range in one response whatever it spans; Table storage itself returns at most 1,000
 * entities or 5 seconds of work per response and continues at partition boundaries, so a query's cost there grows
 * with the partitions it spans.
 */
class AuditQueryRanges {
  readonly ranges: Array<{ from: string; to: string }> = [];
  private readonly listener = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    if (String(request.getHeader('host') ?? '').split(':').pop() !== String(this.port)) return;
    const path = decodeURIComponent(request.path);
    if (!path.includes('RotorAudit()') || !path.includes('$filter')) return;
    const from = /PartitionKey ge '([^']*)'/.exec(path)?.[1] ?? /PartitionKey eq '([^']*)'/.exec(path)?.[1];
    const to = /PartitionKey lt '([^']*)'/.exec(path)?.[1] ?? /PartitionKey eq '([^']*)'/.exec(path)?.[1];
    if (from !== undefined && to !== undefined) this.ranges.push({ from, to });
  };
  constructor(private readonly port: number) {
    subscribe('http.client.request.start', this.listener);
  }
  /** How many of `partitions` the captured ranges cover (a range with eq covers its one partition). */
  spanned(partitions: readonly string[]): number {
    return partitions.filter((p) => this.ranges.some((r) => (r.from === r.to ? p === r.from : p >= r.from && p < r.to))).length;
  }
  stop(): void {
    unsubscribe('http.client.request.start', this.listener);
  }
}

/** A gateway whose version creations never return (the worker is gone before Key Vault answers). */
function hanging(gateway: VaultGateway): VaultGateway {
  const never = () => new Promise<never>(() => undefined);
  return new Proxy(gateway, {
    get(target, prop, receiver) {
      if (prop === 'rotateKey' || prop === 'createKeyVersion') return never;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export async function resumeScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const histories = params.resumeHistoryDays;
  const vaults = histories.map((d) => `bench-resume-${d}d`);
  const bench = await startBenchStack({
    vaults,
    latencyMs: params.latencyMs,
    seed: { vaults: Object.fromEntries(vaults.map((v) => [v, { keys: [{ name: 'resume-key', kty: 'RSA' as const, keySize: 2048, notBefore: '-355d', expires: '+10d' }] }])) },
  });
  const tablePort = bench.stack.azurite?.tablePort;
  if (!tablePort) throw new Error('the resume scenario needs Azurite');
  try {
    let offset = 0;
    const clock = { now: () => new Date(Date.now() + offset) };
    let seq = 0;
    const config = parseConfig({ vaults: vaults.map((name) => ({ name, url: bench.vaultUrl(name), mode: 'auto' })) });
    const services = await buildServices({ env: bench.env, config, clock, random: seededRandom(7), newId: () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`, log: quiet });
    const runs: Array<{ days: number; requests: number; auditRequests: number; partitionsSpanned: number; outcome: string; byTable: Record<string, number> }> = [];
    for (const [i, days] of histories.entries()) {
      const vault = services.config.vaults[i]!;
      // The vault's history: one row a day for `days` days (one daily partition each).
      for (let d = days; d >= 1; d--) {
        services.audit.append(
          auditRecord({ runId: `history-${d}`, trigger: 'timer' }, new Date(clock.now().getTime() - d * DAY), {
            vault: vault.name,
            objectType: 'key',
            objectName: 'other-key',
            action: 'Skipped',
            outcome: 'Info',
            reason: 'History',
            detail: `history row ${d} days ago`,
          }),
        );
        if (d % 50 === 0) await services.audit.flush();
      }
      await services.audit.flush();
      // The interrupted attempt: RotationStarted is durable, the version creation never answers.
      const ctx = rotationContext(services, vault, { runId: `bench-resume-${days}-a`, trigger: 'timer' }, quiet);
      void processObject('key', 'resume-key', undefined, { ...ctx, gateway: hanging(ctx.gateway) });
      const deadline = Date.now() + 60_000;
      while ((await services.states.get(vault.name, 'key', 'resume-key'))?.value.status !== 'RotationStarted') {
        if (Date.now() > deadline) throw new Error('the interrupted rotation never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 500)); // its rows are durable before it "dies"
      // The lease runs out; the next run resumes the rotation.
      offset += (config.rotation.leaseMinutes + 1) * 60_000;
      const tables = new RequestCounter(tablePort);
      const ranges = new AuditQueryRanges(tablePort);
      const resumed = await processObject('key', 'resume-key', undefined, rotationContext(services, vault, { runId: `bench-resume-${days}-b`, trigger: 'timer' }, quiet));
      tables.stop();
      ranges.stop();
      const tally = tables.snapshot();
      const partitions = [...new Set(Array.from({ length: days + 1 }, (_, d) => auditPartition(vault.name, new Date(clock.now().getTime() - d * DAY))))];
      runs.push({ days, requests: tally.total, auditRequests: tally.byTable['RotorAudit'] ?? 0, partitionsSpanned: ranges.spanned(partitions), outcome: resumed.outcome, byTable: tally.byTable });
    }
    const first = runs[0]!;
    const plural = (d: number): string => `${d} day${d === 1 ? '' : 's'}`;
    const figures: Figure[] = runs.flatMap((r, i): Figure[] => [
      {
        name: `Table requests of a resume, ${plural(r.days)} of history`,
        value: r.requests,
        unit: '',
        ...(i === 0 ? { goal: 'info' as const } : { bound: first.requests, goal: 'max' as const }),
        note: `${r.auditRequests} to RotorAudit; outcome ${r.outcome}`,
      },
      {
        name: `audit partitions its queries span, ${plural(r.days)} of history`,
        value: r.partitionsSpanned,
        unit: '',
        ...(i === 0 ? { goal: 'info' as const } : { bound: first.partitionsSpanned, goal: 'max' as const }),
        note: 'what Table storage scans (Azurite answers any range in one response; Table storage may not)',
      },
    ]);
    return {
      id: '9-resume',
      title: `Resuming an interrupted rotation with ${histories.join(' / ')} days of audit history`,
      durationMs: performance.now() - started,
      figures,
      details: { runs },
    };
  } finally {
    await bench.stop();
  }
}
