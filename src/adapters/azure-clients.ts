/**
 * One place that builds the official Azure SDK clients with Rotor's transport policy: a timeout on every request,
 * the SDK's retries with exponential backoff for transport errors and 5xx, Rotor's own retries after 429 with or
 * without Retry-After (throttling.ts: full-jitter backoff inside the invocation's deadline), and — against the
 * local stack only — trust in the local CA and no challenge-resource verification (loopback hosts are not
 * *.vault.azure.net).
 */
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { CertificateClient } from '@azure/keyvault-certificates';
import { KeyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import type { OperationClass } from '../core/pacing.js';
import { throttleRetryPolicy, type ThrottledRequest, type ThrottleRetryOptions } from './throttling.js';

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
  /** Rotor's own retries after 429 (with or without Retry-After): backoff, cap and budget (see throttling.ts). */
  throttle?: ThrottleRetryOptions;
}

export { retryAfterMs } from './throttling.js';

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

/**
 * Options shared by every Azure SDK client Rotor creates: a timeout per request, the SDK's retries (transport
 * errors, 5xx), and Rotor's own 429 handling inside them (`onThrottled` hears of every wait it makes).
 */
export function commonClientOptions(env: AzureEnvironment, onThrottled?: (delayMs: number, request: ThrottledRequest) => void) {
  return {
    retryOptions: { maxRetries: env.maxRetries ?? 5, retryDelayInMs: 500, maxRetryDelayInMs: 60_000 },
    additionalPolicies: [
      { policy: timeoutPolicy(env.requestTimeoutMs ?? 30_000), position: 'perCall' as const },
      { policy: throttleRetryPolicy(env.throttle, { onThrottled }), position: 'perRetry' as const },
    ],
    ...(env.caPem ? { tlsOptions: { ca: env.caPem } } : {}),
    userAgentOptions: { userAgentPrefix: 'rotor' },
  };
}

/**
 * The pacer's operation classes of a Key Vault request (Key Vault's service limits): creating or rotating a key or
 * creating a certificate is a key creation (RSA-2048 or other: the URL does not tell, so both), setting a secret a
 * secret write; reads and other writes are not paced.
 */
export function keyVaultWriteClasses(request: Pick<ThrottledRequest, 'method' | 'url'>): OperationClass[] {
  const path = new URL(request.url).pathname.replace(/\/+$/, '');
  const method = request.method.toUpperCase();
  if (method === 'POST' && /\/(keys\/[^/]+\/(create|rotate)|certificates\/[^/]+\/create)$/i.test(path)) return ['rsa2048Create', 'otherKeyCreate'];
  if (method === 'PUT' && /\/secrets\/[^/]+$/i.test(path)) return ['secretWrite'];
  return [];
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
  onThrottled?: (delayMs: number, operations: readonly OperationClass[], request: ThrottledRequest) => void,
): KeyVaultClients {
  const observe = onThrottled && ((delayMs: number, request: ThrottledRequest) => onThrottled(delayMs, keyVaultWriteClasses(request), request));
  const options = { ...commonClientOptions(env, observe), disableChallengeResourceVerification: env.local };
  return {
    vaultUrl,
    certificates: new CertificateClient(vaultUrl, env.credential, options),
    keys: new KeyClient(vaultUrl, env.credential, options),
    secrets: new SecretClient(vaultUrl, env.credential, options),
  };
}
