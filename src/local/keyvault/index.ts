/**
 * The local Key Vault–compatible endpoint: one HTTPS server per vault on 127.0.0.1, speaking Key Vault's REST API
 * (2025-07-01 and 7.x) closely enough that the official CertificateClient, KeyClient and SecretClient work against
 * it unchanged. This module composes the parts:
 *   server.ts (HTTP, bearer challenge) · router.ts (operations) · certificates.ts, keys.ts, secrets.ts, deleted.ts (handlers)
 *   wire.ts (JSON shapes) · model.ts (state) · policy.ts, x509.ts, der.ts, pkcs12.ts, key-material.ts,
 *   certificate-material.ts (cryptographic material) · faults.ts, throttle.ts (fault and load injection)
 *   events.ts, expiry.ts (Event Grid events) · seed.ts (fixtures) · persistence.ts (state folder)
 *   control.ts (/_rotor control API) · vault.ts (a vault at run time).
 * Not emulated: certificate delete/recover/purge, backup/restore, issuers and contacts, key cryptography other than
 * sign/verify,
 * import key, release, attestation, random bytes; those requests get 501 NotImplemented.
 */
import type { Server } from 'node:https';
import { SETTINGS } from '../../settings.js';
import type { LocalServiceContext } from '../service.js';
import { settleOperation } from './certificates.js';
import { createControlHandler } from './control.js';
import { EventBus, keyVaultEvent } from './events.js';
import { collectDueExpiryEvents } from './expiry.js';
import { runLifetimeActions as runVaultLifetimeActions, type LifetimeActionReport } from './lifetime.js';
import { KeyPool } from './key-material.js';
import { certificateDer } from './certificate-material.js';
import { findVersion, VaultState } from './model.js';
import { loadState, serializeState, StateSaver } from './persistence.js';
import { seedVault, validateFixture } from './seed.js';
import { startVaultServer, stopVaultServer } from './server.js';
import { unixSeconds } from './time.js';
import type { KeyVaultEmulator, KeyVaultEmulatorOptions, SeedFixture } from './types.js';
import { Timers, Vault, type EmulatorServices } from './vault.js';

export type { KeyVaultEmulator, KeyVaultEmulatorOptions } from './types.js';

const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

function vaultNamesOf(options: KeyVaultEmulatorOptions): string[] {
  const names = options.vaults ?? ['rotor-local'];
  for (const name of names) {
    if (!VAULT_NAME.test(name)) throw new Error(`Vault name "${name}" is invalid: use 3-24 letters, digits and dashes, starting with a letter.`);
  }
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) throw new Error(`Vault names repeat: ${names.join(', ')}`);
  return names;
}

/** Resumes operations that were pending when the state was saved (due ones settle on their next read too). */
function resumePendingOperations(vault: Vault): void {
  if (!vault.pendingTimers) return;
  for (const record of vault.state.certificates.values()) {
    const { operation } = record;
    if (operation?.status === 'inProgress' && operation.dueAtMs !== undefined) {
      vault.schedule(vault.pendingDelayMs, () => {
        if (record.operation === operation) settleOperation(vault, record, true);
      });
    }
  }
}

export async function startKeyVaultEmulator(ctx: LocalServiceContext, options: KeyVaultEmulatorOptions = {}): Promise<KeyVaultEmulator> {
  const names = vaultNamesOf(options);
  const nearExpiryDays = options.nearExpiryDays ?? 30;
  const loaded = ctx.stateDir ? await loadState(ctx.stateDir) : undefined;
  const pool = new KeyPool();
  for (const material of loaded?.materials ?? []) pool.adopt(material);
  const events = new EventBus(ctx.log, ctx.ca.certPem);
  const timers = new Timers();
  const vaults = new Map<string, Vault>();
  // Vaults in the state folder that this run does not serve keep their state.
  const retained = new Map([...(loaded?.vaults ?? [])].filter(([name]) => !names.includes(name)));
  const saver = new StateSaver(
    ctx.stateDir,
    () => serializeState(new Map([...retained, ...[...vaults].map(([name, vault]) => [name, vault.state] as const)])),
    ctx.log,
  );
  const services: EmulatorServices = {
    now: ctx.now,
    pendingDelayMs: options.pendingDelayMs ?? 200,
    pendingTimers: options.pendingTimers ?? true,
    events,
    timers,
    changed: () => saver.schedule(),
    log: ctx.log,
  };
  const recoverableDays = (name: string): number => {
    const days = typeof options.recoverableDays === 'number' ? options.recoverableDays : (options.recoverableDays?.[name] ?? 90);
    if (!Number.isInteger(days) || days < 7 || days > 90) throw new Error(`recoverableDays of vault ${name} must be an integer from 7 to 90, got ${days}`);
    return days;
  };
  for (const name of names) {
    vaults.set(name, new Vault(name, loaded?.vaults.get(name) ?? new VaultState(), services, options.faults, recoverableDays(name)));
  }

  const seed = async (fixture: SeedFixture): Promise<void> => {
    const valid = validateFixture(fixture);
    const unknown = Object.keys(valid.vaults).filter((name) => !vaults.has(name));
    if (unknown.length) throw new Error(`The seed names vaults this emulator does not serve: ${unknown.join(', ')} (serving ${names.join(', ')}).`);
    for (const [name, content] of Object.entries(valid.vaults)) await seedVault(vaults.get(name) as Vault, pool, content);
  };

  const checkExpiry = async (): Promise<number> => {
    const now = ctx.now();
    let emitted = 0;
    for (const vault of vaults.values()) {
      for (const due of collectDueExpiryEvents(vault.state, unixSeconds(now), nearExpiryDays)) {
        events.publish(keyVaultEvent(vault, due.objectType, due.kind, due.name, due.version, now));
        emitted++;
      }
    }
    if (emitted) saver.schedule();
    return emitted;
  };

  const runLifetimeActions = async (): Promise<LifetimeActionReport> => {
    const report: LifetimeActionReport = { renewed: [], rotated: [], notified: [] };
    for (const vault of vaults.values()) await runVaultLifetimeActions(vault, report);
    return report;
  };

  const servers: Server[] = [];
  let expiryTimer: NodeJS.Timeout | undefined;
  const shutdown = async (): Promise<void> => {
    clearInterval(expiryTimer);
    timers.clear();
    saver.cancel();
    await Promise.all(servers.splice(0).map(stopVaultServer));
  };

  try {
    for (const vault of vaults.values()) resumePendingOperations(vault);
    if (!loaded && options.seed) await seed(options.seed);
    const tls = await ctx.ca.issueServerCert(['127.0.0.1', 'localhost']);
    const control = createControlHandler({ seed, checkExpiry, runLifetimeActions, save: () => saver.save() });
    for (const vault of vaults.values()) {
      servers.push(await startVaultServer(vault, { token: ctx.token, tls, preferredPort: ctx.preferredPorts[vault.name], control }));
    }
  } catch (err) {
    await shutdown();
    throw err;
  }
  if (options.expiryCheckIntervalMs && options.expiryCheckIntervalMs > 0) {
    const lifetimeActions = options.lifetimeActions ?? true;
    expiryTimer = setInterval(() => {
      (lifetimeActions ? runLifetimeActions() : Promise.resolve())
        .then(() => checkExpiry())
        .catch((err: unknown) => ctx.log(`expiry check failed: ${(err as Error).message}`));
    }, options.expiryCheckIntervalMs);
    expiryTimer.unref();
  }
  ctx.log(`Key Vault endpoint serving ${[...vaults.values()].map((v) => `${v.name} at ${v.url}/`).join(', ')}`);

  const vaultOf = (name: string): Vault => {
    const vault = vaults.get(name);
    if (!vault) throw new Error(`Unknown vault "${name}" (serving ${names.join(', ')}).`);
    return vault;
  };
  let stopped = false;

  return {
    name: 'keyvault',
    vaultNames: () => [...names],
    vaultUrl: (vault) => vaultOf(vault).url,
    setFaults(vault, faults) {
      for (const target of vault === '*' ? vaults.values() : [vaultOf(vault)]) target.faults.update(faults);
    },
    counters(vault) {
      if (vault !== undefined) return vaultOf(vault).counters();
      const total: Record<string, number> = {};
      for (const v of vaults.values()) for (const [op, n] of Object.entries(v.counters())) total[op] = (total[op] ?? 0) + n;
      return total;
    },
    resetCounters() {
      for (const vault of vaults.values()) vault.resetCounters();
    },
    seed,
    certificatePem(vaultName, name, version) {
      const vault = vaultOf(vaultName);
      const record = vault.state.certificates.get(name);
      const found = record && (version ? findVersion(record, version) : record.versions.at(-1));
      if (!found) throw new Error(`certificate ${vaultName}/${name}${version ? `/${version}` : ''} does not exist`);
      const der = certificateDer(vault, found);
      const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
      return { certPem, keyPem: found.material.pkcs8Pem(), version: found.version };
    },
    latestVersion(vaultName, type, name) {
      const state = vaultOf(vaultName).state;
      const collection = type === 'certificate' ? state.certificates : type === 'key' ? state.keys : state.secrets;
      return collection.get(name)?.versions.at(-1)?.version;
    },
    subscribe: (subscriber) => events.subscribe(subscriber),
    checkExpiry,
    runLifetimeActions,
    drainEvents: () => events.drain(),
    settings: () => ({
      [SETTINGS.localVaults.name]: JSON.stringify(Object.fromEntries([...vaults.values()].map((v) => [v.name, `${v.url}/`]))),
    }),
    endpoints: () => Object.fromEntries([...vaults.values()].map((v) => [`Key Vault ${v.name}`, `${v.url}/`])),
    ports: () => Object.fromEntries([...vaults.values()].map((v) => [v.name, v.port])),
    save: () => saver.save(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await shutdown();
      await saver.save();
      await events.drain();
    },
  };
}
