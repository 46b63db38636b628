/**
 * The local ARM endpoint: one HTTPS server that plays management.azure.com for Microsoft.Batch (accounts, pools),
 * Microsoft.StorageCache (caches) and Microsoft.KeyVault (vaults), for the official SDK clients unchanged.
 */
import { SETTINGS } from '../../settings.js';
import type { LocalServiceContext, LocalServiceFactory } from '../service.js';
import { Counters } from '../shared/counters.js';
import { FaultPlan } from '../shared/faults.js';
import { startHttpsServer } from '../shared/server.js';
import { readStateFile, writeStateFile } from '../shared/state-file.js';
import { createControlHandler } from './control.js';
import { createArmHandler } from './handler.js';
import { CacheKeyRotation } from './rotation.js';
import { ArmStore } from './store.js';
import { armError } from './wire.js';
import { ARM_PROVIDERS, type ArmEmulator, type ArmEmulatorOptions, type ArmProvider, type ArmSeed } from './types.js';

export * from './types.js';
export { userAssignedIdentityId, vaultId } from './ids.js';

const STATE_FILE = 'arm.json';

export async function startArmEmulator(ctx: LocalServiceContext, options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const store = new ArmStore(ctx.now);
  const persisted = await readStateFile<ArmSeed>(ctx.stateDir, STATE_FILE);
  if (persisted) store.seed(persisted);
  else if (options.seed) store.seed(options.seed);

  const faults = new Map<ArmProvider, FaultPlan>(ARM_PROVIDERS.map((p) => [p, new FaultPlan()]));
  const plansFor = (provider: ArmProvider | '*'): FaultPlan[] =>
    provider === '*' ? [...faults.values()] : [faults.get(provider) ?? new FaultPlan()];
  for (const [provider, fault] of Object.entries(options.faults ?? {})) {
    for (const plan of plansFor(provider as ArmProvider | '*')) plan.set(fault);
  }

  const counters = new Counters();
  const rotation = new CacheKeyRotation(store, options.cacheKeyRotation, ctx.now, ctx.log);
  const stopping = new AbortController();
  const cert = await ctx.ca.issueServerCert(['127.0.0.1', 'localhost']);
  let url = '';

  const emulator: ArmEmulator = {
    name: 'arm',
    get url() {
      return url;
    },
    settings: () => ({ [SETTINGS.armEndpoint.name]: url }),
    endpoints: () => ({ 'ARM (Batch, HPC Cache, Key Vault)': url }),
    ports: () => ({ https: server.port }),
    seed: (seed) => store.seed(seed),
    updatePool: (pool, patch) => store.updatePool(pool, patch),
    updateCache: (cache, patch) => store.updateCache(cache, patch),
    updateVault: (vault, patch) => store.updateVault(vault, patch),
    setFaults: (provider, fault) => plansFor(provider).forEach((plan) => plan.set(fault)),
    clearFaults: (provider) => plansFor(provider).forEach((plan) => plan.clear()),
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    checkKeyRotation: () => rotation.check(),
    save: () => writeStateFile(ctx.stateDir, STATE_FILE, store.snapshot()),
    async stop() {
      rotation.stop();
      stopping.abort();
      await server.close();
    },
  };

  const server = await startHttpsServer({
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    preferredPort: ctx.preferredPorts['https'],
    handler: createArmHandler({
      store,
      rotation,
      faults,
      counters,
      token: ctx.token,
      baseUrl: () => url,
      pageSize: options.pageSize ?? 100,
      signal: stopping.signal,
      control: createControlHandler(emulator),
    }),
    internalErrorBody: armError('InternalServerError', 'The local ARM emulator failed; see its log.'),
    onError: (err) => ctx.log(`request failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  url = server.url;
  rotation.start();
  ctx.log(`ARM endpoint listening on ${url}`);
  return emulator;
}

/** The stack's factory: `services: { arm: armEmulator({ seed, cacheKeyRotation }) }`. */
export function armEmulator(options: ArmEmulatorOptions = {}): LocalServiceFactory<ArmEmulator> {
  return (ctx) => startArmEmulator(ctx, options);
}
