/**
 * The plug-in contract of the local stack. Every emulated Azure service (the Key Vault–compatible endpoint, and the
 * consumer endpoints: Batch, HPC Pack, HPC Cache) is a LocalService started with a LocalServiceContext. The stack
 * starts them, collects their settings and endpoints for `rotor local`, persists their ports and state, and stops
 * them.
 */
import type { LocalCa } from './ca.js';

export interface LocalServiceContext {
  /** Issues TLS server certificates trusted by clients of the local stack. */
  readonly ca: LocalCa;
  /** The bearer token every local endpoint accepts (LocalStackCredential hands it out). */
  readonly token: string;
  /** Folder for this service's persisted state; undefined means in memory only. */
  readonly stateDir: string | undefined;
  /** Ports this service used last time (persistent stacks reuse them so stored URLs stay valid). */
  readonly preferredPorts: Readonly<Record<string, number>>;
  /** The stack's clock (tests inject a fixed one). */
  readonly now: () => Date;
  readonly log: (line: string) => void;
}

export interface LocalService {
  readonly name: string;
  /** App settings (name → value) a user pastes into local.settings.json `Values`. */
  settings(): Record<string, string>;
  /** Endpoints to print: label → URL. */
  endpoints(): Record<string, string>;
  /** Ports to remember for the next start of a persistent stack. */
  ports(): Record<string, number>;
  /** Writes state to ctx.stateDir (no-op for in-memory services). */
  save(): Promise<void>;
  /** Closes every listener and timer; afterwards no port or handle is left. */
  stop(): Promise<void>;
}

/**
 * Starts a service. `peers` holds the services started before it (by name, e.g. "keyvault"), for emulators that
 * follow another one (an HPC Cache following its key's latest version).
 */
export type LocalServiceFactory<S extends LocalService = LocalService> = (
  ctx: LocalServiceContext,
  peers: ReadonlyMap<string, LocalService>,
) => Promise<S>;
