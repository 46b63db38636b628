/**
 * The HTTPS endpoint of one vault on 127.0.0.1. Per request: the bearer challenge (answered before the body is read:
 * the SDK's first request carries none), then either the control API (/_rotor/...) or a Key Vault operation:
 * api-version check, route, request counter, latency, body, injected faults and budgets, handler. Errors leave as
 * Key Vault error bodies. Paths are accepted with or without a trailing slash.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IssuedServerCert } from '../ca.js';
import type { OperationResult } from './context.js';
import { badParameter, KeyVaultError } from './errors.js';
import { matchRoute } from './router.js';
import type { Vault } from './vault.js';
import { parseJsonBody } from './wire.js';

/** Tenant named in the challenge (the local stack has no Entra ID; any GUID works for the SDK). */
const LOCAL_TENANT = '00000000-0000-0000-0000-000000000000';
const CHALLENGE = `Bearer authorization="https://login.microsoftonline.com/${LOCAL_TENANT}", resource="https://vault.azure.net"`;
const SUPPORTED_API_VERSION = /^(2025-07-01|2025-06-01|7\.\d+(-preview(\.\d+)?)?)$/;
const LATEST_API_VERSION = '2025-07-01';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export type ControlHandler = (vault: Vault, method: string, segments: readonly string[], body: string) => Promise<OperationResult>;

export interface VaultServerOptions {
  readonly token: string;
  readonly tls: IssuedServerCert;
  /** Port to try first (the one a persistent stack used last time); a free one otherwise. */
  readonly preferredPort: number | undefined;
  readonly control: ControlHandler;
}

/** Headers every Key Vault response carries (BEHAVIOURS.md 28), with the local stack's values. */
const STANDARD_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache',
  pragma: 'no-cache',
  expires: '-1',
  'strict-transport-security': 'max-age=31536000;includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-ms-keyvault-region': 'local',
  'x-ms-keyvault-service-version': 'rotor-local',
  'x-ms-keyvault-network-info': 'conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;',
};

function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const clientRequestId = req.headers['x-ms-client-request-id'];
  const common = {
    ...STANDARD_HEADERS,
    'x-ms-request-id': randomUUID(),
    ...(typeof clientRequestId === 'string' ? { 'x-ms-client-request-id': clientRequestId.slice(0, 128) } : {}),
  };
  // A 204 has neither body nor Content-Type, as in Key Vault.
  if (status === 204 || body === undefined) {
    res.writeHead(status, { ...common, ...headers });
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...common,
    ...headers,
  });
  res.end(payload);
}

function unauthorized(message: string): KeyVaultError {
  return new KeyVaultError(401, 'Unauthorized', message, { 'WWW-Authenticate': CHALLENGE });
}

function checkToken(req: IncomingMessage, token: string): void {
  const header = req.headers.authorization;
  if (!header) throw unauthorized('AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.');
  const match = /^Bearer\s+(.+)$/i.exec(header);
  const given = Buffer.from(match?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw unauthorized('AKV10022: Invalid token: it is not the token of this local stack.');
  }
}

function checkApiVersion(query: URLSearchParams): void {
  const version = query.get('api-version');
  if (!version) throw badParameter(`The 'api-version' query parameter is missing. The latest supported version is ${LATEST_API_VERSION}.`);
  if (!SUPPORTED_API_VERSION.test(version)) {
    throw badParameter(`The specified version (${version.slice(0, 40)}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KeyVaultError(413, 'RequestTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function pathSegments(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw badParameter('The request path is not valid percent-encoding.');
  }
}

async function handle(vault: Vault, options: VaultServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  try {
    try {
      checkToken(req, options.token);
    } catch (err) {
      vault.count('unauthorized');
      throw err;
    }
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const segments = pathSegments(url.pathname);
    if (segments[0] === '_rotor') {
      const result = await options.control(vault, method, segments.slice(1), await readBody(req));
      return send(req, res, result.status, result.body);
    }
    checkApiVersion(url.searchParams);
    const match = matchRoute(method, segments);
    if (!match) {
      throw new KeyVaultError(501, 'NotImplemented', `The local Key Vault endpoint does not implement ${method} ${url.pathname}.`);
    }
    const { route, params } = match;
    vault.count(route.operation);
    if (vault.faults.latencyMs > 0) await sleep(vault.faults.latencyMs);
    const request = {
      params,
      query: url.searchParams,
      body: parseJsonBody(await readBody(req)),
      path: `/${segments.join('/')}`,
    };
    const fault = vault.faults.decide(route.cost(vault, request));
    if (fault) {
      vault.count(fault.status === 429 ? 'throttled' : 'serverError');
      throw fault;
    }
    const result = await route.handler(vault, request);
    send(req, res, result.status, result.body, result.headers);
  } catch (err) {
    if (err instanceof KeyVaultError) return send(req, res, err.status, err.body(), err.headers);
    vault.count('serverError');
    vault.log(`${method} ${req.url?.split('?')[0] ?? ''} failed: ${(err as Error)?.stack?.split('\n')[0] ?? String(err)}`);
    send(req, res, 500, new KeyVaultError(500, 'InternalServerError', 'The local Key Vault endpoint failed; see its log.').body());
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (port !== 0 && err.code === 'EADDRINUSE') resolve(listen(server, 0));
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** Starts the vault's HTTPS server and records its port on the vault. */
export async function startVaultServer(vault: Vault, options: VaultServerOptions): Promise<Server> {
  const server = createServer({ key: options.tls.keyPem, cert: options.tls.certPem }, (req, res) => {
    void handle(vault, options, req, res);
  });
  vault.port = await listen(server, options.preferredPort ?? 0);
  return server;
}

/** Closes the server and every open (keep-alive) connection. */
export function stopVaultServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
