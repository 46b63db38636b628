/**
 * Key Vault system events, in the Event Grid schema or as CloudEvents 1.0, single or batched. Field names are matched
 * case-insensitively and values trimmed: Key Vault's documented samples carry `"ObjectName "` with a trailing space
 * and NBF/EXP as strings or numbers. An event is only a hint — the worker re-reads the vault — so parsing extracts
 * just which object to look at; anything malformed, unsupported or for a vault Rotor does not manage is rejected
 * with a reason (audited as EventRejected) and never acted on.
 */
import { findVault, type RotorConfig, type VaultConfig } from './config.js';
import type { ObjectType } from './model.js';
import { MAX_EVENT_ID, parseWorkItem, type WorkItem } from './work.js';

export const EVENT_KINDS = ['NewVersionCreated', 'NearExpiry', 'Expired'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const TYPE_PATTERN = /^Microsoft\.KeyVault\.(Certificate|Key|Secret)(NewVersionCreated|NearExpiry|Expired)$/;

export interface VaultEventHint {
  readonly eventId: string;
  readonly eventType: string;
  readonly schema: 'eventgrid' | 'cloudevents';
  readonly kind: EventKind;
  /** The configured vault's name (canonical spelling from the configuration). */
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
  readonly version: string;
  readonly notBefore?: Date | undefined;
  readonly expiresOn?: Date | undefined;
  /** The work item this event becomes: it fits the worker's schema (checked here, at the edge). */
  readonly workItem: WorkItem;
}

export interface RejectedEvent {
  readonly eventId: string;
  readonly eventType: string;
  /** Vault named in the event, if any (as given). */
  readonly vault: string;
  readonly objectName: string;
  /**
   * VaultMismatch: the event names a configured vault but its data.Id host, topic or source belongs to another vault
   * (another vault's host or resource, another cloud's domain) — never acted on under the configured vault's name.
   */
  readonly reason: 'MalformedEvent' | 'UnsupportedEventType' | 'UnknownVault' | 'InconsistentEvent' | 'VaultMismatch';
  readonly message: string;
}

export interface ParsedEvents {
  readonly accepted: VaultEventHint[];
  readonly rejected: RejectedEvent[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Looks a field up ignoring case and surrounding whitespace in the name. */
function field(obj: Json, name: string): unknown {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.trim().toLowerCase() === wanted) return v;
  return undefined;
}

function text(obj: Json, name: string): string {
  const v = field(obj, name);
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

/** Unix seconds as a number or numeric string → Date; empty or absent → undefined; anything else → null (invalid). */
function unixTime(obj: Json, name: string): Date | undefined | null {
  const v = field(obj, name);
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : NaN;
  return Number.isFinite(n) ? new Date(n * 1000) : null;
}

const OBJECT_TYPES: Record<string, ObjectType> = { certificate: 'certificate', key: 'key', secret: 'secret' };

/** `https://<vault>.vault.azure.net/<collection>/<name>/<version>` → parts (host may be anything, e.g. loopback). */
function parseId(id: string): { origin: string; collection: string; name: string; version: string } | undefined {
  try {
    const url = new URL(id);
    const segments = url.pathname.split('/').filter(Boolean);
    if (segments.length < 2) return undefined;
    return { origin: url.origin.toLowerCase(), collection: segments[0] ?? '', name: decodeURIComponent(segments[1] ?? ''), version: segments[2] ?? '' };
  } catch {
    return undefined;
  }
}

/** The vault named by an Event Grid topic / CloudEvents source: `/subscriptions/…/providers/Microsoft.KeyVault/vaults/<name>`. */
const VAULT_RESOURCE = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)$/i;

/** Why the event's own addresses contradict the configured vault it names, if they do. */
function vaultMismatch(vault: VaultConfig, idOrigin: string | undefined, resource: string, resourceField: string): string | undefined {
  if (idOrigin !== undefined) {
    let expected = '';
    try {
      expected = new URL(vault.url).origin.toLowerCase();
    } catch {
      // The configuration validated the URL; an unparsable one matches nothing.
    }
    if (idOrigin !== expected) return `data.Id is on ${idOrigin.slice(0, 100)}, not on vault ${vault.name} (${expected})`;
  }
  if (resource) {
    const named = VAULT_RESOURCE.exec(resource)?.[1];
    if (named === undefined) return `${resourceField} is not a Key Vault resource id`;
    if (named.toLowerCase() !== vault.name.toLowerCase()) return `${resourceField} names vault "${named.slice(0, 100)}", not ${vault.name}`;
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The run id of an event's work: `eventgrid-` and the id's first 60 characters (never half a surrogate pair). */
export function eventRunId(eventId: string): string {
  let head = eventId.slice(0, 60);
  const last = head.charCodeAt(head.length - 1);
  if (head.length === 60 && last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1);
  return `eventgrid-${head}`;
}

function parseOne(raw: unknown, config: RotorConfig): VaultEventHint | RejectedEvent {
  const reject = (reason: RejectedEvent['reason'], message: string, extra: Partial<RejectedEvent> = {}): RejectedEvent => ({
    eventId: '',
    eventType: '',
    vault: '',
    objectName: '',
    ...extra,
    reason,
    message,
  });
  if (!isObject(raw)) return reject('MalformedEvent', 'event is not a JSON object');
  const isCloudEvent = field(raw, 'specversion') !== undefined;
  const schema = isCloudEvent ? 'cloudevents' : 'eventgrid';
  const eventId = text(raw, 'id');
  const eventType = text(raw, isCloudEvent ? 'type' : 'eventType');
  const data = field(raw, 'data');
  const base = { eventId, eventType };
  if (!eventId) return reject('MalformedEvent', `${isCloudEvent ? 'CloudEvent' : 'event'} has no id`, base);
  if (eventId.length > MAX_EVENT_ID) return reject('MalformedEvent', `id is ${eventId.length} characters long; at most ${MAX_EVENT_ID} are accepted`, base);
  if (CONTROL.test(eventId)) return reject('MalformedEvent', 'id contains control characters', base);
  if (!eventType) return reject('MalformedEvent', `${isCloudEvent ? 'type' : 'eventType'} is missing`, base);
  const match = TYPE_PATTERN.exec(eventType);
  if (!match) return reject('UnsupportedEventType', `event type "${eventType.slice(0, 200)}" is not one Rotor handles`, base);
  if (!isObject(data)) return reject('MalformedEvent', 'data is missing or not an object', base);

  const vault = text(data, 'VaultName');
  const objectName = text(data, 'ObjectName');
  const objectTypeText = text(data, 'ObjectType');
  const version = text(data, 'Version');
  const id = text(data, 'Id');
  const withNames = { ...base, vault, objectName };
  if (!vault) return reject('MalformedEvent', 'data.VaultName is missing', withNames);
  if (!objectName) return reject('MalformedEvent', 'data.ObjectName is missing', withNames);
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(objectName)) return reject('MalformedEvent', `data.ObjectName "${objectName.slice(0, 80)}" is not a Key Vault object name`, withNames);
  const expectedType = OBJECT_TYPES[(match[1] ?? '').toLowerCase()];
  if (!expectedType) return reject('UnsupportedEventType', `event type "${eventType.slice(0, 200)}" is not one Rotor handles`, withNames);
  if (objectTypeText && objectTypeText.toLowerCase() !== expectedType) {
    return reject('InconsistentEvent', `data.ObjectType "${objectTypeText.slice(0, 100)}" contradicts event type ${eventType}`, withNames);
  }
  if (id) {
    const parsed = parseId(id);
    if (!parsed) return reject('MalformedEvent', 'data.Id is not a Key Vault object identifier', withNames);
    if (parsed.name.toLowerCase() !== objectName.toLowerCase() || parsed.collection.toLowerCase() !== `${expectedType}s`) {
      return reject('InconsistentEvent', `data.Id does not name ${expectedType} ${objectName}`, withNames);
    }
  }
  const notBefore = unixTime(data, 'NBF');
  const expiresOn = unixTime(data, 'EXP');
  if (notBefore === null) return reject('MalformedEvent', 'data.NBF is not a Unix time', withNames);
  if (expiresOn === null) return reject('MalformedEvent', 'data.EXP is not a Unix time', withNames);
  const configured = findVault(config, vault);
  if (!configured) return reject('UnknownVault', `vault "${vault.slice(0, 200)}" is not managed by Rotor`, withNames);
  const resourceField = isCloudEvent ? 'source' : 'topic';
  const mismatch = vaultMismatch(configured, id ? parseId(id)?.origin : undefined, text(raw, resourceField), resourceField);
  if (mismatch) return reject('VaultMismatch', mismatch, { ...withNames, vault: configured.name });
  const workItem = parseWorkItem({
    kind: 'object',
    vault: configured.name,
    objectType: expectedType,
    objectName,
    runId: eventRunId(eventId),
    trigger: 'eventgrid',
    hint: eventType,
    eventId,
  });
  if (!workItem.ok) return reject('MalformedEvent', `the event does not fit a work item: ${workItem.message}`, withNames);
  return {
    eventId,
    eventType,
    schema,
    kind: match[2] as EventKind,
    vault: configured.name,
    objectType: expectedType,
    objectName,
    version,
    notBefore,
    expiresOn,
    workItem: workItem.item,
  };
}

/** Parses a delivery: one event or an array of events, in either schema. Never throws. */
export function parseVaultEvents(body: unknown, config: RotorConfig): ParsedEvents {
  const events = Array.isArray(body) ? body : [body];
  const accepted: VaultEventHint[] = [];
  const rejected: RejectedEvent[] = [];
  if (events.length === 0) rejected.push({ eventId: '', eventType: '', vault: '', objectName: '', reason: 'MalformedEvent', message: 'empty batch' });
  for (const raw of events) {
    const result = parseOne(raw, config);
    if ('reason' in result) rejected.push(result);
    else accepted.push(result);
  }
  return { accepted, rejected };
}
