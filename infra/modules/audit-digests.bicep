// The anchor of the audit log (docs/audit-api.md, "Tamper evidence"): a storage account of its own for the signed
// audit digests — apart from the audit table, with blob versioning and version-level immutability (WORM) so that no
// one, Rotor included, can overwrite or delete a digest during the retention period — and Rotor's own Key Vault with
// the non-exportable key that signs them. Rotor's identity may only write blobs into the digest container and only
// sign with (and read) that one key.

@description('Region of the digest storage account and Rotor\'s vault.')
param location string

@description('Tags for every resource.')
param tags object

@description('Unique suffix for globally unique names (the same as app.bicep\'s, so the app can name these resources).')
param resourceToken string

@description('Principal id of Rotor\'s managed identity.')
param principalId string

@minValue(1)
@maxValue(146000)
@description('Days each digest version stays immutable (time-based retention of the container\'s default version-level policy).')
param retentionDays int

@allowed([
  'EC-P256'
  'RSA-3072'
])
@description('Digest signing key: EC P-256 (ES256) or RSA 3072 (RS256).')
param keyType string

// Names app.bicep also derives (ROTOR_DIGEST_STORAGE_URI, ROTOR_DIGEST_KEY_ID); the infra test checks they agree.
var digestAccountName = 'stdig${resourceToken}'
var digestContainerName = 'rotor-audit-digests'
var vaultName = 'kv-rotor-${resourceToken}'
var digestKeyName = 'rotor-audit-digest'

// Built-in role definition ids (the same in every subscription). Source: Azure built-in roles reference.
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424'
}

resource digestAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: digestAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // Geo-redundant: the evidence outlives a regional outage.
    name: 'Standard_GRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    // Version-level immutability support for every container of the account (only settable at creation; it turns
    // blob versioning on). The retention itself is the container's default policy below.
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

resource digestBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: digestAccount
  name: 'default'
  properties: {
    // Required by version-level immutability: an overwrite attempt creates a new version, the signed one stays.
    isVersioningEnabled: true
  }
}

resource digestContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: digestBlobService
  name: digestContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

// The container's default version-level time-based retention: every digest version is WORM for retentionDays.
// Deployed unlocked; lock it once verified (az storage container immutability-policy lock), see docs/deployment.md.
resource digestRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: digestContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: retentionDays
    allowProtectedAppendWrites: false
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource digestKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: digestKeyName
  properties: {
    kty: keyType == 'EC-P256' ? 'EC' : 'RSA'
    curveName: keyType == 'EC-P256' ? 'P-256' : null
    keySize: keyType == 'RSA-3072' ? 3072 : null
    keyOps: [
      'sign'
      'verify'
    ]
    attributes: {
      enabled: true
      exportable: false
    }
  }
}

// Storage Blob Data Contributor on the digest container only: Rotor creates digest blobs there (If-None-Match: *);
// the immutability policy keeps it from overwriting or deleting them, and it has no access to anything else here.
resource digestWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: digestContainer
  name: guid(digestContainer.id, principalId, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault Crypto User on the signing key only: Rotor reads the key (its id, version and public part) and signs
// digests with it. It cannot export, delete, rotate or replace it, and has no access to any other key.
resource digestSigner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: digestKey
  name: guid(digestKey.id, principalId, roles.keyVaultCryptoUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output digestStorageUri string = digestAccount.properties.primaryEndpoints.blob
output digestContainerName string = digestContainer.name
output digestKeyId string = digestKey.properties.keyUri
output vaultName string = vault.name
