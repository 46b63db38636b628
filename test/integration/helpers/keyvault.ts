/**
 * Helpers for the Key Vault emulator's integration tests: a local stack with the emulator only, the SDK clients
 * built the way Rotor builds them, and raw HTTPS requests for what the SDK hides (status codes, headers, bodies).
 */
import { request } from 'node:https';
import { createKeyVaultClients, type KeyVaultClients } from '../../../src/adapters/azure-clients.js';
import type { KeyVaultEmulatorOptions } from '../../../src/local/keyvault/types.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../../src/local/stack.js';

export async function startKeyVaultStack(keyVault: KeyVaultEmulatorOptions = {}, options: Omit<LocalStackOptions, 'keyVault' | 'azurite'> = {}): Promise<LocalStack> {
  return startLocalStack({ azurite: false, keyVault: { pendingDelayMs: 20, ...keyVault }, ...options });
}

export function clientsFor(stack: LocalStack, vault = stack.keyVault.vaultNames()[0] ?? 'rotor-local'): KeyVaultClients {
  return createKeyVaultClients(stack.keyVault.vaultUrl(vault), { credential: stack.credential, caPem: stack.ca.certPem, local: true });
}

/** A response body: a Key Vault error body, or whatever else the operation returns. */
export type ResponseJson = { error: { code: string; message: string } } & Record<string, unknown>;

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = ResponseJson>(): T;
}

/** One HTTPS request trusting the stack's CA; `token` undefined sends no Authorization header. */
export function rawRequest(
  stack: LocalStack,
  method: string,
  pathAndQuery: string,
  options: { token?: string | undefined; body?: unknown; vault?: string } = {},
): Promise<RawResponse> {
  const url = new URL(pathAndQuery, `${stack.keyVault.vaultUrl(options.vault ?? stack.keyVault.vaultNames()[0] ?? '')}/`);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: stack.ca.certPem,
        agent: false,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A fixed, settable clock for deterministic times. */
export function testClock(start: string): { now: () => Date; set(iso: string): void; advance(ms: number): void } {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set: (iso) => {
      current = new Date(iso).getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
