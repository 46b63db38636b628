/**
 * Public surface of the local Key Vault–compatible endpoint: options, seed fixture, faults, events.
 * The implementation lives beside this file; the stack and the tests only use these types.
 */
import type { LocalService } from '../service.js';

/** Per-vault budgets per 10-second window. Defaults mirror Key Vault's published service limits. */
export interface ThrottleLimits {
  /** GET and LIST of any object type. */
  read: number;
  /** Creating an RSA-2048 key (create key, rotate key, create certificate with an RSA-2048 key). */
  rsa2048Create: number;
  /** Creating an RSA-3072/4096 or EC key (same operations as above). */
  otherKeyCreate: number;
  /** Setting a secret (set secret; import certificate also writes a secret). */
  secretCreate: number;
  /** Every other write (update properties, update policy, import, delete). */
  write: number;
}

export const KEY_VAULT_PUBLISHED_LIMITS: ThrottleLimits = {
  read: 4000,
  rsa2048Create: 20,
  otherKeyCreate: 20,
  secretCreate: 300,
  write: 4000,
};

export interface FaultOptions {
  /** Fixed latency added to every request, in milliseconds. */
  latencyMs?: number;
  /** Share (0..1) of requests answered 429 with Retry-After regardless of the budget. */
  throttleShare?: number;
  /** Retry-After (seconds) sent with share-based 429s. */
  retryAfterSeconds?: number;
  /** Share (0..1) of requests answered 500/503. */
  serverErrorShare?: number;
  /** Per-10-second budgets; `false` switches budget enforcement off. */
  limits?: Partial<ThrottleLimits> | false;
  /** Seed of the PRNG that picks which requests get share-based faults (deterministic tests). */
  seed?: number;
  /**
   * Whether 429s carry a `Retry-After` header. A real Key Vault 429 carries none (THROTTLING-429-NOTE.md in
   * shared/specs), and the Azure SDK then does not retry it. Default: see DEFAULT_SEND_RETRY_AFTER.
   */
  sendRetryAfter?: boolean;
}

/**
 * Default of FaultOptions.sendRetryAfter. Key Vault sends no Retry-After on 429; the emulator will follow it by
 * default once Rotor retries 429s without Retry-After itself (until then a switch: `sendRetryAfter: false`).
 */
export const DEFAULT_SEND_RETRY_AFTER = true;

/** Times are ISO 8601 or relative to the emulator clock: "+10d", "-355d", "+36h", "+90m". */
export type SeedTime = string;

export interface SeedObjectCommon {
  name: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  notBefore?: SeedTime;
  /** Expiry; `null` means the object has no expiry. */
  expires?: SeedTime | null;
  /** Older versions to create first (each one lifetime earlier than the next). Default 0. */
  olderVersions?: number;
}

export interface SeedCertificate extends SeedObjectCommon {
  /** X.500 subject, default `CN=<name>`. */
  subject?: string;
  dnsNames?: string[];
  /** Issuer name in the policy: "Self" (default), "Unknown", or a CA issuer name (treated like Unknown). */
  issuer?: string;
  keyType?: 'RSA' | 'EC' | 'RSA-HSM' | 'EC-HSM';
  keySize?: number;
  curve?: 'P-256' | 'P-384' | 'P-521' | 'P-256K';
  exportable?: boolean;
  /** Key Vault key usage names, e.g. digitalSignature, keyEncipherment, keyAgreement, keyCertSign. */
  keyUsage?: string[];
  /** Extended key usage OIDs. */
  ekus?: string[];
  validityInMonths?: number;
  contentType?: 'application/x-pkcs12' | 'application/x-pem-file';
}

export interface SeedKey extends SeedObjectCommon {
  kty?: 'RSA' | 'EC' | 'RSA-HSM' | 'EC-HSM';
  keySize?: number;
  curve?: 'P-256' | 'P-384' | 'P-521' | 'P-256K';
  keyOps?: string[];
  /** Key rotation policy `expiryTime` (ISO 8601 duration, e.g. P90D). */
  rotationExpiryTime?: string;
}

export interface SeedSecret extends SeedObjectCommon {
  /** The value; default a random string. Never logged. */
  value?: string;
  contentType?: string;
}

export interface SeedVault {
  certificates?: SeedCertificate[];
  keys?: SeedKey[];
  secrets?: SeedSecret[];
}

export interface SeedFixture {
  vaults: Record<string, SeedVault>;
}

export type KeyVaultEventType =
  | `Microsoft.KeyVault.${'Certificate' | 'Key' | 'Secret'}${'NewVersionCreated' | 'NearExpiry' | 'Expired'}`;

/** A Key Vault system event in the Event Grid schema (data fields as Key Vault documents them). */
export interface KeyVaultEventGridEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: KeyVaultEventType;
  eventTime: string;
  data: {
    Id: string;
    VaultName: string;
    ObjectType: 'Certificate' | 'Key' | 'Secret';
    ObjectName: string;
    Version: string;
    NBF: number | null;
    EXP: number | null;
  };
  dataVersion: string;
  metadataVersion: string;
}

/** Where emitted events go: a callback, or an HTTP endpoint receiving the chosen schema. */
export type EventSubscriber =
  | { kind: 'callback'; deliver: (event: KeyVaultEventGridEvent) => void | Promise<void> }
  | { kind: 'webhook'; url: string; schema: 'eventgrid' | 'cloudevents'; headers?: Record<string, string> };

export interface KeyVaultEmulatorOptions {
  /** Vault names; each vault gets its own HTTPS port. Default ["rotor-local"]. */
  vaults?: string[];
  /** Delay before a pending certificate operation completes, in ms. Default 200. */
  pendingDelayMs?: number;
  /** Initial faults for every vault. Budgets default to KEY_VAULT_PUBLISHED_LIMITS. */
  faults?: FaultOptions;
  /** Objects to create at start (only when the state folder has none yet). */
  seed?: SeedFixture;
  /** Days before expiry at which NearExpiry fires (Key Vault: 30). */
  nearExpiryDays?: number;
  /** How often (ms) the emulator checks for NearExpiry/Expired while running; 0 = only on demand. */
  expiryCheckIntervalMs?: number;
}

export interface KeyVaultEmulator extends LocalService {
  /** Vault names served. */
  vaultNames(): string[];
  /** `https://127.0.0.1:<port>` (no trailing slash) of a vault. */
  vaultUrl(vault: string): string;
  /** Sets faults for one vault, or every vault with "*". Merges with the current faults. */
  setFaults(vault: string, faults: FaultOptions): void;
  /** Requests per operation (e.g. "certificates.create", "keys.list", "secrets.get", "throttled"). */
  counters(vault?: string): Record<string, number>;
  resetCounters(): void;
  /** Creates the fixture's objects (replacing none). */
  seed(fixture: SeedFixture): Promise<void>;
  /** Adds an event subscriber; returns a function that removes it. */
  subscribe(subscriber: EventSubscriber): () => void;
  /** Emits NearExpiry/Expired for versions that crossed the threshold since the last check (once per version). */
  checkExpiry(): Promise<number>;
  /** Waits for in-flight event deliveries (tests). */
  drainEvents(): Promise<void>;
  /**
   * A certificate version's certificate and private key as PEM (the current version by default), read
   * synchronously — what the local stack installs on emulated consumers (HPC Pack nodes). Local stack only.
   */
  certificatePem(vault: string, name: string, version?: string): { certPem: string; keyPem: string; version: string };
  /** The current version id of an object, or undefined when it does not exist. Local stack only. */
  latestVersion(vault: string, type: 'certificate' | 'key' | 'secret', name: string): string | undefined;
}
