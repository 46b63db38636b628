/**
 * Domain model: what Rotor knows about a vault object, independent of the Key Vault wire format. Adapters map
 * wire models to these types in one place (src/adapters/keyvault/mapping.ts).
 */

export const OBJECT_TYPES = ['certificate', 'key', 'secret'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export type Trigger = 'timer' | 'eventgrid' | 'manual';

/** A configured vault. */
export interface VaultRef {
  /** Vault name as Key Vault and Event Grid report it (e.g. "hpc-prod-kv"). */
  readonly name: string;
  /** Vault URL, e.g. https://hpc-prod-kv.vault.azure.net/ (or the local stack's). */
  readonly url: string;
}

/**
 * One object as a list page reports it: the current version's attributes and tags. List pages carry no version
 * id, so `version` is only set when the object was read individually.
 */
export interface ObjectSnapshot {
  readonly vault: string;
  readonly type: ObjectType;
  readonly name: string;
  readonly version?: string | undefined;
  readonly enabled: boolean;
  readonly notBefore?: Date | undefined;
  readonly expiresOn?: Date | undefined;
  readonly createdOn?: Date | undefined;
  readonly updatedOn?: Date | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** SHA-1 thumbprint, upper-case hex (certificates). */
  readonly thumbprint?: string | undefined;
  /** Keys and secrets that back a certificate are managed by Key Vault and rotate with it. */
  readonly managed?: boolean | undefined;
  readonly contentType?: string | undefined;
}

/** A specific version, as read after creation or for reporting. */
export interface ObjectVersion extends ObjectSnapshot {
  readonly version: string;
  /** Full identifier of the version (certificate id, key kid, secret id). */
  readonly id: string;
  /** For certificates: the secret identifier (sid) that HPC Pack and the Key Vault VM extension consume. */
  readonly secretId?: string | undefined;
  /** For keys: key type (RSA, RSA-HSM, EC, EC-HSM), size, curve. */
  readonly keyType?: string | undefined;
  readonly keySize?: number | undefined;
  readonly curve?: string | undefined;
  /** For keys: permitted operations (carried to a new version). */
  readonly keyOps?: readonly string[] | undefined;
}

/** The parts of a certificate policy Rotor reasons about (and passes back unchanged when creating a version). */
export interface CertificatePolicyModel {
  readonly issuerName: string;
  readonly subject?: string | undefined;
  readonly keyType?: string | undefined;
  readonly keySize?: number | undefined;
  readonly curve?: string | undefined;
  readonly exportable?: boolean | undefined;
  readonly reuseKey?: boolean | undefined;
  /** Key Vault key usage names: digitalSignature, keyEncipherment, keyAgreement, keyCertSign, ... */
  readonly keyUsage: readonly string[];
  /** Enhanced key usage OIDs. */
  readonly enhancedKeyUsage: readonly string[];
  readonly validityInMonths?: number | undefined;
  readonly contentType?: string | undefined;
  /** The adapter's opaque policy object, passed back to create a version from the certificate's own policy. */
  readonly raw: unknown;
}

/** Key material parameters for creating a key version. */
export interface KeySpec {
  readonly keyType: string;
  readonly keySize?: number | undefined;
  readonly curve?: string | undefined;
  readonly keyOps?: readonly string[] | undefined;
}

export const objectKey = (o: { vault: string; type: ObjectType; name: string }): string =>
  `${o.vault}/${o.type}/${o.name}`;

export const MS_PER_DAY = 86_400_000;
