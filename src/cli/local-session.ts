/**
 * `--local`: run Rotor's functions against the embedded local stack, with state in a folder (default .rotor/local).
 * On first use the stack is seeded with the demo HPC estate (src/local/estate.ts); the settings the stack prints are
 * put into this process's environment — exactly what the Functions host does with local.settings.json — and the
 * function app's handlers run through the local host.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildServices, useServices, type AppServices } from '../app/services.js';
import { consoleLogger } from '../app/logging.js';
import { SETTINGS } from '../settings.js';
import type { VaultConfig } from '../core/config.js';
import type { LocalStack } from '../local/stack.js';

import { DEFAULT_LOCAL_STATE } from './defaults.js';

export interface LocalSession {
  /** The stack this process started; undefined when it attached to the one `rotor local` runs for the same folder. */
  readonly stack: LocalStack | undefined;
  /** The pid of the `rotor local` process whose stack this session uses, when attached. */
  readonly attachedTo?: number | undefined;
  readonly services: AppServices;
  readonly stateDir: string;
  readonly configFile: string;
  /** True when this session created (and seeded) the state. */
  readonly seeded: boolean;
  close(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The live process (other than this one) that owns a state folder, if any. */
async function lockHolder(stateDir: string): Promise<number | undefined> {
  const lock = join(stateDir, 'lock');
  if (!existsSync(lock)) return undefined;
  const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
  return pid && pid !== process.pid && pidAlive(pid) ? pid : undefined;
}

/** How long a command waits for another command that holds the state folder (`rotor run` on it, say). */
const LOCK_WAIT_MS = 120_000;

/** One process at a time runs the stack of a state folder (`rotor local`, or a command that started it itself). */
export async function takeLock(stateDir: string): Promise<() => Promise<void>> {
  const lock = join(stateDir, 'lock');
  const pid = await lockHolder(stateDir);
  if (pid) {
    throw new Error(`the local stack in ${stateDir} is in use by process ${pid} (another rotor command); wait for it to finish, or use another --state`);
  }
  await writeFile(lock, String(process.pid));
  return () => rm(lock, { force: true });
}

/** What `rotor local` publishes for the other commands: they use its running stack instead of starting their own. */
export interface RunningStack {
  readonly pid: number;
  readonly settings: Record<string, string>;
  readonly configFile: string;
}

const RUNNING_FILE = 'running.json';

export async function publishRunningStack(stateDir: string, running: Omit<RunningStack, 'pid'>): Promise<() => Promise<void>> {
  const file = join(stateDir, RUNNING_FILE);
  await writeFile(file, JSON.stringify({ pid: process.pid, ...running } satisfies RunningStack, null, 2), { mode: 0o600 });
  return () => rm(file, { force: true });
}

async function runningStack(stateDir: string, holder: number): Promise<RunningStack | undefined> {
  try {
    const running = JSON.parse(await readFile(join(stateDir, RUNNING_FILE), 'utf8')) as RunningStack;
    return running.pid === holder && running.settings && typeof running.configFile === 'string' ? running : undefined;
  } catch {
    return undefined;
  }
}

/** The estates the local stack can be seeded with: the demo (`npm start`) and the large HPC estate. */
export const ESTATES = ['demo', 'large'] as const;
export type EstateKind = (typeof ESTATES)[number];

/** The estate a state folder was seeded with (recorded at its first start; folders from before hold the demo). */
async function recordedEstate(stateDir: string | undefined): Promise<EstateKind | undefined> {
  if (!stateDir) return undefined;
  try {
    const kind = JSON.parse(await readFile(join(stateDir, 'estate.json'), 'utf8')) as { kind?: unknown };
    return (ESTATES as readonly unknown[]).includes(kind.kind) ? (kind.kind as EstateKind) : undefined;
  } catch {
    return existsSync(join(stateDir, 'stack.json')) ? 'demo' : undefined;
  }
}

/**
 * Starts the local stack with an estate (the demo by default; seeded on first use) and writes the estate's
 * configuration next to its state. Returns the app settings to run Rotor against it (the stack's, plus
 * ROTOR_CONFIG_FILE). A state folder keeps the estate it was seeded with.
 */
export async function startEstateStack(options: {
  stateDir: string | undefined;
  configFile?: string | undefined;
  latencyMs?: number | undefined;
  limits?: boolean | undefined;
  estate?: EstateKind | undefined;
  log?: (line: string) => void;
}): Promise<{ stack: LocalStack; settings: Record<string, string>; configFile: string; cleanup: () => Promise<void>; estate: EstateKind }> {
  const recorded = await recordedEstate(options.stateDir);
  if (recorded && options.estate && recorded !== options.estate) {
    throw new Error(`the state in ${options.stateDir} holds the ${recorded} estate; use another --state for the ${options.estate} estate`);
  }
  const estate: EstateKind = recorded ?? options.estate ?? 'demo';
  const [{ startLocalStack }, demo, large, { startEventGridTopic }] = await Promise.all([
    import('../local/stack.js'),
    import('../local/estate.js'),
    import('../local/estate-large.js'),
    import('../local/eventgrid/topic.js'),
  ]);
  // Seeds apply only to a new state folder; later starts keep the persisted credentials.
  const headNodePassword = demo.newHeadNodePassword();
  const plan = estate === 'large' ? large.largeEstatePlan() : undefined;
  const stack = await startLocalStack({
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    // The estate's consumers, and a local Event Grid topic that records Rotor's notifications.
    services: { ...(plan ? large.largeEstateServices(plan, headNodePassword) : demo.estateServices(headNodePassword)), eventgrid: startEventGridTopic },
    keyVault: {
      vaults: plan ? [...plan.vaults] : Object.values(demo.ESTATE_VAULTS),
      seed: plan ? large.largeEstateSeed(plan, headNodePassword) : demo.estateSeed(headNodePassword),
      pendingDelayMs: 300,
      faults: { ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}), ...(options.limits === false ? { limits: false } : {}) },
      expiryCheckIntervalMs: 60_000,
    },
    ...(options.log ? { log: options.log } : {}),
  });
  let configFile = options.configFile ? resolve(options.configFile) : '';
  let cleanup = async (): Promise<void> => undefined;
  if (!configFile) {
    const dir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'rotor-config-')));
    if (!options.stateDir) cleanup = () => rm(dir, { recursive: true, force: true });
    configFile = join(dir, 'rotor.config.json');
    const urls = Object.fromEntries(stack.keyVault.vaultNames().map((v) => [v, `${stack.keyVault.vaultUrl(v)}/`]));
    const config = plan ? large.largeEstateConfig(plan, urls, stack.services) : demo.estateConfig(urls, stack.services);
    await writeFile(configFile, JSON.stringify(config, null, 2));
  }
  if (options.stateDir) await writeFile(join(options.stateDir, 'estate.json'), JSON.stringify({ kind: estate }));
  return { stack, settings: { ...stack.settings(), [SETTINGS.configFile.name]: configFile }, configFile, cleanup, estate };
}

export async function openLocalSession(options: { stateDir?: string; configFile?: string; quiet?: boolean }): Promise<LocalSession> {
  const stateDir = resolve(options.stateDir ?? DEFAULT_LOCAL_STATE);
  await mkdir(stateDir, { recursive: true });
  // `rotor local` publishes its running stack (use it); another command holding the folder is waited for.
  let holder = await lockHolder(stateDir);
  let running = holder ? await runningStack(stateDir, holder) : undefined;
  for (const deadline = Date.now() + LOCK_WAIT_MS; holder && !running && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 250));
    holder = await lockHolder(stateDir);
    running = holder ? await runningStack(stateDir, holder) : undefined;
  }
  if (running) {
    // `rotor local` runs this folder's stack: use it (the same endpoints, state and configuration) rather than
    // starting a second stack on the same files.
    Object.assign(process.env, running.settings);
    delete process.env[SETTINGS.config.name];
    const services = await buildServices({ env: process.env, log: consoleLogger(options.quiet) });
    useServices(services);
    return { stack: undefined, attachedTo: running.pid, services, stateDir, configFile: running.configFile, seeded: false, close: async () => undefined };
  }
  const release = await takeLock(stateDir);
  const seeded = !existsSync(join(stateDir, 'stack.json'));
  try {
    const { stack, settings, configFile } = await startEstateStack({ stateDir, configFile: options.configFile });
    Object.assign(process.env, settings);
    delete process.env[SETTINGS.config.name];
    const services = await buildServices({ env: process.env, log: consoleLogger(options.quiet) });
    useServices(services);
    return {
      stack,
      services,
      stateDir,
      configFile,
      seeded,
      async close() {
        try {
          await stack.stop();
        } finally {
          await release();
        }
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

/** Options every command that can target the local stack accepts (see addTargetOptions in ./target.ts). */
export interface TargetOptions {
  /** `--local`: run against the embedded local stack. */
  local?: boolean;
  /** `--state <dir>`: the local stack's state folder (implies --local). */
  state?: string;
  format: string;
  quiet?: boolean;
}

/** Runs `fn` with a local session when --local (or --state) was given (closing it afterwards), else against Azure. */
export async function withLocal<T>(options: TargetOptions, fn: (session: LocalSession | undefined) => Promise<T>): Promise<T> {
  const dir = options.state ?? (options.local ? DEFAULT_LOCAL_STATE : undefined);
  if (!dir) {
    try {
      return await fn(undefined);
    } finally {
      await settle();
    }
  }
  const session = await openLocalSession({ stateDir: dir, quiet: options.quiet ?? true });
  // Ctrl-C / SIGTERM while this command runs its own stack: stop the stack (Azurite is a child process) and exit.
  const stop = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    console.error(`\n${signal}: stopping the local stack...`);
    void session.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  if (session.stack) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  try {
    return await fn(session);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await settle();
    await session.close();
  }
}

/**
 * The services of the command's target, once its storage account and the given vaults answer: an unreachable one is
 * an error naming the setting and the endpoint within seconds (exit 2).
 */
let ready: AppServices | undefined;

/** Waits for the notifications the command's audit rows caused (bounded), before the command ends. */
async function settle(): Promise<void> {
  const services = ready;
  ready = undefined;
  if (services) await (await import('../core/rotor.js')).settleNotifications(services);
}

export async function readyServices(vaults?: readonly VaultConfig[]): Promise<AppServices> {
  const [{ getServices }, { checkReachable }] = await Promise.all([import('../app/services.js'), import('../app/preflight.js')]);
  const services = await getServices();
  ready = services;
  await checkReachable({ storage: services.storage, vaults: vaults ?? services.config.vaults, caPem: services.azure.caPem });
  return services;
}

/** For the auditors' commands (storage only): Rotor's storage answers, or an error naming the setting and endpoint. */
export async function readyStorage(): Promise<void> {
  const [{ azureEnvironment, storageConnection }, { checkReachable }] = await Promise.all([import('../app/services.js'), import('../app/preflight.js')]);
  const azure = await azureEnvironment(process.env);
  let storage;
  try {
    storage = storageConnection(process.env, azure);
  } catch {
    return; // no storage setting: the auditors' services say so (or were installed by the caller)
  }
  await checkReachable({ storage, caPem: azure.caPem });
}
