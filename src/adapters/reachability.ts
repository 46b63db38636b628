/**
 * Fail fast: one plain HTTP(S) request with a short timeout and no retries, to tell "this endpoint cannot be reached"
 * (connection refused, DNS, TLS, timeout) from everything else before the SDK clients spend their retry budget on it
 * (the Table client's retries take ~36 s against a closed port). Any HTTP answer — even 400 or 401 — means reachable.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { StorageConnection } from './storage/clients.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** Why it could not be reached (error code and message), when not ok. */
  readonly problem?: string;
}

export function probeEndpoint(url: string, options: { timeoutMs?: number; ca?: string | undefined } = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((done) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done({ ok: false, problem: 'not a valid URL' });
      return;
    }
    const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = send(target, { method: 'GET', timeout: timeoutMs, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      res.resume();
      done({ ok: true });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code && !err.message.includes(err.code) ? `${err.code}: ` : '';
      done({ ok: false, problem: `${code}${err.message}` });
    });
    req.end();
  });
}

/** The Table service endpoint of Rotor's storage connection (what the audit and state clients talk to). */
export function tableEndpoint(connection: StorageConnection): string {
  if (connection.kind === 'identity') return connection.tableServiceUri;
  const parts = new Map<string, string>();
  for (const part of connection.connectionString.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) parts.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  if (parts.get('usedevelopmentstorage') === 'true') return 'http://127.0.0.1:10002/devstoreaccount1';
  const explicit = parts.get('tableendpoint');
  if (explicit) return explicit;
  const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
  return `${protocol}://${parts.get('accountname') ?? '(no AccountName)'}.table.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
}
