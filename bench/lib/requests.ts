/**
 * Counts the HTTP requests this process sends, by port and by path, through Node's diagnostics channel (every Azure
 * SDK client goes through node:http / node:https). Used for Table storage, whose emulator (Azurite) counts nothing;
 * the Key Vault endpoint counts its own requests.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

export interface RequestTally {
  total: number;
  /** Requests whose path contains the table name, or a batch transaction ($batch). */
  byTable: Record<string, number>;
  batches: number;
}

export class RequestCounter {
  private readonly tally: RequestTally = { total: 0, byTable: {}, batches: 0 };
  private readonly listener = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    const host = request.getHeader('host');
    if (String(host ?? request.host).split(':').pop() !== String(this.port)) return;
    this.tally.total++;
    const path = decodeURIComponent(request.path.split('?')[0] ?? '');
    if (path.includes('$batch')) this.tally.batches++;
    const table = /\/([A-Za-z][A-Za-z0-9]{2,62})(\(|$|\/)/.exec(path.replace(/^\/[^/]+/, ''))?.[1] ?? (path.includes('$batch') ? '$batch' : 'other');
    this.tally.byTable[table] = (this.tally.byTable[table] ?? 0) + 1;
  };

  constructor(private readonly port: number) {
    subscribe('http.client.request.start', this.listener);
  }

  snapshot(): RequestTally {
    return { total: this.tally.total, byTable: { ...this.tally.byTable }, batches: this.tally.batches };
  }

  stop(): void {
    unsubscribe('http.client.request.start', this.listener);
  }
}
