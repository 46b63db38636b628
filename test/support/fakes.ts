/**
 * In-memory implementations of the core's ports for unit tests of the core. (Integration tests use the real
 * adapters and SDK clients against the local stack instead.)
 */
import type { AuditRecord } from '../../src/core/audit.js';
import { parseConfig, type RotorConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/generators.js';
import type { CertificatePolicyModel, KeySpec, KeyVaultRenewal, ObjectSnapshot, ObjectType, ObjectVersion } from '../../src/core/model.js';
import { VaultPacer } from '../../src/core/pacing.js';
import {
  ConcurrencyError,
  GatewayError,
  type AuditLog,
  type CertificateOperationStatus,
  type Clock,
  type ConsumerRecord,
  type ConsumerResultStore,
  type Logger,
  type NewVersionProperties,
  type RotationStateStore,
  type VaultGateway,
  type VersionUpdate,
  type Versioned,
} from '../../src/core/ports.js';
import type { RotationContext } from '../../src/core/rotation.js';
import { isOpen, type RotationState } from '../../src/core/state.js';

export const DAY = 86_400_000;

export class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  /** A sleep that advances this clock instead of waiting. */
  readonly sleep = async (ms: number): Promise<void> => {
    this.t += ms;
    await Promise.resolve();
  };
}

export const silentLogger: Logger & { lines: string[] } = Object.assign(
  {
    lines: [] as string[],
    info() {},
    warn() {},
    error() {},
  },
  {},
);

/** Never settles: a port call that "crashes the process" at this point. */
export const hang = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class MemoryAuditLog implements AuditLog {
  readonly rows: AuditRecord[] = [];
  private pending: AuditRecord[] = [];
  flushes = 0;
  failNextFlushes = 0;
  hangOnFlush: ((pending: readonly AuditRecord[]) => boolean) | undefined;

  append(record: AuditRecord): void {
    this.pending.push(record);
  }
  async flush(): Promise<void> {
    if (this.hangOnFlush?.(this.pending)) return hang();
    if (this.failNextFlushes > 0) {
      this.failNextFlushes--;
      throw new Error('table storage unavailable');
    }
    this.flushes++;
    this.rows.push(...this.pending);
    this.pending = [];
  }
  async hasRecord(vault: string, rotationId: string, action: AuditRecord['action'], since: Date): Promise<boolean> {
    return this.rows.some((r) => r.vault === vault && r.rotationId === rotationId && r.action === action && r.timestamp.getTime() >= since.getTime() - 3_600_000);
  }
  /** The process holding this buffer died: rows appended but not flushed are gone. */
  crash(): void {
    this.pending = [];
    this.hangOnFlush = undefined;
  }
  actions(name?: string): string[] {
    return this.rows.filter((r) => !name || r.objectName === name).map((r) => r.action);
  }
}

/** Consumer rows in memory, with the Table adapter's contract (upsert by rotation and consumer id). */
export class MemoryConsumerStore implements ConsumerResultStore {
  readonly rows = new Map<string, Map<string, ConsumerRecord>>();
  writes = 0;
  async write(rotationId: string, records: readonly ConsumerRecord[], removed: readonly string[] = []): Promise<void> {
    this.writes++;
    let rotation = this.rows.get(rotationId);
    if (!rotation) this.rows.set(rotationId, (rotation = new Map()));
    for (const id of removed) rotation.delete(id);
    for (const r of records) rotation.set(r.id, r);
  }
  async list(rotationId: string): Promise<ConsumerRecord[]> {
    return [...(this.rows.get(rotationId)?.values() ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

export class MemoryStateStore implements RotationStateStore {
  private readonly rows = new Map<string, Versioned<RotationState>>();
  private counter = 0;
  hangOnPut: ((state: RotationState) => boolean) | undefined;

  private key(vault: string, type: ObjectType, name: string): string {
    return `${vault}/${type}/${name}`;
  }
  async get(vault: string, type: ObjectType, name: string) {
    return this.rows.get(this.key(vault, type, name));
  }
  async put(state: RotationState, etag: string | undefined): Promise<string> {
    if (this.hangOnPut?.(state)) return hang();
    const k = this.key(state.vault, state.objectType, state.objectName);
    const current = this.rows.get(k);
    if ((current?.etag ?? undefined) !== etag) throw new ConcurrencyError();
    const next = `etag-${++this.counter}`;
    this.rows.set(k, { value: state, etag: next });
    return next;
  }
  async *listOpen(vault: string) {
    for (const row of this.rows.values()) if (row.value.vault === vault && isOpen(row.value)) yield row;
  }
  async *list(vault: string) {
    for (const row of this.rows.values()) if (row.value.vault === vault) yield row;
  }
  value(vault: string, type: ObjectType, name: string): RotationState | undefined {
    return this.rows.get(this.key(vault, type, name))?.value;
  }
}

interface FakeObject {
  type: ObjectType;
  name: string;
  versions: ObjectVersion[];
  policy?: CertificatePolicyModel;
  pending?: { remainingPolls: number; policy: CertificatePolicyModel; tags: Record<string, string> } | undefined;
  lastOperation?: CertificateOperationStatus;
}

type Step = 'startCertificateVersion' | 'rotateKey' | 'createKeyVersion' | 'setSecretVersion' | 'getCertificateOperation';

/** A vault in memory with the semantics Rotor relies on; steps can fail or hang (crash) on demand. */
export class FakeVault implements VaultGateway {
  readonly objects = new Map<string, FakeObject>();
  readonly calls: string[] = [];
  private seq = 0;
  failures = new Map<Step, GatewayError>();
  /** When set for a step, the call performs its effect and then never returns (a crash after the write). */
  hangAfter = new Set<Step>();
  /** The call never returns and has no effect (a crash before the write). */
  hangBefore = new Set<Step>();
  pendingPolls = 1;
  /** Like Key Vault: while a certificate operation is pending, the current version is the pending one (disabled, no thumbprint). */
  pendingVisible = false;
  readonly secretValues: string[] = [];

  constructor(
    readonly vault: { name: string; url: string },
    private readonly clock: Clock,
  ) {}

  private id(type: ObjectType, name: string, version: string): string {
    const coll = type === 'certificate' ? 'certificates' : type === 'key' ? 'keys' : 'secrets';
    return `${this.vault.url}${coll}/${name}/${version}`;
  }

  add(
    type: ObjectType,
    name: string,
    props: Partial<ObjectVersion> & { policy?: Partial<CertificatePolicyModel> } = {},
  ): ObjectVersion {
    const version = (props.version ?? `v${++this.seq}`).padEnd(8, '0');
    const { policy, ...rest } = props;
    const v: ObjectVersion = {
      vault: this.vault.name,
      type,
      name,
      enabled: true,
      tags: {},
      createdOn: this.clock.now(),
      ...rest,
      version,
      id: this.id(type, name, version),
      ...(type === 'certificate' ? { thumbprint: `THUMB${this.seq}`.padEnd(40, '0'), secretId: this.id('secret', name, version) } : {}),
      ...(type === 'key' ? { keyType: props.keyType ?? 'RSA', keySize: props.keySize ?? 2048 } : {}),
    };
    const existing = this.objects.get(`${type}/${name}`);
    if (existing) existing.versions.push(v);
    else {
      this.objects.set(`${type}/${name}`, {
        type,
        name,
        versions: [v],
        ...(type === 'certificate'
          ? {
              policy: {
                issuerName: 'Self',
                subject: `CN=${name}`,
                keyType: 'RSA',
                keySize: 2048,
                exportable: true,
                keyUsage: ['digitalSignature', 'keyEncipherment'],
                enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1'],
                validityInMonths: 12,
                raw: {},
                ...policy,
              },
            }
          : {}),
      });
    }
    return v;
  }

  private obj(type: ObjectType, name: string): FakeObject {
    const o = this.objects.get(`${type}/${name}`);
    if (!o) throw new GatewayError('NotFound', `${type} ${name} not found`, 404);
    return o;
  }

  current(type: ObjectType, name: string): ObjectVersion | undefined {
    return this.objects.get(`${type}/${name}`)?.versions.at(-1);
  }

  versionCount(type: ObjectType, name: string): number {
    return this.objects.get(`${type}/${name}`)?.versions.length ?? 0;
  }

  private async step(step: Step): Promise<void> {
    this.calls.push(step);
    if (this.hangBefore.has(step)) await hang();
    const failure = this.failures.get(step);
    if (failure) throw failure;
  }

  async *listObjects(type: ObjectType): AsyncIterable<ObjectSnapshot[]> {
    this.calls.push(`list:${type}`);
    const page: ObjectSnapshot[] = [];
    for (const o of this.objects.values()) {
      if (o.type !== type) continue;
      const { version: _v, id: _i, secretId: _s, keyType: _k, keySize: _z, curve: _c, ...snapshot } = o.versions.at(-1)!;
      page.push(snapshot);
    }
    yield page;
  }
  async getCurrent(type: ObjectType, name: string) {
    this.calls.push(`get:${type}:${name}`);
    return this.current(type, name);
  }
  async getVersion(type: ObjectType, name: string, version: string) {
    return this.objects.get(`${type}/${name}`)?.versions.find((v) => v.version === version);
  }
  async *listVersions(type: ObjectType, name: string): AsyncIterable<ObjectSnapshot[]> {
    yield [...(this.objects.get(`${type}/${name}`)?.versions ?? [])];
  }
  async getCertificatePolicy(name: string) {
    this.calls.push(`policy:${name}`);
    return this.obj('certificate', name).policy!;
  }
  /** Key rotation policies whose action is Rotate (Key Vault rotates the key itself). */
  readonly keyRenewals = new Map<string, KeyVaultRenewal>();
  async getKeyRenewal(name: string) {
    this.calls.push(`keyRotationPolicy:${name}`);
    return this.keyRenewals.get(name);
  }
  async stopKeyVaultRenewal(type: 'certificate' | 'key', name: string) {
    this.calls.push(`stopKeyVaultRenewal:${type}:${name}`);
    if (type === 'key') {
      this.keyRenewals.delete(name);
      return undefined;
    }
    const o = this.obj('certificate', name);
    o.policy = { ...o.policy!, renewal: undefined };
    return o.policy;
  }
  async startCertificateVersion(name: string, policy: CertificatePolicyModel, tags: Readonly<Record<string, string>>) {
    await this.step('startCertificateVersion');
    const o = this.obj('certificate', name);
    if (o.pending) throw new GatewayError('Conflict', 'pending operation exists', 409);
    o.pending = { remainingPolls: this.pendingPolls, policy, tags: { ...tags } };
    o.policy = policy; // as Key Vault does: a create request's policy becomes the certificate's policy
    if (this.pendingVisible) {
      const current = o.versions.at(-1)!;
      o.versions.push({ ...current, version: `pending${++this.seq}`.padEnd(8, '0'), enabled: false, thumbprint: undefined, secretId: undefined, tags: { ...tags }, createdOn: this.clock.now() });
    }
    if (this.hangAfter.has('startCertificateVersion')) await hang();
  }
  async getCertificateOperation(name: string): Promise<CertificateOperationStatus> {
    await this.step('getCertificateOperation');
    const o = this.obj('certificate', name);
    if (!o.pending) return o.lastOperation ?? { status: 'none' };
    if (o.pending.remainingPolls-- > 0) return { status: 'inProgress' };
    const now = this.clock.now();
    // The finished certificate gets a version id of its own; the pending version goes away.
    o.versions = o.versions.filter((v) => !v.version.startsWith('pending'));
    this.add('certificate', name, {
      tags: o.pending.tags,
      notBefore: now,
      expiresOn: new Date(now.getTime() + (o.pending.policy.validityInMonths ?? 12) * 30 * DAY),
    });
    o.pending = undefined;
    o.lastOperation = { status: 'completed' };
    return { status: 'completed' };
  }
  async rotateKey(name: string) {
    await this.step('rotateKey');
    const prev = this.current('key', name)!;
    const v = this.add('key', name, { keyType: prev.keyType, keySize: prev.keySize, tags: prev.tags, notBefore: this.clock.now() });
    if (this.hangAfter.has('rotateKey')) await hang();
    return v;
  }
  async createKeyVersion(name: string, spec: KeySpec, props: NewVersionProperties) {
    await this.step('createKeyVersion');
    const v = this.add('key', name, { keyType: spec.keyType, keySize: spec.keySize, tags: { ...props.tags }, notBefore: props.notBefore, expiresOn: props.expiresOn });
    if (this.hangAfter.has('createKeyVersion')) await hang();
    return v;
  }
  async setSecretVersion(name: string, value: string, props: NewVersionProperties) {
    await this.step('setSecretVersion');
    this.secretValues.push(value);
    const v = this.add('secret', name, { tags: { ...props.tags }, notBefore: props.notBefore, expiresOn: props.expiresOn, contentType: props.contentType });
    if (this.hangAfter.has('setSecretVersion')) await hang();
    return v;
  }
  async updateVersion(type: ObjectType, name: string, version: string, update: VersionUpdate) {
    this.calls.push(`update:${type}:${name}`);
    const o = this.obj(type, name);
    const i = o.versions.findIndex((v) => v.version === version);
    const v = o.versions[i]!;
    o.versions[i] = {
      ...v,
      ...(update.enabled !== undefined ? { enabled: update.enabled } : {}),
      ...(update.expiresOn ? { expiresOn: update.expiresOn } : {}),
      ...(update.tags ? { tags: { ...update.tags } } : {}),
    };
  }
}

export const baseConfig = (extra: Record<string, unknown> = {}): RotorConfig =>
  parseConfig({
    vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }],
    secretKinds: {
      'batch-password': { generator: 'password', length: 24 },
      'nexus-credential': { generator: 'external', expectedRotationDays: 30, rotatedBy: 'Operator Nexus' },
    },
    rotation: { pollIntervalSeconds: 1, certificateTimeoutMinutes: 1 },
    ...extra,
  });

export interface Harness {
  clock: FakeClock;
  vault: FakeVault;
  states: MemoryStateStore;
  audit: MemoryAuditLog;
  config: RotorConfig;
  ctx: (overrides?: Partial<RotationContext>) => RotationContext;
}

export function harness(config = baseConfig(), start = Date.UTC(2026, 10, 24, 2, 0, 0)): Harness {
  const clock = new FakeClock(start);
  const vault = new FakeVault({ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }, clock);
  const states = new MemoryStateStore();
  const audit = new MemoryAuditLog();
  let ids = 0;
  let runs = 0;
  const ctx = (overrides: Partial<RotationContext> = {}): RotationContext => ({
    config,
    gateway: vault,
    states,
    audit,
    clock,
    sleep: clock.sleep,
    pacer: new VaultPacer(config.limits, clock, clock.sleep),
    random: seededRandom(42),
    run: { runId: `run-${++runs}`, trigger: 'timer' },
    log: silentLogger,
    newId: () => `rot-${++ids}`,
    ...overrides,
  });
  return { clock, vault, states, audit, config, ctx };
}
