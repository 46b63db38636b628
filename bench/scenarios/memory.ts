/**
 * Scenario 3 — memory. Peak RSS of a worker process scanning vaults of 1,000, 10,000 and 100,000 objects (1 % due,
 * notify mode). Each scan runs in a fresh Node process with the function app's services; the local stack (holding
 * the vaults) runs in this process, so its memory does not count. Goal: peak RSS grows by under 50 MB from the
 * smallest vault to the largest — the scan streams pages instead of collecting the vault.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SeedVault } from '../../src/local/keyvault/types.js';
import { mixedShape, vaultFixture } from '../lib/fixtures.js';
import type { ScenarioResult } from '../lib/report.js';
import { startBenchStack } from '../lib/stack.js';
import type { BenchParameters } from './parameters.js';

interface WorkerResult {
  vault: string;
  scanned: Record<string, number>;
  outcomes: Record<string, number>;
  errors: string[];
  ms: number;
  rssBeforeScanMB: number;
  peakRssMB: number;
  heapUsedAfterMB: number;
}

function runWorker(vault: string, env: Record<string, string>): Promise<WorkerResult> {
  const script = fileURLToPath(new URL('./memory-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, vault], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`memory worker for ${vault} exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as WorkerResult);
    });
  });
}

export async function memoryScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const sizes = params.memorySizes;
  const names = sizes.map((n) => `bench-mem-${n}`);
  const vaults: Record<string, SeedVault> = {};
  sizes.forEach((n, i) => (vaults[names[i]!] = vaultFixture({ shape: mixedShape(n), dueShare: params.dueShare, seed: params.seed + i, prefix: 'm' }).vault));
  const bench = await startBenchStack({ vaults: names, latencyMs: params.latencyMs, seed: { vaults } });
  try {
    const config = { vaults: names.map((name) => ({ name, url: bench.vaultUrl(name), mode: 'notify' })) };
    const services = await bench.services(config);
    await bench.warmUp(services);
    const env = { ...bench.env, ROTOR_CONFIG: JSON.stringify(config) };
    const results: WorkerResult[] = [];
    for (const name of names) results.push(await runWorker(name, env));
    const smallest = results[0]!;
    const largest = results[results.length - 1]!;
    const growth = largest.peakRssMB - smallest.peakRssMB;
    return {
      id: '3-memory',
      title: `Memory: peak RSS of a scanning worker at ${sizes.map((n) => n.toLocaleString('en-US')).join(' / ')} objects`,
      durationMs: performance.now() - started,
      figures: [
        ...results.map((r, i) => ({
          name: `peak RSS, ${sizes[i]!.toLocaleString('en-US')} objects`,
          value: r.peakRssMB,
          unit: 'MB',
          goal: 'info' as const,
          note: `${Math.round(r.rssBeforeScanMB)} MB before the scan; scan ${r.ms} ms`,
        })),
        { name: `peak RSS growth ${sizes[0]!.toLocaleString('en-US')} → ${sizes[sizes.length - 1]!.toLocaleString('en-US')}`, value: growth, unit: 'MB', bound: 50, goal: 'max' },
      ],
      details: { workers: results },
    };
  } finally {
    await bench.stop();
  }
}
