/**
 * Public surface of the local HPC Pack cluster: a head node REST endpoint (HPC Pack 2019 REST API, `/hpc/cluster/
 * nodes`) with HTTP Basic auth, and one real TLS listener per node presenting the node's certificate (the node
 * manager's port, 40002 on Linux nodes; a free loopback port here).
 */
import type { LocalService } from '../service.js';
import type { FaultOptions } from '../shared/faults.js';

export type { FaultOptions } from '../shared/faults.js';

export const HPC_NODE_STATES = [
  'Unknown',
  'Provisioning',
  'Offline',
  'Starting',
  'Online',
  'Draining',
  'Rejected',
  'Removing',
  'NotDeployed',
  'Stopping',
] as const;
export type HpcNodeState = (typeof HPC_NODE_STATES)[number];

export const HPC_NODE_HEALTH = ['OK', 'Warning', 'Error', 'Transitional', 'Unapproved'] as const;
export type HpcNodeHealth = (typeof HPC_NODE_HEALTH)[number];

export type HpcNodeServiceRole =
  | 'HeadNode'
  | 'ComputeNode'
  | 'BrokerNode'
  | 'WorkstationNode'
  | 'AzureWorkerNode'
  | 'AzureVMNode'
  | 'UnManagedResource'
  | 'LinuxNode'
  | 'AzureBatchNode'
  | 'NonDomainComputeNode';

/** The certificate a node's listener presents (e.g. the HPC Pack node-communication certificate). */
export interface NodeCertificate {
  certPem: string;
  /** PKCS#8 or PKCS#1 PEM. Never logged. */
  keyPem: string;
}

/**
 * How a node's listener behaves:
 * - `tls`: completes TLS handshakes with the node's certificate;
 * - `stall`: accepts TCP connections but never answers, so a client's handshake timeout fires;
 * - `closed`: turns every connection away at once (TCP reset); the node keeps its address, so no other node can
 *   take it over.
 */
export type NodeReachability = 'tls' | 'stall' | 'closed';

export interface HpcNodeSeed {
  /** Node name (NetBIOS-style, matched case-insensitively like Windows names). */
  name: string;
  /** Default Online. */
  state?: HpcNodeState;
  /** Default OK. */
  health?: HpcNodeHealth;
  /** Default "Default ComputeNode Template" (or "LinuxNode Template" for Linux nodes). */
  template?: string;
  /** Default false. */
  linux?: boolean;
  groups?: string[];
  /** Default ["ComputeNode"] (["LinuxNode"] for Linux nodes). */
  serviceRoles?: HpcNodeServiceRole[];
  cores?: number;
  sockets?: number;
  memorySize?: number;
  hpcPackVersion?: string;
  onAzure?: boolean;
  location?: string | null;
  /** The certificate the node's listener presents; without one the node presents a certificate from the stack CA. */
  certificate?: NodeCertificate;
  /** Default tls. */
  reachability?: NodeReachability;
  /**
   * Whether the node's DNS name resolves (default true). Only for clusters with a nodeDomain: a node whose name is
   * missing from DNS, so that Rotor reports it as NameNotResolved (ROTOR_LOCAL_HOSTS lists it as unresolved).
   */
  dns?: boolean;
}

export interface HpcClusterSeed {
  /** Cluster name (the head node's host name in Azure). */
  name: string;
  /** HTTP Basic credentials the head node accepts. The password is never logged. */
  username: string;
  password: string;
  /**
   * Serve every node on one TLS listener that picks the node by SNI, the node's name being `<name>.<nodeDomain>`
   * (resolved by Rotor through ROTOR_LOCAL_HOSTS): thousands of nodes on one port, started in milliseconds, nodes
   * without a certificate of their own sharing one. Without it each node has a loopback port of its own.
   */
  nodeDomain?: string;
  /** SNI clusters: delay before a node answers a handshake (an emulated network round trip), ms. Default 0. */
  handshakeLatencyMs?: number;
  nodes?: HpcNodeSeed[];
}

export interface HpcPackEmulatorOptions {
  /** Clusters to create at start (only when the state folder holds none yet). */
  clusters?: HpcClusterSeed[];
}

/** Where a node's listener is: 127.0.0.1 and its own port, or `<name>.<nodeDomain>` and the cluster's SNI port. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** A node's listener, whichever the cluster uses (a port per node, or one SNI listener for the cluster). */
export interface NodeEndpoint extends NodeAddress {
  readonly mode: NodeReachability;
  setCertificate(certificate: NodeCertificate): void;
  setReachability(reachability: NodeReachability): Promise<void>;
  close(): Promise<void>;
}

export type HpcNodePatch = Partial<Omit<HpcNodeSeed, 'name' | 'certificate' | 'reachability'>>;

export interface HpcPackEmulator extends LocalService {
  /** `https://127.0.0.1:<port>/hpc` (no trailing slash): the REST API base URL of a cluster's head node. */
  headNodeUrl(cluster: string): string;
  /** Creates a cluster (its head node listens at once). Throws when the name is taken. */
  addCluster(seed: HpcClusterSeed): Promise<void>;
  /** Adds a node to a cluster (its listener starts at once). Throws when the name is taken. */
  addNode(cluster: string, node: HpcNodeSeed): Promise<void>;
  /** Changes what the head node reports about a node (State, Health, ...). */
  updateNode(cluster: string, node: string, patch: HpcNodePatch): void;
  /** Takes a node offline in the head node's view (State Offline); its listener is unchanged. */
  takeOffline(cluster: string, node: string): void;
  /** Switches the certificate a node presents (new handshakes only, as a node that re-binds its certificate). */
  setNodeCertificate(cluster: string, node: string, certificate: NodeCertificate): void;
  /** Makes a node's listener complete handshakes, stall, or refuse connections. */
  setNodeReachability(cluster: string, node: string, reachability: NodeReachability): Promise<void>;
  /** The loopback address of a node's listener (the node manager's port locally). */
  nodeAddress(cluster: string, node: string): NodeAddress;
  /** Merges faults into a head node's (latency, 5xx share, 429 share, hang). */
  setFaults(cluster: string, faults: FaultOptions): void;
  clearFaults(cluster: string): void;
  /** Requests per operation ("nodes.list", "nodes.get", "unauthorized", "faults.hang", ...), per cluster. */
  counters(cluster: string): Record<string, number>;
  resetCounters(): void;
}
