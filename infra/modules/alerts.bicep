// Azure Monitor alerts on Rotor's own metrics (src/app/metrics.ts, exported to Application Insights with
// OpenTelemetry; they land in the customMetrics table), with an action group that emails the platform team.
// Each rule fires while its condition holds and resolves by itself (autoMitigate).

@description('Azure region of the alert rules.')
param location string

@description('Tags for every resource.')
param tags object

@description('Short unique token used in resource names.')
param resourceToken string

@description('Resource id of the Application Insights component Rotor exports its metrics to.')
param appInsightsId string

@description('Email address that receives the alerts; empty: the action group has no receiver (add one later).')
param alertEmailAddress string

// The queries read Rotor's metrics by name: rotor_consumers (gauge by state), rotor_rotations_total (counter by
// outcome), rotor_object_expiration_timestamp_seconds (gauge, Unix seconds), rotor_audit_write_failures_total and
// rotor_poison_messages_total (counters).
var alerts = [
  {
    name: 'stale-consumers'
    displayName: 'Rotor: stale, unreachable or misconfigured consumers'
    description: 'A Batch pool, HPC Pack node or HPC Cache still uses a previous version, or could not be checked (rotor_consumers > 0 in a problem state). rotor status names them.'
    severity: 2
    query: 'customMetrics | where name == "rotor_consumers" | extend state = tostring(customDimensions.state) | where state in ("Stale", "UnknownCertificate", "Unreachable", "Misconfigured") | summarize consumers = max(value) by vault = tostring(customDimensions.vault), object = tostring(customDimensions.name), state | where consumers > 0'
  }
  {
    name: 'failed-rotations'
    displayName: 'Rotor: failed rotations'
    description: 'A rotation failed (rotor_rotations_total with outcome Failed). rotor status and the audit log say why.'
    severity: 1
    query: 'customMetrics | where name == "rotor_rotations_total" | where tostring(customDimensions.outcome) == "Failed" | summarize failures = sum(valueSum) by vault = tostring(customDimensions.vault) | where failures > 0'
  }
  {
    name: 'expired-objects'
    displayName: 'Rotor: expired certificates, keys or secrets'
    description: 'The current version of a managed object has expired (rotor_object_expiration_timestamp_seconds in the past).'
    severity: 0
    query: 'customMetrics | where name == "rotor_object_expiration_timestamp_seconds" | summarize expiresAt = max(value) by vault = tostring(customDimensions.vault), object = tostring(customDimensions.name) | where expiresAt < datetime_diff("second", now(), datetime(1970-01-01))'
  }
  {
    name: 'audit-write-failures'
    displayName: 'Rotor: audit write failures'
    description: 'Audit rows could not be written to Table storage (rotor_audit_write_failures_total); they are kept and retried, but Rotor creates nothing before its audit row is durable.'
    severity: 1
    query: 'customMetrics | where name == "rotor_audit_write_failures_total" | summarize rows = sum(valueSum) | where rows > 0'
  }
  {
    name: 'poison-messages'
    displayName: 'Rotor: work items moved to the poison queue'
    description: 'A work item failed on its last delivery and moved to rotor-work-poison (rotor_poison_messages_total); audited as WorkItemFailed.'
    severity: 1
    query: 'customMetrics | where name == "rotor_poison_messages_total" | summarize messages = sum(valueSum) by vault = tostring(customDimensions.vault) | where messages > 0'
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-rotor-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'rotor'
    enabled: true
    emailReceivers: empty(alertEmailAddress) ? [] : [
      {
        name: 'platform-team'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in alerts: {
  name: 'alert-rotor-${alert.name}-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: alert.displayName
    description: alert.description
    severity: alert.severity
    enabled: true
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    scopes: [
      appInsightsId
    ]
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (alert, i) in alerts: rules[i].name]
