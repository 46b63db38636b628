/**
 * The head node's wire shapes (HPC Pack 2019 REST API, hpcpack.yaml): the Node JSON and the query filters of
 * GET /hpc/cluster/nodes. Pure functions.
 */
import { HPC_NODE_HEALTH, HPC_NODE_STATES, type HpcNodeHealth, type HpcNodeSeed, type HpcNodeState } from './types.js';

/** The Node definition of the spec, fields in the order of its example. */
export interface NodeJson {
  ActiveServiceRoles: string[];
  Cores: number;
  Groups: string[];
  Health: HpcNodeHealth;
  HpcPackVersion: string;
  InstalledServiceRoles: string[];
  Location: string | null;
  MemorySize: number;
  Name: string;
  OnAzure: boolean;
  Roles: string[];
  Sockets: number;
  State: HpcNodeState;
  Template: string;
}

/** ASP.NET Web API's error body, which the HPC Pack web service answers errors with. */
export const webApiError = (message: string): { Message: string } => ({ Message: message });

export function nodeToWire(node: HpcNodeSeed): NodeJson {
  const roles = node.serviceRoles ?? [node.linux ? 'LinuxNode' : 'ComputeNode'];
  const groups = node.groups ?? [node.linux ? 'LinuxNodes' : 'ComputeNodes'];
  return {
    ActiveServiceRoles: roles,
    Cores: node.cores ?? 8,
    Groups: groups,
    Health: node.health ?? 'OK',
    HpcPackVersion: node.hpcPackVersion ?? '6.2.7756.0',
    InstalledServiceRoles: roles,
    Location: node.location ?? null,
    MemorySize: node.memorySize ?? 32768,
    Name: node.name,
    OnAzure: node.onAzure ?? true,
    Roles: roles,
    Sockets: node.sockets ?? 1,
    State: node.state ?? 'Online',
    Template: node.template ?? (node.linux ? 'LinuxNode Template' : 'Default ComputeNode Template'),
  };
}

export interface NodeFilter {
  names?: string[];
  /** Job ids: the emulator runs no jobs, so no node matches a job filter. */
  jobs?: number[];
  group?: string;
  state?: HpcNodeState;
  health?: HpcNodeHealth;
}

const list = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** Parses the query of GET /cluster/nodes; returns an error message naming the parameter on bad input. */
export function parseNodeFilter(query: URLSearchParams): NodeFilter | { error: string } {
  const filter: NodeFilter = {};
  const names = query.get('names');
  if (names !== null) filter.names = list(names);
  const jobs = query.get('jobs');
  if (jobs !== null) {
    const ids = list(jobs).map(Number);
    if (ids.some((id) => !Number.isInteger(id) || id < 0)) return { error: `Query parameter 'jobs' must be a comma-separated list of job ids, got '${jobs}'.` };
    filter.jobs = ids;
  }
  const group = query.get('group');
  if (group !== null) filter.group = group;
  const state = query.get('state');
  if (state !== null) {
    const match = HPC_NODE_STATES.find((s) => s.toLowerCase() === state.toLowerCase());
    if (!match) return { error: `Query parameter 'state' must be one of ${HPC_NODE_STATES.join(', ')}, got '${state}'.` };
    filter.state = match;
  }
  const health = query.get('health');
  if (health !== null) {
    const match = HPC_NODE_HEALTH.find((h) => h.toLowerCase() === health.toLowerCase());
    if (!match) return { error: `Query parameter 'health' must be one of ${HPC_NODE_HEALTH.join(', ')}, got '${health}'.` };
    filter.health = match;
  }
  return filter;
}

export function filterNodes(nodes: NodeJson[], filter: NodeFilter): NodeJson[] {
  const names = filter.names?.map((n) => n.toLowerCase());
  return nodes.filter(
    (node) =>
      (!names || names.includes(node.Name.toLowerCase())) &&
      (!filter.jobs || filter.jobs.length === 0) &&
      (!filter.group || node.Groups.some((g) => g.toLowerCase() === filter.group?.toLowerCase())) &&
      (!filter.state || node.State === filter.state) &&
      (!filter.health || node.Health === filter.health),
  );
}
