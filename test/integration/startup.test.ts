/**
 * A nightly run that cannot start — the configuration is invalid — fails loudly and still leaves an audit row that
 * names the problem, written with the storage settings alone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nightlyScan } from '../../src/functions/nightlyScan.js';
import { invokeTimer } from '../../src/local/functions-host.js';
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
