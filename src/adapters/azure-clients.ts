/**
 * One place that builds the official Azure SDK clients with Rotor's transport policy: a timeout on every request,
 * retries with exponential backoff that honour Retry-After (the SDK's throttling retry strategy), and — against the
 * local stack only — trust in the local CA and no challenge-resource verification (loopback hosts are not
 * *.vault.azure.net).
 */
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { CertificateClient } from '@azure/keyvault-certificates';
import { KeyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';

export interface AzureEnvironment {
  credential: TokenCredential;
  /** PEM of an extra CA to trust (the local stack's); undefined in Azure. */
  caPem?: string | undefined;
  /** True against the local stack. */
  local: boolean;
  /** Per-request timeout in ms (default 30 s). */
  requestTimeoutMs?: number;
  /** Retries per request (default 5). */
  maxRetries?: number;
}

/** Retry-After of a 429/503 response in ms (seconds or HTTP date; also retry-after-ms), or undefined. */
export function retryAfterMs(headers: { get(name: string): string | undefined }, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Tells `onThrottled` about every 429 (each retry too), so Rotor's pacing backs off with the SDK's retries. */
export function throttleObserverPolicy(onThrottled: (retryAfterMs: number) => void): PipelinePolicy {
  return {
    name: 'rotorThrottleObserver',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status === 429) onThrottled(retryAfterMs(response.headers) ?? 1000);
      return response;
    },
  };
}

/** Sets a timeout on every request that has none, so no call can hang a run. */
export function timeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'rotorTimeoutPolicy',
    async sendRequest(request, next) {
      if (!request.timeout) request.timeout = timeoutMs;
      return next(request);
    },
  };
}

/** Options shared by every Azure SDK client Rotor creates. */
export function commonClientOptions(env: AzureEnvironment) {
  return {
    retryOptions: { maxRetries: env.maxRetries ?? 5, retryDelayInMs: 500, maxRetryDelayInMs: 60_000 },
    additionalPolicies: [{ policy: timeoutPolicy(env.requestTimeoutMs ?? 30_000), position: 'perCall' as const }],
    ...(env.caPem ? { tlsOptions: { ca: env.caPem } } : {}),
    userAgentOptions: { userAgentPrefix: 'rotor' },
  };
}

export interface KeyVaultClients {
  readonly vaultUrl: string;
  readonly certificates: CertificateClient;
  readonly keys: KeyClient;
  readonly secrets: SecretClient;
}

export function createKeyVaultClients(
  vaultUrl: string,
  env: AzureEnvironment,
  onThrottled?: (retryAfterMs: number) => void,
): KeyVaultClients {
  const common = commonClientOptions(env);
  const options = {
    ...common,
    additionalPolicies: [
      ...common.additionalPolicies,
      ...(onThrottled ? [{ policy: throttleObserverPolicy(onThrottled), position: 'perRetry' as const }] : []),
    ],
    disableChallengeResourceVerification: env.local,
  };
  return {
    vaultUrl,
    certificates: new CertificateClient(vaultUrl, env.credential, options),
    keys: new KeyClient(vaultUrl, env.credential, options),
    secrets: new SecretClient(vaultUrl, env.credential, options),
  };
}
