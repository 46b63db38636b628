/**
 * The local HPC Pack cluster at scale: a cluster with a nodeDomain serves all its nodes on one TLS listener that
 * answers by SNI, nodes share a few certificates (one secure context each), and Rotor's own TLS probe reaches each
 * node by name through ROTOR_LOCAL_HOSTS — stale, stalled, closed and unresolvable nodes included. No real DNS: the
 * names resolve through the setting the emulator publishes.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHostsLookup, parseLocalHosts } from '../../src/adapters/consumers/local-hosts.js';
import { HpcPackClusters, probeTls } from '../../src/adapters/consumers/hpcpack.js';
import { parseConfig } from '../../src/core/config.js';
import type { TlsProbeResult } from '../../src/core/consumers.js';
import { startHpcPackEmulator, type HpcPackCertificate, type HpcPackEmulator } from '../../src/local/hpcpack/index.js';
import { SETTINGS } from '../../src/settings.js';
import { createTestContext, nodeCertificatePair, type TestContext } from '../helpers/local-context.js';

const N = 1_000;
const DOMAIN = 'big.hpc.test';
let t: TestContext;
let hpc: HpcPackEmulator;
let oldCert: HpcPackCertificate;
let newCert: HpcPackCertificate;
let startMs = 0;

const name = (i: number): string => `cn${String(i).padStart(4, '0')}`;
const lookup = () => localHostsLookup(parseLocalHosts(hpc.settings()[SETTINGS.localHosts.name] ?? '', SETTINGS.localHosts.name));

beforeAll(async () => {
  t = await createTestContext();
  [oldCert, newCert] = await nodeCertificatePair(t.clock);
  const old = { certPem: oldCert.certPem, keyPem: oldCert.keyPem };
  const started = performance.now();
  hpc = await startHpcPackEmulator(t.ctx, {
    clusters: [
      {
        name: 'big',
        username: 'u',
        password: 'p',
        nodeDomain: DOMAIN,
        nodes: Array.from({ length: N }, (_, i) => ({
          name: name(i + 1),
          linux: true,
          certificate: old,
          ...(i + 1 === 7 ? { reachability: 'stall' as const } : {}),
          ...(i + 1 === 8 ? { reachability: 'closed' as const } : {}),
          ...(i + 1 === 9 ? { dns: false } : {}),
        })),
      },
    ],
  });
  startMs = performance.now() - started;
}, 60_000);

afterAll(async () => {
  await hpc?.stop();
  await t?.dispose();
});

describe('a cluster served by SNI', () => {
  it('starts a 1,000-node cluster on one port and lists it in the endpoints as one line', () => {
    console.log(`1,000-node SNI cluster started in ${startMs.toFixed(0)} ms`);
    expect(Object.keys(hpc.ports())).toEqual(['big', 'big/nodes']);
    expect(hpc.nodeAddress('big', 'cn0001')).toEqual({ host: `cn0001.${DOMAIN}`, port: hpc.ports()['big/nodes'] });
    expect(Object.keys(hpc.endpoints())).toEqual(['HPC Pack big head node', 'HPC Pack big nodes (1000, SNI)']);
    expect(JSON.parse(hpc.settings()[SETTINGS.localHosts.name]!)).toEqual({ zones: { [DOMAIN]: '127.0.0.1' }, unresolved: [`cn0009.${DOMAIN}`] });
  });

  it("answers Rotor's probe as the node named in SNI: current, switched, stalled, closed and unresolvable nodes", async () => {
    hpc.setNodeCertificate('big', 'cn0002', { certPem: newCert.certPem, keyPem: newCert.keyPem });
    const probe = async (n: string, timeoutMs = 5_000): Promise<TlsProbeResult> => {
      const { host, port } = hpc.nodeAddress('big', n);
      return probeTls(host, port, timeoutMs, { lookup: lookup() });
    };
    expect(await probe('cn0001')).toEqual({ kind: 'presented', thumbprint: oldCert.thumbprint });
    expect(await probe('cn0002')).toEqual({ kind: 'presented', thumbprint: newCert.thumbprint });
    expect(await probe('cn0007', 300)).toEqual({ kind: 'timeout' });
    expect(await probe('cn0008')).toMatchObject({ kind: 'failed' });
    expect(await probe('cn0009')).toEqual({ kind: 'unresolved', message: `ENOTFOUND cn0009.${DOMAIN}` });
    // A name outside the cluster's nodes does not reach any node either.
    expect(await probeTls(`cn9999.${DOMAIN}`, hpc.ports()['big/nodes']!, 5_000, { lookup: lookup() })).toMatchObject({ kind: 'failed' });
  });

  it('answers every node of the cluster, 64 probes at a time', async () => {
    const limit = pLimit(64);
    const l = lookup();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => name(i + 1))
        .filter((n) => !['cn0007', 'cn0008', 'cn0009'].includes(n))
        .map((n) => limit(async () => [n, await probeTls(...Object.values(hpc.nodeAddress('big', n)) as [string, number], 10_000, { lookup: l })] as const)),
    );
    const kinds = new Map<string, number>();
    for (const [, r] of results) kinds.set(r.kind === 'presented' ? r.thumbprint : r.kind, (kinds.get(r.kind === 'presented' ? r.thumbprint : r.kind) ?? 0) + 1);
    expect(Object.fromEntries(kinds)).toEqual({ [oldCert.thumbprint]: N - 4, [newCert.thumbprint]: 1 });
  });

  it('lists the nodes through the head node and maps them to their DNS names (nodeDomain)', async () => {
    const cluster = parseConfig({
      vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }],
      consumers: {
        hpcPack: [{ name: 'big', certificate: { vault: 'hpc-kv', name: 'c' }, nodeDomain: DOMAIN, port: hpc.ports()['big/nodes'], headNode: { url: hpc.headNodeUrl('big'), credentials: { vault: 'hpc-kv', name: 'cred' } } }],
      },
    }).consumers.hpcPack[0]!;
    const clusters = new HpcPackClusters(async () => 'u:p', t.ca.certPem, async () => undefined);
    const nodes = await clusters.nodes(cluster);
    expect(nodes).toHaveLength(N);
    expect(nodes[41]).toMatchObject({ name: 'cn0042', host: `cn0042.${DOMAIN}`, port: hpc.ports()['big/nodes'] });
  });

  it('persists each distinct certificate once and comes back on the same port', async () => {
    const stateDir = join(t.dir, 'sni-state');
    const old = { certPem: oldCert.certPem, keyPem: oldCert.keyPem };
    const first = await startHpcPackEmulator(t.withState(stateDir), {
      clusters: [{ name: 'c2', username: 'u', password: 'p', nodeDomain: 'c2.hpc.test', nodes: Array.from({ length: 200 }, (_, i) => ({ name: name(i + 1), certificate: old, ...(i === 3 ? { dns: false } : {}) })) }],
    });
    first.setNodeCertificate('c2', 'cn0001', { certPem: newCert.certPem, keyPem: newCert.keyPem });
    await first.setNodeReachability('c2', 'cn0002', 'closed');
    await first.save();
    const ports = first.ports();
    await first.stop();
    const file = join(stateDir, 'hpcpack.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { certificates: unknown[] };
    expect(saved.certificates).toHaveLength(2);
    expect((await stat(file)).size).toBeLessThan(200 * 400 + 20_000);
    const second = await startHpcPackEmulator(t.withState(stateDir, ports), { clusters: [] });
    try {
      expect(second.ports()).toEqual(ports);
      const l = localHostsLookup(parseLocalHosts(second.settings()[SETTINGS.localHosts.name]!, 'x'));
      const at = (n: string) => second.nodeAddress('c2', n);
      expect(await probeTls(at('cn0001').host, at('cn0001').port, 5_000, { lookup: l })).toEqual({ kind: 'presented', thumbprint: newCert.thumbprint });
      expect(await probeTls(at('cn0003').host, at('cn0003').port, 5_000, { lookup: l })).toEqual({ kind: 'presented', thumbprint: oldCert.thumbprint });
      expect(await probeTls(at('cn0002').host, at('cn0002').port, 5_000, { lookup: l })).toMatchObject({ kind: 'failed' });
      expect(await probeTls(at('cn0004').host, at('cn0004').port, 5_000, { lookup: l })).toMatchObject({ kind: 'unresolved' });
    } finally {
      await second.stop();
    }
  });
});
