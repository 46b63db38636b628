/**
 * The local HPC Pack cluster through real clients: the head node's REST API over HTTPS (trusting the local CA) with
 * Basic auth and the spec's filters, and real TLS handshakes with each node's listener to read the certificate it
 * presents (the thumbprint Rotor compares with Key Vault's), including stale, switched, offline and unreachable
 * nodes, head-node faults, persistence across a restart, and stop() freeing every port.
 */
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startHpcPackEmulator,
  type HpcPackCertificate,
  type HpcPackEmulator,
} from '../../src/local/hpcpack/index.js';
import type { NodeJson } from '../../src/local/hpcpack/wire.js';
import { HpcPackClusters } from '../../src/adapters/consumers/hpcpack.js';
import { parseConfig } from '../../src/core/config.js';
import { createTestContext, nodeCertificatePair, type TestContext } from '../helpers/local-context.js';
import { basicAuth, httpsRequest, portIsClosed, probeTls } from '../helpers/net.js';

const CLUSTER = 'hpc01';
const USER = 'hpcadmin';
const PASSWORD = 'local-test-password';

let t: TestContext;
let hpc: HpcPackEmulator;
let oldCert: HpcPackCertificate;
let newCert: HpcPackCertificate;

const auth = { authorization: basicAuth(USER, PASSWORD) };
const get = (path: string, headers: Record<string, string> = auth, cluster = hpc) =>
  httpsRequest(`${cluster.headNodeUrl(CLUSTER)}${path}`, { ca: t.ca.certPem, headers });
const names = (nodes: NodeJson[]): string[] => nodes.map((n) => n.Name);
const probe = (node: string, timeoutMs?: number) => {
  const { host, port } = hpc.nodeAddress(CLUSTER, node);
  return probeTls(host, port, timeoutMs);
};

beforeAll(async () => {
  t = await createTestContext();
  [oldCert, newCert] = await nodeCertificatePair(t.clock);
  const certificate = { certPem: oldCert.certPem, keyPem: oldCert.keyPem };
  hpc = await startHpcPackEmulator(t.ctx, {
    clusters: [
      {
        name: CLUSTER,
        username: USER,
        password: PASSWORD,
        nodes: [
          { name: 'HPCHN01', serviceRoles: ['HeadNode', 'ComputeNode', 'BrokerNode'], groups: ['HeadNodes'], template: 'HeadNode Template', certificate },
          { name: 'CN001', certificate },
          { name: 'CN002', certificate },
          { name: 'LN001', linux: true, certificate },
          { name: 'CN003', state: 'Offline', certificate },
          { name: 'CN004', health: 'Error', certificate },
        ],
      },
    ],
  });
});

afterEach(() => {
  hpc.clearFaults(CLUSTER);
  hpc.resetCounters();
});

afterAll(async () => {
  await hpc.stop();
  await t.dispose();
});

describe('head node REST API', () => {
  it('requires Basic auth: 401 with WWW-Authenticate: Basic without or with wrong credentials', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: basicAuth(USER, 'wrong') }, { authorization: 'Bearer x' }];
    for (const headers of attempts) {
      const res = await get('/cluster/nodes', headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    }
    expect(hpc.counters(CLUSTER)['unauthorized']).toBe(3);
  });

  it('lists nodes with the fields of the spec', async () => {
    const res = await get('/cluster/nodes');
    expect(res.status).toBe(200);
    const nodes = res.json<NodeJson[]>();
    expect(names(nodes)).toEqual(['HPCHN01', 'CN001', 'CN002', 'LN001', 'CN003', 'CN004']);
    expect(nodes[0]).toEqual({
      ActiveServiceRoles: ['HeadNode', 'ComputeNode', 'BrokerNode'],
      Cores: 8,
      Groups: ['HeadNodes'],
      Health: 'OK',
      HpcPackVersion: '6.2.7756.0',
      InstalledServiceRoles: ['HeadNode', 'ComputeNode', 'BrokerNode'],
      Location: null,
      MemorySize: 32768,
      Name: 'HPCHN01',
      OnAzure: true,
      Roles: ['HeadNode', 'ComputeNode', 'BrokerNode'],
      Sockets: 1,
      State: 'Online',
      Template: 'HeadNode Template',
    });
    expect(nodes[3]).toMatchObject({ Name: 'LN001', Roles: ['LinuxNode'], Template: 'LinuxNode Template' });
  });

  it('filters by names, state, health and group, and rejects bad filters naming them', async () => {
    expect(names((await get('/cluster/nodes?names=cn001,CN002,nope')).json())).toEqual(['CN001', 'CN002']);
    expect(names((await get('/cluster/nodes?state=Offline')).json())).toEqual(['CN003']);
    expect(names((await get('/cluster/nodes?health=Error')).json())).toEqual(['CN004']);
    expect(names((await get('/cluster/nodes?group=LinuxNodes')).json())).toEqual(['LN001']);
    expect(names((await get('/cluster/nodes?state=Online&health=OK')).json())).toEqual(['HPCHN01', 'CN001', 'CN002', 'LN001']);
    expect((await get('/cluster/nodes?jobs=12')).json()).toEqual([]);
    const bad = await get('/cluster/nodes?state=Sleeping');
    expect(bad.status).toBe(400);
    expect(bad.json<{ Message: string }>().Message).toContain("'state'");
  });

  it('gets one node by name, case-insensitively, and 404s an unknown one', async () => {
    const res = await get('/cluster/nodes/cn004');
    expect(res.status).toBe(200);
    expect(res.json<NodeJson>()).toMatchObject({ Name: 'CN004', Health: 'Error', State: 'Online' });
    expect((await get('/cluster/nodes/CN999')).status).toBe(404);
    expect(hpc.counters(CLUSTER)).toMatchObject({ 'nodes.get': 2 });
  });

  it('answers injected 5xx and 429 faults, latency, and hangs until the client times out', async () => {
    hpc.setFaults(CLUSTER, { serverErrorShare: 1, serverErrorStatus: 503 });
    expect((await get('/cluster/nodes')).status).toBe(503);
    hpc.clearFaults(CLUSTER);
    hpc.setFaults(CLUSTER, { throttleShare: 1, retryAfterSeconds: 5 });
    const throttled = await get('/cluster/nodes');
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('5');
    hpc.clearFaults(CLUSTER);
    hpc.setFaults(CLUSTER, { latencyMs: 120 });
    const started = Date.now();
    expect((await get('/cluster/nodes')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(115);
    hpc.setFaults(CLUSTER, { hang: true });
    const hung = httpsRequest(`${hpc.headNodeUrl(CLUSTER)}/cluster/nodes`, { ca: t.ca.certPem, headers: auth, timeoutMs: 300 });
    await expect(hung).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(hpc.counters(CLUSTER)).toMatchObject({ 'faults.serverError': 1, 'faults.throttled': 1, 'faults.hang': 1 });
  });

  it('reports a node taken offline or changed by the control surface', async () => {
    hpc.takeOffline(CLUSTER, 'CN002');
    expect((await get('/cluster/nodes/CN002')).json<NodeJson>().State).toBe('Offline');
    hpc.updateNode(CLUSTER, 'CN002', { state: 'Online', health: 'Warning' });
    expect((await get('/cluster/nodes/CN002')).json<NodeJson>()).toMatchObject({ State: 'Online', Health: 'Warning' });
    expect(() => hpc.updateNode(CLUSTER, 'CN002', { state: 'Asleep' as never })).toThrow(/patch\.state/);
  });
});

describe("Rotor's head node client (HpcPackClusters)", () => {
  const cluster = (caCertificate?: string) =>
    parseConfig({
      vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }],
      consumers: {
        hpcPack: [{ name: CLUSTER, certificate: { vault: 'hpc-kv', name: 'c' }, headNode: { url: hpc.headNodeUrl(CLUSTER), credentials: { vault: 'hpc-kv', name: 'login' }, ...(caCertificate ? { caCertificate } : {}) } }],
      },
    }).consumers.hpcPack[0]!;
  const clusters = new HpcPackClusters(async () => `${USER}:${PASSWORD}`, undefined, async () => undefined, 2000);

  it('refuses a head node whose certificate it cannot trust, and trusts the CA (or self-signed certificate) configured for it', async () => {
    await expect(clusters.nodes(cluster())).rejects.toThrow(/certificate/i);
    const nodes = await clusters.nodes(cluster(t.ca.certPem));
    expect(nodes.map((n) => n.name)).toEqual(expect.arrayContaining(['HPCHN01', 'CN001', 'LN001']));
    expect(nodes.find((n) => n.name === 'CN003')).toMatchObject({ state: 'Offline' });
  });

  it('waits out 429s without Retry-After with full-jitter backoff, and gives up inside its budget', async () => {
    const waits: number[] = [];
    const patient = new HpcPackClusters(async () => `${USER}:${PASSWORD}`, t.ca.certPem, async (ms) => void waits.push(ms), 2000, { baseDelayMs: 100, maxRetries: 4 }, () => 0.5);
    hpc.setFaults(CLUSTER, { throttleShare: 1, sendRetryAfter: false });
    try {
      await expect(patient.nodes(cluster())).rejects.toMatchObject({ kind: 'Throttled' });
      expect(waits).toEqual([50, 100, 200, 400]);
      hpc.setFaults(CLUSTER, { throttleShare: 0 });
      expect((await patient.nodes(cluster())).length).toBeGreaterThan(0);
    } finally {
      hpc.setFaults(CLUSTER, { throttleShare: 0, sendRetryAfter: true });
    }
  });

  it('rejects a caCertificate that is not PEM, naming the field', () => {
    expect(() => cluster('not a certificate')).toThrow(/consumers\.hpcPack\[0\]\.headNode\.caCertificate: must be a PEM certificate/);
  });
});

describe('node TLS listeners', () => {
  it('present the chosen certificate on their own loopback ports', async () => {
    const ports = new Set(['CN001', 'CN002', 'LN001'].map((n) => hpc.nodeAddress(CLUSTER, n).port));
    expect(ports.size).toBe(3);
    const seen = await probe('CN001');
    expect(seen.thumbprint).toBe(oldCert.thumbprint);
    expect(seen.fingerprint.replace(/:/g, '')).toBe(oldCert.thumbprint);
    expect(hpc.endpoints()[`HPC Pack ${CLUSTER}/CN001`]).toBe(`tls://127.0.0.1:${hpc.nodeAddress(CLUSTER, 'CN001').port}`);
  });

  it('switch to a new certificate for new handshakes, while other nodes stay stale', async () => {
    hpc.setNodeCertificate(CLUSTER, 'CN001', { certPem: newCert.certPem, keyPem: newCert.keyPem });
    expect((await probe('CN001')).thumbprint).toBe(newCert.thumbprint);
    expect((await probe('CN002')).thumbprint).toBe(oldCert.thumbprint);
  });

  it('keep presenting their certificate when the node is offline', async () => {
    hpc.takeOffline(CLUSTER, 'CN003');
    expect((await probe('CN003')).thumbprint).toBe(oldCert.thumbprint);
  });

  it('stall so the client handshake times out, turn connections away when closed, and come back on the same port', async () => {
    const { port } = hpc.nodeAddress(CLUSTER, 'LN001');
    await hpc.setNodeReachability(CLUSTER, 'LN001', 'stall');
    await expect(probe('LN001', 250)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await hpc.setNodeReachability(CLUSTER, 'LN001', 'closed');
    await expect(probe('LN001', 1000)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await hpc.setNodeReachability(CLUSTER, 'LN001', 'tls');
    expect(hpc.nodeAddress(CLUSTER, 'LN001').port).toBe(port);
    expect((await probe('LN001')).thumbprint).toBe(oldCert.thumbprint);
  });

  it('keep a closed node\'s port: a node added later never takes it over, so probes of the closed node never reach another', async () => {
    const { port } = hpc.nodeAddress(CLUSTER, 'CN002');
    await hpc.setNodeReachability(CLUSTER, 'CN002', 'closed');
    const certificate = { certPem: newCert.certPem, keyPem: newCert.keyPem };
    for (let i = 0; i < 20; i++) await hpc.addNode(CLUSTER, { name: `LATE${i}`, certificate });
    const late = Array.from({ length: 20 }, (_, i) => hpc.nodeAddress(CLUSTER, `LATE${i}`).port);
    expect(late).not.toContain(port);
    await expect(probe('CN002', 1000)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await hpc.setNodeReachability(CLUSTER, 'CN002', 'tls');
    expect((await probe('CN002')).thumbprint).toBe(oldCert.thumbprint);
  });

  it('present a certificate from the stack CA when the seed chose none', async () => {
    await hpc.addNode(CLUSTER, { name: 'CN005' });
    const { host, port } = hpc.nodeAddress(CLUSTER, 'CN005');
    const verified = await new Promise<boolean>((resolve, reject) => {
      const socket = connect({ host, port, ca: t.ca.certPem, servername: 'CN005' }, () => {
        resolve(socket.authorized);
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(verified).toBe(true);
    expect(names((await get('/cluster/nodes?names=CN005')).json())).toEqual(['CN005']);
  });
});

describe('lifecycle', () => {
  it('persists clusters, node state, certificates and reachability, and reuses the ports', async () => {
    const stateDir = join(t.dir, 'hpcpack-state');
    const first = await startHpcPackEmulator(t.withState(stateDir), {
      clusters: [
        {
          name: CLUSTER,
          username: USER,
          password: PASSWORD,
          nodes: [{ name: 'CN001', certificate: { certPem: oldCert.certPem, keyPem: oldCert.keyPem } }, { name: 'CN002' }],
        },
      ],
    });
    first.setNodeCertificate(CLUSTER, 'CN001', { certPem: newCert.certPem, keyPem: newCert.keyPem });
    first.takeOffline(CLUSTER, 'CN001');
    await first.setNodeReachability(CLUSTER, 'CN002', 'stall');
    await first.save();
    const ports = first.ports();
    await first.stop();

    const second = await startHpcPackEmulator(t.withState(stateDir, ports), { clusters: [] });
    try {
      expect(second.ports()).toEqual(ports);
      const res = await get('/cluster/nodes/CN001', auth, second);
      expect(res.json<NodeJson>().State).toBe('Offline');
      const { host, port } = second.nodeAddress(CLUSTER, 'CN001');
      expect((await probeTls(host, port)).thumbprint).toBe(newCert.thumbprint);
      const stalled = second.nodeAddress(CLUSTER, 'CN002');
      await expect(probeTls(stalled.host, stalled.port, 200)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await second.stop();
    }
  });

  it('stop() frees the head node and every node port, even with stalled connections open', async () => {
    const own = await startHpcPackEmulator(t.ctx, {
      clusters: [{ name: 'c2', username: 'u', password: 'p', nodes: [{ name: 'A' }, { name: 'B', reachability: 'stall' }] }],
    });
    const ports = Object.values(own.ports());
    expect(ports).toHaveLength(3);
    const b = own.nodeAddress('c2', 'B');
    const stalled = probeTls(b.host, b.port, 5000).catch((e: unknown) => e);
    await own.stop();
    expect(await stalled).toBeInstanceOf(Error);
    for (const port of ports) expect(await portIsClosed(port)).toBe(true);
  });
});
