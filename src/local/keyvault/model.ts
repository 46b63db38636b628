/**
 * The emulator's in-memory model of one vault: certificates, keys and secrets by name (case-insensitive, as in Key
 * Vault), each with its versions oldest first. Records hold names, versions and Unix-second times only — never URLs
 * — so persisted state survives a port change. Per-version memory is kept small: seeded versions share key pairs and
 * policy parts, and a seeded certificate's DER is issued on first use.
 */
import { randomBytes } from 'node:crypto';
import type { KeyMaterial } from './key-material.js';
import type { CertificateContentType } from './pkcs12.js';
import type { SubjectProfile } from './x509.js';

export type Tags = Readonly<Record<string, string>>;
export const KEY_TYPES = ['RSA', 'RSA-HSM', 'EC', 'EC-HSM'] as const;
export type WireKeyType = (typeof KEY_TYPES)[number];

/**
 * Attributes of a version. A certificate version shares its attributes object with its managed key and secret
 * versions, so attributes are updated in place, never replaced.
 */
export interface VersionAttributes {
  enabled: boolean;
  /** Unix seconds, or null when unset. */
  nbf: number | null;
  exp: number | null;
  created: number;
  updated: number;
}

/** Bits of VersionBase.expiryEvents: which expiry events this version has emitted. */
export const NEAR_EXPIRY_EMITTED = 1;
export const EXPIRED_EMITTED = 2;
/** The version's lifetime action (AutoRenew, EmailContacts, Rotate) has been performed. */
export const LIFETIME_ACTION_DONE = 4;

export interface VersionBase {
  readonly version: string;
  attributes: VersionAttributes;
  tags: Tags | undefined;
  expiryEvents: number;
}

export interface KeyVersion extends VersionBase {
  readonly kty: WireKeyType;
  keyOps: readonly string[];
  readonly material: KeyMaterial;
}

export interface KeyRotationPolicy {
  lifetimeActions: { action: 'Rotate' | 'Notify'; timeAfterCreate?: string; timeBeforeExpiry?: string }[];
  /** ISO 8601 duration applied as the expiry of versions created by rotation. */
  expiryTime: string | undefined;
  created: number;
  updated: number;
}

export interface KeyRecord {
  readonly name: string;
  /** True for the key of a certificate (created and rotated only through the certificate). */
  readonly managed: boolean;
  readonly versions: KeyVersion[];
  rotationPolicy: KeyRotationPolicy | undefined;
}

export interface SecretVersion extends VersionBase {
  contentType: string | undefined;
  /** The value; undefined for managed secrets, whose value is the certificate version's PFX or PEM. */
  readonly value: string | undefined;
}

export interface SecretRecord {
  readonly name: string;
  readonly managed: boolean;
  readonly versions: SecretVersion[];
}

export interface CertificatePolicy {
  readonly keyType: WireKeyType;
  /** RSA modulus bits, or the curve's size for EC. */
  readonly keySize: number;
  readonly curve: 'P-256' | 'P-384' | 'P-521' | 'P-256K' | undefined;
  readonly exportable: boolean;
  readonly reuseKey: boolean;
  readonly contentType: CertificateContentType;
  /** Shared by the versions issued under this policy; replaced (never mutated) when the policy changes. */
  readonly x509: X509Properties;
  readonly lifetimeActions: readonly LifetimeAction[];
  readonly issuer: { readonly name: string; readonly certificateType?: string; readonly certificateTransparency?: boolean };
  readonly enabled: boolean;
  readonly created: number;
  readonly updated: number;
}

export interface X509Properties extends SubjectProfile {
  readonly validityMonths: number;
}

export interface LifetimeAction {
  readonly action: 'EmailContacts' | 'AutoRenew';
  readonly lifetimePercentage?: number;
  readonly daysBeforeExpiry?: number;
}

export interface CertificateVersion extends VersionBase {
  readonly keyType: WireKeyType;
  readonly material: KeyMaterial;
  /** The subject it was (or will lazily be) issued with. */
  readonly x509: X509Properties;
  /** Leaf DER; undefined until a lazily issued (seeded) certificate is first needed. */
  der: Buffer | undefined;
  /** Issuer certificates (imports and merges), DER. */
  readonly chain: readonly Buffer[] | undefined;
  readonly contentType: CertificateContentType;
  readonly exportable: boolean;
}

export type OperationStatus = 'inProgress' | 'completed' | 'cancelled' | 'failed';

/** A certificate operation (create): pending until issued (Self) or merged (other issuers). */
export interface CertificateOperation {
  readonly requestId: string;
  /** The version the operation creates. */
  readonly version: string;
  status: OperationStatus;
  statusDetails: string;
  cancellationRequested: boolean;
  error: { code: string; message: string } | undefined;
  /** The policy the operation was started with. */
  readonly policy: CertificatePolicy;
  readonly csr: Buffer;
  readonly material: KeyMaterial;
  /** The pending version's enabled flag and tags (PATCH of a pending certificate changes them). */
  enabled: boolean;
  tags: Tags | undefined;
  readonly created: number;
  updated: number;
  /**
   * When (emulator clock, ms) the operation settles: a Self-issued one is issued, a cancelled one of another issuer
   * becomes `cancelled`. Undefined: never by itself (another issuer waits for its merge).
   */
  dueAtMs: number | undefined;
}

export interface CertificateRecord {
  readonly name: string;
  policy: CertificatePolicy;
  readonly versions: CertificateVersion[];
  operation: CertificateOperation | undefined;
}

/** Objects by case-insensitive name, with the sorted name index that list paging walks. */
export class Collection<R extends { readonly name: string }> {
  private readonly byName = new Map<string, R>();
  private sorted: string[] | undefined;

  get(name: string): R | undefined {
    return this.byName.get(name.toLowerCase());
  }

  add(record: R): R {
    this.byName.set(record.name.toLowerCase(), record);
    this.sorted = undefined;
    return record;
  }

  /** Lower-cased names, ascending. */
  sortedKeys(): readonly string[] {
    this.sorted ??= [...this.byName.keys()].sort();
    return this.sorted;
  }

  values(): IterableIterator<R> {
    return this.byName.values();
  }

  delete(name: string): boolean {
    const deleted = this.byName.delete(name.toLowerCase());
    if (deleted) this.sorted = undefined;
    return deleted;
  }

  get size(): number {
    return this.byName.size;
  }
}

export class VaultState {
  readonly certificates = new Collection<CertificateRecord>();
  readonly keys = new Collection<KeyRecord>();
  readonly secrets = new Collection<SecretRecord>();
  /** Certificate names (lower case) whose create is generating its key (transient: a second create gets 409). */
  readonly generatingCertificateKeys = new Set<string>();
  /** Soft-deleted keys and secrets, recoverable until purged (in memory only: not persisted). */
  readonly deletedKeys = new Collection<DeletedRecord<KeyRecord>>();
  readonly deletedSecrets = new Collection<DeletedRecord<SecretRecord>>();
}

/** A soft-deleted object: the record as it was, when it was deleted and when Key Vault purges it (Unix seconds). */
export interface DeletedRecord<R extends { readonly name: string }> {
  readonly name: string;
  readonly record: R;
  readonly deletedDate: number;
  readonly scheduledPurgeDate: number;
}

/** The latest version: Key Vault's "current" version. */
export const currentVersion = <V>(record: { readonly versions: readonly V[] }): V | undefined => record.versions.at(-1);

export function findVersion<V extends VersionBase>(record: { readonly versions: readonly V[] }, version: string): V | undefined {
  const wanted = version.toLowerCase();
  return record.versions.find((v) => v.version === wanted);
}

const RSA_KEY_OPS: readonly string[] = Object.freeze(['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
const EC_KEY_OPS: readonly string[] = Object.freeze(['sign', 'verify']);

/** Key operations Key Vault grants a new key of this type when the request names none. */
export const defaultKeyOps = (kty: WireKeyType): readonly string[] => (kty.startsWith('EC') ? EC_KEY_OPS : RSA_KEY_OPS);

export interface NewCertificateVersion {
  readonly version: string;
  readonly keyType: WireKeyType;
  readonly material: KeyMaterial;
  readonly x509: X509Properties;
  readonly der: Buffer | undefined;
  readonly chain: readonly Buffer[] | undefined;
  readonly contentType: CertificateContentType;
  readonly exportable: boolean;
  readonly attributes: VersionAttributes;
  readonly tags: Tags | undefined;
  readonly expiryEvents?: number;
}

/**
 * Appends a certificate version and, as Key Vault does, the managed key and secret versions of the same name and
 * version (sharing its attributes). The caller checked that the names are free or already managed.
 */
export function addCertificateVersion(state: VaultState, record: CertificateRecord, spec: NewCertificateVersion): CertificateVersion {
  const version: CertificateVersion = { expiryEvents: 0, ...spec };
  record.versions.push(version);
  const { name } = record;
  const key = state.keys.get(name) ?? state.keys.add({ name, managed: true, versions: [], rotationPolicy: undefined });
  key.versions.push({
    version: spec.version,
    attributes: spec.attributes,
    tags: undefined,
    expiryEvents: 0,
    kty: spec.keyType,
    keyOps: defaultKeyOps(spec.keyType),
    material: spec.material,
  });
  const secret = state.secrets.get(name) ?? state.secrets.add({ name, managed: true, versions: [] });
  secret.versions.push({ version: spec.version, attributes: spec.attributes, tags: undefined, expiryEvents: 0, contentType: spec.contentType, value: undefined });
  return version;
}

let idPool = Buffer.alloc(0);
let idOffset = 0;

/** A new version id: 32 lowercase hex characters, like Key Vault's. */
export function newVersionId(): string {
  if (idOffset + 16 > idPool.length) {
    idPool = randomBytes(16 * 256);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('hex', idOffset - 16, idOffset);
}

export const OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
