/**
 * Child process of the `instances` scenario: one Functions instance. It builds Rotor's services from the app settings
 * in its environment (as the function app does), and runs the registered queue function (rotationWorker) on the
 * Azurite work queue the way the host does (src/local/functions-host.ts: batches of 8, the next batch at 4 in flight,
 * retries and the poison queue) until the parent writes `stop` on its stdin. Then it prints what it did as JSON: its
 * Table storage requests by table (counted on the wire), audit rows and conflicts, vault-work requests, invocations.
 */
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { buildServices, useServices } from '../../src/app/services.js';
import { QUEUES, queueClient } from '../../src/adapters/storage/clients.js';
import { drainQueue, loadFunctions, type LogSink } from '../../src/local/functions-host.js';
import { RequestCounter } from '../lib/requests.js';
import { quiet } from '../lib/stack.js';

const tablePort = Number(process.argv[2]);
const services = await buildServices({ env: process.env, log: quiet });
useServices(services);
const [{ rotationWorker, QUEUE_BATCH: host, MAX_DEQUEUE_COUNT }] = await loadFunctions(() => Promise.all([import('../../src/functions/rotationWorker.js')]));
const errors: string[] = [];
const sink: LogSink = (level, _fn, message) => {
  if (level === 'error' && errors.length < 20) errors.push(message.slice(0, 300));
};
const tables = new RequestCounter(tablePort);
let stopped = false;
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === 'stop') stopped = true;
  })
  .on('close', () => (stopped = true)); // the parent is gone: stop too
const totals = { handled: 0, failed: 0, poisoned: 0, peakInFlight: 0 };
const work = queueClient(services.storage, QUEUES.work);
const poison = queueClient(services.storage, QUEUES.poison);
process.stdout.write('ready\n');
while (!stopped) {
  const r = await drainQueue(work, poison, 'rotationWorker', rotationWorker, sink, { ...host, maxDequeueCount: MAX_DEQUEUE_COUNT, idleTimeoutMs: 500 });
  totals.handled += r.handled;
  totals.failed += r.failed;
  totals.poisoned += r.poisoned;
  totals.peakInFlight = Math.max(totals.peakInFlight, r.peakInFlight);
  if (!stopped) await new Promise((resolve) => setTimeout(resolve, 250));
}
tables.stop();
const vault = services.config.vaults[0];
process.stdout.write(
  JSON.stringify({
    pid: process.pid,
    holder: services.vaultWork?.holder,
    invocations: totals,
    tableRequests: tables.snapshot(),
    audit: services.auditLog.stats,
    vaultWork: services.vaultWorkStore.stats,
    throttledSeenByPacer: vault ? services.pacer(vault).throttledResponses : 0,
    errors,
  }) + '\n',
);
process.exit(0);
