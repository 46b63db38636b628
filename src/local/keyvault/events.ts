/**
 * Key Vault's Event Grid system events: built here (Event Grid schema, or CloudEvents 1.0 for webhooks that ask for
 * it) and delivered to subscribers — callbacks, or webhooks that receive a JSON array (Event Grid) or one
 * `application/cloudevents+json` event. A failed delivery is logged (without the URL's query, which may hold a
 * key) and never affects the vault.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { ObjectType } from './context.js';
import type { VersionBase } from './model.js';
import type { EventSubscriber, KeyVaultEventGridEvent } from './types.js';
import { ids } from './wire.js';

export type EventKind = 'NewVersionCreated' | 'NearExpiry' | 'Expired';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const WEBHOOK_TIMEOUT_MS = 10_000;

const vaultTopic = (vault: string): string =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/rotor-local/providers/Microsoft.KeyVault/vaults/${vault}`;

const ID_OF: Record<ObjectType, (vaultUrl: string, name: string, version: string) => string> = {
  Certificate: ids.certificate,
  Key: ids.key,
  Secret: ids.secret,
};

export function keyVaultEvent(
  vault: { name: string; url: string },
  objectType: ObjectType,
  kind: EventKind,
  name: string,
  version: VersionBase,
  now: Date,
): KeyVaultEventGridEvent {
  return {
    id: randomUUID(),
    topic: vaultTopic(vault.name),
    subject: name,
    eventType: `Microsoft.KeyVault.${objectType}${kind}`,
    eventTime: now.toISOString(),
    data: {
      Id: ID_OF[objectType](vault.url, name, version.version),
      VaultName: vault.name,
      ObjectType: objectType,
      ObjectName: name,
      Version: version.version,
      NBF: version.attributes.nbf,
      EXP: version.attributes.exp,
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

/** The CloudEvents 1.0 form of an event, as Event Grid delivers it to subscriptions with that schema. */
function toCloudEvent(event: KeyVaultEventGridEvent): Record<string, unknown> {
  return {
    specversion: '1.0',
    type: event.eventType,
    source: event.topic,
    subject: event.subject,
    id: event.id,
    time: event.eventTime,
    datacontenttype: 'application/json',
    data: event.data,
  };
}

/** scheme://host/path of a URL: safe to log. */
const redact = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
};

function postJson(url: string, body: string, headers: Record<string, string>, extraCa: string): Promise<void> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
        timeout: WEBHOOK_TIMEOUT_MS,
        agent: false,
        ...(target.protocol === 'https:' ? { ca: [...rootCertificates, extraCa] } : {}),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`the webhook answered HTTP ${status}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${WEBHOOK_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export class EventBus {
  private readonly subscribers = new Set<EventSubscriber>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly log: (line: string) => void,
    /** PEM of the local CA, trusted for https webhooks beside the system roots. */
    private readonly extraCa: string,
  ) {}

  subscribe(subscriber: EventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  publish(event: KeyVaultEventGridEvent): void {
    for (const subscriber of this.subscribers) {
      const delivery = this.deliver(subscriber, event).catch((err: unknown) => {
        const target = subscriber.kind === 'webhook' ? ` to ${redact(subscriber.url)}` : ' to a callback';
        this.log(`delivery of ${event.eventType} (${event.subject})${target} failed: ${(err as Error)?.message ?? String(err)}`);
      });
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }
  }

  /** Resolves when every delivery started so far (and any they started) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(subscriber: EventSubscriber, event: KeyVaultEventGridEvent): Promise<void> {
    if (subscriber.kind === 'callback') return subscriber.deliver(event);
    const headers = { 'aeg-event-type': 'Notification', ...subscriber.headers };
    if (subscriber.schema === 'cloudevents') {
      return postJson(
        subscriber.url,
        JSON.stringify(toCloudEvent(event)),
        { 'content-type': 'application/cloudevents+json; charset=utf-8', ...headers },
        this.extraCa,
      );
    }
    return postJson(subscriber.url, JSON.stringify([event]), { 'content-type': 'application/json', ...headers }, this.extraCa);
  }
}
