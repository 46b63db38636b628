// Read-only access to one consumer Rotor verifies, deployed into the consumer's resource group.

@allowed([
  'batchAccount'
  'hpcCache'
])
@description('What the consumer is.')
param kind string

@description('Name of the Batch account or HPC Cache (in this resource group).')
param resourceName string

@description('Principal (object) id of Rotor\'s user-assigned identity.')
param principalId string

// Built-in role definition id (the same in every subscription). Source: Azure built-in roles reference.
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource batchAccount 'Microsoft.Batch/batchAccounts@2024-07-01' existing = if (kind == 'batchAccount') {
  name: resourceName
}

resource hpcCache 'Microsoft.StorageCache/caches@2023-05-01' existing = if (kind == 'hpcCache') {
  name: resourceName
}

// Reader on a Batch account: Rotor reads the account's pools (their certificate references and Key Vault VM
// extension settings) and node state to verify that pools picked up a rotated certificate. It cannot resize,
// delete or reconfigure pools.
resource batchReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'batchAccount') {
  scope: batchAccount
  name: guid(resourceId('Microsoft.Batch/batchAccounts', resourceName), principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Reader on an HPC Cache: Rotor reads the cache's encryption settings (key URL, rotateToLatestKeyVersionEnabled)
// and health to verify that it uses the rotated customer-managed key. It cannot change or stop the cache.
resource cacheReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'hpcCache') {
  scope: hpcCache
  name: guid(resourceId('Microsoft.StorageCache/caches', resourceName), principalId, readerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
