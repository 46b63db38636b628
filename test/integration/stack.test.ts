/**
 * The whole local stack — Azurite tables and queues, the Key Vault endpoint, the ARM endpoint and the HPC Pack
 * cluster — starts on free loopback ports, serves the official clients, and stops leaving no port, socket or child
 * process behind; with a state folder it comes back on the same ports with its state. (How long start and stop
 * take is reported by the benchmark, not asserted here.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient } from '@azure/data-tables';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyVaultClients } from '../../src/adapters/azure-clients.js';
import { armEmulator } from '../../src/local/arm/index.js';
import { hpcPackEmulator } from '../../src/local/hpcpack/index.js';
import { startLocalStack, type LocalStackOptions } from '../../src/local/stack.js';

const canBind = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

const portsOf = (endpoints: Record<string, string>): number[] => Object.values(endpoints).map((u) => Number(new URL(u).port));

const handles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap' || r === 'ProcessWrap').length;

const options = (stateDir?: string): LocalStackOptions => ({
  ...(stateDir ? { stateDir } : {}),
  keyVault: { vaults: ['kv-a', 'kv-b'], seed: { vaults: { 'kv-a': { secrets: [{ name: 's1', value: 'v1' }] } } } },
  services: {
    arm: armEmulator(),
    hpcpack: hpcPackEmulator({ clusters: [{ name: 'c1', username: 'u', password: 'p', nodes: [{ name: 'n1' }, { name: 'n2' }] }] }),
  },
});

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the local stack', () => {
  it('starts every endpoint, serves the SDK clients and stops without leaving anything behind', async () => {
    const before = handles();
    const stack = await startLocalStack(options());
    const endpoints = stack.endpoints();
    expect(Object.keys(endpoints)).toEqual(
      expect.arrayContaining(['Azurite Table', 'Azurite Queue', 'Key Vault kv-a', 'Key Vault kv-b']),
    );
    const settings = stack.settings();
    expect(settings).toMatchObject({ ROTOR_LOCAL_TOKEN: stack.token, ROTOR_LOCAL_CA_FILE: stack.ca.certFile });
    expect(settings['ROTOR_STORAGE']).toContain('TableEndpoint=http://127.0.0.1:');
    expect(settings['ROTOR_ARM_ENDPOINT']).toMatch(/^https:\/\/127\.0\.0\.1:\d+/);
    // Each endpoint answers its official client.
    const kv = createKeyVaultClients(`${stack.keyVault.vaultUrl('kv-a')}/`, { credential: stack.credential, caPem: stack.ca.certPem, local: true });
    expect((await kv.secrets.getSecret('s1')).value).toBe('v1');
    const tables = TableServiceClient.fromConnectionString(settings['ROTOR_STORAGE']!, { allowInsecureConnection: true });
    await tables.createTable('StackProbe');
    const queues = QueueServiceClient.fromConnectionString(settings['ROTOR_STORAGE']!);
    await queues.getQueueClient('stack-probe').createIfNotExists();
    const ports = portsOf(endpoints);
    for (const port of ports) expect(await canBind(port), `port ${port} in use while running`).toBe(false);
    await stack.stop();
    for (const port of ports) expect(await canBind(port), `port ${port} left behind`).toBe(true);
    // Client sockets the servers closed go away as their close events are processed.
    for (let i = 0; i < 50 && handles() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'Timeout' && r !== 'FSReqCallback')).toEqual(
      expect.not.arrayContaining(['TCPServerWrap', 'TCPSocketWrap', 'ProcessWrap']),
    );
    expect(handles()).toBeLessThanOrEqual(before);
  });

  it('comes back with its state and ports from a state folder', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rotor-stack-'));
    const first = await startLocalStack(options(dir));
    const ports = portsOf(first.endpoints());
    const token = first.token;
    await first.stop();
    const second = await startLocalStack(options(dir));
    try {
      expect(portsOf(second.endpoints())).toEqual(ports);
      expect(second.token).toBe(token);
      const kv = createKeyVaultClients(`${second.keyVault.vaultUrl('kv-a')}/`, { credential: second.credential, caPem: second.ca.certPem, local: true });
      expect((await kv.secrets.getSecret('s1')).value).toBe('v1');
    } finally {
      await second.stop();
    }
  });
});
