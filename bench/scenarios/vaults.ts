/**
 * Scenario 2 — many vaults. 50 vaults × 2,000 objects (1 % due, notify mode) through the real path: the nightlyScan
 * timer function enqueues one work item per vault on the Azurite queue, and the rotationWorker queue function runs
 * them with the concurrency the Functions host would use (host.json batchSize and newBatchThreshold, mirrored in QUEUE_BATCH).
 */
import { loadFunctions, drainQueue, invokeTimer, type LogSink } from '../../src/local/functions-host.js';
import { QUEUES, queueClient } from '../../src/adapters/storage/clients.js';
import type { SeedVault } from '../../src/local/keyvault/types.js';
import { mixedShape, sequentialPages, vaultFixture } from '../lib/fixtures.js';
import type { ScenarioResult } from '../lib/report.js';
import { distribution } from '../lib/stats.js';
import { startBenchStack, sum, timed } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

export async function vaultsScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const names = Array.from({ length: params.vaults }, (_, i) => `bench-v${String(i).padStart(3, '0')}`);
  const shape = mixedShape(params.objectsPerVault);
  const vaults: Record<string, SeedVault> = {};
  let due = 0;
  names.forEach((name, i) => {
    const fixture = vaultFixture({ shape, dueShare: params.dueShare, seed: params.seed + i, prefix: name });
    vaults[name] = fixture.vault;
    due += fixture.due;
  });
  const bench = await startBenchStack({ vaults: names, latencyMs: params.latencyMs, seed: { vaults } });
  try {
    const services = await bench.services({ vaults: names.map((name) => ({ name, url: bench.vaultUrl(name), mode: 'notify' })) });
    await bench.warmUp(services);
    const kv = bench.stack.keyVault;
    kv.resetCounters();

    const [{ nightlyScan }, { rotationWorker, QUEUE_BATCH: host, MAX_DEQUEUE_COUNT }] = await loadFunctions(() => Promise.all([import('../../src/functions/nightlyScan.js'), import('../../src/functions/rotationWorker.js')]));
    const errors: string[] = [];
    const sink: LogSink = (level, fn, message) => {
      if (level === 'error') errors.push(`[${fn}] ${message}`);
    };
    const perVault: number[] = [];
    const concurrency = host.batchSize + host.newBatchThreshold;
    const run = await timed(async () => {
      await invokeTimer('nightlyScan', nightlyScan, sink);
      return drainQueue(
        queueClient(services.storage, QUEUES.work),
        queueClient(services.storage, QUEUES.poison),
        'rotationWorker',
        async (message, context) => {
          const t = performance.now();
          await rotationWorker(message, context);
          perVault.push(performance.now() - t);
        },
        sink,
        { ...host, maxDequeueCount: MAX_DEQUEUE_COUNT },
      );
    });
    const counters = kv.counters();
    const requests = sum(counters, (op) => op !== 'throttled' && op !== 'serverError');
    const objects = names.length * params.objectsPerVault;
    const perVaultBound = sequentialPages(shape) * params.latencyMs;
    const idealMs = Math.ceil(names.length / concurrency) * perVaultBound;
    const spread = distribution(perVault);
    return {
      id: '2-vaults',
      title: `Many vaults: ${names.length} vaults × ${params.objectsPerVault.toLocaleString('en-US')} objects, timer → queue → worker on Azurite`,
      durationMs: performance.now() - started,
      figures: [
        { name: 'total time (timer to empty queue)', value: run.ms / 1000, unit: 's', bound: 600, goal: 'max', note: `${objects.toLocaleString('en-US')} objects; bound: the function timeout (host.json functionTimeout 10 min)` },
        { name: 'total time / ideal', value: run.ms / idealMs, unit: '×', goal: 'info', note: `ideal ${idealMs} ms: ⌈${names.length} vaults / ${concurrency} in flight⌉ × ${perVaultBound} ms per vault (sequential pages × latency)` },
        { name: 'per-vault scan time p50', value: spread.p50, unit: 'ms', bound: perVaultBound, goal: 'info', note: `bound: ${sequentialPages(shape)} sequential pages × ${params.latencyMs} ms` },
        { name: 'per-vault scan time p90', value: spread.p90, unit: 'ms', bound: perVaultBound, goal: 'info' },
        { name: 'slowest vault scan', value: spread.max, unit: 'ms', bound: 600_000, goal: 'max', note: 'bound: one worker invocation must end inside the function timeout' },
        { name: 'requests per object', value: requests / objects, unit: '', goal: 'info', note: `${requests.toLocaleString('en-US')} Key Vault requests, ${counters['throttled'] ?? 0} throttled` },
      ],
      details: {
        shape,
        due,
        concurrency: { batchSize: host.batchSize, newBatchThreshold: host.newBatchThreshold, inFlightMax: concurrency },
        queue: run.result,
        perVaultMs: spread,
        counters,
        errors: errors.slice(0, 10),
      },
    };
  } finally {
    await bench.stop();
  }
}
