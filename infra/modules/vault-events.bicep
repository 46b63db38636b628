// Key Vault events for one managed vault, deployed into the vault's resource group: an Event Grid system topic on
// the vault and a subscription that delivers the events Rotor handles to the vaultEvents function. Undeliverable
// events are dead-lettered to Rotor's storage (written as Rotor's identity) instead of being dropped.

@description('Name of the managed Key Vault (in this resource group).')
param vaultName string

@description('Region of the vault (a system topic lives in its source\'s region).')
param location string

@description('Name of the system topic: a new one, or the vault\'s existing system topic (one per vault is allowed).')
param systemTopicName string

@description('Tags for the system topic.')
param tags object

@description('Resource id of Rotor\'s function app.')
param functionAppId string

@description('Resource id of Rotor\'s user-assigned identity (writes dead letters).')
param identityId string

@description('Resource id of Rotor\'s storage account (dead-letter destination).')
param deadLetterStorageAccountId string

@description('Blob container for dead-lettered events.')
param deadLetterContainerName string

// The Key Vault event types Rotor acts on (src/core/events.ts; the infra test checks each one is accepted).
var handledEventTypes = [
  'Microsoft.KeyVault.CertificateNewVersionCreated'
  'Microsoft.KeyVault.CertificateNearExpiry'
  'Microsoft.KeyVault.CertificateExpired'
  'Microsoft.KeyVault.KeyNewVersionCreated'
  'Microsoft.KeyVault.KeyNearExpiry'
  'Microsoft.KeyVault.KeyExpired'
  'Microsoft.KeyVault.SecretNewVersionCreated'
  'Microsoft.KeyVault.SecretNearExpiry'
  'Microsoft.KeyVault.SecretExpired'
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  // Rotor's identity on the topic: Event Grid writes dead letters with it (deadLetterWithResourceIdentity).
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'rotor-vault-events'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/vaultEvents'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: handledEventTypes
    }
    // An event is only a hint (the nightly scan catches anything missed), so retry for a day, then dead-letter.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: identityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicId string = topic.id
