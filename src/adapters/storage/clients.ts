/**
 * Clients for Rotor's own storage account (audit, state and consumer tables, work queues). The connection follows the
 * Functions convention for a connection named ROTOR_STORAGE: a connection string in ROTOR_STORAGE (local stack,
 * Azurite), or identity-based ROTOR_STORAGE__tableServiceUri / __queueServiceUri with a managed identity in Azure.
 */
import type { TokenCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { timeoutPolicy } from '../azure-clients.js';
import { throttleRetryPolicy, type ThrottleRetryOptions } from '../throttling.js';

export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; tableServiceUri: string; queueServiceUri: string; credential: TokenCredential };

export const TABLES = { audit: 'RotorAudit', state: 'RotorState', consumers: 'RotorConsumers', vaultWork: 'RotorVaultWork' } as const;
export const QUEUES = { work: 'rotor-work', poison: 'rotor-work-poison' } as const;

const REQUEST_TIMEOUT_MS = 30_000;

/** Table storage answers 503 ServerBusy or 429 when an account or partition is over its targets; 429s get Rotor's backoff. */
export function tableClient(connection: StorageConnection, table: string, throttle?: ThrottleRetryOptions): TableClient {
  const options = {
    retryOptions: { maxRetries: 4, retryDelayInMs: 300, maxRetryDelayInMs: 10_000 },
    additionalPolicies: [
      { policy: timeoutPolicy(REQUEST_TIMEOUT_MS), position: 'perCall' as const },
      { policy: throttleRetryPolicy(throttle), position: 'perRetry' as const },
    ],
  };
  if (connection.kind === 'connectionString') {
    const insecure = /DefaultEndpointsProtocol=http;|TableEndpoint=http:/i.test(connection.connectionString);
    return TableClient.fromConnectionString(connection.connectionString, table, { ...options, allowInsecureConnection: insecure });
  }
  return new TableClient(connection.tableServiceUri, table, connection.credential, options);
}

export function queueClient(connection: StorageConnection, queue: string): QueueClient {
  const options = { retryOptions: { maxTries: 5, tryTimeoutInMs: REQUEST_TIMEOUT_MS, retryDelayInMs: 300, maxRetryDelayInMs: 10_000 } };
  if (connection.kind === 'connectionString') {
    return QueueServiceClient.fromConnectionString(connection.connectionString, options).getQueueClient(queue);
  }
  return new QueueClient(`${connection.queueServiceUri.replace(/\/$/, '')}/${queue}`, connection.credential, options);
}

const ensured = new Map<string, Promise<void>>();

/** Creates a table or queue once per process (idempotent; tolerant of "already exists"). */
export function ensureOnce(key: string, create: () => Promise<unknown>): Promise<void> {
  let p = ensured.get(key);
  if (!p) {
    p = create().then(
      () => undefined,
      (err: unknown) => {
        ensured.delete(key);
        throw err;
      },
    );
    ensured.set(key, p);
  }
  return p;
}

/** Forgets that a table or queue was created (it was deleted, or the storage behind it was reset): the next use creates it again. */
export function forgetEnsured(key: string): void {
  ensured.delete(key);
}

/** Whether a storage error says the table itself is missing (not just an entity). */
export function isTableNotFound(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: string; message?: string } | undefined;
  return e?.statusCode === 404 && (e.code === 'TableNotFound' || /table specified does not exist/i.test(e.message ?? ''));
}
