/**
 * What an operation handler sees: its vault (state, URL, clock, event emission) and the parsed request. Handlers
 * are plain functions over these, so the HTTP layer, the fault injection and the persistence stay outside them.
 */
import { badParameter } from './errors.js';
import type { VaultState, VersionBase } from './model.js';
import { OBJECT_NAME } from './model.js';
import { unixSeconds } from './time.js';

export type ObjectType = 'Certificate' | 'Key' | 'Secret';

export interface VaultContext {
  readonly name: string;
  readonly state: VaultState;
  /** `https://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly now: () => Date;
  /** Delay before a Self-issued certificate operation completes (on the emulator's clock, and on a timer). */
  readonly pendingDelayMs: number;
  /** Whether timers complete pending operations (otherwise only the emulator's clock passing their due time does). */
  readonly pendingTimers: boolean;
  /** Soft-delete retention in days. */
  readonly recoverableDays: number;
  /** Emits Microsoft.KeyVault.<type>NewVersionCreated for a new version. */
  emitNewVersion(type: ObjectType, name: string, version: VersionBase): void;
  /** Emits Microsoft.KeyVault.<type>NearExpiry for a version (Key Vault's Notify / EmailContacts lifetime actions). */
  emitNearExpiry(type: ObjectType, name: string, version: VersionBase): void;
  /** Marks state as changed (persistent vaults save soon after). */
  changed(): void;
  /** Runs `task` after `ms` on a timer that stop() clears and that does not keep the process alive. */
  schedule(ms: number, task: () => void): void;
  readonly log: (line: string) => void;
}

export interface OperationRequest {
  readonly params: { readonly name: string; readonly version: string | undefined };
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** Request path without trailing slash (list handlers build their nextLink from it). */
  readonly path: string;
}

export interface OperationResult {
  readonly status: number;
  /** The JSON body; undefined for none (204). */
  readonly body: unknown;
  /** Extra response headers (Location, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (vault: VaultContext, request: OperationRequest) => OperationResult | Promise<OperationResult>;

export const ok = (body: unknown, status = 200): OperationResult => ({ status, body });

export const nowSeconds = (vault: VaultContext): number => unixSeconds(vault.now());

/** The object name of a request, checked against Key Vault's naming rule. */
export function objectName(request: OperationRequest): string {
  const { name } = request.params;
  if (!OBJECT_NAME.test(name)) {
    throw badParameter(`The name "${name.slice(0, 140)}" is invalid: use 1-127 letters, digits and dashes.`);
  }
  return name;
}
