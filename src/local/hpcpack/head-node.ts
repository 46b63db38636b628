/**
 * The head node's REST endpoint (basePath /hpc): GET /cluster/nodes with the spec's filters and GET
 * /cluster/nodes/{name}, behind HTTP Basic auth, with injectable faults.
 */
import type { Counters } from '../shared/counters.js';
import type { FaultPlan } from '../shared/faults.js';
import { secretEquals } from '../shared/secrets.js';
import { decodeSegment, delay, isAbortError, sendJson, type RequestHandler } from '../shared/server.js';
import { filterNodes, parseNodeFilter, webApiError, type NodeJson } from './wire.js';

export interface HeadNodeDeps {
  username: string;
  password: string;
  /** The cluster's nodes as the head node reports them. */
  nodes: () => NodeJson[];
  faults: FaultPlan;
  counters: Counters;
  signal: AbortSignal;
}

/** True when an `Authorization: Basic ...` header carries exactly the configured credentials. */
export function basicAuthMatches(header: string | undefined, username: string, password: string): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Evaluate both comparisons so the time taken does not tell which part was wrong.
  const userOk = secretEquals(decoded.slice(0, colon), username);
  const passwordOk = secretEquals(decoded.slice(colon + 1), password);
  return userOk && passwordOk;
}

export function createHeadNodeHandler(deps: HeadNodeDeps): RequestHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'https://head-node');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeSegment);
    if (!basicAuthMatches(req.headers.authorization, deps.username, deps.password)) {
      deps.counters.increment('unauthorized');
      sendJson(res, 401, webApiError('Authorization has been denied for this request.'), {
        'www-authenticate': 'Basic realm="HPC Pack"',
      });
      return;
    }
    const isNodes = segments.length >= 3 && segments.length <= 4 && segments.slice(0, 3).join('/').toLowerCase() === 'hpc/cluster/nodes';
    if (!isNodes) {
      sendJson(res, 404, webApiError(`No HTTP resource was found that matches the request URI '${url.pathname}'.`));
      return;
    }
    if (req.method !== 'GET') {
      sendJson(res, 405, webApiError(`The requested resource does not support http method '${req.method ?? ''}'.`));
      return;
    }
    const op = segments.length === 3 ? 'nodes.list' : 'nodes.get';
    deps.counters.increment(op);
    try {
      await delay(deps.faults.latencyMs(), deps.signal);
    } catch (err) {
      if (isAbortError(err)) {
        res.destroy();
        return;
      }
      throw err;
    }
    const decision = deps.faults.decide();
    if (decision.kind === 'hang') {
      deps.counters.increment('faults.hang');
      return;
    }
    if (decision.kind === 'throttle') {
      deps.counters.increment('faults.throttled');
      sendJson(res, 429, webApiError('Too many requests.'), decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) });
      return;
    }
    if (decision.kind === 'serverError') {
      deps.counters.increment('faults.serverError');
      sendJson(res, decision.status, webApiError('An error has occurred.'));
      return;
    }

    if (op === 'nodes.get') {
      const name = segments[3]?.toLowerCase();
      const node = deps.nodes().find((n) => n.Name.toLowerCase() === name);
      if (node) sendJson(res, 200, node);
      else sendJson(res, 404, webApiError(`Node ${segments[3] ?? ''} was not found.`));
      return;
    }
    const filter = parseNodeFilter(url.searchParams);
    if ('error' in filter) {
      sendJson(res, 400, webApiError(filter.error));
      return;
    }
    sendJson(res, 200, filterNodes(deps.nodes(), filter));
  };
}
