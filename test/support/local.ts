/**
 * Integration-test support: a local stack (Azurite + Key Vault endpoint, in memory, free ports) and Rotor's real
 * services built from the stack's settings — the official SDK clients talking to the local endpoints.
 */
import { readFile } from 'node:fs/promises';
import type { InvocationContext } from '@azure/functions';
import { buildServices, useServices, type AppServices } from '../../src/app/services.js';
import { parseConfig, type RotorConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/generators.js';
import type { Logger } from '../../src/core/ports.js';
import { createKeyVaultClients, type KeyVaultClients } from '../../src/adapters/azure-clients.js';
import { QUEUES, queueClient, TABLES, tableClient } from '../../src/adapters/storage/clients.js';
import { readRecentRows } from '../../src/adapters/storage/audit-table.js';
import { drainQueue, type LogSink } from '../../src/local/functions-host.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/local/stack.js';
import type { AuditRecord } from '../../src/core/audit.js';

export const quietLogger: Logger = { info() {}, warn() {}, error() {} };
export const quietSink: LogSink = () => undefined;

export interface TestEnv {
  readonly stack: LocalStack;
  readonly env: Record<string, string>;
  readonly started: Date;
  services(config: Record<string, unknown>, extra?: Partial<Parameters<typeof buildServices>[0]>): Promise<AppServices>;
  vaultUrl(vault: string): string;
  clients(vault: string): KeyVaultClients;
  auditRows(since?: Date): Promise<AuditRecord[]>;
  /** Runs queued work items through the registered queue function until the queue is empty. */
  drain(handler: (message: unknown, context: InvocationContext) => Promise<void>, services: AppServices): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestEnv(options: LocalStackOptions = {}): Promise<TestEnv> {
  const started = new Date(Date.now() - 1000);
  const stack = await startLocalStack(options);
  const env = stack.settings();
  let seq = 0;
  return {
    stack,
    env,
    started,
    vaultUrl: (vault) => `${stack.keyVault.vaultUrl(vault)}/`,
    async services(config, extra = {}) {
      const parsed: RotorConfig = parseConfig(config);
      const services = await buildServices({
        env,
        config: parsed,
        random: seededRandom(1234),
        newId: () => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
        log: quietLogger,
        ...extra,
      });
      useServices(services);
      return services;
    },
    clients(vault) {
      return createKeyVaultClients(`${stack.keyVault.vaultUrl(vault)}/`, { credential: stack.credential, caPem: stack.ca.certPem, local: true });
    },
    async auditRows(since = started) {
      return readRecentRows(tableClient({ kind: 'connectionString', connectionString: env['ROTOR_STORAGE'] ?? '' }, TABLES.audit), since);
    },
    async drain(handler, services) {
      await drainQueue(queueClient(services.storage, QUEUES.work), queueClient(services.storage, QUEUES.poison), 'rotationWorker', handler, quietSink, {
        batchSize: 8,
        retryDelaySeconds: 1,
      });
    },
    stop: () => stack.stop(),
  };
}

export async function readCaFile(env: Record<string, string>): Promise<string> {
  return readFile(env['ROTOR_LOCAL_CA_FILE'] ?? '', 'utf8');
}

/** Number of versions of an object, through the SDK. */
export async function versionCount(clients: KeyVaultClients, type: 'certificate' | 'key' | 'secret', name: string): Promise<number> {
  let n = 0;
  const pager =
    type === 'certificate'
      ? clients.certificates.listPropertiesOfCertificateVersions(name)
      : type === 'key'
        ? clients.keys.listPropertiesOfKeyVersions(name)
        : clients.secrets.listPropertiesOfSecretVersions(name);
  for await (const _ of pager) n++;
  return n;
}
