/**
 * Key Vault list paging: at most 25 items per page (`maxresults` 1..25), and a `nextLink` that is an absolute URL
 * carrying an opaque `$skiptoken`. The token holds a marker: the last name returned (lists of objects, so objects
 * created between pages neither repeat nor vanish) or the next position (lists of versions, which only grow).
 */
import { badParameter } from './errors.js';

const MAX_PAGE_SIZE = 25;

export interface PageRequest {
  maxResults: number;
  marker: string | undefined;
}

export function encodeSkipToken(marker: string): string {
  return Buffer.from(JSON.stringify({ NextMarker: marker }), 'utf8').toString('base64url');
}

export function decodeSkipToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const marker = (parsed as { NextMarker?: unknown } | null)?.NextMarker;
    if (typeof marker === 'string') return marker;
  } catch {
    // Reported below.
  }
  throw badParameter(`The $skiptoken "${token.slice(0, 64)}" is not a token this vault issued.`);
}

export function parsePageRequest(query: URLSearchParams): PageRequest {
  const raw = query.get('maxresults');
  let maxResults = MAX_PAGE_SIZE;
  if (raw !== null && raw !== '') {
    maxResults = Number(raw);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_PAGE_SIZE) {
      throw badParameter(`The value of 'maxresults' (${raw}) is invalid: it must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    }
  }
  const token = query.get('$skiptoken');
  return { maxResults, marker: token ? decodeSkipToken(token) : undefined };
}

/** Index of the first key greater than `marker` in an ascending array (0 without a marker). */
export function indexAfter(sortedKeys: readonly string[], marker: string | undefined): number {
  if (marker === undefined) return 0;
  let low = 0;
  let high = sortedKeys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sortedKeys[mid] ?? '') <= marker) low = mid + 1;
    else high = mid;
  }
  return low;
}

export interface Page<T> {
  items: T[];
  /** Index to continue from, or undefined when the list is exhausted. */
  next: number | undefined;
}

/**
 * Collects up to `max` items from `source` starting at `start`; `map` returns undefined for entries the list skips
 * (a certificate that is still pending, for example).
 */
function collectPage<S, T>(source: readonly S[], start: number, max: number, map: (entry: S) => T | undefined): Page<T> {
  const items: T[] = [];
  let index = start;
  while (index < source.length && items.length < max) {
    const entry = source[index++];
    const item = entry === undefined ? undefined : map(entry);
    if (item !== undefined) items.push(item);
  }
  return { items, next: index < source.length ? index : undefined };
}

/**
 * The absolute nextLink of a list: same path and query, plus the continuation token as Key Vault writes it
 * (`$skiptoken` literally, not percent-encoded; BEHAVIOURS.md 18).
 */
export function nextLink(vaultUrl: string, path: string, query: URLSearchParams, marker: string): string {
  const params = new URLSearchParams(query);
  params.delete('$skiptoken');
  const rest = params.toString();
  return `${vaultUrl}${path}?${rest ? `${rest}&` : ''}$skiptoken=${encodeSkipToken(marker)}`;
}

export interface ListPage<T> {
  items: T[];
  /** Marker of the next page's token, or undefined on the last page. */
  nextMarker: string | undefined;
}

/** A page of objects in name order (`sortedKeys` ascending); `map` returns undefined for names the list skips. */
export function namePage<T>(sortedKeys: readonly string[], request: PageRequest, map: (key: string) => T | undefined): ListPage<T> {
  const { items, next } = collectPage(sortedKeys, indexAfter(sortedKeys, request.marker), request.maxResults, map);
  return { items, nextMarker: next === undefined ? undefined : sortedKeys[next - 1] };
}

/**
 * A page of versions ordered by version id, as Key Vault orders them (not by creation; BEHAVIOURS.md 24); the marker
 * is the last id returned, so versions created between pages are neither repeated nor skipped before the marker.
 */
export function versionPage<V extends { readonly version: string }, T>(
  versions: readonly V[],
  request: PageRequest,
  map: (version: V) => T | undefined,
): ListPage<T> {
  if (request.marker !== undefined && !/^[0-9a-f]{32}$/.test(request.marker)) throw badParameter('The $skiptoken is not a token of a version list.');
  const sorted = [...versions].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const ids = sorted.map((v) => v.version);
  const { items, next } = collectPage(sorted, indexAfter(ids, request.marker), request.maxResults, map);
  return { items, nextMarker: next === undefined ? undefined : ids[next - 1] };
}
