/**
 * Ports: the small interfaces the core depends on. Adapters (src/adapters) implement them with the Azure SDK
 * clients; unit tests implement them in memory. Nothing here imports an SDK.
 */
import type { AuditRecord } from './audit.js';
import type { CertificatePolicyModel, KeySpec, KeyVaultRenewal, ObjectSnapshot, ObjectType, ObjectVersion, VaultRef } from './model.js';
import type { ConsumerResult } from './consumers.js';
import type { RotationState } from './state.js';

/**
 * Runs a task when fewer than the limit's tasks are in flight (p-limit's function): one per process bounds the TLS
 * probes, head-node calls and ARM reads of every rotation the instance runs. Never call it from inside a task it
 * runs (that can deadlock).
 */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

export interface Clock {
  now(): Date;
}

export type Sleep = (ms: number) => Promise<void>;

/**
 * Carries a deadline with a piece of work (a work item's invocation) down to the adapters, so that waits deep inside
 * them (backoff after a 429) end before the host's function timeout.
 */
export interface DeadlineScope {
  /** Runs `work` with waits limited to `withinMs` from now (on the adapters' own clock: real time). */
  run<T>(withinMs: number, work: () => Promise<T>): Promise<T>;
}

export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

/** Randomness for secret generators: injectable so tests are deterministic. */
export interface Random {
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  bytes(length: number): Uint8Array;
}

/**
 * Metrics that mirror cert-manager's: the expiry timestamp of every managed object, rotations by outcome, and
 * consumers by state. Implemented with OpenTelemetry in the adapters; a no-op by default.
 */
export interface Metrics {
  /** Expiry of an object's current version (Unix seconds), or undefined when it has none. */
  objectExpiry(object: { vault: string; type: string; name: string }, expiresOn: Date | undefined): void;
  /** One object handled by a run, with its outcome (Rotated, Failed, ManualActionRequired, ...). */
  objectOutcome(object: { vault: string; type: string }, outcome: string): void;
  /** Consumers of an object by verification state after a check (Verified, Stale, Unreachable, ...). */
  consumerStates(object: { vault: string; type: string; name: string }, counts: Readonly<Record<string, number>>): void;
  /** An audit row storage refused for good: replaced by an AuditRowRejected row, or dropped when that was refused too. */
  auditRowRejected?(outcome: 'replaced' | 'dropped', code: string): void;
}

export const noMetrics: Metrics = { objectExpiry() {}, objectOutcome() {}, consumerStates() {} };

/** What went wrong talking to an external service, in terms the core can act on. */
export type GatewayErrorKind =
  | 'NotFound'
  | 'Forbidden'
  | 'Conflict'
  | 'BadRequest'
  | 'Throttled'
  | 'Unavailable'
  | 'Timeout'
  | 'Unauthorized'
  | 'Unknown';

export class GatewayError extends Error {
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export const isGatewayError = (err: unknown, kind?: GatewayErrorKind): err is GatewayError =>
  err instanceof GatewayError && (kind === undefined || err.kind === kind);

export type CertificateOperationStatus =
  | { status: 'none' }
  | { status: 'inProgress'; message?: string | undefined }
  | { status: 'completed' }
  | { status: 'failed' | 'cancelled'; message: string };

/** Properties of a new key or secret version (tags are per version in Key Vault and are copied forward). */
export interface NewVersionProperties {
  readonly tags: Readonly<Record<string, string>>;
  readonly contentType?: string | undefined;
  readonly notBefore?: Date | undefined;
  readonly expiresOn?: Date | undefined;
}

export interface VersionUpdate {
  readonly enabled?: boolean | undefined;
  readonly expiresOn?: Date | undefined;
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/** One Key Vault, through the official SDK clients. */
export interface VaultGateway {
  readonly vault: VaultRef;
  /** Pages of objects as the list API returns them (no per-object requests). */
  listObjects(type: ObjectType): AsyncIterable<ObjectSnapshot[]>;
  /** The current version, read individually (version id, thumbprint, secret id, key parameters). */
  getCurrent(type: ObjectType, name: string): Promise<ObjectVersion | undefined>;
  getVersion(type: ObjectType, name: string, version: string): Promise<ObjectVersion | undefined>;
  /** Pages of versions of one object (properties only). */
  listVersions(type: ObjectType, name: string): AsyncIterable<ObjectSnapshot[]>;
  getCertificatePolicy(name: string): Promise<CertificatePolicyModel>;
  /** Key Vault's own rotation of a key (its rotation policy's Rotate action), or undefined. */
  getKeyRenewal(name: string): Promise<KeyVaultRenewal | undefined>;
  /**
   * Takes renewal over from Key Vault: the certificate policy's AutoRenew becomes EmailContacts (same trigger), the
   * key rotation policy's Rotate becomes Notify. For a certificate, returns the policy as updated: a new version must
   * be created from it, since a create request's policy replaces the certificate's (and would bring AutoRenew back).
   */
  stopKeyVaultRenewal(type: 'certificate' | 'key', name: string): Promise<CertificatePolicyModel | undefined>;
  /** Starts creating a certificate version from a policy; returns once Key Vault accepted the operation. */
  startCertificateVersion(name: string, policy: CertificatePolicyModel, tags: Readonly<Record<string, string>>): Promise<void>;
  getCertificateOperation(name: string): Promise<CertificateOperationStatus>;
  rotateKey(name: string): Promise<ObjectVersion>;
  createKeyVersion(name: string, spec: KeySpec, properties: NewVersionProperties): Promise<ObjectVersion>;
  /** Writes a new secret version. The value goes to the vault and nowhere else. */
  setSecretVersion(name: string, value: string, properties: NewVersionProperties): Promise<ObjectVersion>;
  /** Updates properties of one version (enable/disable, expiry, tags). */
  updateVersion(type: ObjectType, name: string, version: string, update: VersionUpdate): Promise<void>;
}

export interface FlushOptions {
  /**
   * The write may wait up to this long (ms) to share its request with rows other callers append meanwhile (group
   * commit). Another caller's flush writes these rows too, and resolves this one, as soon as it happens.
   */
  readonly maxDelayMs?: number | undefined;
}

/** The audit log. `append` buffers; `flush` returns when every appended row is durable (group commit). */
export interface AuditLog {
  append(record: AuditRecord): void;
  flush(options?: FlushOptions): Promise<void>;
  /**
   * Whether a row with this rotation id and action exists (used when resuming after a crash). `since` is when the
   * rotation started: only rows from then on can belong to it, so only those are read — the cost of a resume does
   * not grow with the age of the log.
   */
  hasRecord(vault: string, rotationId: string, action: AuditRecord['action'], since: Date): Promise<boolean>;
}

export class ConcurrencyError extends Error {
  constructor(message = 'the state changed since it was read') {
    super(message);
    this.name = 'ConcurrencyError';
  }
}

export interface Versioned<T> {
  readonly value: T;
  /** Opaque version tag (Table storage ETag). */
  readonly etag: string;
}

/** Per-object rotation state with optimistic concurrency. */
export interface RotationStateStore {
  get(vault: string, type: ObjectType, name: string): Promise<Versioned<RotationState> | undefined>;
  /**
   * Writes the state if the stored one still has `etag` (undefined: only if none exists). Throws ConcurrencyError
   * when another writer got there first. Returns the new etag.
   */
  put(state: RotationState, etag: string | undefined): Promise<string>;
  /** States of a vault that are not finished (rotations to resume, consumers to re-check). */
  listOpen(vault: string): AsyncIterable<Versioned<RotationState>>;
  /** Every state of a vault (`rotor status`). */
  list(vault: string): AsyncIterable<Versioned<RotationState>>;
}

/**
 * One consumer's result in one rotation (table RotorConsumers): the latest check, and what the earlier checks
 * established (when it was first checked, when it last changed status, when it first confirmed the new version).
 */
export interface ConsumerRecord extends ConsumerResult {
  readonly rotationId: string;
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
  readonly firstCheckedAt: Date;
  /** When the consumer entered its current status. */
  readonly statusSince: Date;
  /** When the consumer first presented / used the new version, if it did. */
  readonly verifiedAt?: Date | undefined;
  /** Checks of this consumer in this rotation. */
  readonly checks: number;
}

/** Reads the consumer rows of a rotation (status, timelines). */
export interface ConsumerResultReader {
  /** Every consumer row of one rotation, in consumer-id order. */
  list(rotationId: string): Promise<ConsumerRecord[]>;
}

/** Consumer rows, one per consumer per rotation; written in batch transactions (at most 100 rows each). */
export interface ConsumerResultStore extends ConsumerResultReader {
  /**
   * Inserts or replaces rows of one rotation, and deletes the rows of consumers (by id) that a check no longer found
   * (a pool deleted, a node removed, a head node that answers again): the audit log keeps their story.
   */
  write(rotationId: string, records: readonly ConsumerRecord[], removed?: readonly string[]): Promise<void>;
}

export type { WorkItem, WorkQueue } from './work.js';
