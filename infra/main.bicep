// Rotor: the whole deployment in one subscription-scoped template (what `azd up` and `az deployment sub create` run).
// Rotor's own resources go in one resource group; access to the managed vaults, Batch accounts and HPC caches is
// granted with modules scoped to *their* resource groups, which may be in other resource groups or subscriptions.
// Resource ids are parsed with split(): '/subscriptions/{2}/resourceGroups/{4}/providers/{6}/{7}/{8}'.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment (or any short name): names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of Rotor\'s resources (a region that offers Flex Consumption).')
param location string

@description('Resource group for Rotor\'s resources. Default: rg-<environmentName>.')
param resourceGroupName string = ''

@minLength(1)
@description('Resource ids of the Key Vaults Rotor manages (/subscriptions/.../resourceGroups/.../providers/Microsoft.KeyVault/vaults/<name>). Each gets Rotor\'s role assignments and, with subscribeVaultEvents, an Event Grid system topic.')
param vaultResourceIds array

@description('Resource ids of the Azure Batch accounts whose pools Rotor verifies (Reader on each).')
param batchAccountResourceIds array = []

@description('Resource ids of the Azure HPC Cache resources whose customer-managed keys Rotor verifies (Reader on each).')
param hpcCacheResourceIds array = []

@description('Resource ids of the managed vaults that hold HPC Cache keys (must also be in vaultResourceIds): Rotor gets Reader on their ARM resource to check soft delete and purge protection.')
param hpcCacheKeyVaultResourceIds array = []

@description('NCRONTAB schedule of the nightly scan (ROTOR_SCHEDULE; six fields, UTC: Flex Consumption does not support WEBSITE_TIME_ZONE).')
param schedule string = '0 0 2 * * *'

@description('Rotor configuration (the ROTOR_CONFIG document: defaults, secretKinds, objects, consumers, rotation, limits). When it has no "vaults", they are built from vaultResourceIds; consumers.batch / consumers.hpcCache also get the accounts and caches of batchAccountResourceIds / hpcCacheResourceIds.')
param rotorConfig object = {}

@allowed([
  'builtin'
  'custom'
])
@description('Key permissions: "builtin" assigns Key Vault Crypto Officer; "custom" defines and assigns "Rotor Key Rotator" (read, create, rotate, update keys and read/write rotation policies only; needs permission to create role definitions).')
param keyVaultKeyRole string = 'builtin'

@description('Create the Event Grid system topics and subscriptions. Event Grid validates that the vaultEvents function exists, so this is false until the code is published (azd\'s postdeploy hook sets it and provisions again).')
param subscribeVaultEvents bool = false

@description('Vault name → name of a system topic that already exists for that vault (Azure allows one system topic per vault). The template then adds Rotor\'s subscription to that topic instead of creating one.')
param existingSystemTopics object = {}

@description('Resource id of a subnet (delegated to Microsoft.App/environments) for the Function App\'s outbound traffic, so Rotor reaches HPC Pack head nodes and node managers (TLS probes) on private networks. Empty: no VNet integration.')
param virtualNetworkSubnetId string = ''

@description('Easy Auth (optional): client id of an Entra ID application registration for Rotor. Set it to require an Entra ID token on every request (401 otherwise); Event Grid deliveries (/runtime/webhooks/eventgrid) stay excluded. Empty: no App Service Authentication.')
param authClientId string = ''

@description('Easy Auth: tenant id that issues the tokens. Empty: the deployment\'s tenant.')
param authTenantId string = ''

@description('Easy Auth: object id of the Entra ID group (for example the auditors) whose members may call Rotor. Empty: any principal the application admits.')
param authAllowedGroupId string = ''

@minValue(1)
@maxValue(1000)
@description('Flex Consumption maximumInstanceCount. Rotor paces Key Vault calls per instance, so fewer instances means gentler vaults.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Flex Consumption instance memory (MB).')
param instanceMemoryMB int = 2048

@description('NCRONTAB schedule of the signed audit digests (ROTOR_DIGEST_SCHEDULE; also written at the end of every run).')
param digestSchedule string = '0 0 * * * *'

@minValue(1)
@maxValue(146000)
@description('Days each audit digest stays immutable (version-level WORM retention of the digest container). Match your audit retention obligation.')
param digestRetentionDays int = 2557

@allowed([
  'EC-P256'
  'RSA-3072'
])
@description('The audit digest signing key: EC P-256 (ES256) or RSA 3072 (RS256). Not exportable.')
param digestKeyType string = 'EC-P256'

@description('Tags added to every resource.')
param tags object = {}

@description('Email address that receives Rotor\'s alerts (stale consumers, failed rotations, expired objects, audit write failures, poison messages); empty: no receiver yet.')
param alertEmailAddress string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName, application: 'rotor' })

// Vault names and URLs come from the resource ids; vault names are globally unique, so the name is the config key.
var derivedVaults = [for id in vaultResourceIds: {
  name: split(id, '/')[8]
  url: 'https://${split(id, '/')[8]}${environment().suffixes.keyvaultDns}/'
}]
// The Batch accounts and HPC Caches Rotor may read are consumers it verifies, merged with those rotorConfig lists
// (union() merges nested objects and arrays, dropping duplicates).
var derivedConsumers = {
  batch: map(batchAccountResourceIds, id => { accountId: id })
  hpcCache: map(hpcCacheResourceIds, id => { cacheId: id })
}
var effectiveConsumers = union(derivedConsumers, contains(rotorConfig, 'consumers') ? rotorConfig.consumers : {})
var effectiveRotorConfig = union(rotorConfig, {
  vaults: contains(rotorConfig, 'vaults') ? rotorConfig.vaults : derivedVaults
  consumers: effectiveConsumers
})
var hpcCacheVaultIdsLower = map(hpcCacheKeyVaultResourceIds, id => toLower(id))
// Distinct resource groups of the managed vaults (union() of arrays drops duplicates): the custom key role's scopes.
var vaultResourceGroupIds = union(map(vaultResourceIds, id => toLower('/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}')), [])

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: allTags
}

module app 'modules/app.bicep' = {
  name: 'rotor-app'
  scope: rg
  params: {
    location: location
    tags: allTags
    resourceToken: resourceToken
    schedule: schedule
    rotorConfigJson: string(effectiveRotorConfig)
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: virtualNetworkSubnetId
    instanceMemoryMB: instanceMemoryMB
    digestSchedule: digestSchedule
    authClientId: authClientId
    authTenantId: authTenantId
    authAllowedGroupId: authAllowedGroupId
  }
}

module auditDigests 'modules/audit-digests.bicep' = {
  name: 'rotor-audit-digests'
  scope: rg
  params: {
    location: location
    tags: allTags
    resourceToken: resourceToken
    principalId: app.outputs.identityPrincipalId
    retentionDays: digestRetentionDays
    keyType: digestKeyType
  }
}

// Alert rules on Rotor's own metrics, with an action group that emails alertEmailAddress.
module alerts 'modules/alerts.bicep' = {
  name: 'rotor-alerts'
  scope: rg
  params: {
    location: location
    tags: allTags
    resourceToken: resourceToken
    appInsightsId: app.outputs.appInsightsId
    alertEmailAddress: alertEmailAddress
  }
}

module keyRotatorRole 'modules/key-rotator-role.bicep' = if (keyVaultKeyRole == 'custom') {
  name: 'rotor-key-rotator-role'
  scope: subscription()
  params: {
    roleName: 'Rotor Key Rotator (${environmentName})'
    assignableScopes: vaultResourceGroupIds
  }
}

// The managed vaults, read for their location (a system topic lives in its source's region).
resource managedVaults 'Microsoft.KeyVault/vaults@2023-07-01' existing = [for id in vaultResourceIds: {
  name: split(id, '/')[8]
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
}]

module vaultAccess 'modules/vault-access.bicep' = [for (id, i) in vaultResourceIds: {
  name: 'rotor-vault-access-${i}-${take(uniqueString(id), 6)}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vaultName: split(id, '/')[8]
    principalId: app.outputs.identityPrincipalId
    keyRole: keyVaultKeyRole
    customKeyRoleGuid: keyVaultKeyRole == 'custom' ? keyRotatorRole.outputs.roleDefinitionGuid : ''
    armReader: contains(hpcCacheVaultIdsLower, toLower(id))
  }
}]

module vaultEvents 'modules/vault-events.bicep' = [for (id, i) in vaultResourceIds: if (subscribeVaultEvents) {
  name: 'rotor-vault-events-${i}-${take(uniqueString(id), 6)}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vaultName: split(id, '/')[8]
    location: managedVaults[i].location
    systemTopicName: contains(existingSystemTopics, split(id, '/')[8]) ? existingSystemTopics[split(id, '/')[8]] : 'evgt-${split(id, '/')[8]}-rotor'
    tags: allTags
    functionAppId: app.outputs.functionAppId
    identityId: app.outputs.identityId
    deadLetterStorageAccountId: app.outputs.storageAccountId
    deadLetterContainerName: app.outputs.deadLetterContainerName
  }
  dependsOn: [
    vaultAccess
  ]
}]

module batchReaders 'modules/consumer-reader.bicep' = [for (id, i) in batchAccountResourceIds: {
  name: 'rotor-batch-reader-${i}-${take(uniqueString(id), 6)}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    kind: 'batchAccount'
    resourceName: split(id, '/')[8]
    principalId: app.outputs.identityPrincipalId
  }
}]

module hpcCacheReaders 'modules/consumer-reader.bicep' = [for (id, i) in hpcCacheResourceIds: {
  name: 'rotor-cache-reader-${i}-${take(uniqueString(id), 6)}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    kind: 'hpcCache'
    resourceName: split(id, '/')[8]
    principalId: app.outputs.identityPrincipalId
  }
}]

// azd reads these into its environment (.azure/<env>/.env); the postdeploy hook and docs/deployment.md use them.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.functionAppName
output ROTOR_IDENTITY_CLIENT_ID string = app.outputs.identityClientId
output ROTOR_IDENTITY_PRINCIPAL_ID string = app.outputs.identityPrincipalId
output ROTOR_STORAGE_ACCOUNT string = app.outputs.storageAccountName
output ROTOR_VAULT_EVENTS_SUBSCRIBED bool = subscribeVaultEvents
output ROTOR_DIGEST_KEY_ID string = auditDigests.outputs.digestKeyId
output ROTOR_DIGEST_STORAGE_URI string = auditDigests.outputs.digestStorageUri
output ROTOR_EVENTS_TOPIC_ID string = app.outputs.eventsTopicId
output ROTOR_EVENTS_TOPIC_ENDPOINT string = app.outputs.eventsTopicEndpoint
