/**
 * Counts the HTTP requests this process sends, by port and by table, through Node's diagnostics channel (every Azure
 * SDK client goes through node:http / node:https). Used for Table storage, whose emulator (Azurite) counts nothing;
 * the Key Vault endpoint counts its own requests.
 *
 * Every table is counted, batch transactions included: a batch's path is only `/$batch`, so the table it writes is
 * read from the first sub-request line of its body (all operations of a Table transaction share one table and
 * partition). Node publishes `http.client.request.start` after the body has gone to the socket, so while a counter
 * is active the body is looked at as it is written (ClientRequest's write/end, restored by stop()).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ClientRequest } from 'node:http';

const TABLE_IN_PATH = /\/([A-Za-z][A-Za-z0-9]{2,62})(\(|$|\/)/;
const TABLE_IN_BATCH = /(?:POST|PUT|PATCH|MERGE|DELETE|GET) \S*?\/([A-Za-z][A-Za-z0-9]{2,62})(?:\(|\?| HTTP)/;

/** Table of each batch request, from its body (filled before the request's start is published). */
const batchTables = new WeakMap<ClientRequest, string>();
let patched = 0;
// eslint-disable-next-line @typescript-eslint/unbound-method -- restored as is; always called with the request as this
const originalWrite = ClientRequest.prototype.write;
// eslint-disable-next-line @typescript-eslint/unbound-method -- idem
const originalEnd = ClientRequest.prototype.end;

function look(request: ClientRequest, chunk: unknown): void {
  if (batchTables.has(request) || !request.path.includes('$batch')) return;
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, 4096)).toString('utf8') : '';
  const table = TABLE_IN_BATCH.exec(text)?.[1];
  if (table) batchTables.set(request, table);
}

function patchRequests(): void {
  if (patched++ > 0) return;
  ClientRequest.prototype.write = function (this: ClientRequest, ...args: unknown[]): boolean {
    look(this, args[0]);
    return (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof originalWrite;
  ClientRequest.prototype.end = function (this: ClientRequest, ...args: unknown[]): ClientRequest {
    if (typeof args[0] !== 'function') look(this, args[0]);
    return (originalEnd as (...a: unknown[]) => ClientRequest).apply(this, args);
  } as typeof originalEnd;
}

function unpatchRequests(): void {
  if (--patched > 0) return;
  ClientRequest.prototype.write = originalWrite;
  ClientRequest.prototype.end = originalEnd;
}

export interface RequestTally {
  total: number;
  /** Requests per table (batch transactions counted under the table they write; `other` for service requests). */
  byTable: Record<string, number>;
  /** Batch transactions in all, and per table. */
  batches: number;
  batchesByTable: Record<string, number>;
}


export class RequestCounter {
  private readonly tally: RequestTally = { total: 0, byTable: {}, batches: 0, batchesByTable: {} };
  private readonly listener = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    const host = request.getHeader('host');
    if (String(host ?? request.host).split(':').pop() !== String(this.port)) return;
    this.tally.total++;
    const path = decodeURIComponent(request.path.split('?')[0] ?? '');
    if (path.includes('$batch')) {
      this.tally.batches++;
      this.count(batchTables.get(request) ?? '$batch', true);
      return;
    }
    const table = TABLE_IN_PATH.exec(path.replace(/^\/[^/]+/, ''))?.[1] ?? 'other';
    this.count(table);
  };

  constructor(private readonly port: number) {
    patchRequests();
    subscribe('http.client.request.start', this.listener);
  }

  private count(table: string, batch = false): void {
    this.tally.byTable[table] = (this.tally.byTable[table] ?? 0) + 1;
    if (batch) this.tally.batchesByTable[table] = (this.tally.batchesByTable[table] ?? 0) + 1;
  }

  snapshot(): RequestTally {
    return { total: this.tally.total, byTable: { ...this.tally.byTable }, batches: this.tally.batches, batchesByTable: { ...this.tally.batchesByTable } };
  }

  stop(): void {
    unsubscribe('http.client.request.start', this.listener);
    unpatchRequests();
  }
}

/** Requests per table between two snapshots. */
export function tallyDelta(after: RequestTally, before: RequestTally): RequestTally {
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(a).map(([k, v]): [string, number] => [k, v - (b[k] ?? 0)]).filter(([, v]) => v > 0));
  return { total: after.total - before.total, byTable: diff(after.byTable, before.byTable), batches: after.batches - before.batches, batchesByTable: diff(after.batchesByTable, before.batchesByTable) };
}
