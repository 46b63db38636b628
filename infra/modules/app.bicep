// Rotor's own resources: its user-assigned identity, storage (audit/state tables, work queues, the Flex deployment
// container and the Event Grid dead-letter container), monitoring, and the Flex Consumption function app.
// Identity everywhere: the storage account refuses shared keys, App Insights refuses local (key) auth, and no app
// setting holds a secret.

@description('Region of Rotor\'s resources.')
param location string

@description('Tags for every resource.')
param tags object

@description('Unique suffix for globally unique names.')
param resourceToken string

@description('NCRONTAB schedule of the nightly scan (ROTOR_SCHEDULE).')
param schedule string

@description('The ROTOR_CONFIG document, as JSON text.')
param rotorConfigJson string

@description('Flex Consumption maximumInstanceCount.')
param maximumInstanceCount int

@description('Flex Consumption instanceMemoryMB.')
param instanceMemoryMB int

@description('Subnet for outbound VNet integration (delegated to Microsoft.App/environments), or empty for none.')
param virtualNetworkSubnetId string

@description('NCRONTAB schedule of the audit digest timer (ROTOR_DIGEST_SCHEDULE).')
param digestSchedule string

@description('Easy Auth: client id of Rotor\'s Entra ID application registration, or empty for no App Service Authentication.')
param authClientId string

@description('Easy Auth: Entra ID tenant that issues the tokens (empty: the deployment\'s tenant).')
param authTenantId string

@description('Easy Auth: object id of the Entra ID group whose members may call the app, or empty for any principal the application admits.')
param authAllowedGroupId string

// Names Rotor's code uses (src/adapters/storage/clients.ts TABLES and QUEUES; the infra test checks they agree).
var auditTableName = 'RotorAudit'
var stateTableName = 'RotorState'
var vaultWorkTableName = 'RotorVaultWork'
var consumersTableName = 'RotorConsumers'
var workQueueName = 'rotor-work'
var poisonQueueName = 'rotor-work-poison'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
// The digest storage account and signing key of modules/audit-digests.bicep, named from the same resourceToken (that
// module needs this identity, so the names are derived here rather than passed as its outputs).
var digestStorageUri = 'https://stdig${resourceToken}.blob.${environment().suffixes.storage}/'
var digestKeyId = 'https://kv-rotor-${resourceToken}${environment().suffixes.keyvaultDns}/keys/rotor-audit-digest'

// Built-in role definition ids (the same in every subscription). Source: Azure built-in roles reference.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-rotor-${resourceToken}'
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'strotor${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // No keys, no SAS: every client (host, Rotor, Event Grid dead-lettering) authenticates with Entra ID.
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource auditTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: auditTableName
}

resource stateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: stateTableName
}

// One lease row and one pending set per vault: the instance holding a vault's lease does its work (scale-out).
resource vaultWorkTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: vaultWorkTableName
}

// One row per consumer per rotation (PartitionKey rotation id): what each Batch pool, HPC Pack node and HPC Cache
// presented at its last check.
resource consumersTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: consumersTableName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource workQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: workQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: poisonQueueName
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-rotor-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 90
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-rotor-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Entra-authenticated ingestion only: the connection string's instrumentation key alone cannot write telemetry.
    DisableLocalAuth: true
  }
}

// Rotor's notifications: an Event Grid custom topic that receives Rotor's CloudEvents (Rotor.RotationCompleted,
// Rotor.RotationFailed, Rotor.ManualActionRequired, Rotor.ConsumerStale, ...). Local auth is disabled: only Entra
// identities with EventGrid Data Sender can publish (Rotor's), no access keys exist. People subscribe to it (Logic
// App → Teams or email, a Function, Service Bus); see README "Notifications".
resource eventsTopic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: 'evgt-rotor-${resourceToken}'
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-rotor-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Every app setting Rotor's code reads in Azure (src/settings.ts) plus the host's identity-based storage settings.
// The infra test checks this object against src/settings.ts. Nothing secret: identity for storage, Key Vault and
// App Insights; a secret a future setting needs goes in as '@Microsoft.KeyVault(SecretUri=...)'.
var appSettings = {
  // Functions host storage (leases, timers, keys), identity-based.
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  // Telemetry: the connection string names the resource; the authentication string makes the host (and Rotor's
  // metric exporter) authenticate as the identity, which holds Monitoring Metrics Publisher.
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  // Rotor's SDK clients (Key Vault, Batch, HPC Cache) use this managed identity.
  AZURE_CLIENT_ID: identity.properties.clientId
  ROTOR_CONFIG: rotorConfigJson
  ROTOR_SCHEDULE: schedule
  // Rotor's storage connection (tables for the code, the queue for the rotationWorker trigger), identity-based.
  ROTOR_STORAGE__tableServiceUri: storage.properties.primaryEndpoints.table
  ROTOR_STORAGE__queueServiceUri: storage.properties.primaryEndpoints.queue
  ROTOR_STORAGE__credential: 'managedidentity'
  ROTOR_STORAGE__clientId: identity.properties.clientId
  // Signed audit digests: the immutable container and Rotor's signing key (modules/audit-digests.bicep).
  ROTOR_DIGEST_STORAGE_URI: digestStorageUri
  ROTOR_DIGEST_KEY_ID: digestKeyId
  ROTOR_DIGEST_SCHEDULE: digestSchedule
  // Rotor publishes its CloudEvents here with the identity (EventGrid Data Sender on the topic).
  ROTOR_EVENTS_TOPIC_ENDPOINT: eventsTopic.properties.endpoint
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-rotor-${resourceToken}'
  location: location
  // azd deploys the `rotor` service of azure.yaml to the resource carrying this tag.
  tags: union(tags, { 'azd-service-name': 'rotor' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // HPC Pack head nodes and node managers usually live on private networks: the probes need a way in.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // Key Vault references in app settings (if a setting ever needs a secret) resolve with the same identity.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        // Node 20 reached end of life on 2026-04-30; Azure Functions runs Node 22 (package.json engines).
        name: 'node'
        version: '22'
      }
    }
  }
  dependsOn: [
    // The host needs its storage roles before it starts; the queue trigger needs the queue.
    blobOwner
    queueContributor
    tableContributor
    workQueue
    deploymentContainer
  ]
}

// App Service Authentication ("Easy Auth") with Microsoft Entra ID, when an application registration is given: every
// request needs a token for the application (401 otherwise), optionally only from members of one group. Event Grid's
// deliveries to the vaultEvents function carry no Entra token (the system key authenticates them): their path is
// excluded, or they would be refused, retried and dead-lettered.
resource auth 'Microsoft.Web/sites/config@2023-12-01' = if (!empty(authClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${empty(authTenantId) ? tenant().tenantId : authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
          defaultAuthorizationPolicy: {
            allowedPrincipals: {
              groups: empty(authAllowedGroupId) ? [] : [
                authAllowedGroupId
              ]
            }
          }
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// Storage Blob Data Owner on Rotor's storage account: the Functions host keeps leases, timer schedule state and
// keys in blob containers it creates itself (AzureWebJobsStorage), Flex Consumption reads the deployment package
// from the app-package container with this identity, and Event Grid dead-letters undeliverable vault events into
// eventgrid-deadletter as this identity. Account scope because the host creates its containers on first start.
resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor on Rotor's storage account: the timer and Event Grid handlers enqueue work items
// on rotor-work, the rotationWorker trigger reads and deletes them, and the host moves failures to
// rotor-work-poison. Data access only; no management of the account.
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor on Rotor's storage account: Rotor appends audit rows to RotorAudit and keeps
// per-object rotation state (optimistic concurrency) in RotorState, each consumer's result in RotorConsumers, and
// vault leases and pending sets in RotorVaultWork.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Monitoring Metrics Publisher on the Application Insights component: with local auth disabled, this is what lets
// the host and Rotor's metric exporter send telemetry (Entra-authenticated ingestion). It grants no read access.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// EventGrid Data Sender on Rotor's own events topic: publish events to that one topic, nothing else (the topic has
// local auth disabled, so this identity is the only way in).
resource eventsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: eventsTopic
  name: guid(eventsTopic.id, identity.id, roles.eventGridDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventGridDataSender)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppId string = functionApp.id
output appInsightsId string = appInsights.id
output eventsTopicId string = eventsTopic.id
output eventsTopicEndpoint string = eventsTopic.properties.endpoint
output functionAppName string = functionApp.name
output identityId string = identity.id
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output storageAccountId string = storage.id
output storageAccountName string = storage.name
output deadLetterContainerName string = deadLetterContainer.name
output auditTableName string = auditTable.name
output stateTableName string = stateTable.name
output vaultWorkTableName string = vaultWorkTable.name
output consumersTableName string = consumersTable.name
output poisonQueueName string = poisonQueue.name
