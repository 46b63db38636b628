/**
 * The local Event Grid custom topic: an HTTPS endpoint that accepts what EventGridPublisherClient sends to a topic
 * (`POST /api/events?api-version=…`, CloudEvents batch, `Authorization: Bearer …` from Rotor's credential) and
 * records it, so `rotor local` users and the tests see exactly what Rotor published. Faults: answer the next N
 * publishes with an error status (the client's retries and Rotor's own are then visible).
 *
 * GET /api/events lists what was recorded (newest last) — a local convenience, not part of Event Grid's API.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SETTINGS } from '../../settings.js';
import type { LocalService, LocalServiceFactory } from '../service.js';
import { readBody, sendJson, startHttpsServer } from '../shared/server.js';

export interface PublishedEvent {
  readonly specversion: string;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject?: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly data?: unknown;
  /** When the topic received it (the emulator's clock). */
  readonly receivedAt: string;
}

export interface EventGridTopicEmulator extends LocalService {
  /** The topic endpoint (`https://127.0.0.1:<port>/api/events`), what ROTOR_EVENTS_TOPIC_ENDPOINT is set to. */
  readonly endpoint: string;
  /** Every event accepted so far, in arrival order. */
  published(): readonly PublishedEvent[];
  /** Publish requests received (accepted or failed). */
  requests(): number;
  /** Answer the next `count` publish requests with `status` (e.g. 503), then accept again. */
  failNext(count: number, status?: number): void;
  clear(): void;
}

/** At most this many events are kept in memory (older ones are forgotten; the file keeps them all). */
const KEEP = 10_000;

export const startEventGridTopic: LocalServiceFactory<EventGridTopicEmulator> = async (ctx) => {
  const cert = await ctx.ca.issueServerCert(['127.0.0.1', 'localhost']);
  const events: PublishedEvent[] = [];
  let requests = 0;
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  const file = ctx.stateDir ? join(ctx.stateDir, 'published.jsonl') : undefined;
  if (ctx.stateDir) await mkdir(ctx.stateDir, { recursive: true });

  const server = await startHttpsServer({
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    preferredPort: ctx.preferredPorts['https'],
    internalErrorBody: { error: { code: 'InternalServerError', message: 'the local topic failed' } },
    onError: (err) => ctx.log(`error: ${String(err)}`),
    async handler(req, res) {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      if (url.pathname !== '/api/events') return sendJson(res, 404, { error: { code: 'NotFound', message: `no route ${url.pathname}` } });
      if (req.method === 'GET') return sendJson(res, 200, { value: events });
      if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'MethodNotAllowed', message: 'POST events to the topic' } });
      requests += 1;
      if (req.headers.authorization !== `Bearer ${ctx.token}`) {
        return sendJson(res, 401, { error: { code: 'Unauthorized', message: 'the request must carry a bearer token for https://eventgrid.azure.net' } });
      }
      if (!url.searchParams.get('api-version')) return sendJson(res, 400, { error: { code: 'MissingApiVersionParameter', message: 'api-version is required' } });
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        return sendJson(res, failures.status, { error: { code: 'ServiceUnavailable', message: 'injected fault of the local topic' } });
      }
      const type = String(req.headers['content-type'] ?? '');
      if (!type.startsWith('application/cloudevents-batch+json')) {
        return sendJson(res, 400, { error: { code: 'BadRequest', message: `this topic accepts the CloudEvents schema (content-type application/cloudevents-batch+json), got ${type}` } });
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, 1_048_576));
      } catch (err) {
        return sendJson(res, 400, { error: { code: 'BadRequest', message: `not a JSON batch: ${String(err)}` } });
      }
      if (!Array.isArray(body)) return sendJson(res, 400, { error: { code: 'BadRequest', message: 'a CloudEvents batch is a JSON array' } });
      const receivedAt = ctx.now().toISOString();
      const accepted: PublishedEvent[] = [];
      for (const [i, e] of body.entries()) {
        const ev = e as Record<string, unknown>;
        for (const field of ['specversion', 'id', 'type', 'source'] as const) {
          if (typeof ev[field] !== 'string' || !ev[field]) {
            return sendJson(res, 400, { error: { code: 'BadRequest', message: `event ${i}: ${field} is required` } });
          }
        }
        accepted.push({ ...(ev as unknown as PublishedEvent), receivedAt });
      }
      events.push(...accepted);
      if (events.length > KEEP) events.splice(0, events.length - KEEP);
      if (file && accepted.length) await appendFile(file, accepted.map((e) => JSON.stringify(e)).join('\n') + '\n');
      for (const e of accepted) ctx.log(`${e.type} ${e.subject ?? ''}`);
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    },
  });
  const endpoint = `${server.url}/api/events`;
  return {
    name: 'eventgrid',
    endpoint,
    settings: () => ({ [SETTINGS.eventsTopicEndpoint.name]: endpoint }),
    endpoints: () => ({ 'Event Grid topic (Rotor events)': endpoint }),
    ports: () => ({ https: server.port }),
    save: async () => undefined,
    stop: () => server.close(),
    published: () => [...events],
    requests: () => requests,
    failNext(count, status = 503) {
      failures = { count, status };
    },
    clear() {
      events.length = 0;
      requests = 0;
    },
  };
};
