/**
 * Before a command starts work: can Rotor reach its storage account and the vaults it is about to read? One short
 * probe each (in parallel, one per vault: the configuration bounds their number), so an unreachable endpoint is a
 * clear error within seconds that names the setting and the endpoint, instead of a bare ECONNREFUSED after the SDK
 * clients' retries.
 */
import type { VaultConfig } from '../core/config.js';
import { SETTINGS } from '../settings.js';
import type { StorageConnection } from '../adapters/storage/clients.js';
import { probeEndpoint, tableEndpoint } from '../adapters/reachability.js';

export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

export interface PreflightTarget {
  readonly storage?: StorageConnection | undefined;
  readonly vaults?: readonly VaultConfig[] | undefined;
  readonly caPem?: string | undefined;
  readonly timeoutMs?: number;
}

export async function checkReachable(target: PreflightTarget): Promise<void> {
  const timeoutMs = target.timeoutMs ?? 5000;
  const checks: Array<Promise<string | undefined>> = [];
  if (target.storage) {
    const storage = target.storage;
    const endpoint = tableEndpoint(storage);
    const setting = storage.kind === 'connectionString' ? SETTINGS.storageConnection.name : SETTINGS.storageTableUri.name;
    checks.push(
      probeEndpoint(endpoint, { timeoutMs, ca: target.caPem }).then((r) =>
        r.ok ? undefined : `Rotor's storage (${setting}) cannot be reached at ${endpoint}: ${r.problem ?? 'no answer'}`,
      ),
    );
  }
  for (const vault of target.vaults ?? []) {
    checks.push(
      probeEndpoint(vault.url, { timeoutMs, ca: target.caPem }).then((r) =>
        r.ok ? undefined : `vault ${vault.name} (configuration vaults[].url) cannot be reached at ${vault.url}: ${r.problem ?? 'no answer'}`,
      ),
    );
  }
  const problems = (await Promise.all(checks)).filter((p): p is string => p !== undefined);
  if (problems.length) throw new UnreachableError(problems.join('\n'));
}
