/**
 * Replays recordings of real Key Vault traffic (the Azure SDK's test-proxy format, shared/specs/keyvault/recordings)
 * against the local Key Vault endpoint and compares every response with the recorded one by status code and JSON
 * shape: field names and types, which fields are present, id/kid/sid and nextLink forms, Location and Retry-After
 * headers, and the values that are not naturally random (error codes, operation status, key types, recovery levels,
 * enabled flags, key operations, policy defaults). Ids, key material and timestamps are compared by form only.
 *
 * Replayed as a client would: the emulator's clock follows each response's recorded Date header; version ids seen in
 * recorded responses are mapped to the emulator's, so later requests name the emulator's versions; a list is walked by
 * the emulator's own nextLinks ($skiptoken is sanitized in the recordings) and compared as the client sees it (the
 * items, in order; the form of every page); repeated identical GETs are a poll loop, repeated until the emulator
 * reaches the recorded final state; a merge sends a certificate issued for the emulator's CSR (the recorded one was
 * issued for the recorded CSR). Objects a recorded list shows but the recording never creates existed in the recorded
 * vault beforehand: they are seeded first.
 */
import 'reflect-metadata';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join, relative, resolve } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface RecordedEntry {
  RequestUri: string;
  RequestMethod: string;
  RequestHeaders: Record<string, string>;
  RequestBody: unknown;
  StatusCode: number;
  ResponseHeaders: Record<string, string>;
  ResponseBody: unknown;
}

export interface Recording {
  /** Path relative to the recordings folder, e.g. keys/rotate-key.json. */
  readonly file: string;
  readonly entries: RecordedEntry[];
}

export interface Mismatch {
  readonly recording: string;
  /** Index of the recorded entry. */
  readonly entry: number;
  readonly request: string;
  /** Where: `status`, `header Location`, `body.attributes.exportable`, ... */
  readonly path: string;
  readonly message: string;
}

export interface AllowListEntry {
  readonly recording: string;
  readonly path: string;
  readonly reason: string;
}

/** The recordings folder: ../shared/specs/keyvault/recordings beside the repository (or beside a parent folder). */
export function findRecordingsDir(repoRoot: string): string | undefined {
  let dir = resolve(repoRoot, '..');
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'shared', 'specs', 'keyvault', 'recordings');
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      // not here
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export function loadRecordings(dir: string): Recording[] {
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.json')) files.push(path);
    }
  };
  walk(dir);
  return files.map((path) => ({
    file: relative(dir, path).split('\\').join('/'),
    entries: (JSON.parse(readFileSync(path, 'utf8')) as { Entries: RecordedEntry[] }).Entries,
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Forms

const VERSION = /^[0-9a-f]{32}$/;
const RECORDED_ORIGIN = /^https:\/\/(?:keyvault_name|Sanitized)\.vault\.azure\.net(?::443)?/i;
const X5T = /^[A-Za-z0-9_-]{27}$/;
/** Values compared exactly (not naturally random). */
const EXACT_KEYS = new Set([
  'code',
  'status',
  'kty',
  'crv',
  'action_type',
  'type',
  'recoveryLevel',
  'recoverableDays',
  'contentType',
  'hsmPlatform',
  'key_size',
  'key_ops',
  'ekus',
  'key_usage',
  'validity_months',
  'lifetime_percentage',
  'days_before_expiry',
  'timeAfterCreate',
  'timeBeforeExpiry',
  'expiryTime',
  'name',
  'subject',
]);

/** A Key Vault URL's form: origin and ports dropped, version ids → {v}, query names sorted, random values → *. */
export function urlForm(url: string, origin: RegExp): string | undefined {
  const match = origin.exec(url);
  if (!match) return undefined;
  const rest = url.slice(match[0].length);
  const [path = '', query] = rest.split('?', 2);
  const segments = path.split('/').map((s) => (VERSION.test(s) ? '{v}' : s));
  let form = `VAULT${segments.join('/')}`;
  if (query !== undefined) {
    const params = query
      .split('&')
      .map((p) => {
        const [name = '', value = ''] = p.split('=', 2);
        return name === '$skiptoken' || name === 'request_id' ? `${name}=*` : `${name}=${value}`;
      })
      .sort();
    form += `?${params.join('&')}`;
  }
  return form;
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

export interface Comparison {
  readonly actualOrigin: RegExp;
  report(path: string, message: string): void;
  /** Recorded version id → the emulator's (first seen wins). */
  readonly ids: Map<string, string>;
}

function learnIds(recorded: string, actual: string, cmp: Comparison): void {
  const r = recorded.match(/[0-9a-f]{32}/g) ?? [];
  const a = actual.match(/[0-9a-f]{32}/g) ?? [];
  r.forEach((id, i) => {
    const mapped = a[i];
    if (mapped && !cmp.ids.has(id)) cmp.ids.set(id, mapped);
  });
}

function compareString(key: string, recorded: string, actual: string, path: string, cmp: Comparison): void {
  const recordedForm = urlForm(recorded, RECORDED_ORIGIN);
  if (recordedForm !== undefined) {
    const actualForm = urlForm(actual, cmp.actualOrigin);
    if (actualForm !== recordedForm) cmp.report(path, `URL form ${actualForm ?? JSON.stringify(actual.slice(0, 80))}, recorded ${recordedForm}`);
    else learnIds(recorded, actual, cmp);
    return;
  }
  if (key === 'x5t') {
    if (X5T.test(recorded) && !X5T.test(actual)) cmp.report(path, `not a base64url SHA-1 thumbprint: ${actual}`);
    return;
  }
  if (VERSION.test(recorded)) {
    if (!VERSION.test(actual)) cmp.report(path, `not a 32-hex id: ${actual}`);
    return;
  }
  if (EXACT_KEYS.has(key) && recorded !== actual) cmp.report(path, `${JSON.stringify(actual)}, recorded ${JSON.stringify(recorded)}`);
}

/** Compares `actual` with `recorded` by shape (and exact values where EXACT_KEYS says so). */
export function compareShape(recorded: unknown, actual: unknown, path: string, cmp: Comparison, key = ''): void {
  const rt = typeOf(recorded);
  const at = typeOf(actual);
  if (rt !== at) {
    cmp.report(path, `${at}, recorded ${rt}`);
    return;
  }
  if (rt === 'object') {
    const r = recorded as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const missing = Object.keys(r).filter((k) => !(k in a));
    const extra = Object.keys(a).filter((k) => !(k in r));
    if (missing.length) cmp.report(path, `missing ${missing.join(', ')}`);
    if (extra.length) cmp.report(path, `extra ${extra.join(', ')}`);
    for (const k of Object.keys(r)) if (k in a) compareShape(r[k], a[k], `${path}.${k}`, cmp, k);
    return;
  }
  if (rt === 'array') {
    const r = recorded as unknown[];
    const a = actual as unknown[];
    if (EXACT_KEYS.has(key) && r.every((v) => typeof v === 'string')) {
      if (JSON.stringify(r) !== JSON.stringify(a)) cmp.report(path, `${JSON.stringify(a)}, recorded ${JSON.stringify(r)}`);
      return;
    }
    if (r.length !== a.length) cmp.report(path, `${a.length} items, recorded ${r.length}`);
    for (let i = 0; i < Math.min(r.length, a.length); i++) compareShape(r[i], a[i], `${path}[${i}]`, cmp, key);
    return;
  }
  if (rt === 'string') return compareString(key, recorded as string, actual as string, path, cmp);
  if (rt === 'number') {
    if (EXACT_KEYS.has(key) && recorded !== actual) cmp.report(path, `${String(actual)}, recorded ${String(recorded)}`);
    else if (Number.isInteger(recorded) && !Number.isInteger(actual)) cmp.report(path, `not an integer: ${String(actual)}`);
    return;
  }
  if (rt === 'boolean' && recorded !== actual) cmp.report(path, `${String(actual)}, recorded ${String(recorded)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function send(url: string, method: string, token: string | undefined, body: unknown, ca: string): Promise<Response> {
  const payload = body === null || body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        agent: false,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-ms-client-request-id': 'conformance',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          if (text) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Merge: the client has its CA issue a certificate for the pending operation's CSR.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** An x5c entry's DER: base64 of DER or, as the recorded SDK test sends it (and Key Vault accepts), base64 of a PEM. */
function x5cDer(entry: string): { der: Buffer; pem: boolean } {
  const once = Buffer.from(entry, 'base64');
  const text = once.toString('latin1').replace(/-----[A-Z ]+-----/g, '');
  return /^[A-Za-z0-9+/=\s]+$/.test(text) ? { der: Buffer.from(text, 'base64'), pem: true } : { der: once, pem: false };
}

/**
 * A certificate for `csrBase64` (DER) with the recorded leaf's validity length, issued by a throwaway CA, encoded as
 * the recorded x5c entry was.
 */
export async function issueForCsr(csrBase64: string, recordedX5c: string): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrBase64, 'base64'));
  const recorded = x5cDer(recordedX5c);
  const recordedLeaf = new x509.X509Certificate(recorded.der);
  const lifetime = recordedLeaf.notAfter.getTime() - recordedLeaf.notBefore.getTime();
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notBefore = new Date();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: csr.subject,
    issuer: 'CN=Conformance Test CA',
    notBefore,
    notAfter: new Date(notBefore.getTime() + lifetime),
    publicKey: await csr.publicKey.export(webcrypto),
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
  });
  const base64 = Buffer.from(cert.rawData).toString('base64');
  if (!recorded.pem) return base64;
  const pem = `-----BEGIN CERTIFICATE-----\n${base64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  return Buffer.from(pem, 'latin1').toString('base64');
}

// ---------------------------------------------------------------------------------------------------------------
// Replay

export interface ReplayTarget {
  /** `https://127.0.0.1:<port>` of the vault this recording runs against. */
  readonly vaultUrl: string;
  readonly token: string;
  readonly caPem: string;
  /** Sets the emulator's clock. */
  setClock(date: Date): void;
  /** Creates objects the recorded vault held before the recording started. */
  seed(objects: Preconditions): Promise<void>;
}

type CollectionName = 'keys' | 'secrets' | 'certificates';

function splitUri(uri: string): { path: string; query: string } {
  const rest = uri.replace(RECORDED_ORIGIN, '');
  const [path = '', query = ''] = rest.split('?', 2);
  return { path, query };
}

const hasSkipToken = (query: string): boolean => /(^|&)\$skiptoken=/.test(query);
const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(found) ? found[0] : found;
};

/** An object the recorded vault held before the recording started, as a list showed it. */
export interface ExistingObject {
  readonly name: string;
  readonly enabled: boolean;
}

export type Preconditions = Record<CollectionName, ExistingObject[]>;

/** Objects a recorded list shows, by collection. */
function listedNames(entry: RecordedEntry): { collection: CollectionName; name: string; enabled: boolean }[] {
  const body = entry.ResponseBody as { value?: { kid?: string; id?: string; attributes?: { enabled?: boolean } }[] } | null;
  if (!body || !Array.isArray(body.value)) return [];
  return body.value.flatMap((item) => {
    const id = item.kid ?? item.id ?? '';
    const match = /\/(keys|secrets|certificates)\/([^/?]+)/.exec(id);
    return match ? [{ collection: match[1] as CollectionName, name: match[2] as string, enabled: item.attributes?.enabled !== false }] : [];
  });
}

/** Objects the recorded vault held before the recording: listed, never created by the recording's own requests. */
export function preconditions(recording: Recording): Preconditions {
  const created = new Set<string>();
  for (const e of recording.entries) {
    const { path } = splitUri(e.RequestUri);
    const match = /^\/(keys|secrets|certificates)\/([^/]+)/.exec(path);
    if (match && (e.RequestMethod === 'POST' || e.RequestMethod === 'PUT')) created.add(`${match[1]}/${match[2]}`.toLowerCase());
  }
  const out: Record<CollectionName, Map<string, ExistingObject>> = { keys: new Map(), secrets: new Map(), certificates: new Map() };
  for (const e of recording.entries) {
    for (const { collection, name, enabled } of listedNames(e)) {
      if (!created.has(`${collection}/${name}`.toLowerCase())) out[collection].set(name, { name, enabled });
    }
  }
  return { keys: [...out.keys.values()], secrets: [...out.secrets.values()], certificates: [...out.certificates.values()] };
}

interface ReplayState {
  readonly recording: Recording;
  readonly target: ReplayTarget;
  readonly ids: Map<string, string>;
  readonly actualOrigin: RegExp;
  readonly report: (m: Mismatch) => void;
  /** The CSR of the emulator's latest pending operation (merge). */
  csr: string | undefined;
  /** The emulator's latest nextLink per list path. */
  readonly nextLinks: Map<string, string>;
}

function mapIds(text: string, ids: ReadonlyMap<string, string>): string {
  return text.replace(/[0-9a-f]{32}/g, (id) => ids.get(id) ?? id);
}

function recordedDate(entry: RecordedEntry): Date | undefined {
  const value = header(entry.ResponseHeaders, 'Date');
  const date = value ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function comparison(state: ReplayState, index: number, request: string): Comparison {
  return {
    actualOrigin: state.actualOrigin,
    ids: state.ids,
    report: (path, message) => state.report({ recording: state.recording.file, entry: index, request, path, message }),
  };
}

/** Status, Location and Retry-After, and the body's shape. */
function compareResponse(state: ReplayState, index: number, request: string, recorded: RecordedEntry, actual: Response): void {
  const cmp = comparison(state, index, request);
  if (actual.status !== recorded.StatusCode) cmp.report('status', `${actual.status}, recorded ${recorded.StatusCode}`);
  for (const name of ['Location', 'Retry-After']) {
    const r = header(recorded.ResponseHeaders, name);
    const a = header(actual.headers, name);
    if ((r === undefined) !== (a === undefined)) cmp.report(`header ${name}`, a === undefined ? `absent, recorded ${r}` : `present (${a}), recorded absent`);
    else if (r !== undefined && a !== undefined) compareString(name === 'Location' ? 'Location' : 'Retry-After', r, a, `header ${name}`, cmp);
  }
  const recordedHasType = header(recorded.ResponseHeaders, 'Content-Type') !== undefined;
  const actualHasType = header(actual.headers, 'content-type') !== undefined;
  if (recordedHasType !== actualHasType) cmp.report('header Content-Type', actualHasType ? 'present, recorded absent' : 'absent, recorded present');
  compareShape(recorded.ResponseBody ?? null, actual.body ?? null, 'body', cmp);
  const csr = (actual.body as { csr?: unknown } | null)?.csr;
  if (typeof csr === 'string') state.csr = csr;
}

async function requestBody(state: ReplayState, entry: RecordedEntry, path: string): Promise<unknown> {
  if (entry.RequestBody === null || entry.RequestBody === undefined) return undefined;
  const body = JSON.parse(mapIds(JSON.stringify(entry.RequestBody), state.ids)) as Record<string, unknown>;
  if (path.endsWith('/pending/merge') && Array.isArray(body['x5c']) && state.csr) {
    body['x5c'] = [await issueForCsr(state.csr, String(body['x5c'][0]))];
  }
  return body;
}

async function sendEntry(state: ReplayState, entry: RecordedEntry, url: string, path: string): Promise<Response> {
  const date = recordedDate(entry);
  if (date) state.target.setClock(date);
  const token = entry.StatusCode === 401 ? undefined : state.target.token;
  return send(url, entry.RequestMethod, token, await requestBody(state, entry, path), state.target.caPem);
}

const phase = (status: number, body: unknown): string => {
  const operationStatus = (body as { status?: unknown } | null)?.status;
  return `${status}/${typeof operationStatus === 'string' ? operationStatus : ''}`;
};

/** Replays one recording; mismatches go to `report`. */
export async function replay(recording: Recording, target: ReplayTarget, report: (m: Mismatch) => void): Promise<void> {
  const port = new URL(target.vaultUrl).port;
  const state: ReplayState = {
    recording,
    target,
    ids: new Map(),
    actualOrigin: new RegExp(`^https://127\\.0\\.0\\.1:${port}`),
    report,
    csr: undefined,
    nextLinks: new Map(),
  };
  await target.seed(preconditions(recording));
  const { entries } = recording;
  let i = 0;
  while (i < entries.length) {
    const entry = entries[i] as RecordedEntry;
    const { path, query } = splitUri(entry.RequestUri);
    const mappedPath = mapIds(path, state.ids);
    const url = `${target.vaultUrl}${mappedPath}${query ? `?${query}` : ''}`;
    const label = `${entry.RequestMethod} ${path}${query ? `?${query}` : ''}`;
    const sameRequest = (other: RecordedEntry | undefined): boolean =>
      other !== undefined && other.RequestMethod === entry.RequestMethod && other.RequestUri === entry.RequestUri && other.StatusCode !== 401;

    // A list walked page by page: the client follows the nextLinks the server gives.
    let last = i;
    while (
      entry.RequestMethod === 'GET' &&
      !hasSkipToken(query) &&
      entries[last + 1] &&
      splitUri((entries[last + 1] as RecordedEntry).RequestUri).path === path &&
      hasSkipToken(splitUri((entries[last + 1] as RecordedEntry).RequestUri).query)
    ) {
      last++;
    }
    if (last > i) {
      await walkList(state, i, last, url, label);
      i = last + 1;
      continue;
    }

    // A poll loop: the same GET repeated until the operation reaches its recorded final state.
    while (entry.RequestMethod === 'GET' && sameRequest(entries[last + 1])) last++;
    if (last > i && entry.StatusCode !== 401) {
      await poll(state, i, last, url, label);
      i = last + 1;
      continue;
    }

    // A page request whose (sanitized) $skiptoken continues the list: the client follows the emulator's nextLink.
    const followed = hasSkipToken(query) ? state.nextLinks.get(path) : undefined;
    const response = await sendEntry(state, entry, followed ?? url, mappedPath);
    compareResponse(state, i, label, entry, response);
    const link = (response.body as { nextLink?: unknown } | null)?.nextLink;
    if (typeof link === 'string') state.nextLinks.set(path, link);
    i++;
  }
}

async function poll(state: ReplayState, first: number, last: number, url: string, label: string): Promise<void> {
  const entries = state.recording.entries;
  const final = entries[last] as RecordedEntry;
  const finalPhase = phase(final.StatusCode, final.ResponseBody);
  const path = new URL(url).pathname;
  let clock = recordedDate(final) ?? new Date();
  for (let n = 0; n < last - first + 1 + 30; n++) {
    const index = Math.min(first + n, last);
    const recorded = entries[index] as RecordedEntry;
    let response: Response;
    if (first + n <= last) response = await sendEntry(state, recorded, url, path);
    else {
      clock = new Date(clock.getTime() + 10_000);
      state.target.setClock(clock);
      response = await send(url, 'GET', state.target.token, undefined, state.target.caPem);
    }
    const current = phase(response.status, response.body);
    if (current === finalPhase) return compareResponse(state, last, label, final, response);
    const same = entries.slice(first, last).findIndex((e) => phase(e.StatusCode, e.ResponseBody) === current);
    if (same < 0) {
      comparison(state, index, label).report('status', `poll reached ${current}, which the recorded poll loop never shows (final ${finalPhase})`);
      return;
    }
    compareResponse(state, first + same, label, entries[first + same] as RecordedEntry, response);
  }
  comparison(state, last, label).report('status', `poll never reached the recorded final state ${finalPhase}`);
}

async function walkList(state: ReplayState, first: number, last: number, url: string, label: string): Promise<void> {
  const entries = state.recording.entries.slice(first, last + 1);
  const recordedNames = entries.flatMap((e) => listedNames(e).map((n) => n.name));
  const recordedItems = entries.flatMap((e) => (e.ResponseBody as { value?: unknown[] } | null)?.value ?? []);
  const template = entries.find((e) => ((e.ResponseBody as { value?: unknown[] } | null)?.value?.length ?? 0) > 0) ?? entries[0];
  const linked = entries.find((e) => typeof (e.ResponseBody as { nextLink?: unknown } | null)?.nextLink === 'string');
  const finalPage = entries.at(-1) as RecordedEntry;
  const actualNames: string[] = [];
  let next: string | null = url;
  for (let page = 0; next && page < 200; page++) {
    const recorded = entries[Math.min(page, entries.length - 1)] as RecordedEntry;
    const date = recordedDate(recorded);
    if (date) state.target.setClock(date);
    const response = await send(next, 'GET', state.target.token, undefined, state.target.caPem);
    const cmp = comparison(state, first + Math.min(page, entries.length - 1), label);
    if (response.status !== recorded.StatusCode) {
      cmp.report('status', `${response.status}, recorded ${recorded.StatusCode}`);
      return;
    }
    const body = response.body as { value?: unknown[]; nextLink?: unknown } | null;
    const templateBody = template?.ResponseBody as { value?: unknown[] } | null;
    if (!body || !Array.isArray(body.value)) {
      cmp.report('body', 'not a list page');
      return;
    }
    const keys = Object.keys(body).sort().join(',');
    const recordedKeys = Object.keys(finalPage.ResponseBody as object).sort().join(',');
    if (keys !== recordedKeys) cmp.report('body', `page fields ${keys}, recorded ${recordedKeys}`);
    // Item k of the walk is compared with item k of the recorded walk (names are compared below, as a sequence).
    for (const [k, actualItem] of body.value.entries()) {
      const item = recordedItems[actualNames.length + k] ?? templateBody?.value?.[0];
      if (item !== undefined) compareShape(item, actualItem, `body.value[${k}]`, cmp);
    }
    actualNames.push(...listedNames({ ResponseBody: body } as RecordedEntry).map((n) => n.name));
    if (typeof body.nextLink === 'string') {
      const recordedLink = (linked?.ResponseBody as { nextLink?: string } | undefined)?.nextLink;
      if (recordedLink) compareString('nextLink', recordedLink, body.nextLink, 'body.nextLink', cmp);
      else cmp.report('body.nextLink', 'a nextLink, while the recorded list has none');
      if (recordedLink?.includes('$skiptoken=') && !body.nextLink.includes('$skiptoken=')) {
        cmp.report('body.nextLink', `$skiptoken is not literal: ${body.nextLink}`);
      }
      next = body.nextLink;
    } else if (body.nextLink !== null) {
      cmp.report('body.nextLink', `${typeOf(body.nextLink)}, recorded null on the last page`);
      next = null;
    } else next = null;
  }
  if (JSON.stringify(actualNames.map((n) => n.toLowerCase())) !== JSON.stringify(recordedNames.map((n) => n.toLowerCase()))) {
    comparison(state, first, label).report('list items', `${JSON.stringify(actualNames)}, recorded ${JSON.stringify(recordedNames)}`);
  }
}
