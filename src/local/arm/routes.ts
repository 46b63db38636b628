/**
 * The management-plane operations the emulator serves: path patterns (matched case-insensitively, as ARM does),
 * scope checks that produce ARM's not-found errors, and the records each operation returns.
 */
import type { ArmStore } from './store.js';
import type { ArmProvider } from './types.js';
import { batchAccountToWire, batchPoolToWire, cacheToWire, poolEtag, vaultToWire } from './wire.js';

type Json = Record<string, unknown>;
type Params = Record<string, string>;

export type RouteResult =
  | { kind: 'item'; body: Json; headers?: Record<string, string> }
  | { kind: 'list'; items: Json[] }
  | { kind: 'error'; status: number; code: string; message: string };

export interface Route {
  /** Counter name, e.g. "batch.pools.list". */
  op: string;
  provider: ArmProvider;
  segments: string[];
  run: (store: ArmStore, params: Params) => RouteResult;
  /** List operations honour Batch's `maxresults`. */
  maxResults?: boolean;
}

/** API versions of the pinned SDKs (@azure/arm-batch 9.1.0, arm-storagecache 7.0.0, arm-keyvault 5.0.0). */
export const API_VERSIONS: Record<ArmProvider, readonly string[]> = {
  'Microsoft.Batch': ['2023-11-01'],
  'Microsoft.StorageCache': ['2023-05-01'],
  'Microsoft.KeyVault': ['2025-05-01', '2026-02-01'],
};

const notFound = (type: string, name: string, resourceGroup: string): RouteResult => ({
  kind: 'error',
  status: 404,
  code: 'ResourceNotFound',
  message:
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. ` +
    'For more details please go to https://aka.ms/ARMResourceNotFoundFix',
});

/** Checks subscription and resource group, as ARM does before the resource provider sees the request. */
function inScope(store: ArmStore, p: Params, run: () => RouteResult): RouteResult {
  const sub = p['sub'] ?? '';
  if (!store.hasSubscription(sub)) {
    return { kind: 'error', status: 404, code: 'SubscriptionNotFound', message: `The subscription '${sub}' could not be found.` };
  }
  const rg = p['rg'];
  if (rg !== undefined && !store.hasResourceGroup(sub, rg)) {
    return { kind: 'error', status: 404, code: 'ResourceGroupNotFound', message: `Resource group '${rg}' could not be found.` };
  }
  return run();
}

const p = (params: Params, name: string): string => params[name] ?? '';

const BATCH_ACCOUNTS = 'subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch/batchAccounts';
const CACHES = 'subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.StorageCache/caches';

const route = (
  op: string,
  provider: ArmProvider,
  path: string,
  run: Route['run'],
  extra: Partial<Route> = {},
): Route => ({ op, provider, segments: path.split('/'), run: (store, params) => inScope(store, params, () => run(store, params)), ...extra });

export const ROUTES: Route[] = [
  route('batch.accounts.list', 'Microsoft.Batch', 'subscriptions/{sub}/providers/Microsoft.Batch/batchAccounts', (s, q) => ({
    kind: 'list',
    items: s.listAccounts(p(q, 'sub')).map(batchAccountToWire),
  })),
  route('batch.accounts.listByResourceGroup', 'Microsoft.Batch', BATCH_ACCOUNTS, (s, q) => ({
    kind: 'list',
    items: s.listAccounts(p(q, 'sub'), p(q, 'rg')).map(batchAccountToWire),
  })),
  route('batch.accounts.get', 'Microsoft.Batch', `${BATCH_ACCOUNTS}/{account}`, (s, q) => {
    const account = s.getAccount(p(q, 'sub'), p(q, 'rg'), p(q, 'account'));
    return account
      ? { kind: 'item', body: batchAccountToWire(account) }
      : notFound('Microsoft.Batch/batchAccounts', p(q, 'account'), p(q, 'rg'));
  }),
  route(
    'batch.pools.list',
    'Microsoft.Batch',
    `${BATCH_ACCOUNTS}/{account}/pools`,
    (s, q) =>
      s.getAccount(p(q, 'sub'), p(q, 'rg'), p(q, 'account'))
        ? { kind: 'list', items: s.listPools(p(q, 'sub'), p(q, 'rg'), p(q, 'account')).map(batchPoolToWire) }
        : notFound('Microsoft.Batch/batchAccounts', p(q, 'account'), p(q, 'rg')),
    { maxResults: true },
  ),
  route('batch.pools.get', 'Microsoft.Batch', `${BATCH_ACCOUNTS}/{account}/pools/{pool}`, (s, q) => {
    if (!s.getAccount(p(q, 'sub'), p(q, 'rg'), p(q, 'account'))) {
      return notFound('Microsoft.Batch/batchAccounts', p(q, 'account'), p(q, 'rg'));
    }
    const pool = s.getPool(p(q, 'sub'), p(q, 'rg'), p(q, 'account'), p(q, 'pool'));
    return pool
      ? { kind: 'item', body: batchPoolToWire(pool), headers: { etag: poolEtag(pool) } }
      : notFound('Microsoft.Batch/batchAccounts/pools', `${p(q, 'account')}/${p(q, 'pool')}`, p(q, 'rg'));
  }),
  route('storagecache.caches.list', 'Microsoft.StorageCache', 'subscriptions/{sub}/providers/Microsoft.StorageCache/caches', (s, q) => ({
    kind: 'list',
    items: s.listCaches(p(q, 'sub')).map(cacheToWire),
  })),
  route('storagecache.caches.listByResourceGroup', 'Microsoft.StorageCache', CACHES, (s, q) => ({
    kind: 'list',
    items: s.listCaches(p(q, 'sub'), p(q, 'rg')).map(cacheToWire),
  })),
  route('storagecache.caches.get', 'Microsoft.StorageCache', `${CACHES}/{cache}`, (s, q) => {
    const cache = s.getCache(p(q, 'sub'), p(q, 'rg'), p(q, 'cache'));
    return cache ? { kind: 'item', body: cacheToWire(cache) } : notFound('Microsoft.StorageCache/caches', p(q, 'cache'), p(q, 'rg'));
  }),
  route(
    'keyvault.vaults.get',
    'Microsoft.KeyVault',
    'subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}',
    (s, q) => {
      const vault = s.getVault(p(q, 'sub'), p(q, 'rg'), p(q, 'vault'));
      return vault ? { kind: 'item', body: vaultToWire(vault) } : notFound('Microsoft.KeyVault/vaults', p(q, 'vault'), p(q, 'rg'));
    },
  ),
];

/** Finds the route for a path (segments already split and decoded) and its parameters. */
export function matchRoute(segments: string[]): { route: Route; params: Params } | undefined {
  for (const candidate of ROUTES) {
    if (candidate.segments.length !== segments.length) continue;
    const params: Params = {};
    const matched = candidate.segments.every((pattern, i) => {
      const actual = segments[i] ?? '';
      if (pattern.startsWith('{')) {
        params[pattern.slice(1, -1)] = actual;
        return actual.length > 0;
      }
      return pattern.toLowerCase() === actual.toLowerCase();
    });
    if (matched) return { route: candidate, params };
  }
  return undefined;
}
