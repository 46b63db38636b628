/**
 * Scenario 1 — scan cost. A vault of 10,000 objects (certificates, keys, secrets; 1 % due) behind 20 ms of latency
 * with Key Vault's limits on. Rotor's scan (the queue worker's processVault) in notify mode measures the detection
 * itself: requests per object against the list-page bound, and wall time against sequential list pages × latency.
 * A naive baseline in the same run reads every object individually — except the keys and secrets the list page marks
 * `managed` (they back a certificate; any tool skips them, as Rotor does). Its ratio to Rotor is reported as measured,
 * without a goal. A second pass in auto mode then rotates the due objects and reports their own work (requests per due
 * object, Key Vault and Table storage, every table).
 */
import type { AppServices } from '../../src/app/services.js';
import { rotationContext } from '../../src/core/rotor.js';
import { processVault } from '../../src/core/scan.js';
import { findVault } from '../../src/core/config.js';
import type { ObjectType } from '../../src/core/model.js';
import { listedItems, listPagesBound, mixedShape, sequentialPages, vaultFixture } from '../lib/fixtures.js';
import type { ScenarioResult } from '../lib/report.js';
import { RequestCounter, tallyDelta } from '../lib/requests.js';
import { quiet, startBenchStack, sum, timed } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

const VAULT = 'bench-scan';
const SECRET_KIND = 'bench-password';

/**
 * Reads every object individually (the design Rotor avoids), with the same concurrency Rotor uses per vault. Items the
 * list marks `managed` (a certificate's key and secret) are skipped, as Rotor skips them: a fair baseline reads only
 * what it could act on.
 */
async function naiveScan(services: AppServices, concurrency: number): Promise<{ read: number; skippedManaged: number }> {
  const gateway = services.gateway(services.config.vaults[0]!);
  let read = 0;
  let skippedManaged = 0;
  const inFlight = new Set<Promise<void>>();
  for (const type of ['certificate', 'key', 'secret'] as ObjectType[]) {
    for await (const page of gateway.listObjects(type)) {
      for (const object of page) {
        if (object.managed && type !== 'certificate') {
          skippedManaged++;
          continue;
        }
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
        const p: Promise<void> = gateway.getCurrent(type, object.name).then(() => void read++).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
  }
  await Promise.all(inFlight);
  return { read, skippedManaged };
}

export async function scanScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const shape = mixedShape(params.scanObjects);
  const objects = shape.certificates + shape.keys + shape.secrets;
  const { vault: seedVault, due } = vaultFixture({ shape, dueShare: params.dueShare, seed: params.seed, dueSecretTags: { 'rotor-secret-kind': SECRET_KIND } });
  const bench = await startBenchStack({ vaults: [VAULT], latencyMs: params.latencyMs, seed: { vaults: { [VAULT]: seedVault } } });
  const tablePort = bench.stack.azurite?.tablePort;
  if (!tablePort) throw new Error('the scan scenario needs Azurite');
  const tables = new RequestCounter(tablePort);
  try {
    const kv = bench.stack.keyVault;
    const config = (mode: 'notify' | 'auto') => ({
      vaults: [{ name: VAULT, url: bench.vaultUrl(VAULT), mode }],
      secretKinds: { [SECRET_KIND]: { generator: 'password', length: 24 } },
    });
    const notify = await bench.services(config('notify'));
    const vaultConfig = findVault(notify.config, VAULT)!;

    await bench.warmUp(notify);

    // Rotor's scan, detection only (notify mode: due objects are audited, nothing is created).
    kv.resetCounters();
    const tablesBeforeScan = tables.snapshot();
    const scan = await timed(() => processVault(rotationContext(notify, vaultConfig, { runId: 'bench-scan-notify', trigger: 'timer' }, quiet)));
    const scanTables = tallyDelta(tables.snapshot(), tablesBeforeScan);
    const scanCounters = kv.counters(VAULT);
    const scanRequests = sum(scanCounters, (op) => op !== 'throttled' && op !== 'serverError');
    const listRequests = sum(scanCounters, (op) => op.endsWith('.list'));
    const lowerBoundMs = sequentialPages(shape) * params.latencyMs;
    const listed = listedItems(shape);
    const listedTotal = listed.certificate + listed.key + listed.secret;

    // The naive baseline: every object read individually.
    kv.resetCounters();
    const naive = await timed(() => naiveScan(notify, notify.config.rotation.concurrencyPerVault));
    const naiveCounters = kv.counters(VAULT);
    // Requests the baseline needs: its list pages and one read per object it could act on (a read the vault answered
    // with 429 and the client sent again counts once; the 429s are reported beside it).
    const naiveRequests = sum(naiveCounters, (op) => op.endsWith('.list')) + naive.result.read;
    const naiveSent = sum(naiveCounters, (op) => op !== 'throttled' && op !== 'serverError');

    // Auto mode: the due objects' own work.
    const auto = await bench.services(config('auto'));
    kv.resetCounters();
    const tablesBeforeAuto = tables.snapshot();
    const rotate = await timed(() => processVault(rotationContext(auto, findVault(auto.config, VAULT)!, { runId: 'bench-scan-auto', trigger: 'timer' }, quiet)));
    const autoTables = tallyDelta(tables.snapshot(), tablesBeforeAuto);
    const autoCounters = kv.counters(VAULT);
    const autoRequests = sum(autoCounters, (op) => op !== 'throttled' && op !== 'serverError');
    const dueWork = autoRequests - sum(autoCounters, (op) => op.endsWith('.list'));

    return {
      id: '1-scan',
      title: `Scan cost: one vault of ${objects.toLocaleString('en-US')} objects, ${due} due, ${params.latencyMs} ms latency`,
      durationMs: performance.now() - started,
      figures: [
        { name: 'scan requests per listed item', value: scanRequests / listedTotal, unit: '', bound: 1 / 25, goal: 'max', note: `${scanRequests} requests (${listRequests} list pages) for ${listedTotal} listed items: the ${objects} objects plus the ${listed.key - shape.keys + listed.secret - shape.secrets} keys and secrets of certificates, which Key Vault lists too` },
        { name: 'scan requests per object', value: scanRequests / objects, unit: '', bound: listPagesBound(shape) / objects, goal: 'max', note: `bound: list pages only (${listPagesBound(shape)})` },
        { name: 'scan time / lower bound', value: scan.ms / lowerBoundMs, unit: '×', bound: 1.2, goal: 'max', note: `${Math.round(scan.ms)} ms against ${sequentialPages(shape)} sequential pages × ${params.latencyMs} ms = ${lowerBoundMs} ms` },
        {
          name: 'naive / Rotor requests',
          value: naiveRequests / scanRequests,
          unit: '×',
          goal: 'info',
          note:
            `measured, no goal: the naive baseline reads each of the ${naive.result.read} objects it could act on individually after the same list pages, ` +
            `skipping the ${naive.result.skippedManaged} keys and secrets the list marks managed (as Rotor does): ${naiveRequests} requests ` +
            `(${naiveSent} sent, ${naiveCounters['throttled'] ?? 0} of them answered 429 and sent again)`,
        },
        { name: 'naive / Rotor time', value: naive.ms / scan.ms, unit: '×', goal: 'info', note: `naive ${Math.round(naive.ms)} ms` },
        { name: 'scan Table requests (every table)', value: scanTables.total, unit: '', goal: 'info', note: `path: the notify-mode scan (processVault); by table ${JSON.stringify(scanTables.byTable)}` },
        { name: 'auto mode: Key Vault requests per due object', value: dueWork / Math.max(due, 1), unit: '', goal: 'info', note: `path: the auto-mode scan (processVault) rotating ${due} due objects; ${dueWork} requests beyond the list pages; ${Math.round(rotate.ms)} ms` },
        {
          name: 'auto mode: Table requests per due object (every table)',
          value: autoTables.total / Math.max(due, 1),
          unit: '',
          goal: 'info',
          note: `path: the same auto-mode scan; ${autoTables.total} requests, by table ${JSON.stringify(autoTables.byTable)} (batch transactions ${JSON.stringify(autoTables.batchesByTable)})`,
        },
      ],
      details: {
        shape,
        due,
        scan: { ms: Math.round(scan.ms), counters: scanCounters, tableRequests: scanTables, outcomes: scan.result.outcomes },
        naive: { ms: Math.round(naive.ms), counters: naiveCounters, read: naive.result.read, skippedManaged: naive.result.skippedManaged },
        auto: { ms: Math.round(rotate.ms), counters: autoCounters, tableRequests: autoTables, outcomes: rotate.result.outcomes, errors: rotate.result.errors.slice(0, 5) },
      },
    };
  } finally {
    tables.stop();
    await bench.stop();
  }
}
