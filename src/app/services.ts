/**
 * The composition root: reads the app settings (src/settings.ts), builds the adapters (official SDK clients) and
 * hands the core its ports. Built once per process and reused across invocations. SDK modules are imported here,
 * lazily, so that loading the function app stays fast.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { TokenCredential } from '@azure/core-auth';
import { metrics as otelMetrics } from '@opentelemetry/api';
import { ConfigError, parseConfigText, type RotorConfig, type VaultConfig } from '../core/config.js';
import { cryptoRandom } from '../core/generators.js';
import { VaultPacer } from '../core/pacing.js';
import type { Clock, ConsumerResultReader, Logger, Metrics, Random, Sleep, VaultGateway } from '../core/ports.js';
import { newRunId, type RotorServices } from '../core/rotor.js';
import { auditRecord } from '../core/audit.js';
import type { Trigger } from '../core/model.js';
import { readSetting, SETTINGS } from '../settings.js';
import type { AzureEnvironment, KeyVaultClients } from '../adapters/azure-clients.js';
import type { StorageConnection } from '../adapters/storage/clients.js';
import type { TableAuditLog } from '../adapters/storage/audit-table.js';
import type { TableVaultWorkStore } from '../adapters/storage/vault-work-table.js';
import { VaultWork } from '../core/vault-work.js';
import type { AuditReader } from '../core/audit-query.js';
import type { CoverageOptions, DigestStore, DigestWriterDeps, PublicJwk, SignatureVerifier } from '../core/audit-digest.js';
import { NotificationDispatcher, type DispatcherOptions, type Notifier } from '../core/notifications.js';
import { OtelMetrics } from './metrics.js';
import { startTelemetry, type TelemetryHandle, type TelemetryOptions } from './telemetry.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface AppServices extends RotorServices {
  readonly env: Env;
  readonly azure: AzureEnvironment;
  readonly storage: StorageConnection;
  readonly auditLog: TableAuditLog;
  readonly metrics: Metrics;
  /** Metric export to Application Insights, when APPLICATIONINSIGHTS_CONNECTION_STRING is set. */
  readonly telemetry?: TelemetryHandle | undefined;
  readonly auditReader: AuditReader;
  /** Publishes Rotor's CloudEvents from durable audit rows, when ROTOR_EVENTS_TOPIC_ENDPOINT is set. */
  readonly notifications?: NotificationDispatcher | undefined;
  /** The vault leases and pending sets (table RotorVaultWork) behind `vaultWork`. */
  readonly vaultWorkStore: TableVaultWorkStore;
  /** Signed audit digests (undefined when ROTOR_DIGEST_KEY_ID is not set). */
  readonly digests?: DigestServices | undefined;
}

/** The audit digests: where they are stored, how they are signed and how signatures are checked. */
export interface DigestServices {
  readonly store: DigestStore;
  readonly verifier: SignatureVerifier;
  readonly writer: DigestWriterDeps;
  /** The public key of a trusted key id (a version of Rotor's digest key), for exports. */
  publicKey(keyId: string): Promise<PublicJwk | undefined>;
  /** Verification tolerances (uncovered rows older than the maximum digest age are findings). */
  readonly coverage?: Omit<CoverageOptions, 'now'> | undefined;
}

/** What the auditors' functions need: storage only, so the audit API answers even when the configuration is broken. */
export interface AuditServices {
  readonly clock: Clock;
  readonly reader: AuditReader;
  /** Consumer rows (RotorConsumers): the timelines show each consumer's latest check from them. */
  readonly consumers?: ConsumerResultReader | undefined;
  readonly log?: Logger | undefined;
  /** Signed digests to verify against (undefined: the chains only). */
  readonly digests?: DigestServices | undefined;
}

export interface BuildOptions {
  env?: Env;
  /** Use this configuration instead of reading ROTOR_CONFIG / ROTOR_CONFIG_FILE. */
  config?: RotorConfig;
  clock?: Clock;
  sleep?: Sleep;
  random?: Random;
  newId?: () => string;
  log?: Logger;
  /** Use these metrics instead of OpenTelemetry ones. */
  metrics?: Metrics;
  /** Options of the telemetry start-up (tests inject module loaders). */
  telemetry?: TelemetryOptions;
  /** The Function App: with AZURE_CLIENT_ID, authenticate as the managed identity only (no developer fallback). */
  managedIdentityOnly?: boolean;
  /** Per-request timeout and retries of the Azure SDK clients (defaults 30 s, 5 retries), and Rotor's 429 backoff. */
  transport?: Pick<AzureEnvironment, 'requestTimeoutMs' | 'maxRetries' | 'throttle'>;
}

/** Name of Rotor's OpenTelemetry meter. */
const SERVICE_METER = 'rotor';

export const systemClock: Clock = { now: () => new Date() };
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads and validates the configuration from ROTOR_CONFIG (JSON) or the file named by ROTOR_CONFIG_FILE. */
export async function loadConfig(env: Env): Promise<RotorConfig> {
  const inline = readSetting(env, 'config');
  if (inline) return parseConfigText(inline, SETTINGS.config.name);
  const file = readSetting(env, 'configFile');
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const message = `${SETTINGS.configFile.name}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`;
      throw new ConfigError(message, [message]);
    }
    return parseConfigText(text, file);
  }
  const message = `no configuration: set ${SETTINGS.config.name} (JSON) or ${SETTINGS.configFile.name} (a file path)`;
  throw new ConfigError(message, [message]);
}

export async function azureEnvironment(env: Env, options: { managedIdentityOnly?: boolean } = {}): Promise<AzureEnvironment> {
  const { createCredential } = await import('../adapters/credentials.js');
  const localToken = readSetting(env, 'localToken');
  const caFile = readSetting(env, 'localCaFile');
  const credential: TokenCredential = await createCredential({
    localToken,
    managedIdentityClientId: readSetting(env, 'managedIdentityClientId'),
    managedIdentityOnly: options.managedIdentityOnly,
  });
  return { credential, caPem: caFile ? await readFile(caFile, 'utf8') : undefined, local: Boolean(localToken) };
}

export function storageConnection(env: Env, azure: AzureEnvironment): StorageConnection {
  const connectionString = readSetting(env, 'storageConnection');
  if (connectionString) return { kind: 'connectionString', connectionString };
  const tableServiceUri = readSetting(env, 'storageTableUri');
  const queueServiceUri = readSetting(env, 'storageQueueUri');
  if (tableServiceUri && queueServiceUri) return { kind: 'identity', tableServiceUri, queueServiceUri, credential: azure.credential };
  const message =
    `no storage connection: set ${SETTINGS.storageConnection.name} (a connection string) or ` +
    `${SETTINGS.storageTableUri.name} and ${SETTINGS.storageQueueUri.name} (identity-based)`;
  throw new ConfigError(message, [message]);
}

/**
 * The audit digest services when ROTOR_DIGEST_KEY_ID names the signing key: the blob container (the digest storage
 * account, ROTOR_DIGEST_STORAGE_URI, with an identity; locally the ROTOR_STORAGE connection string), the Key Vault
 * key, and a verifier with its public keys.
 */
export async function buildDigestServices(
  env: Env,
  azure: AzureEnvironment,
  clock: Clock,
  log?: Logger,
): Promise<DigestServices | undefined> {
  const keyId = readSetting(env, 'digestKeyId');
  if (!keyId) return undefined;
  const [{ BlobDigestStore, digestContainer }, { KeyVaultDigestKey, parseDigestKeyId }, { PublicKeyVerifier }, storageClients, { TableAuditHeads }] = await Promise.all([
    import('../adapters/digests/blob-store.js'),
    import('../adapters/keyvault/digest-key.js'),
    import('../core/audit-digest.js'),
    import('../adapters/storage/clients.js'),
    import('../adapters/storage/audit-heads.js'),
  ]);
  const container = readSetting(env, 'digestContainer') ?? 'rotor-audit-digests';
  const connectionString = readSetting(env, 'storageConnection');
  let store: DigestStore;
  if (connectionString) {
    store = new BlobDigestStore(digestContainer({ kind: 'connectionString', connectionString }, container), true);
  } else {
    const blobServiceUri = readSetting(env, 'digestStorageUri');
    if (!blobServiceUri) {
      const message = `${SETTINGS.digestKeyId.name} is set but ${SETTINGS.digestStorageUri.name} is not: the digests need the Blob service of their storage account`;
      throw new ConfigError(message, [message]);
    }
    store = new BlobDigestStore(digestContainer({ kind: 'identity', blobServiceUri, credential: azure.credential }, container));
  }
  const key = new KeyVaultDigestKey(parseDigestKeyId(keyId), azure, () => clock.now().getTime());
  const storage = storageConnection(env, azure);
  return {
    store,
    verifier: new PublicKeyVerifier((id) => key.publicKey(id)),
    publicKey: (id) => key.publicKey(id),
    writer: { store, signer: key, source: new TableAuditHeads(storageClients.tableClient(storage, storageClients.TABLES.audit)), clock, log },
  };
}

/**
 * Rotor's metrics: given ones, or OpenTelemetry instruments on the exporting MeterProvider when telemetry is
 * configured, else on the global API's (a no-op unless the process registered a MeterProvider itself).
 */
export async function buildMetrics(env: Env, options: Pick<BuildOptions, 'metrics' | 'telemetry' | 'log'> = {}): Promise<{ metrics: Metrics; telemetry?: TelemetryHandle | undefined }> {
  if (options.metrics) return { metrics: options.metrics };
  const telemetry = await startTelemetry(env, { log: options.log, ...options.telemetry });
  const provider = telemetry?.meterProvider ?? otelMetrics;
  return { metrics: new OtelMetrics(provider.getMeter(SERVICE_METER)), telemetry };
}

export async function buildServices(options: BuildOptions = {}): Promise<AppServices> {
  const env = options.env ?? process.env;
  const { metrics, telemetry } = await buildMetrics(env, options);
  const config = options.config ?? (await loadConfig(env));
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const azure = { ...(await azureEnvironment(env, { managedIdentityOnly: options.managedIdentityOnly })), ...options.transport };
  const storage = storageConnection(env, azure);
  const [
    { createKeyVaultClients },
    { KeyVaultGateway },
    storageClients,
    { TableAuditLog },
    { TableStateStore },
    { StorageWorkQueue },
    { createConsumerGateway },
    { ConsumerVerifier },
    { TableAuditReader },
    { TableVaultWorkStore },
    { TableConsumerStore },
    { default: pLimit },
    { localHostsLookup, parseLocalHosts },
    { asyncDeadlines },
  ] = await Promise.all([
    import('../adapters/azure-clients.js'),
    import('../adapters/keyvault/gateway.js'),
    import('../adapters/storage/clients.js'),
    import('../adapters/storage/audit-table.js'),
    import('../adapters/storage/state-table.js'),
    import('../adapters/storage/work-queue.js'),
    import('../adapters/consumers/index.js'),
    import('../core/verification.js'),
    import('../adapters/storage/audit-reader.js'),
    import('../adapters/storage/vault-work-table.js'),
    import('../adapters/storage/consumer-table.js'),
    import('p-limit'),
    import('../adapters/consumers/local-hosts.js'),
    import('../adapters/deadline.js'),
  ]);
  const { TABLES, QUEUES, tableClient, queueClient } = storageClients;
  const consumerResults = new TableConsumerStore(tableClient(storage, TABLES.consumers, azure.throttle));
  const auditLog = new TableAuditLog(tableClient(storage, TABLES.audit, azure.throttle), options.log, ({ outcome, code }) => metrics.auditRowRejected?.(outcome, code));
  const auditReader = new TableAuditReader(tableClient(storage, TABLES.audit, azure.throttle));
  const random = options.random ?? cryptoRandom;
  const notifications = await buildNotifications(env, azure, { audit: auditLog, clock, sleep, random, log: options.log });
  if (notifications) auditLog.observe(notifications);
  if (metrics instanceof OtelMetrics) auditLog.observe(metrics.auditObserver());
  const pacers = new Map<string, VaultPacer>();
  const gateways = new Map<string, VaultGateway>();
  const pacer = (vault: VaultConfig): VaultPacer => {
    let p = pacers.get(vault.name);
    if (!p) {
      p = new VaultPacer({ ...config.limits, ...vault.limits }, clock, sleep);
      pacers.set(vault.name, p);
    }
    return p;
  };
  const clients = new Map<string, KeyVaultClients>();
  const clientsOf = (vault: VaultConfig): KeyVaultClients => {
    let c = clients.get(vault.name);
    if (!c) {
      const throttled = pacer(vault);
      clients.set(vault.name, (c = createKeyVaultClients(vault.url, azure, (ms, operations, request) =>
            throttled.throttled(ms, operations, { request: request.id, retryAfter: request.retryAfter }),
          )));
    }
    return c;
  };
  /** Reads a secret value for an adapter that needs one (HPC Pack head node credentials); never logged. */
  const readSecret = async (vaultName: string, name: string): Promise<string> => {
    const vault = config.vaults.find((v) => v.name.toLowerCase() === vaultName.toLowerCase());
    if (!vault) throw new ConfigError(`vault "${vaultName}" is not in the configuration`, []);
    return (await clientsOf(vault).secrets.getSecret(name)).value ?? '';
  };
  // One holder id per instance (process and build): vault leases name it.
  const vaultWorkStore = new TableVaultWorkStore(tableClient(storage, TABLES.vaultWork), options.log);
  const vaultWork = new VaultWork(vaultWorkStore, `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`);
  // One limit per instance: every rotation's TLS probes, head-node calls and ARM reads share it.
  const limit = pLimit(config.verification.concurrency);
  const localHosts = readSetting(env, 'localHosts');
  const lookup = localHosts ? localHostsLookup(parseLocalHosts(localHosts, SETTINGS.localHosts.name)) : undefined;
  const consumers = createConsumerGateway(config, azure, readSetting(env, 'armEndpoint') ?? 'https://management.azure.com', readSecret, sleep, { limit, lookup });
  const digests = await buildDigestServices(env, azure, clock, options.log);
  return {
    digests,
    digestAfterRun: digests ? digestAfterRun(digests, options.log) : undefined,
    env,
    azure,
    hooks: new ConsumerVerifier(consumers, consumerResults, limit),
    consumerResults,
    storage,
    auditLog,
    metrics,
    telemetry,
    auditReader,
    vaultWorkStore,
    vaultWork,
    config,
    clock,
    sleep,
    random,
    newId: options.newId ?? randomUUID,
    notifications,
    audit: auditLog,
    states: new TableStateStore(tableClient(storage, TABLES.state, azure.throttle)),
    deadlines: asyncDeadlines,
    queue: new StorageWorkQueue(queueClient(storage, QUEUES.work)),
    pacer,
    gateway(vault) {
      let g = gateways.get(vault.name);
      if (!g) gateways.set(vault.name, (g = new KeyVaultGateway({ name: vault.name, url: vault.url }, clientsOf(vault))));
      return g;
    },
  };
}

/**
 * Notifications (src/core/notifications.ts): an observer of the audit log that publishes CloudEvents to the Event
 * Grid topic named by ROTOR_EVENTS_TOPIC_ENDPOINT with Rotor's identity. Off when the setting is absent.
 */
export async function buildNotifications(
  env: Env,
  azure: AzureEnvironment,
  deps: Pick<DispatcherOptions, 'audit' | 'clock' | 'sleep' | 'random' | 'log'> & { notifier?: Notifier },
): Promise<NotificationDispatcher | undefined> {
  const endpoint = readSetting(env, 'eventsTopicEndpoint');
  if (!endpoint && !deps.notifier) return undefined;
  if (endpoint && !/^https:\/\//i.test(endpoint)) {
    const message = `${SETTINGS.eventsTopicEndpoint.name}: must be an https URL (the topic endpoint, …/api/events), got "${endpoint}"`;
    throw new ConfigError(message, [message]);
  }
  const notifier = deps.notifier ?? new (await import('../adapters/eventgrid/notifier.js')).EventGridNotifier(endpoint as string, azure);
  return new NotificationDispatcher({ ...deps, notifier });
}

/** Builds the auditors' services from the storage settings alone (no Rotor configuration needed). */
export async function buildAuditServices(options: { env?: Env; clock?: Clock; log?: Logger } = {}): Promise<AuditServices> {
  const env = options.env ?? process.env;
  const storage = storageConnection(env, await azureEnvironment(env));
  const [{ tableClient, TABLES }, { TableAuditReader }, { TableConsumerStore }] = await Promise.all([
    import('../adapters/storage/clients.js'),
    import('../adapters/storage/audit-reader.js'),
    import('../adapters/storage/consumer-table.js'),
  ]);
  const clock = options.clock ?? systemClock;
  const digests = await buildDigestServices(env, await azureEnvironment(env), clock, options.log);
  return {
    clock,
    reader: new TableAuditReader(tableClient(storage, TABLES.audit)),
    consumers: new TableConsumerStore(tableClient(storage, TABLES.consumers)),
    log: options.log,
    digests,
  };
}

/** At the end of a run: the vault's next digest (a failure is logged; the digest timer tries again). */
function digestAfterRun(digests: DigestServices, log: Logger | undefined): (vault: string) => Promise<void> {
  return async (vault) => {
    const [{ writeDigest }, { vaultKey }] = await Promise.all([import('../core/audit-digest.js'), import('../adapters/storage/keys.js')]);
    try {
      const result = await writeDigest(vaultKey(vault), digests.writer);
      if (result.status === 'written') log?.info(`audit digest ${result.name} written (${result.heads} partitions)`, { vault });
    } catch (err) {
      log?.error(`audit digest for ${vault} failed: ${err instanceof Error ? err.message : String(err)}`, { vault });
    }
  };
}

/**
 * A run that cannot start because the configuration is invalid still leaves an audit row (auditors must see that
 * nothing was scanned, and why), written with the storage settings alone. Other errors are not audited here.
 */
export async function auditInvalidConfiguration(
  err: unknown,
  trigger: Trigger,
  env: Env = process.env,
  clock: Clock = systemClock,
  consequence = 'no vault was scanned',
): Promise<void> {
  if (!(err instanceof ConfigError)) return;
  const storage = storageConnection(env, await azureEnvironment(env, { managedIdentityOnly: env === process.env }));
  const [{ tableClient, TABLES }, { TableAuditLog }] = await Promise.all([
    import('../adapters/storage/clients.js'),
    import('../adapters/storage/audit-table.js'),
  ]);
  const audit = new TableAuditLog(tableClient(storage, TABLES.audit));
  const now = clock.now();
  audit.append(
    auditRecord({ runId: newRunId(trigger, now, randomUUID), trigger }, now, {
      vault: '_system',
      action: 'ScanFailed',
      outcome: 'Failed',
      reason: 'InvalidConfiguration',
      detail: `${consequence}: ${err.issues.join('; ') || err.message}`,
    }),
  );
  await audit.flush();
}

let shared: Promise<AppServices> | undefined;
let sharedAudit: Promise<AuditServices> | undefined;

/** Installs the process-wide services (the local host and the CLI build them from explicit options). */
export function useServices(services: AppServices): void {
  shared = Promise.resolve(services);
  sharedAudit = Promise.resolve({ clock: services.clock, reader: services.auditReader, consumers: services.consumerResults, digests: services.digests });
}

/** Installs the process-wide auditors' services (tests, and tools that only read the audit log). */
export function useAuditServices(services: AuditServices): void {
  sharedAudit = Promise.resolve(services);
}

/** The auditors' services: those of the installed app services, else built from the storage settings. */
export function getAuditServices(): Promise<AuditServices> {
  sharedAudit ??= buildAuditServices().catch((err: unknown) => {
    sharedAudit = undefined;
    throw err;
  });
  return sharedAudit;
}

/**
 * The function app's services for one invocation. When they cannot be built because the configuration is invalid
 * and `consequence` is given, an audit row says what did not happen and why (written with the storage settings
 * alone); the error is rethrown either way.
 */
export async function servicesForInvocation(trigger: Trigger, log: Pick<Logger, 'error'>, consequence?: string): Promise<AppServices> {
  try {
    return await getServices();
  } catch (err) {
    if (consequence !== undefined) {
      await auditInvalidConfiguration(err, trigger, process.env, systemClock, consequence).catch((auditErr: unknown) =>
        log.error(`could not audit the failed start: ${String(auditErr)}`),
      );
    }
    throw err;
  }
}

/** The process-wide services of the function app (built on first use; a failed build is retried next time). */
export function getServices(): Promise<AppServices> {
  shared ??= buildServices({ managedIdentityOnly: true }).catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}
