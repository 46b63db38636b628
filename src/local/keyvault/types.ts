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
 * Default of FaultOptions.sendRetryAfter: false, as a real Key Vault answers 429 (Rotor retries such 429s itself with
 * exponential backoff; the Azure SDK alone would not). Tests that need the SDK's Retry-After path set it to true.
 */
export const DEFAULT_SEND_RETRY_AFTER = false;

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
  /**
   * The policy's lifetime actions, which the emulator performs on its clock (runLifetimeActions). Default
   * `[{ action: 'EmailContacts', lifetimePercentage: 80 }]`: a seeded certificate stands for one that Rotor rotates, so
   * Key Vault does not renew it by itself. (A certificate *created* without lifetime actions gets Key Vault's
   * default: AutoRenew at 80 % for Self-issued ones, EmailContacts for others.)
   */
  lifetimeActions?: { action: 'AutoRenew' | 'EmailContacts'; lifetimePercentage?: number; daysBeforeExpiry?: number }[];
}

export interface SeedKey extends SeedObjectCommon {
  kty?: 'RSA' | 'EC' | 'RSA-HSM' | 'EC-HSM';
  keySize?: number;
  curve?: 'P-256' | 'P-384' | 'P-521' | 'P-256K';
  keyOps?: string[];
  /** Key rotation policy `expiryTime` (ISO 8601 duration, e.g. P90D). */
  rotationExpiryTime?: string;
  /** Key rotation policy actions (Key Vault adds Notify 30 days before expiry when none is given); performed on the emulator's clock. */
  rotationActions?: { action: 'Rotate' | 'Notify'; timeAfterCreate?: string; timeBeforeExpiry?: string }[];
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
  /**
   * Delay before a Self-issued certificate operation completes, in ms (Key Vault: about 10 s). It completes once the
   * emulator's clock has passed it (checked on each request that reads it) or, with `pendingTimers`, on a timer.
   * Default 200.
   */
  pendingDelayMs?: number;
  /** Whether a timer completes pending operations after `pendingDelayMs` of real time. Default true. */
  pendingTimers?: boolean;
  /**
   * Soft-delete retention in days (7..90), for every vault or per vault name: deleted objects are purged this long
   * after deletion, and attributes show it (90: "Recoverable+Purgeable", less: "CustomizedRecoverable+Purgeable").
   * Default 90.
   */
  recoverableDays?: number | Record<string, number>;
  /** Initial faults for every vault. Budgets default to KEY_VAULT_PUBLISHED_LIMITS. */
  faults?: FaultOptions;
  /** Objects to create at start (only when the state folder has none yet). */
  seed?: SeedFixture;
  /** Days before expiry at which NearExpiry fires (Key Vault: 30). */
  nearExpiryDays?: number;
  /**
   * How often (ms) the emulator performs due lifetime actions and checks for NearExpiry/Expired while running;
   * 0 = only on demand.
   */
  expiryCheckIntervalMs?: number;
  /** Whether that periodic check performs Key Vault's own lifetime actions (AutoRenew, Rotate, ...). Default true. */
  lifetimeActions?: boolean;
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
  /**
   * Performs Key Vault's own lifetime actions that are due on the emulator's clock: certificate AutoRenew (Self
   * issuer) and EmailContacts (a NearExpiry event), key rotation policy Rotate and Notify (a NearExpiry event).
   */
  runLifetimeActions(): Promise<{ renewed: string[]; rotated: string[]; notified: string[] }>;
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
