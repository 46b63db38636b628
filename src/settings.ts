/**
 * Every app setting Rotor reads: the one source of truth for setting names. The Functions adapters, the CLI, the
 * local stack (which prints them for local.settings.json) and the Bicep test (which checks that infra/ defines
 * exactly these) all use this table.
 */

export interface SettingSpec {
  readonly name: string;
  readonly description: string;
  /** Required in Azure (the Bicep must define it). */
  readonly requiredInAzure: boolean;
  /** Only meaningful against the local stack; must never be set in Azure. */
  readonly localOnly?: boolean;
  /** A secret: in Azure its value must be a Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`), never a literal. */
  readonly secret?: boolean;
  readonly default?: string;
}

const setting = <T extends SettingSpec>(spec: T): T => spec;

export const SETTINGS = {
  config: setting({
    name: 'ROTOR_CONFIG',
    description: 'Rotor configuration as JSON (vaults, defaults, generators, consumers). Wins over ROTOR_CONFIG_FILE.',
    requiredInAzure: true,
  }),
  configFile: setting({
    name: 'ROTOR_CONFIG_FILE',
    description: 'Path of a JSON configuration file (used when ROTOR_CONFIG is not set).',
    requiredInAzure: false,
  }),
  schedule: setting({
    name: 'ROTOR_SCHEDULE',
    description: 'NCRONTAB schedule of the nightly scan (six fields, UTC: Flex Consumption does not support WEBSITE_TIME_ZONE).',
    requiredInAzure: true,
    default: '0 0 2 * * *',
  }),
  storageConnection: setting({
    name: 'ROTOR_STORAGE',
    description:
      "Rotor's own storage (audit and state tables, work queues): a connection string locally; in Azure the " +
      'identity-based form ROTOR_STORAGE__tableServiceUri / __queueServiceUri / __credential / __clientId.',
    requiredInAzure: false,
  }),
  storageTableUri: setting({
    name: 'ROTOR_STORAGE__tableServiceUri',
    description: "Table service URI of Rotor's storage account (identity-based connection).",
    requiredInAzure: true,
  }),
  storageQueueUri: setting({
    name: 'ROTOR_STORAGE__queueServiceUri',
    description: "Queue service URI of Rotor's storage account (identity-based connection, also used by the queue triggers).",
    requiredInAzure: true,
  }),
  storageCredential: setting({
    name: 'ROTOR_STORAGE__credential',
    description: 'Set to "managedidentity" for identity-based storage connections.',
    requiredInAzure: true,
  }),
  storageClientId: setting({
    name: 'ROTOR_STORAGE__clientId',
    description: 'Client id of the user-assigned identity used for the storage connection.',
    requiredInAzure: true,
  }),
  digestStorageUri: setting({
    name: 'ROTOR_DIGEST_STORAGE_URI',
    description:
      'Blob service URI of the storage account that keeps the signed audit digests (identity-based; a separate account ' +
      "with version-level immutability, apart from the audit table). Locally the ROTOR_STORAGE connection string's Blob endpoint is used.",
    requiredInAzure: true,
  }),
  digestContainer: setting({
    name: 'ROTOR_DIGEST_CONTAINER',
    description: 'Blob container of the signed audit digests (version-level immutability in Azure; Rotor never overwrites or deletes a digest).',
    requiredInAzure: false,
    default: 'rotor-audit-digests',
  }),
  digestKeyId: setting({
    name: 'ROTOR_DIGEST_KEY_ID',
    description:
      "Key Vault key that signs the audit digests (https://<vault>.vault.azure.net/keys/<name>; RSA 3072 → RS256, EC P-256 → " +
      'ES256; non-exportable, Rotor may only sign with it). Unset: no digests are written and verification checks the chains only.',
    requiredInAzure: true,
  }),
  digestSchedule: setting({
    name: 'ROTOR_DIGEST_SCHEDULE',
    description: 'NCRONTAB schedule of the audit digest timer (six fields, UTC). Digests are also written at the end of every run.',
    requiredInAzure: true,
    default: '0 0 * * * *',
  }),
  managedIdentityClientId: setting({
    name: 'AZURE_CLIENT_ID',
    description: "Client id of Rotor's user-assigned managed identity (Key Vault, Batch, HPC Cache clients).",
    requiredInAzure: true,
  }),
  armEndpoint: setting({
    name: 'ROTOR_ARM_ENDPOINT',
    description:
      'Azure Resource Manager endpoint of the Batch, HPC Cache and Key Vault management clients (sovereign clouds; ' +
      "the local stack sets its own ARM emulator's URL).",
    requiredInAzure: false,
    default: 'https://management.azure.com',
  }),
  appInsightsConnectionString: setting({
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
    description:
      'Application Insights connection string. When set, Rotor exports its metrics there (src/app/telemetry.ts); the ' +
      'Functions host sends its logs and traces there too. Not a secret: ingestion requires Entra ID (local auth is off).',
    requiredInAzure: true,
  }),
  appInsightsAuthenticationString: setting({
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    description:
      'Entra-authenticated ingestion: "ClientId=<managed identity client id>;Authorization=AAD" (used by the host and ' +
      "by Rotor's metric exporter).",
    requiredInAzure: true,
  }),
  eventsTopicEndpoint: setting({
    name: 'ROTOR_EVENTS_TOPIC_ENDPOINT',
    description:
      "Endpoint of the Event Grid custom topic Rotor publishes its CloudEvents to (https://<topic>.<region>-1.eventgrid.azure.net/api/events), " +
      "with its managed identity (role EventGrid Data Sender). Unset: no notifications.",
    requiredInAzure: false,
  }),
  localToken: setting({
    name: 'ROTOR_LOCAL_TOKEN',
    description: "Local stack only: the bearer token the local endpoints accept (replaces Entra ID).",
    requiredInAzure: false,
    localOnly: true,
  }),
  localVaults: setting({
    name: 'ROTOR_LOCAL_VAULTS',
    description: 'Local stack only: the local Key Vault endpoints as JSON, vault name → URL (https://127.0.0.1:<port>/).',
    requiredInAzure: false,
    localOnly: true,
  }),
  localCaFile: setting({
    name: 'ROTOR_LOCAL_CA_FILE',
    description: "Local stack only: PEM file of the local stack's CA, trusted by Rotor's HTTPS clients.",
    requiredInAzure: false,
    localOnly: true,
  }),
  localHosts: setting({
    name: 'ROTOR_LOCAL_HOSTS',
    description:
      'Local stack only: name resolution of the emulated HPC Pack nodes as JSON, {"zones": {DNS suffix: IP}, ' +
      '"unresolved": [names that do not resolve]}; other names use the system resolver.',
    requiredInAzure: false,
    localOnly: true,
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** Reads a setting from an environment map (process.env in production). */
export function readSetting(env: Readonly<Record<string, string | undefined>>, key: SettingKey): string | undefined {
  const spec: SettingSpec = SETTINGS[key];
  const value = env[spec.name]?.trim();
  return value ? value : spec.default;
}
