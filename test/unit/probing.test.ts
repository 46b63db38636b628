/**
 * Bounded, budgeted consumer checks (issue 12 items 4, 5): TLS probes and head-node calls run within one limit per
 * instance, unreachable nodes time out side by side (never one after another), a work item whose time budget runs
 * out leaves the nodes it did not probe for a follow-up work item, and a node whose name does not resolve is
 * misconfigured (NameNotResolved), not unreachable.
 */
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { HpcPackNodeModel, TlsProbeResult } from '../../src/core/consumers.js';
import { checkHpcPackNode } from '../../src/core/consumers.js';
import { processObject } from '../../src/core/scan.js';
import { ConsumerVerifier, type ConsumerGateway } from '../../src/core/verification.js';
import type { WorkItem } from '../../src/core/work.js';
import { parseConfig } from '../../src/core/config.js';
import { nodeAddresses } from '../../src/adapters/consumers/hpcpack.js';
import { baseConfig, DAY, harness, MemoryConsumerStore } from '../support/fakes.js';

/** A gateway whose probes wait until released, counting how many are in flight at once. */
class GatedConsumers implements ConsumerGateway {
  nodes: HpcPackNodeModel[] = [];
  inFlight = 0;
  maxInFlight = 0;
  probed: string[] = [];
  headNodeCalls = 0;
  private waiting: Array<() => void> = [];
  constructor(private readonly answer: (host: string) => TlsProbeResult | Promise<TlsProbeResult>) {}
  async *batchPools() {}
  async hpcPackNodes() {
    this.headNodeCalls++;
    return this.nodes;
  }
  async probeTls(host: string): Promise<TlsProbeResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.probed.push(host);
    try {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      return await this.answer(host);
    } finally {
      this.inFlight--;
    }
  }
  /** Releases the probes waiting now; returns how many. */
  release(): number {
    const w = this.waiting;
    this.waiting = [];
    w.forEach((r) => r());
    return w.length;
  }
  async *hpcCaches() {}
  async vaultProtection() {
    return undefined;
  }
}

const nodes = (n: number, prefix = 'cn'): HpcPackNodeModel[] =>
  Array.from({ length: n }, (_, i) => {
    const name = `${prefix}${String(i + 1).padStart(4, '0')}`;
    return { name, state: 'Online', health: 'OK', host: `${name}.hpc.test`, port: 40002 };
  });

function setup(consumers: GatedConsumers, limit: number, extra: Record<string, unknown> = {}) {
  const config = baseConfig({
    consumers: { hpcPack: [{ name: 'c1', certificate: { vault: 'hpc-kv', name: 'hpc-node-comm' }, nodes: [{ name: 'x', host: 'x.hpc.test' }] }] },
    verification: { deadlineHours: 24, recheckMinutes: 30 },
    ...extra,
  });
  const h = harness(config);
  const queued: Array<{ item: WorkItem; delaySeconds?: number }> = [];
  const queue = { enqueue: async (item: WorkItem, o: { delaySeconds?: number } = {}) => void queued.push({ item, ...o }) };
  const rows = new MemoryConsumerStore();
  const verifier = new ConsumerVerifier(consumers, rows, pLimit(limit));
  const now = h.clock.now().getTime();
  h.vault.add('certificate', 'hpc-node-comm', { notBefore: new Date(now - 355 * DAY), expiresOn: new Date(now + 10 * DAY) });
  return { h, queued, rows, ctx: () => h.ctx({ hooks: verifier, queue }) };
}

/** Releases waiting probes until the operation settles (each release lets the limit start the next ones). */
async function drive<T>(consumers: GatedConsumers, op: Promise<T>, onRound?: (released: number) => void): Promise<T> {
  let done = false;
  const result = op.finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    const n = consumers.release();
    if (n) onRound?.(n);
  }
  return result;
}

describe('bounded probing', () => {
  it('probes every node of a large cluster with at most `concurrency` probes in flight, and uses the whole limit', async () => {
    let thumbprint = '';
    const consumers = new GatedConsumers(() => ({ kind: 'presented', thumbprint }));
    consumers.nodes = nodes(500);
    const { h, ctx } = setup(consumers, 16);
    const op = processObject('certificate', 'hpc-node-comm', undefined, ctx());
    // The new version is created before the first probe; the nodes present it.
    const rounds: number[] = [];
    await drive(
      consumers,
      (async () => {
        while (!h.vault.objects.get('certificate/hpc-node-comm')!.versions[1]) await new Promise((r) => setImmediate(r));
        thumbprint = h.vault.current('certificate', 'hpc-node-comm')!.thumbprint!;
        return op;
      })(),
      (n) => rounds.push(n),
    );
    expect(consumers.probed).toHaveLength(500);
    expect(new Set(consumers.probed).size).toBe(500);
    expect(consumers.maxInFlight).toBe(16);
    expect(Math.max(...rounds)).toBe(16);
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Completed');
  });

  it('lets unreachable nodes time out side by side: one probe timeout each, in parallel, never in series', async () => {
    const consumers = new GatedConsumers(() => ({ kind: 'timeout' }));
    consumers.nodes = nodes(64);
    const { h, ctx } = setup(consumers, 64);
    const rounds: number[] = [];
    await drive(consumers, processObject('certificate', 'hpc-node-comm', undefined, ctx()), (n) => rounds.push(n));
    // Every probe was waiting for its timeout at the same time: one round of timeouts, not 64.
    expect(rounds).toEqual([64]);
    expect(h.audit.rows.filter((r) => r.action === 'ConsumerUnreachable')).toHaveLength(64);
  });

  it('shares one limit between the head-node calls and the probes of several clusters', async () => {
    const consumers = new GatedConsumers(() => ({ kind: 'timeout' }));
    consumers.nodes = nodes(40);
    const cluster = (name: string) => ({ name, certificate: { vault: 'hpc-kv', name: 'hpc-node-comm' }, nodes: [{ name: 'x', host: 'x.hpc.test' }] });
    const { ctx } = setup(consumers, 8, { consumers: { hpcPack: [cluster('c1'), cluster('c2'), cluster('c3')] } });
    await drive(consumers, processObject('certificate', 'hpc-node-comm', undefined, ctx()));
    expect(consumers.headNodeCalls).toBe(3);
    expect(consumers.probed).toHaveLength(120);
    expect(consumers.maxInFlight).toBe(8);
  });

  it('starts no probe past the work item time budget: the rest are NotCheckedYet and a follow-up work item is queued at once', async () => {
    const consumers = new GatedConsumers(() => ({ kind: 'timeout' }));
    consumers.nodes = nodes(30);
    const { h, ctx, queued } = setup(consumers, 5, { rotation: { workItemMinutes: 1, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 } });
    const c = ctx();
    const context = { ...c, budgetEndsAt: new Date(h.clock.now().getTime() + 60_000) };
    // Each round of 5 probes takes 25 s of the fake clock: rounds start at 0, 25 and 50 s; the fourth would start at 75 s.
    await drive(consumers, processObject('certificate', 'hpc-node-comm', undefined, context), () => h.clock.advance(25_000));
    expect(consumers.probed).toHaveLength(15);
    const rows = h.audit.rows.filter((r) => r.action === 'ConsumerPending');
    expect(rows).toHaveLength(15);
    expect(rows.every((r) => r.reason === 'NotCheckedYet')).toBe(true);
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Verifying');
    expect(queued.at(-1)).toMatchObject({ item: { kind: 'verify', objectName: 'hpc-node-comm' }, delaySeconds: 1 });
  });
});

describe('a cluster too large for one work item', () => {
  it('continues in follow-up work items: nodes not verified yet are probed first, verified ones keep their result, and it converges', async () => {
    let thumbprint = '';
    const consumers = new GatedConsumers(() => ({ kind: 'presented', thumbprint }));
    consumers.nodes = nodes(30);
    const { h, ctx, queued, rows } = setup(consumers, 5, { rotation: { workItemMinutes: 1, pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 } });
    const budgeted = () => ({ ...ctx(), budgetEndsAt: new Date(h.clock.now().getTime() + 60_000) });
    const op = processObject('certificate', 'hpc-node-comm', undefined, budgeted());
    await drive(
      consumers,
      (async () => {
        while (!h.vault.objects.get('certificate/hpc-node-comm')!.versions[1]) await new Promise((r) => setImmediate(r));
        thumbprint = h.vault.current('certificate', 'hpc-node-comm')!.thumbprint!;
        return op;
      })(),
      () => h.clock.advance(25_000),
    );
    const rotationId = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!.rotationId;
    const firstProbed = [...consumers.probed];
    expect(firstProbed).toHaveLength(15);
    expect((await rows.list(rotationId!)).filter((r) => r.status === 'Verified')).toHaveLength(15);
    expect(queued.at(-1)).toMatchObject({ item: { kind: 'verify' }, delaySeconds: 1 });

    // The follow-up work item: the 15 nodes left first; no time to probe the verified ones again, they keep their result.
    consumers.probed.length = 0;
    const { recheckObject } = await import('../../src/core/rotor.js');
    const result = await drive(consumers, recheckObject('certificate', 'hpc-node-comm', rotationId, budgeted()), () => h.clock.advance(25_000));
    expect(consumers.probed).toHaveLength(15);
    expect(new Set(consumers.probed)).toEqual(new Set(nodes(30).map((n) => n.host).filter((host) => !firstProbed.includes(host))));
    expect(result.outcome).toBe('Rotated');
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Completed');
    const final = await rows.list(rotationId!);
    expect(final.every((r) => r.status === 'Verified')).toBe(true);
    // A carried-over result is not counted as another check; a node first left unchecked has been looked at twice.
    const checks = (host: string) => final.find((r) => r.id.endsWith(`/${host.split('.')[0]}`))!.checks;
    expect(firstProbed.map(checks)).toEqual(firstProbed.map(() => 1));
    expect(consumers.probed.map(checks)).toEqual(consumers.probed.map(() => 2));
  });
});

describe('node addresses', () => {
  const cluster = (extra: Record<string, unknown>) =>
    parseConfig({
      vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }],
      consumers: { hpcPack: [{ name: 'c1', certificate: { vault: 'hpc-kv', name: 'cert' }, headNode: { url: 'https://head.contoso.com', credentials: { vault: 'hpc-kv', name: 'cred' } }, ...extra }] },
    }).consumers.hpcPack[0]!;

  it('probe name.nodeDomain, a static entry wins (name → host:port), and without a domain the name itself', () => {
    const address = nodeAddresses(cluster({ nodeDomain: 'hpc.contoso.com', nodes: [{ name: 'CN0007', host: '10.1.2.7', port: 40003 }], port: 40002 }));
    expect(address('CN0001')).toEqual({ host: 'CN0001.hpc.contoso.com', port: 40002 });
    expect(address('cn0007')).toEqual({ host: '10.1.2.7', port: 40003 });
    expect(nodeAddresses(cluster({}))('CN0001')).toEqual({ host: 'CN0001', port: 40002 });
  });

  it('validates nodeDomain, static hosts, duplicate static names and the concurrency, naming the field', () => {
    expect(() => cluster({ nodeDomain: 'not a domain' })).toThrow(/consumers\.hpcPack\[0\]\.nodeDomain: must be a DNS suffix/);
    expect(() => cluster({ nodes: [{ name: 'a', host: 'bad host!' }] })).toThrow(/consumers\.hpcPack\[0\]\.nodes\[0\]\.host: must be a DNS name or an IP address/);
    expect(() => cluster({ nodes: [{ name: 'a', host: 'a.x' }, { name: 'A', host: 'b.x' }] })).toThrow(/consumers\.hpcPack\[0\]\.nodes\[1\]\.name: node "A" is listed twice/);
    expect(cluster({ nodes: [{ name: 'a', host: 'fd00::7' }] }).nodes[0]?.host).toBe('fd00::7');
    expect(baseConfig().verification.concurrency).toBe(64);
    expect(() => baseConfig({ verification: { concurrency: 0 } })).toThrow(/config\.verification\.concurrency/);
  });

  it('reports a node whose name does not resolve as Misconfigured (NameNotResolved), not Unreachable', () => {
    const node = { name: 'cn0042', state: 'Online', health: 'OK', host: 'cn0042.hpc.test', port: 40002 };
    const cert = { vaultUrl: 'https://hpc-kv.vault.azure.net/', name: 'c', newVersion: 'v2', newThumbprint: 'AA', oldThumbprints: ['BB'], versionCreatedAt: new Date(0) };
    const r = checkHpcPackNode('c1', node, { kind: 'unresolved', message: 'ENOTFOUND cn0042.hpc.test' }, cert, new Date(0), new Date(1));
    expect(r).toMatchObject({ status: 'Misconfigured', reason: 'NameNotResolved', id: 'hpcpack://c1/cn0042' });
    expect(r.detail).toMatch(/cn0042\.hpc\.test does not resolve.*nodeDomain.*nodes entry/);
  });
});
