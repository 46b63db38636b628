/**
 * Maps errors of the Azure SDK clients (RestError and transport errors) to the core's GatewayError, in one place.
 * Messages are Azure's own error messages, which never contain secret values.
 */
import { GatewayError, type GatewayErrorKind } from '../core/ports.js';

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
}

export function toGatewayError(err: unknown, what: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as RestErrorLike;
  const status = e.statusCode;
  let kind: GatewayErrorKind = 'Unknown';
  if (e.name === 'AbortError' || e.code === 'ETIMEDOUT' || /timed? ?out/i.test(e.message ?? '')) kind = 'Timeout';
  else if (status === 404) kind = 'NotFound';
  else if (status === 401) kind = 'Unauthorized';
  else if (status === 403) kind = 'Forbidden';
  else if (status === 409) kind = 'Conflict';
  else if (status === 400 || status === 405) kind = 'BadRequest';
  else if (status === 429) kind = 'Throttled';
  else if ((status !== undefined && status >= 500) || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'REQUEST_SEND_ERROR') {
    kind = 'Unavailable';
  }
  const detail = (e.message ?? 'unknown error').split('\n')[0]?.slice(0, 500) ?? '';
  return new GatewayError(kind, `${what}: ${status ? `HTTP ${status} ` : ''}${e.code ? `${e.code}: ` : ''}${detail}`, status, e.code);
}

/** Runs an SDK call and maps its failure. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGatewayError(err, what);
  }
}
