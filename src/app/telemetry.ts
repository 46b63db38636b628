/**
 * Telemetry of the worker process, for Functions on Flex Consumption.
 *
 * Division of labour (see docs/deployment.md): the Functions host runs with `"telemetryMode": "OpenTelemetry"`
 * (host.json) and exports invocation traces and the logs written through the invocation context to Application
 * Insights, authenticating as the managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING). The host does not
 * see metrics recorded in this process, so Rotor exports its own (src/app/metrics.ts) with an OpenTelemetry
 * MeterProvider and the Azure Monitor metric exporter, with the same identity.
 *
 * Cold start: nothing here is imported unless APPLICATIONINSIGHTS_CONNECTION_STRING is set, and then only the
 * metrics SDK and the exporter (not the full Azure Monitor distro with its instrumentations). Those packages are
 * optional: if they are not installed Rotor logs a warning naming them and runs without exported metrics.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { MeterProvider } from '@opentelemetry/api';
import type { Logger } from '../core/ports.js';
import { readSetting, SETTINGS } from '../settings.js';

/** The packages loaded when telemetry is configured (versions to add: see docs/deployment.md). */
export const TELEMETRY_PACKAGES = {
  sdkMetrics: '@opentelemetry/sdk-metrics',
  resources: '@opentelemetry/resources',
  exporter: '@azure/monitor-opentelemetry-exporter',
} as const;

export const SERVICE_NAME = 'rotor';
const EXPORT_INTERVAL_MS = 30_000;
const EXPORT_TIMEOUT_MS = 15_000;

export interface TelemetryHandle {
  readonly meterProvider: MeterProvider;
  /** Exports what has been recorded now (end of a run, shutdown). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** What Rotor uses of @opentelemetry/sdk-metrics (checked at run time). */
interface SdkMetricsModule {
  MeterProvider: new (options: { readers: unknown[]; resource?: unknown }) => MeterProvider & { forceFlush(): Promise<void>; shutdown(): Promise<void> };
  PeriodicExportingMetricReader: new (options: { exporter: unknown; exportIntervalMillis: number; exportTimeoutMillis: number }) => unknown;
}
interface ResourcesModule {
  resourceFromAttributes(attributes: Record<string, string>): unknown;
}
interface ExporterModule {
  AzureMonitorMetricExporter: new (options: { connectionString: string; credential?: TokenCredential }) => unknown;
}

export type ModuleImporter = (specifier: string) => Promise<unknown>;

export interface TelemetryOptions {
  log?: Logger | undefined;
  /** Loads a module by name (tests inject fakes; default: dynamic import). */
  importer?: ModuleImporter;
  /** Builds the ingestion credential for a managed identity client id (default: ManagedIdentityCredential). */
  credential?: (clientId: string | undefined) => Promise<TokenCredential>;
  /** Registers a shutdown callback with the Functions host (default: app.hook.appTerminate). */
  onTerminate?: (callback: () => Promise<void>) => void | Promise<void>;
}

export interface IngestionAuth {
  /** Entra ID (AAD) authenticated ingestion. */
  readonly entra: boolean;
  /** Client id of the user-assigned identity; undefined means the system-assigned identity. */
  readonly clientId?: string | undefined;
}

/** Parses APPLICATIONINSIGHTS_AUTHENTICATION_STRING ("Authorization=AAD;ClientId=..."); throws naming the setting. */
export function parseAuthenticationString(text: string | undefined): IngestionAuth {
  if (!text) return { entra: false };
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${SETTINGS.appInsightsAuthenticationString.name}: "${part.trim()}" is not key=value`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const authorization = fields.get('authorization');
  if (authorization?.toUpperCase() !== 'AAD') {
    throw new Error(`${SETTINGS.appInsightsAuthenticationString.name}: Authorization must be AAD (got "${authorization ?? ''}")`);
  }
  return { entra: true, clientId: fields.get('clientid') || undefined };
}

const defaultImporter: ModuleImporter = (specifier) => import(specifier) as Promise<unknown>;

async function defaultCredential(clientId: string | undefined): Promise<TokenCredential> {
  const { ManagedIdentityCredential } = await import('@azure/identity');
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}

async function defaultOnTerminate(callback: () => Promise<void>): Promise<void> {
  const { app } = await import('@azure/functions');
  app.hook.appTerminate(callback);
}

function constructorOf<T>(module: unknown, name: string, specifier: string): T {
  const value = (module as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'function') throw new Error(`${specifier} has no ${name}`);
  return value as T;
}

/**
 * Starts metric export when APPLICATIONINSIGHTS_CONNECTION_STRING is set; otherwise returns undefined without
 * importing anything. Never throws: a misconfiguration or a missing package is logged and telemetry stays off.
 */
export async function startTelemetry(env: Readonly<Record<string, string | undefined>>, options: TelemetryOptions = {}): Promise<TelemetryHandle | undefined> {
  const connectionString = readSetting(env, 'appInsightsConnectionString');
  if (!connectionString) return undefined;
  const warn = (message: string): void => (options.log ? options.log.warn(message) : console.warn(message));
  try {
    const auth = parseAuthenticationString(readSetting(env, 'appInsightsAuthenticationString'));
    const importer = options.importer ?? defaultImporter;
    const [sdk, exporterModule, resources] = await Promise.all([
      importer(TELEMETRY_PACKAGES.sdkMetrics),
      importer(TELEMETRY_PACKAGES.exporter),
      importer(TELEMETRY_PACKAGES.resources).catch(() => undefined),
    ]);
    const MeterProviderCtor = constructorOf<SdkMetricsModule['MeterProvider']>(sdk, 'MeterProvider', TELEMETRY_PACKAGES.sdkMetrics);
    const ReaderCtor = constructorOf<SdkMetricsModule['PeriodicExportingMetricReader']>(sdk, 'PeriodicExportingMetricReader', TELEMETRY_PACKAGES.sdkMetrics);
    const ExporterCtor = constructorOf<ExporterModule['AzureMonitorMetricExporter']>(exporterModule, 'AzureMonitorMetricExporter', TELEMETRY_PACKAGES.exporter);
    const credential = auth.entra ? await (options.credential ?? defaultCredential)(auth.clientId) : undefined;
    const exporter = new ExporterCtor(credential ? { connectionString, credential } : { connectionString });
    const reader = new ReaderCtor({ exporter, exportIntervalMillis: EXPORT_INTERVAL_MS, exportTimeoutMillis: EXPORT_TIMEOUT_MS });
    const resourceFn = (resources as Partial<ResourcesModule> | undefined)?.resourceFromAttributes;
    const resource = typeof resourceFn === 'function' ? resourceFn({ 'service.name': SERVICE_NAME }) : undefined;
    const provider = new MeterProviderCtor(resource === undefined ? { readers: [reader] } : { readers: [reader], resource });
    const handle: TelemetryHandle = {
      meterProvider: provider,
      forceFlush: () => provider.forceFlush(),
      shutdown: () => provider.shutdown(),
    };
    // Flex Consumption scales in by stopping instances: export what is pending before the worker goes.
    try {
      await (options.onTerminate ?? defaultOnTerminate)(() => handle.shutdown().catch((err: unknown) => warn(`telemetry: shutdown failed: ${String(err)}`)));
    } catch (err) {
      warn(`telemetry: could not register the shutdown hook: ${err instanceof Error ? err.message : String(err)}`);
    }
    return handle;
  } catch (err) {
    warn(
      `telemetry: metrics are not exported (${err instanceof Error ? err.message : String(err)}). ` +
        `Exporting them needs the packages ${Object.values(TELEMETRY_PACKAGES).join(', ')}.`,
    );
    return undefined;
  }
}
