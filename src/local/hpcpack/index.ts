/**
 * The local HPC Pack cluster(s): per cluster a head node HTTPS endpoint (REST API, Basic auth) and per node a TLS
 * listener presenting the node's certificate — a loopback port per node, or, for a cluster with a nodeDomain, one
 * listener choosing the node by SNI (thousands of nodes on one port). Tests and the demo estate seed clusters, switch certificates, take
 * nodes offline or unreachable, and inject head-node faults through the HpcPackEmulator surface.
 */
import type { LocalServiceContext, LocalServiceFactory } from '../service.js';
import { Counters } from '../shared/counters.js';
import { FaultPlan } from '../shared/faults.js';
import { startHttpsServer, type RunningHttpsServer } from '../shared/server.js';
import { readStateFile, writeStateFile } from '../shared/state-file.js';
import { SETTINGS } from '../../settings.js';
import { createHeadNodeHandler } from './head-node.js';
import { NodeListener } from './node-listener.js';
import { SniListener } from './sni-listener.js';
import {
  HPC_NODE_HEALTH,
  HPC_NODE_STATES,
  type HpcClusterSeed,
  type HpcNodePatch,
  type HpcNodeSeed,
  type HpcPackEmulator,
  type HpcPackEmulatorOptions,
  type NodeCertificate,
  type NodeEndpoint,
} from './types.js';
import { nodeToWire, webApiError } from './wire.js';

export * from './types.js';
export { certificateThumbprint, createHpcPackCertificate } from './certs.js';
export type { HpcPackCertificate, HpcPackCertificateOptions } from './certs.js';

const STATE_FILE = 'hpcpack.json';

/** A node as persisted: its certificate by index into `certificates` (nodes share a few certificates). */
type PersistedNode = HpcNodeSeed & { certificateRef?: number };

interface PersistedState {
  clusters: Array<Omit<HpcClusterSeed, 'nodes'> & { nodes?: PersistedNode[] }>;
  /** Distinct node certificates (absent in state written before nodes shared them: each node held its own). */
  certificates?: NodeCertificate[];
}

interface NodeEntry {
  /** What the head node reports; `certificate` is set only when the seed or a test chose one. */
  seed: HpcNodeSeed;
  listener: NodeEndpoint;
}

interface ClusterEntry {
  name: string;
  username: string;
  password: string;
  nodes: Map<string, NodeEntry>;
  server: RunningHttpsServer;
  /** One listener for every node, by SNI (clusters with a nodeDomain). */
  sni?: SniListener | undefined;
  handshakeLatencyMs?: number | undefined;
  /** What nodes without a certificate of their own present on the SNI listener (issued once per cluster). */
  sharedCertificate?: NodeCertificate | undefined;
  faults: FaultPlan;
  counters: Counters;
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || !/^[^/?#\\\s]+$/.test(value)) {
    throw new Error(`${field} must be a non-empty name without spaces or / ? # \\, got ${JSON.stringify(value)}`);
  }
}

function checkNodeFields(field: string, node: HpcNodePatch): void {
  if (node.state !== undefined && !(HPC_NODE_STATES as readonly string[]).includes(node.state)) {
    throw new Error(`${field}.state must be one of ${HPC_NODE_STATES.join(', ')}, got "${node.state}"`);
  }
  if (node.health !== undefined && !(HPC_NODE_HEALTH as readonly string[]).includes(node.health)) {
    throw new Error(`${field}.health must be one of ${HPC_NODE_HEALTH.join(', ')}, got "${node.health}"`);
  }
}

export async function startHpcPackEmulator(
  ctx: LocalServiceContext,
  options: HpcPackEmulatorOptions = {},
): Promise<HpcPackEmulator> {
  const clusters = new Map<string, ClusterEntry>();
  const stopping = new AbortController();
  const headNodeCert = await ctx.ca.issueServerCert(['127.0.0.1', 'localhost']);

  const cluster = (name: string): ClusterEntry => {
    const entry = clusters.get(name.toLowerCase());
    if (!entry) throw new Error(`HPC Pack cluster "${name}" does not exist`);
    return entry;
  };
  const node = (clusterName: string, nodeName: string): NodeEntry => {
    const entry = cluster(clusterName).nodes.get(nodeName.toLowerCase());
    if (!entry) throw new Error(`Node "${nodeName}" does not exist in HPC Pack cluster "${clusterName}"`);
    return entry;
  };

  const addNode = async (clusterName: string, seed: HpcNodeSeed): Promise<void> => {
    const owner = cluster(clusterName);
    checkName('node.name', seed.name);
    checkNodeFields(`node ${seed.name}`, seed);
    if (owner.nodes.has(seed.name.toLowerCase())) {
      throw new Error(`Node "${seed.name}" already exists in HPC Pack cluster "${clusterName}"`);
    }
    let listener: NodeEndpoint;
    if (owner.sni) {
      if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(seed.name)) {
        throw new Error(`node.name must be a DNS label (letters, digits, hyphens) in a cluster with a nodeDomain, got "${seed.name}"`);
      }
      owner.sharedCertificate ??= await ctx.ca.issueServerCert([`*.${owner.sni.domain}`, owner.sni.domain]);
      listener = owner.sni.add(seed.name, seed.certificate ?? owner.sharedCertificate, seed.reachability ?? 'tls');
    } else {
      const certificate: NodeCertificate = seed.certificate ?? (await ctx.ca.issueServerCert([seed.name, '127.0.0.1']));
      listener = await NodeListener.start(certificate, seed.reachability ?? 'tls', ctx.preferredPorts[`${owner.name}/${seed.name}`]);
    }
    const { reachability: _reachability, ...reported } = seed;
    owner.nodes.set(seed.name.toLowerCase(), { seed: reported, listener });
  };

  const closeCluster = async (entry: ClusterEntry): Promise<void> => {
    await Promise.all([entry.server.close(), entry.sni?.close(), ...[...entry.nodes.values()].map((n) => n.listener.close())]);
  };

  const addCluster = async (seed: HpcClusterSeed): Promise<void> => {
    checkName('cluster.name', seed.name);
    if (!seed.username) throw new Error(`cluster ${seed.name}: username must not be empty`);
    if (!seed.password) throw new Error(`cluster ${seed.name}: password must not be empty`);
    if (clusters.has(seed.name.toLowerCase())) throw new Error(`HPC Pack cluster "${seed.name}" already exists`);
    const faults = new FaultPlan();
    const counters = new Counters();
    const nodes = new Map<string, NodeEntry>();
    const server = await startHttpsServer({
      certPem: headNodeCert.certPem,
      keyPem: headNodeCert.keyPem,
      preferredPort: ctx.preferredPorts[seed.name],
      handler: createHeadNodeHandler({
        username: seed.username,
        password: seed.password,
        nodes: () => [...nodes.values()].map((n) => nodeToWire(n.seed)),
        faults,
        counters,
        signal: stopping.signal,
      }),
      internalErrorBody: webApiError('An error has occurred.'),
      onError: (err) => ctx.log(`head node ${seed.name}: request failed: ${err instanceof Error ? err.message : String(err)}`),
    });
    const entry: ClusterEntry = { name: seed.name, username: seed.username, password: seed.password, nodes, server, faults, counters, handshakeLatencyMs: seed.handshakeLatencyMs };
    clusters.set(seed.name.toLowerCase(), entry);
    if (seed.nodeDomain) {
      try {
        if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(seed.nodeDomain)) {
          throw new Error(`cluster ${seed.name}: nodeDomain must be a DNS suffix, got "${seed.nodeDomain}"`);
        }
        entry.sni = await SniListener.start(seed.nodeDomain, ctx.preferredPorts[`${seed.name}/nodes`], seed.handshakeLatencyMs ?? 0);
      } catch (err) {
        clusters.delete(seed.name.toLowerCase());
        await closeCluster(entry);
        throw err;
      }
    }
    try {
      for (const n of seed.nodes ?? []) await addNode(seed.name, n);
    } catch (err) {
      clusters.delete(seed.name.toLowerCase());
      await closeCluster(entry);
      throw err;
    }
    ctx.log(
      `HPC Pack cluster ${seed.name}: head node on ${server.url}/hpc, ${nodes.size} node(s)` +
        (entry.sni ? ` on tls://*.${entry.sni.domain}:${entry.sni.port} (SNI)` : ''),
    );
  };

  /** The clusters as persisted: each distinct certificate once, nodes referring to it. */
  const snapshot = (): PersistedState => {
    const certificates: NodeCertificate[] = [];
    const refs = new Map<string, number>();
    const ref = (certificate: NodeCertificate): number => {
      let i = refs.get(certificate.certPem);
      if (i === undefined) {
        refs.set(certificate.certPem, (i = certificates.length));
        certificates.push({ certPem: certificate.certPem, keyPem: certificate.keyPem });
      }
      return i;
    };
    return {
      clusters: [...clusters.values()].map((c) => ({
        name: c.name,
        username: c.username,
        password: c.password,
        ...(c.sni ? { nodeDomain: c.sni.domain, ...(c.handshakeLatencyMs ? { handshakeLatencyMs: c.handshakeLatencyMs } : {}) } : {}),
        nodes: [...c.nodes.values()].map(({ seed, listener }) => {
          const { certificate, ...rest } = seed;
          return { ...rest, reachability: listener.mode, ...(certificate ? { certificateRef: ref(certificate) } : {}) };
        }),
      })),
      certificates,
    };
  };

  /** Seeds from persisted state (either format), sharing one object per distinct certificate. */
  const restore = (state: PersistedState): HpcClusterSeed[] => {
    const interned = new Map<string, NodeCertificate>();
    const intern = (c: NodeCertificate): NodeCertificate => {
      const known = interned.get(c.certPem);
      if (known) return known;
      interned.set(c.certPem, c);
      return c;
    };
    return state.clusters.map((c) => ({
      ...c,
      nodes: (c.nodes ?? []).map(({ certificateRef, ...node }) => {
        const certificate = certificateRef !== undefined ? state.certificates?.[certificateRef] : node.certificate;
        return { ...node, ...(certificate ? { certificate: intern(certificate) } : {}) };
      }),
    }));
  };

  const stopAll = async (): Promise<void> => {
    stopping.abort();
    await Promise.all([...clusters.values()].map(closeCluster));
    clusters.clear();
  };

  try {
    const persisted = await readStateFile<PersistedState>(ctx.stateDir, STATE_FILE);
    for (const seed of persisted ? restore(persisted) : (options.clusters ?? [])) await addCluster(seed);
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    name: 'hpcpack',
    settings() {
      // Names of the SNI clusters' nodes resolve to loopback, except those seeded as missing from DNS.
      const sni = [...clusters.values()].filter((c) => c.sni);
      if (!sni.length) return {};
      const zones = Object.fromEntries(sni.map((c) => [c.sni!.domain, '127.0.0.1']));
      const unresolved = sni.flatMap((c) => [...c.nodes.values()].filter((n) => n.seed.dns === false).map((n) => n.listener.host));
      return { [SETTINGS.localHosts.name]: JSON.stringify({ zones, unresolved }) };
    },
    endpoints() {
      const out: Record<string, string> = {};
      for (const c of clusters.values()) {
        out[`HPC Pack ${c.name} head node`] = `${c.server.url}/hpc`;
        if (c.sni) out[`HPC Pack ${c.name} nodes (${c.nodes.size}, SNI)`] = `tls://<node>.${c.sni.domain}:${c.sni.port}`;
        else for (const n of c.nodes.values()) out[`HPC Pack ${c.name}/${n.seed.name}`] = `tls://${n.listener.host}:${n.listener.port}`;
      }
      return out;
    },
    ports() {
      const out: Record<string, number> = {};
      for (const c of clusters.values()) {
        out[c.name] = c.server.port;
        if (c.sni) out[`${c.name}/nodes`] = c.sni.port;
        else for (const n of c.nodes.values()) out[`${c.name}/${n.seed.name}`] = n.listener.port;
      }
      return out;
    },
    headNodeUrl: (name) => `${cluster(name).server.url}/hpc`,
    addCluster,
    addNode,
    updateNode(clusterName, nodeName, patch) {
      checkNodeFields('patch', patch);
      const entry = node(clusterName, nodeName);
      entry.seed = { ...entry.seed, ...patch };
    },
    takeOffline(clusterName, nodeName) {
      const entry = node(clusterName, nodeName);
      entry.seed = { ...entry.seed, state: 'Offline' };
    },
    setNodeCertificate(clusterName, nodeName, certificate) {
      const entry = node(clusterName, nodeName);
      entry.listener.setCertificate(certificate);
      entry.seed = { ...entry.seed, certificate };
    },
    setNodeReachability: (clusterName, nodeName, reachability) => node(clusterName, nodeName).listener.setReachability(reachability),
    nodeAddress(clusterName, nodeName) {
      const { listener } = node(clusterName, nodeName);
      return { host: listener.host, port: listener.port };
    },
    setFaults: (name, faults) => cluster(name).faults.set(faults),
    clearFaults: (name) => cluster(name).faults.clear(),
    counters: (name) => cluster(name).counters.snapshot(),
    resetCounters: () => clusters.forEach((c) => c.counters.reset()),
    save: () => writeStateFile(ctx.stateDir, STATE_FILE, snapshot()),
    stop: stopAll,
  };
}

/** The stack's factory: `services: { hpcpack: hpcPackEmulator({ clusters }) }`. */
export function hpcPackEmulator(options: HpcPackEmulatorOptions = {}): LocalServiceFactory<HpcPackEmulator> {
  return (ctx) => startHpcPackEmulator(ctx, options);
}
