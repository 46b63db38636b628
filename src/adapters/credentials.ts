/**
 * Credentials for the Azure SDK clients. In the Function App: ManagedIdentityCredential with the client id from
 * AZURE_CLIENT_ID and nothing else, so a missing or misconfigured identity fails with the managed identity's own
 * error instead of silently trying other identities. Elsewhere (the CLI on a workstation): the managed identity
 * first when a client id is set, then the developer chain (DefaultAzureCredential: az login, VS Code). The local
 * stack hands out a static bearer token that its endpoints accept. @azure/identity is imported lazily: it is large.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** A credential that always returns the same bearer token: what the local stack's endpoints accept. */
export class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}

  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000, tokenType: 'Bearer' };
  }
}

export interface CredentialSettings {
  /** When set, the local stack's static token is used instead of Entra ID. */
  localToken?: string | undefined;
  /** Client id of the user-assigned managed identity. */
  managedIdentityClientId?: string | undefined;
  /** With a client id: use the managed identity only, no developer fallback (the Function App). */
  managedIdentityOnly?: boolean | undefined;
}

export async function createCredential(settings: CredentialSettings): Promise<TokenCredential> {
  if (settings.localToken) return new StaticTokenCredential(settings.localToken);
  const identity = await import('@azure/identity');
  if (settings.managedIdentityClientId) {
    if (settings.managedIdentityOnly) return new identity.ManagedIdentityCredential({ clientId: settings.managedIdentityClientId });
    // Explicit managed identity first, then the developer chain (az login, VS Code) for people running the CLI.
    return new identity.ChainedTokenCredential(
      new identity.ManagedIdentityCredential({ clientId: settings.managedIdentityClientId }),
      new identity.DefaultAzureCredential(),
    );
  }
  return new identity.DefaultAzureCredential();
}
