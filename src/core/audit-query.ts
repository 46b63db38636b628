/**
 * The auditors' query language: which rows (vault, object, action, outcome, trigger, run, time range), in which
 * order (newest first), in pages. Parameters are validated here, every one named in its error; the storage adapter
 * turns a validated query into escaped OData. The continuation token is opaque to callers: base64url JSON holding
 * the position after the last row returned, the query's resolved time range and a fingerprint of its other
 * filters, validated field by field on the way back in — a token cannot carry anything but a position, and a token
 * of one query cannot be replayed against another.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, TRIGGERS, type AuditAction, type AuditOutcome, type AuditRecord } from './audit.js';
import type { AuditRow, ChainHead, VerifyReport, VerifyScope } from './audit-chain.js';
import type { DigestEvidence } from './audit-digest.js';
import { MS_PER_DAY, OBJECT_TYPES, type ObjectType, type Trigger } from './model.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_RANGE_DAYS = 30;
/** The widest time range one query may span (about ten years). */
export const MAX_RANGE_DAYS = 3660;
/** Timestamps Rotor can have written (the row-key layout covers 1970–2286; audit rows start in this century). */
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

/** A bad query parameter: the HTTP functions answer 400 with it, the CLI prints it. */
export class AuditQueryError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
    this.name = 'AuditQueryError';
  }
}

/** Filters on row content (everything but the time range). */
export interface AuditFilters {
  readonly vault?: string | undefined;
  readonly objectType?: ObjectType | undefined;
  readonly objectName?: string | undefined;
  readonly action?: AuditAction | undefined;
  readonly outcome?: AuditOutcome | undefined;
  readonly trigger?: Trigger | undefined;
  readonly runId?: string | undefined;
}

/** Position after the last row returned (storage keys; the adapter checks their layout). */
export interface AuditPosition {
  readonly partition: string;
  readonly row: string;
}

export interface AuditQuery extends AuditFilters {
  readonly from: Date;
  readonly to: Date;
  readonly pageSize: number;
  readonly after?: AuditPosition | undefined;
}

export interface AuditPage {
  readonly query: AuditQuery;
  /** Newest first. */
  readonly rows: readonly AuditRow[];
  /** Token for the next page; undefined on the last page. */
  readonly continuation?: string | undefined;
  /** Stored rows in the page's range that could not be read: left out of `rows`, named here. */
  readonly warnings?: readonly AuditRowWarning[] | undefined;
}

/** A stored row a query left out because it cannot be read: where it is and which field is wrong. */
export interface AuditRowWarning {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly field: string;
  readonly message: string;
}

export interface ObjectRef {
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
}

/** Reads the audit log (implemented over Table storage in src/adapters/storage/audit-reader.ts). */
export interface AuditReader {
  query(query: AuditQuery): Promise<AuditPage>;
  /** Every row of one object, newest first (at most `limit`). */
  objectRows(object: ObjectRef, limit: number): Promise<{ rows: AuditRow[]; truncated: boolean; warnings?: readonly AuditRowWarning[] | undefined }>;
  /** Recomputes the chains in scope; with evidence, checks them against the signed digests too. */
  verify(scope: VerifyScope, evidence?: DigestEvidence): Promise<VerifyReport>;
  /** Everything verification reads (rows, chain heads, registry), for an auditor's export. */
  snapshot?(vault: string | undefined): AsyncIterable<LogItem>;
}

/** One stored item of the audit log as an export carries it. */
export type LogItem =
  | { readonly kind: 'row'; readonly row: AuditRow }
  | { readonly kind: 'head'; readonly partitionKey: string; readonly head: ChainHead }
  | { readonly kind: 'registry'; readonly partitionKey: string; readonly firstEventTime: string };

export const QUERY_PARAMETERS = ['vault', 'objectType', 'objectName', 'action', 'outcome', 'trigger', 'runId', 'from', 'to', 'pageSize', 'continuation'] as const;
export type QueryParameter = (typeof QUERY_PARAMETERS)[number];

/** Parameters a query string may carry beyond the filters: the output format and the Functions key. */
const PASS_THROUGH = ['format', 'code'];

// Validators. Free-text values (names, run ids) may contain anything printable — they only ever reach storage as
// escaped OData literals — but no control characters and nothing absurdly long.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_G = /[\u0000-\u001f\u007f-\u009f]/g;

function freeText(parameter: string, value: string, max: number): string {
  if (!value.length) throw new AuditQueryError(parameter, 'must not be empty');
  if (value.length > max) throw new AuditQueryError(parameter, `must be at most ${max} characters, got ${value.length}`);
  if (CONTROL.test(value)) throw new AuditQueryError(parameter, 'must not contain control characters');
  return value;
}

function oneOf<T extends string>(parameter: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new AuditQueryError(parameter, `must be one of ${allowed.join(', ')}; got "${truncate(value)}"`);
}

const truncate = (v: string): string => (v.length > 40 ? `${v.slice(0, 40)}…` : v);

/** Vault names as Key Vault allows them (matched case-insensitively, as Key Vault does). */
export function parseVault(value: string, parameter = 'vault'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$/.test(value)) {
    throw new AuditQueryError(parameter, `must be a vault name (letters, digits, hyphens; at most 127 characters); got "${truncate(value)}"`);
  }
  return value.toLowerCase();
}

export const parseObjectType = (value: string, parameter = 'objectType'): ObjectType => oneOf(parameter, value, OBJECT_TYPES);
export const parseObjectName = (value: string, parameter = 'objectName'): string => freeText(parameter, value, 256);

const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** ISO 8601 date or date-time with a zone. A bare date means its first (from) or last (to) millisecond, UTC. */
export function parseInstant(parameter: string, value: string, end: boolean): Date {
  if (!ISO.test(value)) {
    throw new AuditQueryError(parameter, `must be an ISO 8601 date (2026-11-01) or date-time with a zone (2026-11-01T08:00:00Z); got "${truncate(value)}"`);
  }
  const dateOnly = value.length === 10;
  const d = new Date(dateOnly ? `${value}T00:00:00.000Z` : value);
  if (Number.isNaN(d.getTime()) || (dateOnly && d.toISOString().slice(0, 10) !== value)) throw new AuditQueryError(parameter, `is not a valid date: "${value}"`);
  const t = dateOnly && end ? d.getTime() + MS_PER_DAY - 1 : d.getTime();
  if (t < EARLIEST || t >= LATEST) throw new AuditQueryError(parameter, 'must lie between 2000 and 2199');
  return new Date(t);
}

function parsePageSize(value: string): number {
  if (!/^\d{1,7}$/.test(value)) throw new AuditQueryError('pageSize', `must be a whole number between 1 and ${MAX_PAGE_SIZE}; got "${truncate(value)}"`);
  const n = Number(value);
  if (n < 1 || n > MAX_PAGE_SIZE) throw new AuditQueryError('pageSize', `must be between 1 and ${MAX_PAGE_SIZE}; got ${n}`);
  return n;
}

/** Canonical form of the content filters: what a continuation token is bound to. */
function fingerprint(f: AuditFilters): string {
  const canonical = JSON.stringify([f.vault ?? null, f.objectType ?? null, f.objectName ?? null, f.action ?? null, f.outcome ?? null, f.trigger ?? null, f.runId ?? null]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

const POSITION = /^[A-Za-z0-9_|.~-]{1,100}$/;

const tokenSchema = z
  .object({
    v: z.literal(1),
    f: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
    from: z.number().int(),
    to: z.number().int(),
    p: z.string().regex(POSITION),
    r: z.string().regex(POSITION),
  })
  .strict();

export function encodeContinuation(query: AuditQuery, after: AuditPosition): string {
  const body = { v: 1, f: fingerprint(query), from: query.from.getTime(), to: query.to.getTime(), p: after.partition, r: after.row };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function decodeContinuation(token: string, filters: AuditFilters): { from: Date; to: Date; after: AuditPosition } {
  const bad = (why: string): AuditQueryError => new AuditQueryError('continuation', `${why}; pass the token a previous page returned, unchanged`);
  if (token.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad('is not a continuation token');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad('is not a continuation token');
  }
  const parsed = tokenSchema.safeParse(json);
  if (!parsed.success) throw bad('is not a valid continuation token');
  const t = parsed.data;
  if (t.f !== fingerprint(filters)) throw bad('belongs to a query with other filters');
  if (t.from < EARLIEST || t.to >= LATEST || t.from > t.to || t.to - t.from > MAX_RANGE_DAYS * MS_PER_DAY) throw bad('has an invalid time range');
  return { from: new Date(t.from), to: new Date(t.to), after: { partition: t.p, row: t.r } };
}

/** The next page of a query, from the continuation token its previous page returned. */
export function continueQuery<Q extends AuditQuery>(query: Q, token: string): Q {
  const { from, to, after } = decodeContinuation(token, query);
  return { ...query, from, to, after };
}

/** Values of a query string: each parameter at most once. */
export type ParameterSource = Iterable<[string, string]>;

/** How an unknown parameter is named in its error: never empty, never huge. */
const parameterLabel = (name: string): string => (name === '' ? '(empty name)' : truncate(name.replace(CONTROL_G, '?')));

function single(source: ParameterSource, allowed: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of source) {
    if (!allowed.includes(name)) throw new AuditQueryError(parameterLabel(name), `is not a parameter of this query (parameters: ${allowed.join(', ')})`);
    if (values.has(name)) throw new AuditQueryError(name, 'is given more than once');
    values.set(name, value);
  }
  return values;
}

function filtersOf(v: Map<string, string>): AuditFilters {
  const get = (name: QueryParameter): string | undefined => v.get(name);
  const vault = get('vault');
  const objectType = get('objectType');
  const objectName = get('objectName');
  const action = get('action');
  const outcome = get('outcome');
  const trigger = get('trigger');
  const runId = get('runId');
  return {
    vault: vault === undefined ? undefined : parseVault(vault),
    objectType: objectType === undefined ? undefined : parseObjectType(objectType),
    objectName: objectName === undefined ? undefined : parseObjectName(objectName),
    action: action === undefined ? undefined : oneOf('action', action, AUDIT_ACTIONS),
    outcome: outcome === undefined ? undefined : oneOf('outcome', outcome, AUDIT_OUTCOMES),
    trigger: trigger === undefined ? undefined : oneOf('trigger', trigger, TRIGGERS),
    runId: runId === undefined ? undefined : freeText('runId', runId, 200),
  };
}

/** The time range of a query: explicit bounds, else the last DEFAULT_RANGE_DAYS days up to `now`. */
export function resolveRange(fromText: string | undefined, toText: string | undefined, now: Date): { from: Date; to: Date } {
  const to = toText === undefined ? now : parseInstant('to', toText, true);
  const from = fromText === undefined ? new Date(to.getTime() - DEFAULT_RANGE_DAYS * MS_PER_DAY) : parseInstant('from', fromText, false);
  if (from.getTime() > to.getTime()) throw new AuditQueryError('from', `must not be after to (${to.toISOString()})`);
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * MS_PER_DAY) throw new AuditQueryError('from', `the range from–to must not exceed ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

/**
 * Validates a query string (HTTP) or the CLI's options. Unknown and repeated parameters are refused, so a typo can
 * never silently widen a query. With a continuation token, the time range is the token's (the query continues).
 * Throws AuditQueryError naming the parameter.
 */
export function parseAuditQuery(source: ParameterSource, now: Date, extra: readonly string[] = PASS_THROUGH): AuditQuery & { extra: Map<string, string> } {
  const values = single(source, [...QUERY_PARAMETERS, ...extra]);
  const filters = filtersOf(values);
  const pageSizeText = values.get('pageSize');
  const pageSize = pageSizeText === undefined ? DEFAULT_PAGE_SIZE : parsePageSize(pageSizeText);
  const token = values.get('continuation');
  const extraValues = new Map([...values].filter(([k]) => extra.includes(k)));
  if (token !== undefined) {
    const { from, to, after } = decodeContinuation(token, filters);
    return { ...filters, from, to, pageSize, after, extra: extraValues };
  }
  return { ...filters, ...resolveRange(values.get('from'), values.get('to'), now), pageSize, extra: extraValues };
}

/** Validates the scope of a verification: optional vault and time range (default: everything). */
export function parseVerifyScope(source: ParameterSource): VerifyScope {
  const values = single(source, ['vault', 'from', 'to', 'code']);
  const vault = values.get('vault');
  const fromText = values.get('from');
  const toText = values.get('to');
  const from = fromText === undefined ? undefined : parseInstant('from', fromText, false);
  const to = toText === undefined ? undefined : parseInstant('to', toText, true);
  if (from && to && from > to) throw new AuditQueryError('from', 'must not be after to');
  return { vault: vault === undefined ? undefined : parseVault(vault), from, to };
}

export function parseObjectRef(vault: string, type: string, name: string): ObjectRef {
  return { vault: parseVault(vault), objectType: parseObjectType(type, 'type'), objectName: parseObjectName(name, 'name') };
}

/** Whether a row matches a query's filters and range (the storage adapter filters server-side; tests use this). */
export function matchesQuery(record: AuditRecord, q: AuditQuery, vaultKeyOf: (vault: string) => string): boolean {
  const t = record.timestamp.getTime();
  return (
    t >= q.from.getTime() &&
    t <= q.to.getTime() &&
    (q.vault === undefined || vaultKeyOf(record.vault) === vaultKeyOf(q.vault)) &&
    (q.objectType === undefined || record.objectType === q.objectType) &&
    (q.objectName === undefined || record.objectName === q.objectName) &&
    (q.action === undefined || record.action === q.action) &&
    (q.outcome === undefined || record.outcome === q.outcome) &&
    (q.trigger === undefined || record.trigger === q.trigger) &&
    (q.runId === undefined || record.runId === q.runId)
  );
}

/** The filters of a query as query-string parameters (for next-page links and the page's CSV link). */
export function queryParameters(q: AuditQuery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['vault', 'objectType', 'objectName', 'action', 'outcome', 'trigger', 'runId'] as const) {
    const value = q[key];
    if (value !== undefined) out[key] = value;
  }
  out['from'] = q.from.toISOString();
  out['to'] = q.to.toISOString();
  out['pageSize'] = String(q.pageSize);
  return out;
}
