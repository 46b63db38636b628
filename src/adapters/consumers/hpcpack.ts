/**
 * HPC Pack clusters: nodes from the head node's REST API (GET /hpc/cluster/nodes, HTTPS, Basic auth with
 * credentials read from a Key Vault secret) and/or a static list, and a real TLS handshake with each node's node
 * manager to read the certificate it presents. Credentials are used for the request and nowhere else.
 */
import { request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import type { HpcPackClusterConfig } from '../../core/config.js';
import type { HpcPackNodeModel, TlsProbeResult } from '../../core/consumers.js';
import { GatewayError } from '../../core/ports.js';
import { currentDeadline } from '../deadline.js';
import { retryAfterMs, throttleDecision, type ThrottleRetryOptions } from '../throttling.js';

export interface HeadNodeCredentials {
  readonly username: string;
  readonly password: string;
}

/** "user:password" or {"username": "...", "password": "..."}. Never echoes the value in an error. */
export function parseCredentials(value: string, where: string): HeadNodeCredentials {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    try {
      const j = JSON.parse(trimmed) as { username?: unknown; password?: unknown };
      if (typeof j.username === 'string' && typeof j.password === 'string' && j.username) return { username: j.username, password: j.password };
    } catch {
      // fall through to the error below
    }
    throw new GatewayError('BadRequest', `${where}: JSON credentials need string fields "username" and "password"`);
  }
  const i = trimmed.indexOf(':');
  if (i <= 0) throw new GatewayError('BadRequest', `${where}: expected "username:password" or JSON with username and password`);
  return { username: trimmed.slice(0, i), password: trimmed.slice(i + 1) };
}

const text = (v: unknown): string => (typeof v === 'string' && v ? v : 'Unknown');

interface NodeJson {
  Name?: unknown;
  State?: unknown;
  Health?: unknown;
}

function getJson(url: URL, auth: HeadNodeCredentials, ca: string | undefined, timeoutMs: number): Promise<{ status: number; body: string; retryAfter?: number | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: {
          Accept: 'application/json',
          Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
        },
        ...(ca ? { ca } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            retryAfter: retryAfterMs({ get: (n) => (res.headers[n] as string | undefined) ?? undefined }),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new GatewayError('Timeout', `head node ${url.host} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Where each node is probed: a static `nodes` entry (name → host:port) wins; else `<name>.<nodeDomain>` when the
 * cluster has a nodeDomain; else the name itself. The port defaults to the cluster's node manager port.
 */
export function nodeAddresses(cluster: Pick<HpcPackClusterConfig, 'nodes' | 'nodeDomain' | 'port'>): (name: string) => { host: string; port: number } {
  const statics = new Map(cluster.nodes.map((n) => [n.name.toLowerCase(), n]));
  const domain = cluster.nodeDomain?.replace(/^\.+|\.+$/g, '');
  return (name) => {
    const s = statics.get(name.toLowerCase());
    return { host: s?.host ?? (domain ? `${name}.${domain}` : name), port: s?.port ?? cluster.port };
  };
}

export class HpcPackClusters {
  constructor(
    private readonly readSecret: (vault: string, name: string) => Promise<string>,
    private readonly ca: string | undefined,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly requestTimeoutMs = 10_000,
    private readonly throttle: ThrottleRetryOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  async nodes(cluster: HpcPackClusterConfig): Promise<HpcPackNodeModel[]> {
    const address = nodeAddresses(cluster);
    if (!cluster.headNode) {
      return cluster.nodes.map((n) => ({ name: n.name, state: 'Online', health: 'Unknown', ...address(n.name) }));
    }
    const where = `secret ${cluster.headNode.credentials.vault}/${cluster.headNode.credentials.name}`;
    const credentials = parseCredentials(await this.readSecret(cluster.headNode.credentials.vault, cluster.headNode.credentials.name), where);
    const url = new URL(`${cluster.headNode.url.replace(/\/+$/, '').replace(/\/hpc$/i, '')}/hpc/cluster/nodes`);
    let throttled = 0;
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      let response: Awaited<ReturnType<typeof getJson>>;
      try {
        response = await getJson(url, credentials, cluster.headNode.caCertificate ?? this.ca, this.requestTimeoutMs);
      } catch (err) {
        if (attempt - throttled < 2) {
          await this.sleep(500 * 2 ** (attempt - throttled));
          continue;
        }
        if (err instanceof GatewayError) throw err;
        throw new GatewayError('Unavailable', `head node ${url.host}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (response.status === 200) {
        let list: unknown;
        try {
          list = JSON.parse(response.body);
        } catch {
          throw new GatewayError('Unknown', `head node ${url.host} answered with a body that is not JSON`);
        }
        if (!Array.isArray(list)) throw new GatewayError('Unknown', `head node ${url.host} did not return a node list`);
        return (list as NodeJson[]).flatMap((n) =>
          typeof n.Name === 'string' ? [{ name: n.Name, state: text(n.State), health: text(n.Health), ...address(n.Name) }] : [],
        );
      }
      if (response.status === 401 || response.status === 403) {
        throw new GatewayError('Unauthorized', `head node ${url.host} refused the credentials from ${where} (HTTP ${response.status})`, response.status);
      }
      if (response.status === 429) {
        // Like the SDK clients' throttleRetryPolicy: Retry-After when given, else full-jitter backoff, in budget.
        const now = Date.now();
        const decision = throttleDecision(throttled++, waited, response.retryAfter, this.throttle, this.random, now, currentDeadline());
        if (decision.retry) {
          await this.sleep(decision.delayMs);
          waited += decision.delayMs;
          continue;
        }
        throw new GatewayError('Throttled', `head node ${url.host} answered HTTP 429 (${decision.why})`, 429);
      }
      if (response.status >= 500 && attempt - throttled < 2) {
        await this.sleep(response.retryAfter ?? 500 * 2 ** (attempt - throttled));
        continue;
      }
      throw new GatewayError(response.status >= 500 ? 'Unavailable' : 'Unknown', `head node ${url.host} answered HTTP ${response.status}`, response.status);
    }
  }
}

/** Resolver errors: the name does not resolve (as opposed to a host that does not answer). */
const UNRESOLVED_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'EAI_FAIL', 'ENODATA']);

export interface TlsProbeOptions {
  /** Name resolution (default: the system resolver, dns.lookup); the local stack injects its own. */
  readonly lookup?: LookupFunction | undefined;
}

/**
 * A real TLS handshake: returns the SHA-1 thumbprint (upper-case hex) of the certificate the peer presents. The
 * peer is not authenticated — Rotor only reads which certificate it presents. The timeout covers name resolution,
 * connection and handshake; a name that does not resolve is reported as such (`unresolved`), not as a failure.
 */
/**
 * One TLS context for every probe: a probe presents no certificate and authenticates no peer, so nothing differs
 * between them, and building a context per connection cost ~0.4 ms of CPU each (a tenth of Rotor's CPU per node at
 * 10,000 nodes in the verify benchmark).
 */
let probeContext: SecureContext | undefined;

export function probeTls(host: string, port: number, timeoutMs: number, options: TlsProbeOptions = {}): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: TlsProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect(
      {
        host,
        port,
        rejectUnauthorized: false,
        secureContext: (probeContext ??= createSecureContext()),
        ...(isIP(host) ? {} : { servername: host }),
        ...(options.lookup ? { lookup: options.lookup } : {}),
      },
      () => {
        const cert = socket.getPeerX509Certificate();
        finish(cert ? { kind: 'presented', thumbprint: cert.fingerprint.replaceAll(':', '').toUpperCase() } : { kind: 'failed', message: 'no certificate presented' });
      },
    );
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      finish(UNRESOLVED_CODES.has(code) ? { kind: 'unresolved', message: `${code} ${host}` } : { kind: 'failed', message: code || err.message });
    });
  });
}
