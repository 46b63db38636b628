/**
 * The HTTP side of the ARM emulator: bearer authentication, routing, api-version checks, per-provider faults,
 * counters, paging through nextLink, and ARM's error bodies.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counters } from '../shared/counters.js';
import type { FaultPlan } from '../shared/faults.js';
import { secretEquals } from '../shared/secrets.js';
import { decodeSegment, delay, isAbortError, sendJson, type RequestHandler } from '../shared/server.js';
import type { CacheKeyRotation } from './rotation.js';
import { API_VERSIONS, matchRoute, type Route } from './routes.js';
import type { ArmStore } from './store.js';
import type { ArmProvider } from './types.js';
import { armError } from './wire.js';

export interface ArmHandlerDeps {
  store: ArmStore;
  rotation: CacheKeyRotation;
  faults: ReadonlyMap<ArmProvider, FaultPlan>;
  counters: Counters;
  token: string;
  /** The emulator's own URL (nextLinks point back to it). */
  baseUrl: () => string;
  pageSize: number;
  /** Fires when the emulator stops: pending latency ends and the request is dropped. */
  signal: AbortSignal;
  /** Serves `/_rotor/...` (already authenticated); gets the path segments after `_rotor`. */
  control: (req: IncomingMessage, res: ServerResponse, segments: string[]) => Promise<void>;
}

const SERVER_ERROR_CODES: Record<number, string> = {
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** Returns an ARM 401 error body when the request lacks `Authorization: Bearer <token>`, else undefined. */
export function checkBearer(header: string | undefined, token: string): { code: string; message: string } | undefined {
  if (!header) {
    return { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." };
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1] || !secretEquals(match[1], token)) {
    return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
  }
  return undefined;
}

type Page = { body: Record<string, unknown> } | { error: { code: string; message: string } };

function parseCount(value: string | null, name: string, min: number, max: number): number | string | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : `The value '${value}' of query parameter '${name}' is invalid.`;
}

/** One page of a list and, when more remain, a nextLink carrying the same query plus `$skiptoken`. */
export function paginate(items: unknown[], url: URL, route: Route, defaultPageSize: number): Page {
  for (const unsupported of ['$filter', '$select', '$expand']) {
    if (url.searchParams.has(unsupported)) {
      return { error: { code: 'InvalidQueryParameter', message: `The local ARM emulator does not support '${unsupported}'.` } };
    }
  }
  const skip = parseCount(url.searchParams.get('$skiptoken'), '$skiptoken', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const top = route.maxResults ? parseCount(url.searchParams.get('maxresults'), 'maxresults', 1, 1000) : undefined;
  if (typeof skip === 'string') return { error: { code: 'InvalidSkipToken', message: skip } };
  if (typeof top === 'string') return { error: { code: 'InvalidQueryParameterValue', message: top } };
  const size = top ?? defaultPageSize;
  const body: Record<string, unknown> = { value: items.slice(skip, skip + size) };
  if (skip + size < items.length) {
    const next = new URL(url);
    next.searchParams.set('$skiptoken', String(skip + size));
    body['nextLink'] = next.toString();
  }
  return { body };
}

export function createArmHandler(deps: ArmHandlerDeps): RequestHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', deps.baseUrl());
    const segments = url.pathname.split('/').filter(Boolean).map(decodeSegment);
    const headers: Record<string, string> = {
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': req.headers['x-ms-correlation-request-id']?.toString() ?? randomUUID(),
    };
    const fail = (status: number, code: string, message: string, extra: Record<string, string> = {}): void =>
      sendJson(res, status, armError(code, message), { ...headers, ...extra });

    const denied = checkBearer(req.headers.authorization, deps.token);
    if (denied) {
      deps.counters.increment('unauthorized');
      fail(401, denied.code, denied.message, {
        'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${denied.message}"`,
      });
      return;
    }
    if (segments[0] === '_rotor') {
      await deps.control(req, res, segments.slice(1));
      return;
    }
    const match = matchRoute(segments);
    if (!match) {
      fail(404, 'NotFound', `The local ARM emulator serves no resource at '${url.pathname}'.`);
      return;
    }
    const { route, params } = match;
    if (req.method !== 'GET') {
      fail(405, 'MethodNotAllowed', `The local ARM emulator serves reads only; ${req.method ?? ''} is not supported for ${route.op}.`);
      return;
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      fail(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      return;
    }
    const supported = API_VERSIONS[route.provider];
    if (!supported.includes(apiVersion)) {
      fail(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for API version '${apiVersion}' of '${route.provider}'. ` +
          `The supported api-versions are '${supported.join(', ')}'.`,
      );
      return;
    }

    deps.counters.increment(route.op);
    const plan = deps.faults.get(route.provider);
    try {
      await delay(plan?.latencyMs() ?? 0, deps.signal);
    } catch (err) {
      if (isAbortError(err)) {
        res.destroy();
        return;
      }
      throw err;
    }
    const decision = plan?.decide() ?? { kind: 'none' };
    switch (decision.kind) {
      case 'hang':
        // Never answer: the client's timeout fires; stop() destroys the socket.
        deps.counters.increment('faults.hang');
        return;
      case 'throttle':
        deps.counters.increment('faults.throttled');
        fail(429, 'TooManyRequests', `The request of ${route.op} is being throttled; retry after the Retry-After interval.`, {
          ...(decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) }),
        });
        return;
      case 'serverError':
        deps.counters.increment('faults.serverError');
        fail(decision.status, SERVER_ERROR_CODES[decision.status] ?? 'InternalServerError', `Injected fault: ${route.op} failed.`);
        return;
      case 'none':
        break;
    }

    if (route.provider === 'Microsoft.StorageCache') deps.rotation.applyDue();
    const result = route.run(deps.store, params);
    if (result.kind === 'error') {
      fail(result.status, result.code, result.message);
    } else if (result.kind === 'item') {
      sendJson(res, 200, result.body, { ...headers, ...result.headers });
    } else {
      const page = paginate(result.items, url, route, deps.pageSize);
      if ('error' in page) fail(400, page.error.code, page.error.message);
      else sendJson(res, 200, page.body, headers);
    }
  };
}
