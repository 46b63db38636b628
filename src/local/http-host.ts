/**
 * A small local stand-in for the Functions host's HTTP front end: serves HTTP functions on 127.0.0.1 through the
 * same handler code the function app registers. Each node:http request becomes an @azure/functions HttpRequest
 * (route parameters from `{param}` segments of the route, under /api/ as the host does), the handler runs with a
 * real InvocationContext, and its HttpResponseInit is mapped back through the library's HttpResponse (so jsonBody,
 * headers and status behave as in Azure).
 *
 * Function keys are not checked locally: any `code` parameter is passed through and ignored — the listener only
 * binds loopback. In Azure the host checks keys (authLevel 'function') and App Service Authentication can require
 * Entra ID in front of it (docs/audit-api.md).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import functions from '@azure/functions';
import type { HttpFunctionOptions, HttpRequest, HttpResponse, HttpResponseInit, InvocationContext } from '@azure/functions';
import { invocationContext, type LogSink } from './functions-host.js';
import { listenOnLoopback } from './shared/server.js';

export interface HttpRoute {
  readonly name: string;
  readonly options: HttpFunctionOptions;
}

export interface HttpHost {
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:7071 */
  readonly url: string;
  stop(): Promise<void>;
}

interface CompiledRoute {
  readonly route: HttpRoute;
  readonly segments: readonly { literal?: string; param?: string }[];
  readonly methods: readonly string[];
  /** Literal segments first: /audit/verify wins over /audit/{anything}. */
  readonly specificity: number;
}

const MAX_BODY = 1024 * 1024;

function compile(route: HttpRoute): CompiledRoute {
  const template = route.options.route ?? route.name;
  const segments = template
    .split('/')
    .filter(Boolean)
    .map((s) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}$/.exec(s);
      return m ? { param: m[1] as string } : { literal: s.toLowerCase() };
    });
  return {
    route,
    segments,
    methods: (route.options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
    specificity: segments.filter((s) => s.literal !== undefined).length,
  };
}

/** Matches `/api/<route>` paths; returns the route and its parameters (decoded). */
export function matchRoute(routes: readonly CompiledRoute[], pathname: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
  if (!pathname.startsWith('/api/')) return undefined;
  const raw = pathname.slice(5).split('/').filter((s, i, all) => s !== '' || i < all.length - 1);
  let decoded: string[];
  try {
    decoded = raw.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  for (const route of routes) {
    if (route.segments.length !== decoded.length) continue;
    const params: Record<string, string> = {};
    const ok = route.segments.every((seg, i) => {
      const value = decoded[i] as string;
      if (seg.literal !== undefined) return value.toLowerCase() === seg.literal;
      if (!value) return false;
      params[seg.param as string] = value;
      return true;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function send(res: ServerResponse, init: HttpResponseInit | HttpResponse): Promise<void> {
  const response = init instanceof functions.HttpResponse ? init : new functions.HttpResponse(init);
  const body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}

function plain(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...extra });
  res.end(message);
}

export async function startHttpHost(options: { routes: readonly HttpRoute[]; port?: number; log?: LogSink }): Promise<HttpHost> {
  const log: LogSink = options.log ?? (() => undefined);
  const routes = options.routes.map(compile).sort((a, b) => b.specificity - a.specificity);
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      const match = matchRoute(routes, url.pathname);
      if (!match) return plain(res, 404, `no function serves ${url.pathname}`);
      const method = (req.method ?? 'GET').toUpperCase();
      if (!match.route.methods.includes(method)) return plain(res, 405, `${method} is not allowed`, { allow: match.route.methods.join(', ') });
      const body = await readBody(req);
      const request: HttpRequest = new functions.HttpRequest({
        method,
        url: url.toString(),
        headers: headersOf(req),
        params: match.params,
        ...(body.length ? { body: { bytes: body } } : {}),
      });
      const name = match.route.route.name;
      const context: InvocationContext = invocationContext(name, log);
      try {
        const result = await match.route.route.options.handler(request, context);
        await send(res, result ?? { status: 204 });
      } catch (err) {
        log('error', name, `unhandled error: ${err instanceof Error ? err.message : String(err)}`);
        // The host answers 500 without details.
        plain(res, 500, 'internal error');
      }
    })().catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent) plain(res, status, status === 413 ? 'request body too large' : 'internal error');
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
