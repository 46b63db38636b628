/**
 * A nightly run that cannot start — the configuration is invalid — fails loudly and still leaves an audit row that
 * names the problem, written with the storage settings alone; so do the worker, the Event Grid handler and rotateNow.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HttpRequest } from '@azure/functions';
import { nightlyScan } from '../../src/functions/nightlyScan.js';
import { rotateNow } from '../../src/functions/rotateNow.js';
import { MAX_DEQUEUE_COUNT, rotationWorker } from '../../src/functions/rotationWorker.js';
import { vaultEvents } from '../../src/functions/vaultEvents.js';
import { invocationContext, invokeTimer } from '../../src/local/functions-host.js';
import { quietSink, startTestEnv, type TestEnv } from '../support/local.js';

let t: TestEnv;
const saved = { ...process.env };

beforeAll(async () => {
  t = await startTestEnv({ keyVault: { vaults: ['hpc-kv'] } });
  Object.assign(process.env, t.env, { ROTOR_CONFIG: JSON.stringify({ vaults: [{ name: 'hpc-kv', url: 'http://not-https.example/' }] }) });
});

afterAll(async () => {
  process.env = saved;
  await t?.stop();
});

it('audits an invalid configuration as a failed scan naming the field', async () => {
  await expect(invokeTimer('nightlyScan', nightlyScan, quietSink)).rejects.toThrow(/config\.vaults\[0\]\.url/);
  const rows = await t.auditRows();
  expect(rows.map((r) => `${r.vault}:${r.action}:${r.reason}`)).toEqual(['_system:ScanFailed:InvalidConfiguration']);
  expect(rows[0]?.detail).toContain('config.vaults[0].url: must be an https URL');
  expect(rows[0]?.trigger).toBe('timer');
});

it('audits it from the other functions too: the worker on the last delivery only, each event delivery, each request', async () => {
  const since = new Date();
  const context = (dequeueCount: number) => invocationContext('rotationWorker', quietSink, { dequeueCount });
  const item = { kind: 'scanVault', vault: 'hpc-kv', runId: 'run-1', trigger: 'timer' };
  await expect(rotationWorker(item, context(1))).rejects.toThrow(/config\.vaults\[0\]\.url/);
  await expect(rotationWorker(item, context(MAX_DEQUEUE_COUNT))).rejects.toThrow(/config\.vaults\[0\]\.url/);
  await expect(vaultEvents({ id: '1' }, invocationContext('vaultEvents', quietSink))).rejects.toThrow(/config\.vaults\[0\]\.url/);
  const request = new HttpRequest({ method: 'POST', url: 'http://localhost/api/rotate/hpc-kv/key/k1', params: { vault: 'hpc-kv', type: 'key', name: 'k1' } });
  await expect(rotateNow(request, invocationContext('rotateNow', quietSink))).rejects.toThrow(/config\.vaults\[0\]\.url/);
  const rows = (await t.auditRows(since)).filter((r) => r.reason === 'InvalidConfiguration');
  expect(rows.map((r) => `${r.trigger}: ${r.detail.split(':')[0]}`)).toEqual([
    'timer: a work item moves to the poison queue unrun',
    'eventgrid: Key Vault events were not handled (Event Grid retries them)',
    'manual: an on-demand rotation request was refused',
  ]);
});
