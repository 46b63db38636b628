/**
 * Metrics, telemetry start-up, credentials and log lines. The OpenTelemetry SDK is not installed here, so the
 * instruments are checked against a recording Meter that implements @opentelemetry/api's interface: every
 * instrument Rotor creates, every counter increment and every gauge observation at collection time.
 */
import { ChainedTokenCredential, ManagedIdentityCredential } from '@azure/identity';
import { createNoopMeter, type Attributes, type Meter, type MetricOptions, type ObservableCallback } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createCredential, StaticTokenCredential } from '../../src/adapters/credentials.js';
import { logLine } from '../../src/app/logging.js';
import { METRIC_NAMES, OtelMetrics } from '../../src/app/metrics.js';
import { buildMetrics, buildServices } from '../../src/app/services.js';
import { parseAuthenticationString, startTelemetry, TELEMETRY_PACKAGES } from '../../src/app/telemetry.js';
import { noMetrics } from '../../src/core/ports.js';
import { baseConfig, silentLogger } from '../support/fakes.js';

interface Observation {
  value: number;
  attributes: Attributes | undefined;
}

/** A Meter that records what Rotor does with it; `collect` runs the gauge callbacks like a metric reader. */
class RecordingMeter {
  readonly instruments = new Map<string, { kind: string; options: MetricOptions | undefined }>();
  readonly added: Array<{ name: string; value: number; attributes: Attributes | undefined }> = [];
  private readonly callbacks = new Map<string, ObservableCallback[]>();

  readonly meter = {
    createCounter: (name: string, options?: MetricOptions) => {
      this.instruments.set(name, { kind: 'counter', options });
      return { add: (value: number, attributes?: Attributes) => this.added.push({ name, value, attributes }) };
    },
    createObservableGauge: (name: string, options?: MetricOptions) => {
      this.instruments.set(name, { kind: 'observableGauge', options });
      return {
        addCallback: (cb: ObservableCallback) => this.callbacks.set(name, [...(this.callbacks.get(name) ?? []), cb]),
        removeCallback: () => undefined,
      };
    },
  } as unknown as Meter;

  async collect(name: string): Promise<Observation[]> {
    const out: Observation[] = [];
    for (const cb of this.callbacks.get(name) ?? []) {
      await cb({ observe: (value: number, attributes?: Attributes) => out.push({ value, attributes }) });
    }
    return out;
  }
}

const kv = { vault: 'kv-hpc', type: 'certificate', name: 'head-node' };

describe('OtelMetrics', () => {
  it('creates the cert-manager-style instruments', () => {
    const rec = new RecordingMeter();
    new OtelMetrics(rec.meter);
    expect(rec.instruments.get(METRIC_NAMES.objectExpiry)).toMatchObject({ kind: 'observableGauge', options: { unit: 's' } });
    expect(rec.instruments.get(METRIC_NAMES.rotations)?.kind).toBe('counter');
    expect(rec.instruments.get(METRIC_NAMES.consumers)?.kind).toBe('observableGauge');
    expect(METRIC_NAMES.objectExpiry).toBe('rotor_object_expiration_timestamp_seconds');
  });

  it('reports the expiry of each object in Unix seconds, latest value, and forgets objects without expiry', async () => {
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter);
    m.objectExpiry(kv, new Date('2027-01-01T00:00:00.900Z'));
    m.objectExpiry({ ...kv, name: 'other' }, new Date('2027-02-01T00:00:00Z'));
    m.objectExpiry(kv, new Date('2027-03-01T00:00:00Z'));
    expect(await rec.collect(METRIC_NAMES.objectExpiry)).toEqual([
      { value: Date.UTC(2027, 2, 1) / 1000, attributes: kv },
      { value: Date.UTC(2027, 1, 1) / 1000, attributes: { ...kv, name: 'other' } },
    ]);
    m.objectExpiry(kv, undefined);
    expect((await rec.collect(METRIC_NAMES.objectExpiry)).map((o) => o.attributes?.['name'])).toEqual(['other']);
  });

  it('caps the expiry series and reports how many objects it dropped', async () => {
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter, { maxObjects: 2 });
    for (const name of ['a', 'b', 'c', 'd']) m.objectExpiry({ ...kv, name }, new Date('2027-01-01T00:00:00Z'));
    expect(await rec.collect(METRIC_NAMES.objectExpiry)).toHaveLength(2);
    expect(await rec.collect(METRIC_NAMES.objectExpiryDropped)).toEqual([{ value: 2, attributes: undefined }]);
  });

  it('counts the dropped objects of a large estate without keeping them, and forgets those no scan has seen', async () => {
    let now = 0;
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter, { maxObjects: 100, staleAfterMs: 1000, now: () => now });
    for (let i = 0; i < 5000; i++) m.objectExpiry({ ...kv, name: `o-${i}` }, new Date('2027-01-01T00:00:00Z'));
    expect(await rec.collect(METRIC_NAMES.objectExpiryDropped)).toEqual([{ value: 4900, attributes: undefined }]);
    // A second scan sees the same objects: still 4,900, not twice as many.
    now = 500;
    for (let i = 0; i < 5000; i++) m.objectExpiry({ ...kv, name: `o-${i}` }, new Date('2027-01-01T00:00:00Z'));
    expect(await rec.collect(METRIC_NAMES.objectExpiryDropped)).toEqual([{ value: 4900, attributes: undefined }]);
    // Objects no scan has seen for two periods are no longer counted; the tracked ones went stale too.
    now = 2600;
    expect(await rec.collect(METRIC_NAMES.objectExpiryDropped)).toEqual([{ value: 0, attributes: undefined }]);
    expect(await rec.collect(METRIC_NAMES.objectExpiry)).toHaveLength(0);
  });

  it('stops reporting objects no scan has seen for staleAfterMs', async () => {
    let now = 0;
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter, { staleAfterMs: 1000, now: () => now });
    m.objectExpiry(kv, new Date('2027-01-01T00:00:00Z'));
    now = 999;
    expect(await rec.collect(METRIC_NAMES.objectExpiry)).toHaveLength(1);
    now = 1001;
    expect(await rec.collect(METRIC_NAMES.objectExpiry)).toHaveLength(0);
  });

  it('counts outcomes with vault, type and outcome', () => {
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter);
    m.objectOutcome({ vault: 'kv-hpc', type: 'key' }, 'Rotated');
    m.objectOutcome({ vault: 'kv-hpc', type: 'key' }, 'Failed');
    expect(rec.added).toEqual([
      { name: METRIC_NAMES.rotations, value: 1, attributes: { vault: 'kv-hpc', type: 'key', outcome: 'Rotated' } },
      { name: METRIC_NAMES.rotations, value: 1, attributes: { vault: 'kv-hpc', type: 'key', outcome: 'Failed' } },
    ]);
  });

  it('reports consumers by state, and 0 for a state that emptied', async () => {
    const rec = new RecordingMeter();
    const m = new OtelMetrics(rec.meter);
    m.consumerStates(kv, { Verified: 3, Stale: 2 });
    m.consumerStates(kv, { Verified: 5 });
    expect(await rec.collect(METRIC_NAMES.consumers)).toEqual([
      { value: 5, attributes: { ...kv, state: 'Verified' } },
      { value: 0, attributes: { ...kv, state: 'Stale' } },
    ]);
  });

  it('works on the no-op meter of the API (telemetry off)', () => {
    const m = new OtelMetrics(createNoopMeter());
    expect(() => {
      m.objectExpiry(kv, new Date());
      m.objectOutcome(kv, 'Rotated');
      m.consumerStates(kv, { Verified: 1 });
    }).not.toThrow();
  });
});

describe('telemetry start-up', () => {
  const env = {
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD',
  };

  /** Fakes of the three optional packages, recording how Rotor builds them. */
  function fakePackages() {
    const built: Record<string, unknown> = {};
    const modules: Record<string, unknown> = {
      [TELEMETRY_PACKAGES.sdkMetrics]: {
        MeterProvider: class {
          constructor(options: unknown) {
            built['provider'] = options;
          }
          getMeter = () => createNoopMeter();
          forceFlush = async () => undefined;
          shutdown = async () => {
            built['shutdown'] = true;
          };
        },
        PeriodicExportingMetricReader: class {
          constructor(options: unknown) {
            built['reader'] = options;
          }
        },
      },
      [TELEMETRY_PACKAGES.exporter]: {
        AzureMonitorMetricExporter: class {
          constructor(options: unknown) {
            built['exporter'] = options;
          }
        },
      },
      [TELEMETRY_PACKAGES.resources]: { resourceFromAttributes: (a: unknown) => ({ resource: a }) },
    };
    const imported: string[] = [];
    const importer = async (specifier: string) => {
      imported.push(specifier);
      if (!(specifier in modules)) throw new Error(`Cannot find package '${specifier}'`);
      return modules[specifier];
    };
    return { built, imported, importer };
  }

  it('imports nothing when no connection string is set', async () => {
    const { imported, importer } = fakePackages();
    expect(await startTelemetry({}, { importer })).toBeUndefined();
    expect(imported).toEqual([]);
  });

  it('exports metrics to App Insights as the managed identity named in the authentication string', async () => {
    const { built, importer } = fakePackages();
    const clientIds: Array<string | undefined> = [];
    let terminate: (() => Promise<void>) | undefined;
    const handle = await startTelemetry(env, {
      importer,
      credential: async (clientId) => {
        clientIds.push(clientId);
        return new StaticTokenCredential('t');
      },
      onTerminate: (cb) => {
        terminate = cb;
      },
    });
    expect(handle).toBeDefined();
    expect(clientIds).toEqual(['11111111-2222-3333-4444-555555555555']);
    expect(built['exporter']).toMatchObject({ connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING, credential: expect.any(StaticTokenCredential) });
    expect(built['reader']).toMatchObject({ exporter: expect.anything(), exportIntervalMillis: 30_000 });
    expect(built['provider']).toMatchObject({ readers: [expect.anything()], resource: { resource: { 'service.name': 'rotor' } } });
    await terminate?.();
    expect(built['shutdown']).toBe(true);
  });

  it('without the packages: warns naming them and runs without export', async () => {
    const log = { ...silentLogger, lines: [] as string[], warn: (m: string) => log.lines.push(m) };
    const handle = await startTelemetry(env, { importer: async (s) => Promise.reject(new Error(`Cannot find package '${s}'`)), log });
    expect(handle).toBeUndefined();
    expect(log.lines.join('\n')).toMatch(/@opentelemetry\/sdk-metrics, @opentelemetry\/resources, @azure\/monitor-opentelemetry-exporter/);
  });

  it('parses the authentication string and names the setting when it is wrong', () => {
    expect(parseAuthenticationString('Authorization=AAD')).toEqual({ entra: true, clientId: undefined });
    expect(parseAuthenticationString(' clientid=abc ; authorization=aad ')).toEqual({ entra: true, clientId: 'abc' });
    expect(parseAuthenticationString(undefined)).toEqual({ entra: false });
    expect(() => parseAuthenticationString('Authorization=Key')).toThrow(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING: Authorization must be AAD/);
    expect(() => parseAuthenticationString('nonsense')).toThrow(/APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "nonsense" is not key=value/);
  });
});

describe('composition root', () => {
  const env = { ROTOR_STORAGE: 'UseDevelopmentStorage=true', ROTOR_LOCAL_TOKEN: 'local-token' };

  it('gives the core OpenTelemetry metrics by default (global API meter when telemetry is off)', async () => {
    const services = await buildServices({ env, config: baseConfig() });
    expect(services.metrics).toBeInstanceOf(OtelMetrics);
    expect(services.telemetry).toBeUndefined();
  });

  it('uses given metrics, and falls back to no export when telemetry cannot start', async () => {
    expect((await buildMetrics(env, { metrics: noMetrics })).metrics).toBe(noMetrics);
    const built = await buildMetrics(
      { ...env, APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=x' },
      { log: silentLogger, telemetry: { importer: async () => Promise.reject(new Error('missing')) } },
    );
    expect(built.telemetry).toBeUndefined();
    expect(built.metrics).toBeInstanceOf(OtelMetrics);
  });
});

describe('credentials', () => {
  it('uses only the managed identity in the Function App', async () => {
    expect(await createCredential({ managedIdentityClientId: 'id', managedIdentityOnly: true })).toBeInstanceOf(ManagedIdentityCredential);
  });

  it('chains the developer credential elsewhere, and the local token wins', async () => {
    expect(await createCredential({ managedIdentityClientId: 'id' })).toBeInstanceOf(ChainedTokenCredential);
    expect(await createCredential({ localToken: 't', managedIdentityClientId: 'id', managedIdentityOnly: true })).toBeInstanceOf(StaticTokenCredential);
  });
});

describe('log lines', () => {
  it('carry properties as one JSON object', () => {
    expect(logLine('scanned kv', { runId: 'r1', outcomes: { Rotated: 2 } })).toBe('scanned kv {"runId":"r1","outcomes":{"Rotated":2}}');
    expect(logLine('plain')).toBe('plain');
    expect(logLine('plain', {})).toBe('plain');
  });
});
