/**
 * Scenario 6 — cold start. Time to import the compiled function app's module graph (every module in
 * dist/src/functions, as the host loads them) in a fresh Node process, and the wall time of `rotor --help`. The
 * median of several runs; each run is a new process, so nothing is cached in memory (the OS file cache is warm, as
 * it is on a warm host).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from '../lib/report.js';
import { distribution } from '../lib/stats.js';
import type { BenchParameters } from './parameters.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs a fresh Node process that imports every function module and prints the time the imports took. */
function importFunctionsOnce(): number {
  const dir = `${root}dist/src/functions/`;
  const modules = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => `file://${dir}${f}`);
  const script =
    `const t = performance.now();` +
    `await Promise.all(${JSON.stringify(modules)}.map((m) => import(m)));` +
    `process.stdout.write(String(performance.now() - t));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`importing the function app failed: ${child.stderr}`);
  return Number(child.stdout.trim());
}

/** Wall time of `node bin/rotor.js --help`, process start to exit. */
function cliHelpOnce(): number {
  const t = performance.now();
  const child = spawnSync(process.execPath, ['bin/rotor.js', '--help'], { cwd: root, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`rotor --help failed: ${child.stderr}`);
  return performance.now() - t;
}

/** Wall time of an empty Node process (what every process start costs anyway). */
function nodeOnce(): number {
  const t = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t;
}

export async function coldStartScenario(params: BenchParameters): Promise<ScenarioResult> {
  const started = performance.now();
  const runs = Math.max(1, params.coldStartRuns);
  const imports: number[] = [];
  const help: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    imports.push(importFunctionsOnce());
    help.push(cliHelpOnce());
    bare.push(nodeOnce());
  }
  const importStats = distribution(imports);
  const helpStats = distribution(help);
  const bareStats = distribution(bare);
  return {
    id: '6-coldstart',
    title: `Cold start: fresh Node processes, median of ${runs}`,
    durationMs: performance.now() - started,
    figures: [
      { name: 'import the function app', value: importStats.p50, unit: 'ms', bound: 300, goal: 'max', note: `every module of dist/src/functions; max ${importStats.max} ms` },
      { name: 'rotor --help (process wall time)', value: helpStats.p50, unit: 'ms', bound: 300, goal: 'max', note: `max ${helpStats.max} ms; an empty node process takes ${bareStats.p50} ms of it` },
    ],
    details: { importMs: importStats, cliHelpMs: helpStats, emptyNodeMs: bareStats, runs },
  };
}
