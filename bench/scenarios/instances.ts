/**
 * Scenario 7 — many Functions instances, one vault (issue M). K = 1, 4, 8 worker processes (separate Node processes,
 * each running the registered rotationWorker queue function on the Azurite queue as the host would) against one vault
 * with N due RSA-2048 keys whose endpoint enforces Key Vault's 20 RSA-2048 creations per 10 s. The keys arrive as Key
 * Vault NearExpiry events (Event Grid schema) through the registered vaultEvents function, one invocation per event,
 * all at once (a certificate import's worth expiring together). Figures per K: 429s, failed rotations, share of the
 * create budget used, total time against the ideal (N ÷ 2 per s), audit rows per RotorAudit request, RotorState and
 * every table's requests per rotation, audit-chain conflicts, and whether every key has exactly one new version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readRecentRows } from '../../src/adapters/storage/audit-table.js';
import { TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { keyVaultEvent } from '../../src/local/keyvault/events.js';
import { invokeEventGrid, loadFunctions, type LogSink } from '../../src/local/functions-host.js';
import { dueKeys } from '../lib/fixtures.js';
import type { Figure, ScenarioResult } from '../lib/report.js';
import type { RequestTally } from '../lib/requests.js';
import { startBenchStack } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

const VAULT = 'bench-instances';

interface WorkerReport {
  pid: number;
  holder: string;
  invocations: { handled: number; failed: number; poisoned: number; peakInFlight: number };
  tableRequests: RequestTally;
  audit: { transactions: number; rows: number; conflicts: number; recovered: number };
  vaultWork: Record<string, number>;
  throttledSeenByPacer: number;
  errors: string[];
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  report: Promise<WorkerReport>;
}

function startWorker(env: Record<string, string>, tablePort: number): Worker {
  const script = fileURLToPath(new URL('./instances-worker.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(tablePort)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const report = new Promise<WorkerReport>((resolve, reject) => {
    let last = '';
    lines.on('line', (line) => {
      if (line === 'ready') onReady();
      else if (line.startsWith('{')) last = line;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && last) resolve(JSON.parse(last) as WorkerReport);
      else reject(new Error(`instances worker exited ${code}: ${err}`));
    });
  });
  return { child, ready, report };
}

const add = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
};

interface RunResult {
  k: number;
  ms: number;
  created: number;
  offered: number;
  span: number;
  throttled: number;
  failedRotations: number;
  failedReasons: Record<string, number>;
  completed: number;
  keysWithOneNewVersion: number;
  auditRows: number;
  auditRequests: number;
  stateRequests: number;
  vaultWorkRequests: number;
  tableRequests: number;
  tablesByName: Record<string, number>;
  conflicts: number;
  invocations: number;
  errors: string[];
  workers: Array<Pick<WorkerReport, 'pid' | 'invocations' | 'audit' | 'vaultWork' | 'throttledSeenByPacer'> & { tableRequests: Record<string, number> }>;
}

async function runOnce(k: number, params: BenchParameters): Promise<RunResult> {
  const count = params.instancesKeys;
  const bench = await startBenchStack({ vaults: [VAULT], latencyMs: params.latencyMs, seed: { vaults: { [VAULT]: dueKeys(count, 'burst') } } });
  const tablePort = bench.stack.azurite?.tablePort;
  if (!tablePort) throw new Error('the instances scenario needs Azurite');
  const workers: Worker[] = [];
  try {
    const config = { vaults: [{ name: VAULT, url: bench.vaultUrl(VAULT), mode: 'auto' }] };
    const services = await bench.services(config);
    const limit = services.config.limits.rsa2048CreatesPer10s;
    const env = { ...bench.env, ROTOR_CONFIG: JSON.stringify(config) };
    for (let i = 0; i < k; i++) workers.push(startWorker(env, tablePort));
    await Promise.all(workers.map((w) => w.ready));
    const kv = bench.stack.keyVault;
    const created: number[] = [];
    const unsubscribe = kv.subscribe({ kind: 'callback', deliver: (e) => void (e.eventType.endsWith('NewVersionCreated') && created.push(performance.now())) });
    kv.resetCounters();

    const [{ vaultEvents }] = await loadFunctions(() => Promise.all([import('../../src/functions/vaultEvents.js')]));
    const errors: string[] = [];
    const sink: LogSink = (level, fn, message) => {
      if (level === 'error' && errors.length < 10) errors.push(`[${fn}] ${message.slice(0, 300)}`);
    };
    const vault = { name: VAULT, url: kv.vaultUrl(VAULT) };
    const nowSeconds = Math.floor(Date.now() / 1000);
    const names = Array.from({ length: count }, (_, i) => `burst-key-${i}`);
    const started = performance.now();
    // One Event Grid delivery per event, as the host invokes the function; a few deliveries at a time.
    const deliveries = [...names];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let name = deliveries.shift(); name; name = deliveries.shift()) {
          const version = kv.latestVersion(VAULT, 'key', name) ?? '';
          const nbf = nowSeconds - 355 * 86_400;
          const attributes = { enabled: true, nbf, exp: nowSeconds + 10 * 86_400, created: nbf, updated: nbf };
          const event = keyVaultEvent(vault, 'Key', 'NearExpiry', name, { version, attributes, tags: undefined, expiryEvents: 0 }, new Date());
          await invokeEventGrid('vaultEvents', vaultEvents, event, sink);
        }
      }),
    );
    // Done when every key's rotation has ended, Completed or Failed (looked at once a second; the parent's reads are
    // not counted). A failed rotation would be retried after its backoff (15 minutes): the figure reports it.
    let completed = 0;
    for (;;) {
      completed = 0;
      let failed = 0;
      for await (const s of services.states.list(VAULT)) {
        if (s.value.status === 'Completed') completed++;
        else if (s.value.status === 'Failed') failed++;
      }
      if (completed + failed >= count) break;
      if (performance.now() - started > Math.max(20 * 60_000, (count / limit) * 10_000 * 4)) break; // give up: reported as missed
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const ms = performance.now() - started;
    for (const w of workers) w.child.stdin?.write('stop\n');
    const reports = await Promise.all(workers.map((w) => w.report));
    unsubscribe();
    await kv.drainEvents();
    const counters = kv.counters(VAULT);
    const rows = await readRecentRows(tableClient(services.storage, TABLES.audit), new Date(Date.now() - ms - 60_000));
    let keysWithOneNewVersion = 0;
    const createdPerKey = new Map<string, number>();
    for (const r of rows) if (r.action === 'VersionCreated') createdPerKey.set(r.objectName, (createdPerKey.get(r.objectName) ?? 0) + 1);
    for (const name of names) if (createdPerKey.get(name) === 1 && kv.latestVersion(VAULT, 'key', name) !== undefined) keysWithOneNewVersion++;
    const span = created.length > 1 ? created[created.length - 1]! - created[0]! : 0;
    let tablesByName: Record<string, number> = {};
    for (const r of reports) tablesByName = add(tablesByName, r.tableRequests.byTable);
    const sumOf = (f: (r: WorkerReport) => number): number => reports.reduce((n, r) => n + f(r), 0);
    return {
      k,
      ms,
      created: created.length,
      offered: limit * (1 + span / 10_000),
      span,
      throttled: counters['throttled'] ?? 0,
      failedRotations: rows.filter((r) => r.action === 'RotationFailed').length,
      failedReasons: rows.filter((r) => r.action === 'RotationFailed').reduce<Record<string, number>>((m, r) => ({ ...m, [r.reason]: (m[r.reason] ?? 0) + 1 }), {}),
      completed,
      keysWithOneNewVersion,
      auditRows: sumOf((r) => r.audit.rows),
      auditRequests: tablesByName[TABLES.audit] ?? 0,
      stateRequests: tablesByName[TABLES.state] ?? 0,
      vaultWorkRequests: tablesByName[TABLES.vaultWork] ?? 0,
      tableRequests: sumOf((r) => r.tableRequests.total),
      tablesByName,
      conflicts: sumOf((r) => r.audit.conflicts),
      invocations: sumOf((r) => r.invocations.handled),
      errors: [...errors, ...reports.flatMap((r) => r.errors)].slice(0, 10),
      workers: reports.map((r) => ({ pid: r.pid, invocations: r.invocations, audit: r.audit, vaultWork: r.vaultWork, throttledSeenByPacer: r.throttledSeenByPacer, tableRequests: r.tableRequests.byTable })),
    };
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await bench.stop();
  }
}

export async function instancesScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const count = params.instancesKeys;
  const runs: RunResult[] = [];
  for (const k of params.instancesWorkers) {
    console.log(`  K = ${k} worker processes, ${count} keys …`);
    runs.push(await runOnce(k, params));
  }
  const limit = 20;
  const idealMs = (count / limit) * 10_000;
  const figures: Figure[] = [];
  for (const r of runs) {
    const at = `K=${r.k}`;
    figures.push(
      { name: `${at}: 429 responses`, value: r.throttled, unit: '', goal: 'info', note: `Key Vault answered 429 to ${r.throttled} requests (each retried by Rotor)` },
      { name: `${at}: failed rotations`, value: r.failedRotations, unit: '', bound: 0, goal: 'max', note: `${r.completed} of ${count} rotations Completed; failures by reason ${JSON.stringify(r.failedReasons)} (Throttled would be a 429 Rotor gave up on; Timeout a request the loaded emulator did not answer within 30 s); ${r.keysWithOneNewVersion} keys with exactly one VersionCreated` },
      { name: `${at}: keys without exactly one new version`, value: count - r.keysWithOneNewVersion, unit: '', bound: 0, goal: 'max' },
      { name: `${at}: create budget used`, value: r.created / r.offered, unit: '', bound: 0.9, goal: 'min', note: `${r.created} creations in ${(r.span / 1000).toFixed(1)} s from first to last, where the window allows ${Math.floor(r.offered)}` },
      { name: `${at}: total time / ideal`, value: r.ms / idealMs, unit: '×', goal: 'info', note: `${(r.ms / 1000).toFixed(1)} s from the first event to the last Completed state, against ${count} / ${limit / 10} per s = ${(idealMs / 1000).toFixed(0)} s` },
      {
        name: `${at}: audit rows per RotorAudit request`,
        value: r.auditRows / Math.max(r.auditRequests, 1),
        unit: '',
        bound: 20,
        goal: 'min',
        note: `path: Event Grid → vaultEvents → queue → rotationWorker (vault lease holder drains the pending set); ${r.auditRows} rows in ${r.auditRequests} requests to the audit table`,
      },
      { name: `${at}: RotorState requests per rotation`, value: r.stateRequests / Math.max(r.completed, 1), unit: '', goal: 'info', note: `same path; ${r.stateRequests} requests` },
      {
        name: `${at}: Table requests per rotation (every table)`,
        value: r.tableRequests / Math.max(r.completed, 1),
        unit: '',
        goal: 'info',
        note: `same path; ${r.tableRequests} requests by the workers, by table ${JSON.stringify(r.tablesByName)}; audit rows per Table request of every table: ${(r.auditRows / Math.max(r.tableRequests, 1)).toFixed(2)}`,
      },
      { name: `${at}: audit-chain conflicts`, value: r.conflicts, unit: '', bound: 0, goal: 'max', note: `head-row conflicts (412/409) met by the audit writers of all ${r.k} processes` },
    );
  }
  return {
    id: '7-instances',
    title: `Many instances, one vault: K = ${params.instancesWorkers.join(', ')} worker processes, ${count} due RSA-2048 keys arriving as Event Grid events, vault limit ${limit} creations per 10 s, ${params.latencyMs} ms latency`,
    durationMs: performance.now() - started,
    figures,
    details: { runs: runs.map((r) => ({ ...r, ms: Math.round(r.ms), span: Math.round(r.span), offered: Math.floor(r.offered) })) },
  };
}
