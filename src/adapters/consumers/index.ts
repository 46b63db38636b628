/** The ConsumerGateway the core's verifier uses, assembled from the configured consumers. */
import type { LookupFunction } from 'node:net';
import type { RotorConfig } from '../../core/config.js';
import type { Limit } from '../../core/ports.js';
import type { ConsumerGateway } from '../../core/verification.js';
import type { AzureEnvironment } from '../azure-clients.js';
import { BatchPools, HpcCaches } from './arm.js';
import { HpcPackClusters, probeTls } from './hpcpack.js';

export interface ConsumerGatewayOptions {
  /** Bounds the ARM reads (the core bounds TLS probes and head-node calls with the same limit). */
  readonly limit: Limit;
  /** Name resolution of the TLS probes (default: the system resolver). */
  readonly lookup?: LookupFunction | undefined;
}

export function createConsumerGateway(
  config: RotorConfig,
  environment: AzureEnvironment,
  armEndpoint: string,
  readSecret: (vault: string, name: string) => Promise<string>,
  sleep: (ms: number) => Promise<void>,
  options: ConsumerGatewayOptions,
): ConsumerGateway {
  const target = { endpoint: armEndpoint, environment };
  const pools = new BatchPools(target, config.consumers.batch, options.limit);
  const caches = new HpcCaches(target, config.consumers.hpcCache.map((c) => c.cacheId), options.limit);
  const clusters = new HpcPackClusters(readSecret, environment.caPem, sleep, Math.min(environment.requestTimeoutMs ?? 10_000, 10_000), environment.throttle);
  const probeOptions = { lookup: options.lookup };
  return {
    batchPools: () => pools.pools(),
    hpcPackNodes: (cluster) => clusters.nodes(cluster),
    probeTls: (host, port, timeoutMs) => probeTls(host, port, timeoutMs, probeOptions),
    hpcCaches: () => caches.caches(),
    vaultProtection: (id) => caches.vaultProtection(id),
  };
}
