/**
 * Public surface of the local ARM endpoint (management.azure.com for Microsoft.Batch, Microsoft.StorageCache and
 * Microsoft.KeyVault): options, seed shapes, faults, counters. Seeds describe resources in domain terms; the wire
 * module maps them to the JSON the official SDK clients deserialize.
 */
import type { LocalService } from '../service.js';
import type { FaultOptions } from '../shared/faults.js';

export type { FaultOptions } from '../shared/faults.js';

export const ARM_PROVIDERS = ['Microsoft.Batch', 'Microsoft.StorageCache', 'Microsoft.KeyVault'] as const;
export type ArmProvider = (typeof ARM_PROVIDERS)[number];

/** Subscription used when a seed names none. */
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-4000-8000-000000000001';
/** Tenant of seeded identities and vaults when a seed names none. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-0000000000aa';
export const DEFAULT_LOCATION = 'westeurope';

/** Where a resource lives. */
export interface ResourceRef {
  /** Default DEFAULT_SUBSCRIPTION_ID. */
  subscriptionId?: string;
  resourceGroup: string;
  name: string;
}

/** A user-assigned managed identity attached to a pool or cache. */
export interface UserAssignedIdentitySeed {
  /** Identity name; its resource id is built in `resourceGroup` (default: the owning resource's group). */
  name: string;
  resourceGroup?: string;
  clientId: string;
  /** Default: derived from the client id. */
  principalId?: string;
}

export interface ResourceGroupSeed {
  subscriptionId?: string;
  name: string;
  location?: string;
}

export interface BatchAccountSeed extends ResourceRef {
  location?: string;
  tags?: Record<string, string>;
  poolAllocationMode?: 'BatchService' | 'UserSubscription';
}

/** One certificate the Key Vault VM extension watches. */
export interface ObservedCertificateSeed {
  /** Key Vault secret URL, versionless (follows the latest) or versioned (pinned). */
  url: string;
  /** Windows object form only: store name, e.g. "MY". */
  certificateStoreName?: string;
  /** Windows object form only: "LocalMachine" or "CurrentUser". */
  certificateStoreLocation?: string;
  keyExportable?: boolean;
}

/** The Key Vault VM extension (publisher Microsoft.Azure.KeyVault). */
export interface KeyVaultExtensionSeed {
  kind: 'keyVault';
  /** Extension name in the pool; default "KeyVaultForWindows" / "KeyVaultForLinux". */
  name?: string;
  /** KeyVaultForWindows or KeyVaultForLinux; default: the pool's os. */
  os?: 'windows' | 'linux';
  /** Default "3.0". */
  typeHandlerVersion?: string;
  autoUpgradeMinorVersion?: boolean;
  enableAutomaticUpgrade?: boolean;
  observedCertificates: ObservedCertificateSeed[];
  /**
   * Wire form of observedCertificates: objects with `url` (KeyVaultForWindows 3.x) or plain URL strings
   * (KeyVaultForLinux, KeyVaultForWindows 1.x). Default: objects on Windows, strings on Linux.
   */
  observedCertificatesFormat?: 'objects' | 'strings';
  /** Strings form only: the store location for every observed certificate. */
  certificateStoreLocation?: string;
  /** Strings form only: the store name for every observed certificate (KeyVaultForWindows 1.x). */
  certificateStoreName?: string;
  /** Default 3600. Serialized as a string, as the extension documents it. */
  pollingIntervalInS?: number;
  requireInitialSync?: boolean;
  /** authenticationSettings.msiClientId; omitted when undefined (the extension then uses the only identity). */
  msiClientId?: string;
  /** authenticationSettings.msiEndpoint; omitted when undefined. */
  msiEndpoint?: string;
}

/** Any other VM extension (passed through as given). */
export interface GenericExtensionSeed {
  kind: 'generic';
  name: string;
  publisher: string;
  type: string;
  typeHandlerVersion?: string;
  settings?: Record<string, unknown>;
}

export type PoolExtensionSeed = KeyVaultExtensionSeed | GenericExtensionSeed;

/** A legacy (deprecated) Batch account certificate reference. */
export interface PoolCertificateSeed {
  /** SHA-1 thumbprint (hex); the reference id is `.../certificates/sha1-<thumbprint>`. */
  thumbprint: string;
  storeLocation?: 'CurrentUser' | 'LocalMachine';
  storeName?: string;
  visibility?: Array<'StartTask' | 'Task' | 'RemoteUser'>;
}

export type BatchAllocationState = 'Steady' | 'Resizing' | 'Stopping';
export type BatchPoolProvisioningState = 'Succeeded' | 'Deleting';

export interface BatchPoolSeed extends ResourceRef {
  /** The Batch account (in the same subscription and resource group). */
  account: string;
  displayName?: string;
  /** Default "windows". Chooses the image, node agent and the default extension type. */
  os?: 'windows' | 'linux';
  /** Default STANDARD_D2S_V3. */
  vmSize?: string;
  identities?: UserAssignedIdentitySeed[];
  extensions?: PoolExtensionSeed[];
  certificates?: PoolCertificateSeed[];
  /** Default 0. */
  currentDedicatedNodes?: number;
  currentLowPriorityNodes?: number;
  /** Default Steady. */
  allocationState?: BatchAllocationState;
  /** Default Succeeded. */
  provisioningState?: BatchPoolProvisioningState;
  /** ISO 8601; default the emulator clock at seed time. */
  lastModified?: string;
  creationTime?: string;
}

/** HPC Cache health states (the SDK's KnownHealthStateType). */
export const HPC_CACHE_HEALTH_STATES = [
  'Unknown',
  'Healthy',
  'Degraded',
  'Down',
  'Transitioning',
  'Stopping',
  'Stopped',
  'Upgrading',
  'Flushing',
  'WaitingForKey',
  'StartFailed',
  'UpgradeFailed',
] as const;
export type HpcCacheHealthState = (typeof HPC_CACHE_HEALTH_STATES)[number];

export type HpcCacheProvisioningState = 'Succeeded' | 'Failed' | 'Canceled' | 'Creating' | 'Deleting' | 'Updating';

export interface HpcCacheHealth {
  state: HpcCacheHealthState;
  statusDescription?: string;
}

export interface HpcCacheKeySeed {
  /** Key Vault key URL; versioned, as HPC Cache stores it. */
  keyUrl: string;
  /** Resource id of the vault (Microsoft.KeyVault/vaults). */
  sourceVaultId: string;
}

export interface HpcCacheSeed extends ResourceRef {
  location?: string;
  tags?: Record<string, string>;
  /** User-assigned identities; none means a system-assigned identity. */
  identities?: UserAssignedIdentitySeed[];
  /** Customer-managed key; omitted means Microsoft-managed keys. */
  keyEncryptionKey?: HpcCacheKeySeed;
  rotationToLatestKeyVersionEnabled?: boolean;
  /** Default { state: 'Healthy', statusDescription: 'The cache is in Running state' }. */
  health?: HpcCacheHealth;
  /** Default Succeeded. */
  provisioningState?: HpcCacheProvisioningState;
  /** Default Standard_2G. */
  sku?: string;
  /** Default 3072. */
  cacheSizeGB?: number;
}

/** What a test or the demo may change on a running cache. */
export interface HpcCachePatch {
  keyEncryptionKey?: HpcCacheKeySeed;
  rotationToLatestKeyVersionEnabled?: boolean;
  health?: HpcCacheHealth;
  provisioningState?: HpcCacheProvisioningState;
}

export interface KeyVaultResourceSeed extends ResourceRef {
  location?: string;
  tags?: Record<string, string>;
  /** The vault's data-plane URI (the local Key Vault endpoint's URL), with or without trailing slash. */
  vaultUri: string;
  tenantId?: string;
  /** Default standard. */
  skuName?: 'standard' | 'premium';
  /** Default true (Key Vault's default since 2020). */
  enableSoftDelete?: boolean;
  /** Default 90. */
  softDeleteRetentionInDays?: number;
  /** Default false (then ARM omits the property, as Azure does). */
  enablePurgeProtection?: boolean;
  /** Default false. */
  enableRbacAuthorization?: boolean;
}

export type KeyVaultResourcePatch = Partial<
  Pick<
    KeyVaultResourceSeed,
    'vaultUri' | 'enableSoftDelete' | 'softDeleteRetentionInDays' | 'enablePurgeProtection' | 'enableRbacAuthorization'
  >
>;

export type BatchPoolPatch = Partial<
  Pick<
    BatchPoolSeed,
    | 'displayName'
    | 'identities'
    | 'extensions'
    | 'certificates'
    | 'currentDedicatedNodes'
    | 'currentLowPriorityNodes'
    | 'allocationState'
    | 'provisioningState'
  >
>;

/** Resources to create or replace (matched by subscription, resource group and name). */
export interface ArmSeed {
  /** Resource groups without resources (groups of seeded resources exist implicitly). */
  resourceGroups?: ResourceGroupSeed[];
  batchAccounts?: BatchAccountSeed[];
  batchPools?: BatchPoolSeed[];
  caches?: HpcCacheSeed[];
  vaults?: KeyVaultResourceSeed[];
}

/** Returns the latest version id of a key given its versionless URL, or undefined when the key is unknown. */
export type LatestKeyVersionResolver = (versionlessKeyUrl: string) => Promise<string | undefined>;

export interface HpcCacheAutoRotationOptions {
  /** How the cache learns a key's latest version (the stack wires this to the Key Vault endpoint). */
  latestKeyVersion: LatestKeyVersionResolver;
  /** Delay between seeing a new version and using it, in ms of the emulator clock. Default 0. */
  delayMs?: number;
  /** How often (ms, real time) running caches look for new versions; 0 = only on checkKeyRotation(). Default 0. */
  pollIntervalMs?: number;
}

export interface ArmEmulatorOptions {
  /** Resources to create at start (only when the state folder holds none yet). */
  seed?: ArmSeed;
  /** Initial faults per provider ("*" for all). */
  faults?: Partial<Record<ArmProvider | '*', FaultOptions>>;
  /** Page size of list operations when the request sets none (Batch `maxresults` wins). Default 100. */
  pageSize?: number;
  /** Auto-rotation of caches with rotationToLatestKeyVersionEnabled; without it caches never follow a key. */
  cacheKeyRotation?: HpcCacheAutoRotationOptions;
}

export interface ArmEmulator extends LocalService {
  /** `https://127.0.0.1:<port>` (no trailing slash): pass it as the SDK clients' `endpoint`. */
  readonly url: string;
  /** Creates or replaces the seed's resources. Throws an Error naming the field on bad input. */
  seed(seed: ArmSeed): void;
  updatePool(pool: ResourceRef & { account: string }, patch: BatchPoolPatch): void;
  updateCache(cache: ResourceRef, patch: HpcCachePatch): void;
  updateVault(vault: ResourceRef, patch: KeyVaultResourcePatch): void;
  /** Merges faults into one provider's (or every provider's with "*"). */
  setFaults(provider: ArmProvider | '*', faults: FaultOptions): void;
  clearFaults(provider: ArmProvider | '*'): void;
  /** Requests per operation ("batch.pools.list", "storagecache.caches.get", ...) and per fault ("faults.throttled"). */
  counters(): Record<string, number>;
  resetCounters(): void;
  /**
   * Asks the resolver for the latest version of every rotating cache's key, schedules newer versions (applied after
   * the delay) and applies those due. Returns how many new versions were scheduled.
   */
  checkKeyRotation(): Promise<number>;
}
