/**
 * Errors the emulator answers with, in Key Vault's error model (`{"error":{"code","message"}}`, common.json).
 * Handlers throw them; the server turns them into responses.
 */

export type ObjectKind = 'certificate' | 'key' | 'secret';

export class KeyVaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** `innererror.code` (e.g. SecretDisabled under Forbidden). */
    readonly innerCode?: string,
  ) {
    super(message);
    this.name = 'KeyVaultError';
  }

  body(): { error: { code: string; message: string; innererror?: { code: string } } } {
    return { error: { code: this.code, message: this.message, ...(this.innerCode ? { innererror: { code: this.innerCode } } : {}) } };
  }
}

const NOT_FOUND_CODE: Record<ObjectKind, string> = {
  certificate: 'CertificateNotFound',
  key: 'KeyNotFound',
  secret: 'SecretNotFound',
};

export function notFound(kind: ObjectKind, name: string, version?: string): KeyVaultError {
  const what = version ? `${name}/${version}` : name;
  return new KeyVaultError(
    404,
    NOT_FOUND_CODE[kind],
    `A ${kind} with (name/id) ${what} was not found in this key vault. If you recently deleted this ${kind} you may be ` +
      `able to recover it using the correct recovery command.`,
  );
}

export const badParameter = (message: string): KeyVaultError => new KeyVaultError(400, 'BadParameter', message);

export const conflict = (message: string): KeyVaultError => new KeyVaultError(409, 'Conflict', message);

export const forbidden = (message: string, innerCode?: string): KeyVaultError => new KeyVaultError(403, 'Forbidden', message, {}, innerCode);

/** The body of a real Key Vault 429 (THROTTLING-429-NOTE.md), word for word. */
export const THROTTLED_MESSAGE =
  'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached';

/**
 * Key Vault's 429. A real one carries no Retry-After (`retryAfterSeconds` undefined); the emulator can add one
 * (FaultOptions.sendRetryAfter).
 */
export const throttled = (retryAfterSeconds: number | undefined): KeyVaultError =>
  new KeyVaultError(429, 'Throttled', THROTTLED_MESSAGE, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) });
