/**
 * `npm run bench [-- <scenario>...] [--quick]`: Rotor's benchmark against the local stack. Scenarios: stack, scan,
 * vaults, memory, wave (includes the audit-write figures), instances (many worker processes, one vault), coldstart. Results go to bench/results/<date>.{md,json}; a
 * scenario run alone replaces its section of the day's report. See bench/README.md.
 */
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_PARAMETERS, type BenchParameters } from './scenarios/parameters.js';
import { machine, renderReport, SUMMARY_HEADER, summaryRows, textTable, writeReport, type ScenarioResult } from './lib/report.js';
import { REPORT_NOTES } from './notes.js';

type Scenario = (params: BenchParameters) => Promise<ScenarioResult>;

const SCENARIOS: Record<string, { describe: string; load: () => Promise<Scenario> }> = {
  stack: { describe: 'start and stop the whole local stack (issue A: under 5 s)', load: async () => (await import('./scenarios/stack.js')).stackScenario },
  scan: { describe: 'scan cost of one 10,000-object vault vs. list-page bound and a naive baseline', load: async () => (await import('./scenarios/scan.js')).scanScenario },
  vaults: { describe: '50 vaults × 2,000 objects through timer → queue → worker on Azurite', load: async () => (await import('./scenarios/vaults.js')).vaultsScenario },
  memory: { describe: 'peak RSS of a scanning worker at 1,000 / 10,000 / 100,000 objects', load: async () => (await import('./scenarios/memory.js')).memoryScenario },
  wave: { describe: 'rotation wave of 1,000 due RSA-2048 keys, 429 without Retry-After, the vault granting 16 of the 20 creations per 10 s Rotor is configured for; audit rows per request', load: async () => (await import('./scenarios/wave.js')).waveScenario },
  instances: {
    describe: 'K = 1, 4, 8 worker processes, one vault, 500 due RSA-2048 keys arriving as Event Grid events',
    load: async () => (await import('./scenarios/instances.js')).instancesScenario,
  },
  verify: { describe: 'verification of one certificate consumed by an HPC Pack cluster of 100 / 1,000 / 10,000 nodes', load: async () => (await import('./scenarios/verify.js')).verifyScenario },
  resume: { describe: 'Table requests of resuming an interrupted rotation with 1 / 30 / 365 days of audit history', load: async () => (await import('./scenarios/resume.js')).resumeScenario },
  coldstart: { describe: 'import time of the function app and `rotor --help` in fresh processes', load: async () => (await import('./scenarios/coldstart.js')).coldStartScenario },
};

/** Smaller sizes for a quick look (not for the committed report). */
const QUICK: Partial<BenchParameters> = { scanObjects: 2_000, vaults: 10, objectsPerVault: 500, memorySizes: [1_000, 5_000, 20_000], waveKeys: 100, coldStartRuns: 3, instancesKeys: 60, instancesWorkers: [1, 4], verifySizes: [100, 1_000] };

function usage(): string {
  return [
    'usage: npm run bench [-- [scenario ...] [--quick] [--out <dir>]]',
    '',
    ...Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(10)} ${s.describe}`),
    '',
    '  --quick    smaller sizes, for a quick look (the report says so)',
    '  --render   only write the day\'s Markdown report again from its JSON (after editing bench/notes.ts)',
    '  --out dir  where to write <date>.md and <date>.json (default bench/results)',
    '  --instances-keys n   due keys of the instances scenario (default 500)',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return;
  }
  const quick = args.includes('--quick');
  const outIndex = args.indexOf('--out');
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/bench; the results live beside the sources in bench/results.
  const out = outIndex >= 0 ? resolve(args[outIndex + 1] ?? '') : join(here, '..', '..', 'bench', 'results');
  const keysIndex = args.indexOf('--instances-keys');
  const instancesKeys = keysIndex >= 0 ? Number(args[keysIndex + 1]) : undefined;
  if (instancesKeys !== undefined && !(Number.isInteger(instancesKeys) && instancesKeys > 0)) throw new Error('--instances-keys needs a positive integer');
  const names = args.filter((a, i) => !a.startsWith('--') && !(outIndex >= 0 && i === outIndex + 1) && !(keysIndex >= 0 && i === keysIndex + 1));
  if (args.includes('--render')) {
    const date = new Date().toISOString().slice(0, 10) + (quick ? '-quick' : '');
    const written = await renderReport(out, date, REPORT_NOTES);
    console.log(`Report: ${written}`);
    return;
  }
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}\n\n${usage()}`);
  const selected = names.length ? names : Object.keys(SCENARIOS);
  const params: BenchParameters = { ...DEFAULT_PARAMETERS, ...(quick ? QUICK : {}), ...(instancesKeys ? { instancesKeys } : {}) };

  const results: ScenarioResult[] = [];
  const started = performance.now();
  for (const name of selected) {
    console.log(`\n▶ ${name}: ${SCENARIOS[name]!.describe}`);
    const t = performance.now();
    const result = await (await SCENARIOS[name]!.load())(params);
    results.push(result);
    console.log(textTable(SUMMARY_HEADER, summaryRows([result])));
    console.log(`  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const date = new Date().toISOString().slice(0, 10) + (quick ? '-quick' : '');
  const written = await writeReport(out, { date, machine: machine(), parameters: { ...params, quick }, scenarios: results }, REPORT_NOTES);
  console.log(`\nSummary (${((performance.now() - started) / 1000).toFixed(0)} s):\n`);
  console.log(textTable(SUMMARY_HEADER, summaryRows(written.report.scenarios)));
  console.log(`\nReport: ${written.md}\n        ${written.json}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
