// The optional "Rotor Key Rotator" custom role (keyVaultKeyRole = 'custom'): the key data actions Rotor performs
// and nothing else. Trade-off against the built-in Key Vault Crypto Officer: no key delete, purge, import,
// backup/restore, release or crypto operations (a compromised Rotor cannot destroy a customer-managed key), but
// creating it needs Microsoft.Authorization/roleDefinitions/write on every assignable scope (Owner or User Access
// Administrator there), it counts against the tenant's custom-role limit, and it does not pick up new actions
// Microsoft adds to the built-in role (for example if Rotor later needs one).
targetScope = 'subscription'

@description('Display name of the role (unique in the tenant).')
param roleName string

@description('Where the role may be assigned: the resource groups of the managed vaults.')
param assignableScopes array

resource keyRotator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'Rotor: list and read keys, create and rotate key versions, update key attributes and tags, read and write key rotation policies. No delete, purge, import, backup, restore, release or cryptographic operations.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.KeyVault/vaults/keys/read'
          'Microsoft.KeyVault/vaults/keys/create/action'
          'Microsoft.KeyVault/vaults/keys/rotate/action'
          'Microsoft.KeyVault/vaults/keys/update/action'
          'Microsoft.KeyVault/vaults/keyrotationpolicies/read'
          'Microsoft.KeyVault/vaults/keyrotationpolicies/write'
        ]
        notDataActions: []
      }
    ]
  }
}

// The role's GUID: assignments build the id in the vault's own subscription with subscriptionResourceId().
output roleDefinitionGuid string = keyRotator.name
