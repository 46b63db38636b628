/** The ConsumerGateway the core's verifier uses, assembled from the configured consumers. */
import type { RotorConfig } from '../../core/config.js';
import type { ConsumerGateway } from '../../core/verification.js';
import type { AzureEnvironment } from '../azure-clients.js';
import { BatchPools, HpcCaches } from './arm.js';
import { HpcPackClusters, probeTls } from './hpcpack.js';

export function createConsumerGateway(
  config: RotorConfig,
  environment: AzureEnvironment,
  armEndpoint: string,
  readSecret: (vault: string, name: string) => Promise<string>,
  sleep: (ms: number) => Promise<void>,
): ConsumerGateway {
  const target = { endpoint: armEndpoint, environment };
  const pools = new BatchPools(target, config.consumers.batch);
  const caches = new HpcCaches(target, config.consumers.hpcCache.map((c) => c.cacheId));
  const clusters = new HpcPackClusters(readSecret, environment.caPem, sleep, Math.min(environment.requestTimeoutMs ?? 10_000, 10_000), environment.throttle);
  return {
    batchPools: () => pools.pools(),
    hpcPackNodes: (cluster) => clusters.nodes(cluster),
    probeTls,
    hpcCaches: () => caches.caches(),
    vaultProtection: (id) => caches.vaultProtection(id),
  };
}
