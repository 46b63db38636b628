/** ARM resource ids, deterministic GUIDs and Key Vault key URL parsing: pure helpers. */
import { createHash } from 'node:crypto';

export const resourceGroupId = (subscriptionId: string, resourceGroup: string): string =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

const providerId = (subscriptionId: string, resourceGroup: string, type: string, name: string): string =>
  `${resourceGroupId(subscriptionId, resourceGroup)}/providers/${type}/${name}`;

export const batchAccountId = (subscriptionId: string, resourceGroup: string, account: string): string =>
  providerId(subscriptionId, resourceGroup, 'Microsoft.Batch/batchAccounts', account);

export const batchPoolId = (subscriptionId: string, resourceGroup: string, account: string, pool: string): string =>
  `${batchAccountId(subscriptionId, resourceGroup, account)}/pools/${pool}`;

/** The id a pool uses to reference a (deprecated) Batch account certificate. */
export const batchCertificateId = (
  subscriptionId: string,
  resourceGroup: string,
  account: string,
  thumbprint: string,
): string => `${batchAccountId(subscriptionId, resourceGroup, account)}/certificates/sha1-${thumbprint.toLowerCase()}`;

export const cacheId = (subscriptionId: string, resourceGroup: string, cache: string): string =>
  providerId(subscriptionId, resourceGroup, 'Microsoft.StorageCache/caches', cache);

export const vaultId = (subscriptionId: string, resourceGroup: string, vault: string): string =>
  providerId(subscriptionId, resourceGroup, 'Microsoft.KeyVault/vaults', vault);

export const userAssignedIdentityId = (subscriptionId: string, resourceGroup: string, identity: string): string =>
  providerId(subscriptionId, resourceGroup, 'Microsoft.ManagedIdentity/userAssignedIdentities', identity);

/** A GUID derived from its inputs: stable ids for seeded principals without randomness. */
export function deterministicGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface KeyUrlParts {
  /** `https://<vault>/keys/<name>` */
  versionless: string;
  version: string | undefined;
}

/** Splits a Key Vault key URL into its versionless part and version. Throws on anything but `.../keys/<name>[/<version>]`. */
export function splitKeyUrl(keyUrl: string): KeyUrlParts {
  let url: URL;
  try {
    url = new URL(keyUrl);
  } catch {
    throw new Error(`keyUrl must be an absolute URL, got "${keyUrl}"`);
  }
  const segments = url.pathname.split('/').filter(Boolean);
  if (segments.length < 2 || segments.length > 3 || segments[0]?.toLowerCase() !== 'keys') {
    throw new Error(`keyUrl must look like https://<vault>/keys/<name>[/<version>], got "${keyUrl}"`);
  }
  return { versionless: `${url.origin}/keys/${segments[1]}`, version: segments[2] };
}
