/**
 * The one place where emulator records become ARM JSON: the shapes @azure/arm-batch (2023-11-01),
 * @azure/arm-storagecache (2023-05-01) and @azure/arm-keyvault deserialize, and ARM's error body.
 */
import {
  batchAccountId,
  batchCertificateId,
  batchPoolId,
  cacheId,
  deterministicGuid,
  userAssignedIdentityId,
  vaultId,
} from './ids.js';
import type { BatchAccountRecord, BatchPoolRecord, CacheRecord, VaultRecord } from './store.js';
import {
  DEFAULT_TENANT_ID,
  type KeyVaultExtensionSeed,
  type PoolExtensionSeed,
  type UserAssignedIdentitySeed,
} from './types.js';

type Json = Record<string, unknown>;

/** `{"error":{"code","message"}}`, the body ARM and every resource provider answer errors with. */
export const armError = (code: string, message: string): Json => ({ error: { code, message } });

function userAssignedIdentities(subscriptionId: string, resourceGroup: string, identities: UserAssignedIdentitySeed[]): Json {
  return Object.fromEntries(
    identities.map((identity) => [
      userAssignedIdentityId(subscriptionId, identity.resourceGroup ?? resourceGroup, identity.name),
      { principalId: identity.principalId ?? deterministicGuid('principal', identity.clientId), clientId: identity.clientId },
    ]),
  );
}

export function batchAccountToWire(account: BatchAccountRecord): Json {
  return {
    id: batchAccountId(account.subscriptionId, account.resourceGroup, account.name),
    name: account.name,
    type: 'Microsoft.Batch/batchAccounts',
    location: account.location,
    tags: account.tags ?? {},
    identity: { type: 'None' },
    properties: {
      accountEndpoint: `${account.name}.${account.location}.batch.azure.com`,
      nodeManagementEndpoint: `${deterministicGuid('node', account.name)}.${account.location}.service.batch.azure.com`,
      provisioningState: 'Succeeded',
      poolAllocationMode: account.poolAllocationMode ?? 'BatchService',
      publicNetworkAccess: 'Enabled',
      dedicatedCoreQuota: 500,
      lowPriorityCoreQuota: 500,
      dedicatedCoreQuotaPerVMFamilyEnforced: true,
      poolQuota: 100,
      activeJobAndJobScheduleQuota: 300,
      allowedAuthenticationModes: ['SharedKey', 'AAD', 'TaskAuthenticationToken'],
    },
  };
}

const IMAGES = {
  windows: {
    imageReference: { publisher: 'microsoftwindowsserver', offer: 'windowsserver', sku: '2022-datacenter', version: 'latest' },
    nodeAgentSkuId: 'batch.node.windows amd64',
  },
  linux: {
    imageReference: { publisher: 'canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts', version: 'latest' },
    nodeAgentSkuId: 'batch.node.ubuntu 22.04',
  },
} as const;

const LINUX_STORE = '/var/lib/waagent/Microsoft.Azure.KeyVault.Store';

/** The Key Vault VM extension as Batch returns it (settings shapes from the extension's documentation). */
export function keyVaultExtensionToWire(extension: KeyVaultExtensionSeed, poolOs: 'windows' | 'linux'): Json {
  const os = extension.os ?? poolOs;
  const type = os === 'windows' ? 'KeyVaultForWindows' : 'KeyVaultForLinux';
  const format = extension.observedCertificatesFormat ?? (os === 'windows' ? 'objects' : 'strings');
  const secretsManagementSettings: Json = { pollingIntervalInS: String(extension.pollingIntervalInS ?? 3600) };
  if (extension.requireInitialSync !== undefined) secretsManagementSettings['requireInitialSync'] = extension.requireInitialSync;
  if (format === 'objects') {
    secretsManagementSettings['observedCertificates'] = extension.observedCertificates.map((cert) => ({
      url: cert.url,
      certificateStoreName: cert.certificateStoreName ?? (os === 'windows' ? 'MY' : undefined),
      certificateStoreLocation: cert.certificateStoreLocation ?? (os === 'windows' ? 'LocalMachine' : LINUX_STORE),
      ...(cert.keyExportable !== undefined ? { keyExportable: cert.keyExportable } : {}),
    }));
  } else {
    if (os === 'windows') secretsManagementSettings['certificateStoreName'] = extension.certificateStoreName ?? 'MY';
    secretsManagementSettings['certificateStoreLocation'] =
      extension.certificateStoreLocation ?? (os === 'windows' ? 'LocalMachine' : LINUX_STORE);
    secretsManagementSettings['observedCertificates'] = extension.observedCertificates.map((cert) => cert.url);
  }
  const settings: Json = { secretsManagementSettings };
  if (extension.msiClientId !== undefined || extension.msiEndpoint !== undefined) {
    settings['authenticationSettings'] = {
      ...(extension.msiEndpoint !== undefined ? { msiEndpoint: extension.msiEndpoint } : {}),
      ...(extension.msiClientId !== undefined ? { msiClientId: extension.msiClientId } : {}),
    };
  }
  return {
    name: extension.name ?? type,
    publisher: 'Microsoft.Azure.KeyVault',
    type,
    typeHandlerVersion: extension.typeHandlerVersion ?? '3.0',
    autoUpgradeMinorVersion: extension.autoUpgradeMinorVersion ?? true,
    enableAutomaticUpgrade: extension.enableAutomaticUpgrade ?? true,
    settings,
  };
}

function extensionToWire(extension: PoolExtensionSeed, poolOs: 'windows' | 'linux'): Json {
  if (extension.kind === 'keyVault') return keyVaultExtensionToWire(extension, poolOs);
  return {
    name: extension.name,
    publisher: extension.publisher,
    type: extension.type,
    ...(extension.typeHandlerVersion !== undefined ? { typeHandlerVersion: extension.typeHandlerVersion } : {}),
    ...(extension.settings !== undefined ? { settings: extension.settings } : {}),
  };
}

/** A weak etag that changes with every revision of the pool. */
export const poolEtag = (pool: BatchPoolRecord): string =>
  `W/"0x${(0x8dc0000000000000n + BigInt(pool.revision)).toString(16).toUpperCase()}"`;

export function batchPoolToWire(pool: BatchPoolRecord): Json {
  const os = pool.os ?? 'windows';
  const { subscriptionId, resourceGroup, account } = pool;
  const dedicated = pool.currentDedicatedNodes ?? 0;
  const lowPriority = pool.currentLowPriorityNodes ?? 0;
  const properties: Json = {
    displayName: pool.displayName ?? pool.name,
    lastModified: pool.lastModified,
    creationTime: pool.creationTime,
    provisioningState: pool.provisioningState ?? 'Succeeded',
    provisioningStateTransitionTime: pool.creationTime,
    allocationState: pool.allocationState ?? 'Steady',
    allocationStateTransitionTime: pool.lastModified,
    vmSize: pool.vmSize ?? 'STANDARD_D2S_V3',
    interNodeCommunication: 'Disabled',
    taskSlotsPerNode: 1,
    taskSchedulingPolicy: { nodeFillType: 'Spread' },
    deploymentConfiguration: {
      virtualMachineConfiguration: {
        ...IMAGES[os],
        ...(pool.extensions?.length ? { extensions: pool.extensions.map((e) => extensionToWire(e, os)) } : {}),
      },
    },
    scaleSettings: {
      fixedScale: { targetDedicatedNodes: dedicated, targetLowPriorityNodes: lowPriority, resizeTimeout: 'PT15M' },
    },
    currentDedicatedNodes: dedicated,
    currentLowPriorityNodes: lowPriority,
    currentNodeCommunicationMode: 'Simplified',
  };
  if (pool.certificates?.length) {
    properties['certificates'] = pool.certificates.map((cert) => ({
      id: batchCertificateId(subscriptionId, resourceGroup, account, cert.thumbprint),
      storeLocation: cert.storeLocation ?? 'LocalMachine',
      ...(cert.storeName !== undefined ? { storeName: cert.storeName } : os === 'windows' ? { storeName: 'My' } : {}),
      visibility: cert.visibility ?? ['StartTask', 'Task'],
    }));
  }
  return {
    id: batchPoolId(subscriptionId, resourceGroup, account, pool.name),
    name: pool.name,
    type: 'Microsoft.Batch/batchAccounts/pools',
    etag: poolEtag(pool),
    ...(pool.identities?.length
      ? {
          identity: {
            type: 'UserAssigned',
            userAssignedIdentities: userAssignedIdentities(subscriptionId, resourceGroup, pool.identities),
          },
        }
      : {}),
    properties,
  };
}

export function cacheToWire(cache: CacheRecord): Json {
  const { subscriptionId, resourceGroup } = cache;
  const identity = cache.identities?.length
    ? { type: 'UserAssigned', userAssignedIdentities: userAssignedIdentities(subscriptionId, resourceGroup, cache.identities) }
    : {
        type: 'SystemAssigned',
        principalId: deterministicGuid('cache', subscriptionId, resourceGroup, cache.name),
        tenantId: DEFAULT_TENANT_ID,
      };
  const health = cache.health ?? { state: 'Healthy', statusDescription: 'The cache is in Running state' };
  const properties: Json = {
    cacheSizeGB: cache.cacheSizeGB ?? 3072,
    health: { state: health.state, statusDescription: health.statusDescription ?? '', conditions: [] },
    mountAddresses: ['10.0.1.4', '10.0.1.5', '10.0.1.6'],
    provisioningState: cache.provisioningState ?? 'Succeeded',
    subnet: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/hpc-vnet/subnets/cache`,
    networkSettings: { mtu: 1500, utilityAddresses: ['10.0.1.7', '10.0.1.8'] },
    zones: [],
  };
  if (cache.keyEncryptionKey) {
    properties['encryptionSettings'] = {
      keyEncryptionKey: { keyUrl: cache.keyEncryptionKey.keyUrl, sourceVault: { id: cache.keyEncryptionKey.sourceVaultId } },
      rotationToLatestKeyVersionEnabled: cache.rotationToLatestKeyVersionEnabled ?? false,
    };
  }
  return {
    id: cacheId(subscriptionId, resourceGroup, cache.name),
    name: cache.name,
    type: 'Microsoft.StorageCache/caches',
    location: cache.location,
    tags: cache.tags ?? {},
    identity,
    sku: { name: cache.sku ?? 'Standard_2G' },
    properties,
  };
}

export function vaultToWire(vault: VaultRecord): Json {
  const properties: Json = {
    tenantId: vault.tenantId ?? DEFAULT_TENANT_ID,
    sku: { family: 'A', name: vault.skuName ?? 'standard' },
    accessPolicies: [],
    vaultUri: vault.vaultUri.endsWith('/') ? vault.vaultUri : `${vault.vaultUri}/`,
    enabledForDeployment: false,
    enabledForDiskEncryption: false,
    enabledForTemplateDeployment: false,
    enableSoftDelete: vault.enableSoftDelete ?? true,
    softDeleteRetentionInDays: vault.softDeleteRetentionInDays ?? 90,
    enableRbacAuthorization: vault.enableRbacAuthorization ?? false,
    provisioningState: 'Succeeded',
    publicNetworkAccess: 'Enabled',
  };
  // Purge protection cannot be switched off, and Azure omits the property until it is on.
  if (vault.enablePurgeProtection) properties['enablePurgeProtection'] = true;
  return {
    id: vaultId(vault.subscriptionId, vault.resourceGroup, vault.name),
    name: vault.name,
    type: 'Microsoft.KeyVault/vaults',
    location: vault.location,
    tags: vault.tags ?? {},
    properties,
  };
}
