/**
 * The benchmark's local stack: Azurite and the Key Vault–compatible endpoint with injected latency and Key Vault's
 * published per-vault limits switched on, and Rotor's real services (official SDK clients) built from its settings.
 */
import { buildServices, useServices, type AppServices } from '../../src/app/services.js';
import { parseConfig } from '../../src/core/config.js';
import type { Logger } from '../../src/core/ports.js';
import { seededRandom } from '../../src/core/generators.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import type { SeedFixture } from '../../src/local/keyvault/types.js';

export const quiet: Logger = { info() {}, warn() {}, error() {} };

export interface BenchStackOptions {
  vaults: string[];
  latencyMs: number;
  seed?: SeedFixture;
  /** Delay before a pending certificate operation completes (ms). */
  pendingDelayMs?: number;
  azurite?: boolean;
}

export interface BenchStack {
  readonly stack: LocalStack;
  /**
   * Lists every vault once, without latency (not measured): the emulator issues a seeded certificate's X.509 the
   * first time it is listed, which a real vault has done long before.
   */
  warmUp(services: AppServices): Promise<void>;
  readonly env: Record<string, string>;
  vaultUrl(vault: string): string;
  /** Rotor's services for a configuration (installed as the process-wide services of the function handlers). */
  services(config: Record<string, unknown>, log?: Logger): Promise<AppServices>;
  stop(): Promise<void>;
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const stack = await startLocalStack({
    azurite: options.azurite ?? true,
    keyVault: {
      vaults: options.vaults,
      pendingDelayMs: options.pendingDelayMs ?? 200,
      // Latency on every request; the budgets default to Key Vault's published limits (switched on).
      faults: { latencyMs: options.latencyMs },
      ...(options.seed ? { seed: options.seed } : {}),
    },
  });
  const env = stack.settings();
  let seq = 0;
  return {
    stack,
    env,
    vaultUrl: (vault) => `${stack.keyVault.vaultUrl(vault)}/`,
    async warmUp(services) {
      stack.keyVault.setFaults('*', { latencyMs: 0 });
      try {
        for (const vault of services.config.vaults) {
          await Promise.all(
            (['certificate', 'key', 'secret'] as const).map(async (type) => {
              for await (const _ of services.gateway(vault).listObjects(type)) void _;
            }),
          );
        }
      } finally {
        stack.keyVault.setFaults('*', { latencyMs: options.latencyMs });
        stack.keyVault.resetCounters();
      }
    },
    async services(config, log = quiet) {
      const services = await buildServices({
        env,
        config: parseConfig(config),
        random: seededRandom(42),
        newId: () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
        log,
        // Metrics as the function app has them without Application Insights: Rotor's instruments on the global
        // OpenTelemetry API (their bookkeeping is part of what is measured).
      });
      useServices(services);
      return services;
    },
    stop: () => stack.stop(),
  };
}

/** Runs `fn` and returns its result with the elapsed wall time in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - start };
}

export const sum = (counters: Record<string, number>, predicate: (operation: string) => boolean): number =>
  Object.entries(counters).reduce((n, [op, c]) => (predicate(op) ? n + c : n), 0);
