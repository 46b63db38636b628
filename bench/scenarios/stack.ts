/**
 * Scenario 0 — the local stack itself (issue A): time to start the whole stack (Azurite tables and queues, the Key
 * Vault endpoint, the ARM endpoint, an HPC Pack head node with four TLS nodes) on free ports, and to stop it, in
 * memory; the median of several rounds. Goal: start plus stop under 5 seconds. That nothing is left behind is
 * asserted by test/integration/stack.test.ts.
 */
import { armEmulator } from '../../src/local/arm/index.js';
import { hpcPackEmulator } from '../../src/local/hpcpack/index.js';
import { startLocalStack } from '../../src/local/stack.js';
import type { ScenarioResult } from '../lib/report.js';
import { distribution } from '../lib/stats.js';
import type { BenchParameters } from './parameters.js';

export async function stackScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const rounds = Math.max(1, params.coldStartRuns);
  const start: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    const stack = await startLocalStack({
      keyVault: { vaults: ['bench-kv-a', 'bench-kv-b'] },
      services: {
        arm: armEmulator(),
        hpcpack: hpcPackEmulator({ clusters: [{ name: 'c1', username: 'u', password: 'p', nodes: ['n1', 'n2', 'n3', 'n4'].map((name) => ({ name })) }] }),
      },
    });
    start.push(performance.now() - t);
    t = performance.now();
    await stack.stop();
    stop.push(performance.now() - t);
  }
  const total = start.map((s, i) => s + (stop[i] ?? 0));
  const startStats = distribution(start);
  const stopStats = distribution(stop);
  const totalStats = distribution(total);
  return {
    id: '0-stack',
    title: `Local stack: start and stop the whole stack in memory, median of ${rounds}`,
    durationMs: performance.now() - started,
    figures: [
      { name: 'start + stop', value: totalStats.p50, unit: 'ms', bound: 5000, goal: 'max', note: `slowest round ${totalStats.max} ms` },
      { name: 'start', value: startStats.p50, unit: 'ms', goal: 'info' },
      { name: 'stop', value: stopStats.p50, unit: 'ms', goal: 'info' },
    ],
    details: { startMs: startStats, stopMs: stopStats, totalMs: totalStats, rounds },
  };
}
