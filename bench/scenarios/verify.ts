/**
 * Scenario 8 — verifying one certificate consumed by an HPC Pack cluster of N nodes (N = 100, 1,000, 10,000). The
 * cluster runs in a child process (one SNI listener, `probeLatencyMs` before each node answers: the network round
 * trip to a real node); Rotor runs here with the function app's services (official SDK clients, Azurite tables).
 * The certificate rotates with every node still presenting the old version (check 1: all stale), then every node
 * installs the new one and `rotor verify` checks again (check 2: converged). Figures: the wall time of a check
 * against the bound N ÷ concurrency × probe round trip (the round trip measured in the same run), Table storage
 * requests, stored bytes per node, the largest entity and property against Table limits, peak RSS, convergence.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TableServiceClient, TableClient } from '@azure/data-tables';
import { localHostsLookup, parseLocalHosts } from '../../src/adapters/consumers/local-hosts.js';
import { probeTls } from '../../src/adapters/consumers/hpcpack.js';
import { buildServices, type AppServices } from '../../src/app/services.js';
import { parseConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/generators.js';
import { recheckObject, rotationContext } from '../../src/core/rotor.js';
import { processObject } from '../../src/core/scan.js';
import type { RotationContext } from '../../src/core/rotation.js';
import { SETTINGS } from '../../src/settings.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import { RequestCounter } from '../lib/requests.js';
import { quiet, startBenchStack } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

const VAULT = 'bench-verify';
const CREDENTIALS = 'head-node-credentials';
const TABLE_ENTITY_LIMIT = 1_048_576;
const TABLE_PROPERTY_LIMIT = 65_536;

class Cluster {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: Interface,
    readonly info: { headNodeUrl: string; port: number; settings: Record<string, string> },
  ) {}

  static async start(args: Record<string, unknown>): Promise<Cluster> {
    const script = fileURLToPath(new URL('./hpcpack-worker.js', import.meta.url));
    const child = spawn(process.execPath, [script, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`HPC Pack worker exited ${code}: ${err.slice(-2000)}`)));
    });
    return new Cluster(child, lines, JSON.parse(first) as Cluster['info']);
  }

  async setAll(certificate: { certPem: string; keyPem: string }): Promise<void> {
    const ok = new Promise<string>((resolve) => this.lines.once('line', resolve));
    this.child.stdin.write(JSON.stringify({ setAll: certificate }) + '\n');
    await ok;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    await exited;
  }
}

/** Sizes of what a table holds: total JSON bytes, entity count, the largest entity and the largest string property. */
async function tableSizes(connectionString: string): Promise<Record<string, { bytes: number; entities: number; largestEntity: number; largestProperty: number }>> {
  const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
  const out: Record<string, { bytes: number; entities: number; largestEntity: number; largestProperty: number }> = {};
  for await (const t of service.listTables()) {
    const name = t.name ?? '';
    const client = TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true });
    const s = { bytes: 0, entities: 0, largestEntity: 0, largestProperty: 0 };
    for await (const e of client.listEntities()) {
      const size = Buffer.byteLength(JSON.stringify(e));
      s.bytes += size;
      s.entities++;
      s.largestEntity = Math.max(s.largestEntity, size);
      for (const v of Object.values(e)) if (typeof v === 'string') s.largestProperty = Math.max(s.largestProperty, Buffer.byteLength(v, 'utf16le'));
    }
    out[name] = s;
  }
  return out;
}

interface Check {
  ms: number;
  tableRequests: number;
  auditRows: number;
}

/** One size: rotate with every node stale (check 1), let every node install the new version, verify (check 2). */
async function runSize(n: number, params: BenchParameters, bench: Awaited<ReturnType<typeof startBenchStack>>, connectionString: string, tablePort: number) {
  const certificate = `cluster-cert-${n}`;
  const kv = bench.stack.keyVault;
  const initial = kv.certificatePem(VAULT, certificate);
  const password = randomBytes(12).toString('hex');
  await kv.seed({ vaults: { [VAULT]: { secrets: [{ name: `${CREDENTIALS}-${n}`, value: `hpcadmin:${password}` }] } } });
  const domain = `bench${n}.hpc.test`;
  const cluster = await Cluster.start({ nodes: n, domain, latencyMs: params.probeLatencyMs, certPem: initial.certPem, keyPem: initial.keyPem, caDir: join(bench.stack.ca.certFile, '..'), password });
  try {
    const config = parseConfig({
      vaults: [{ name: VAULT, url: bench.vaultUrl(VAULT), mode: 'auto' }],
      consumers: {
        hpcPack: [
          {
            name: `bench${n}`,
            certificate: { vault: VAULT, name: certificate },
            headNode: { url: cluster.info.headNodeUrl, credentials: { vault: VAULT, name: `${CREDENTIALS}-${n}` } },
            nodeDomain: domain,
            port: cluster.info.port,
            probeTimeoutMs: 5000,
          },
        ],
      },
      verification: { deadlineHours: 24, recheckMinutes: 30 },
      rotation: { pollIntervalSeconds: 0.2, certificateTimeoutMinutes: 2 },
    });
    const env = { ...bench.env, ...cluster.info.settings };
    let seq = 0;
    const services: AppServices = await buildServices({ env, config, random: seededRandom(42), newId: () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`, log: quiet });
    const vault = services.config.vaults[0]!;
    // The probe round trip, one probe at a time (the same adapter Rotor uses, through ROTOR_LOCAL_HOSTS).
    const lookup = localHostsLookup(parseLocalHosts(cluster.info.settings[SETTINGS.localHosts.name] ?? '', 'hosts'));
    const rtts: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      const r = await probeTls(`cn${String((i % n) + 1).padStart(5, '0')}.${domain}`, cluster.info.port, 5000, { lookup });
      if (r.kind !== 'presented') throw new Error(`probe failed: ${JSON.stringify(r)}`);
      rtts.push(performance.now() - t);
    }
    rtts.sort((a, b) => a - b);
    const rttMs = rtts[Math.floor(rtts.length / 2)]!;

    const sizesBefore = await tableSizes(connectionString);
    let peakRss = process.memoryUsage().rss;
    const baseRss = peakRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const measure = async (fn: (ctx: RotationContext) => Promise<unknown>): Promise<Check> => {
      const rowsBefore = services.auditLog.stats.rows;
      let ms = 0;
      const tables = new RequestCounter(tablePort);
      const ctx = rotationContext(services, vault, { runId: `bench-verify-${n}-${seq}`, trigger: 'manual' }, quiet);
      const hooks = ctx.hooks!;
      // Time the verification itself: the hook's check, not the certificate's creation before it.
      const timedHooks = Object.create(hooks) as typeof hooks;
      timedHooks.afterVersionCreated = async (state, c) => {
        const t = performance.now();
        try {
          return await hooks.afterVersionCreated(state, c);
        } finally {
          ms += performance.now() - t;
        }
      };
      timedHooks.recheck = async (existing, c, options) => {
        const t = performance.now();
        try {
          return await hooks.recheck(existing, c, options);
        } finally {
          ms += performance.now() - t;
        }
      };
      await fn({ ...ctx, hooks: timedHooks });
      tables.stop();
      const tally = tables.snapshot();
      return { ms, tableRequests: tally.total, auditRows: services.auditLog.stats.rows - rowsBefore };
    };
    const first = await measure((ctx) => processObject('certificate', certificate, undefined, ctx));
    const afterFirst = (await services.states.get(VAULT, 'certificate', certificate))?.value.status;
    await cluster.setAll(kv.certificatePem(VAULT, certificate));
    const second = await measure((ctx) => recheckObject('certificate', certificate, undefined, ctx, true));
    clearInterval(sampler);
    const state = (await services.states.get(VAULT, 'certificate', certificate))?.value;
    const sizesAfter = await tableSizes(connectionString);
    const stored: Record<string, { bytesPerNode: number; entitiesAdded: number }> = {};
    for (const [table, after] of Object.entries(sizesAfter)) {
      const before = sizesBefore[table] ?? { bytes: 0, entities: 0 };
      stored[table] = { bytesPerNode: (after.bytes - before.bytes) / n, entitiesAdded: after.entities - before.entities };
    }
    await services.telemetry?.shutdown();
    return {
      n,
      rttMs,
      boundMs: (n / config.verification.concurrency) * rttMs,
      first,
      second,
      afterFirst,
      final: state?.status,
      stored,
      bytesPerNode: Object.values(stored).reduce((a, s) => a + s.bytesPerNode, 0),
      largestEntity: Math.max(...Object.values(sizesAfter).map((s) => s.largestEntity)),
      largestProperty: Math.max(...Object.values(sizesAfter).map((s) => s.largestProperty)),
      peakRssDeltaMB: (peakRss - baseRss) / 2 ** 20,
      concurrency: config.verification.concurrency,
    };
  } finally {
    await cluster.stop();
  }
}

export async function verifyScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const sizes = params.verifySizes;
  // EC P-256 certificates: the emulated nodes' handshakes (ECDSA signatures) cost their process little, so the
  // figure is Rotor's side; an RSA-2048 node does its signature on its own CPU in a real cluster.
  const bench = await startBenchStack({
    vaults: [VAULT],
    latencyMs: params.latencyMs,
    seed: { vaults: { [VAULT]: { certificates: sizes.map((n) => ({ name: `cluster-cert-${n}`, keyType: 'EC' as const, curve: 'P-256' as const, notBefore: '-355d', expires: '+10d' })) } } },
  });
  const tablePort = bench.stack.azurite?.tablePort;
  const connectionString = bench.env[SETTINGS.storageConnection.name];
  if (!tablePort || !connectionString) throw new Error('the verify scenario needs Azurite');
  try {
    const runs = [];
    for (const n of sizes) {
      console.log(`  N = ${n.toLocaleString('en-US')} …`);
      runs.push(await runSize(n, params, bench, connectionString, tablePort));
    }
    const figures: Figure[] = [];
    for (const r of runs) {
      const label = `N = ${r.n.toLocaleString('en-US')}`;
      const largest = r.n === sizes[sizes.length - 1];
      figures.push({
        name: `check time ÷ bound, ${label}`,
        value: Math.max(r.first.ms, r.second.ms) / r.boundMs,
        unit: '×',
        ...(largest ? { bound: 1.5, goal: 'max' as const } : { goal: 'info' as const }),
        note:
          `check 1 (all stale) ${(r.first.ms / 1000).toFixed(2)} s, check 2 (converged) ${(r.second.ms / 1000).toFixed(2)} s; bound ${r.n} ÷ ${r.concurrency} × ` +
          `${r.rttMs.toFixed(1)} ms probe round trip = ${(r.boundMs / 1000).toFixed(2)} s`,
      });
      figures.push({ name: `Table requests per check, ${label}`, value: (r.first.tableRequests + r.second.tableRequests) / 2, unit: '', goal: 'info', note: `check 1: ${r.first.tableRequests}, check 2: ${r.second.tableRequests}; audit rows ${r.first.auditRows} + ${r.second.auditRows}` });
      figures.push({ name: `stored bytes per node, ${label}`, value: r.bytesPerNode, unit: 'B', goal: 'info', note: Object.entries(r.stored).filter(([, s]) => s.entitiesAdded).map(([t, s]) => `${t} ${Math.round(s.bytesPerNode)} B (${s.entitiesAdded} entities)`).join(', ') });
      figures.push({ name: `peak RSS growth, ${label}`, value: r.peakRssDeltaMB, unit: 'MB', goal: 'info', note: 'over the process RSS before the checks (Rotor, the Key Vault endpoint; the nodes are in a child process)' });
      figures.push({ name: `converged, ${label}`, value: r.final === 'Completed' && r.afterFirst === 'Verifying' ? 1 : 0, unit: '', bound: 1, goal: 'min', note: `after check 1: ${r.afterFirst}; after check 2: ${r.final}` });
    }
    const small = runs[0]!;
    const big = runs[runs.length - 1]!;
    figures.push({ name: `bytes per node ${small.n.toLocaleString('en-US')} → ${big.n.toLocaleString('en-US')}`, value: big.bytesPerNode / small.bytesPerNode, unit: '×', bound: 1.1, goal: 'max', note: 'constant bytes per node: the ratio stays near 1' });
    const largestEntity = Math.max(...runs.map((r) => r.largestEntity));
    const largestProperty = Math.max(...runs.map((r) => r.largestProperty));
    figures.push({ name: 'largest entity written', value: largestEntity, unit: 'B', bound: TABLE_ENTITY_LIMIT / 10, goal: 'max', note: `of any table after N = ${big.n.toLocaleString('en-US')} (Table limit 1 MiB; goal: a tenth of it)` });
    figures.push({ name: 'largest string property', value: largestProperty, unit: 'B', bound: TABLE_PROPERTY_LIMIT / 10, goal: 'max', note: 'UTF-16 bytes (Table limit 64 KiB; goal: a tenth of it)' });
    return {
      id: '8-verify',
      title: `Verification of one certificate consumed by HPC Pack clusters of ${sizes.map((n) => n.toLocaleString('en-US')).join(' / ')} nodes (${params.probeLatencyMs} ms node round trip)`,
      durationMs: performance.now() - started,
      figures,
      // The machine's load while the checks ran: the bound assumes the probes' CPU is free.
      details: { runs, loadAverage: loadavg().map((l) => Math.round(l * 10) / 10) },
    };
  } finally {
    await bench.stop();
  }
}
