/**
 * Child process of the memory scenario: builds Rotor's services from the app settings in its environment (as the
 * function app does), scans one vault with the queue worker's processVault, and prints its peak RSS as JSON. Run in
 * a fresh process per vault size, so the figure is the worker's alone (the emulator lives in the parent).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { buildServices } from '../../src/app/services.js';
import { rotationContext } from '../../src/core/rotor.js';
import { processVault } from '../../src/core/scan.js';
import { quiet } from '../lib/stack.js';

const vaultName = process.argv[2] ?? '';
const services = await buildServices({ env: process.env, log: quiet });
const vault = services.config.vaults.find((v) => v.name === vaultName);
if (!vault) throw new Error(`vault ${vaultName} is not in ROTOR_CONFIG`);
const before = process.memoryUsage().rss;
let sampledPeak = before;
const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 20);
const started = performance.now();
const summary = await processVault(rotationContext(services, vault, { runId: `bench-memory-${vaultName}`, trigger: 'timer' }, quiet));
const ms = performance.now() - started;
clearInterval(sampler);
// Peak RSS of this process: VmHWM (Linux) belongs to this process's own address space. (getrusage's maxRSS
// would not do: Linux carries it across execve, so a child reports at least its parent's RSS at spawn time.)
function peakRssMB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // Not Linux: fall back to the sampled maximum.
  }
  return sampledPeak / 2 ** 20;
}
process.stdout.write(
  JSON.stringify({
    vault: vaultName,
    scanned: summary.scanned,
    outcomes: summary.outcomes,
    errors: summary.errors.slice(0, 3),
    ms: Math.round(ms),
    rssBeforeScanMB: before / 2 ** 20,
    peakRssMB: peakRssMB(),
    heapUsedAfterMB: process.memoryUsage().heapUsed / 2 ** 20,
  }) + '\n',
);
process.exit(0);
