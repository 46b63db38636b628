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
import type { LocalStack } from '../local/stack.js';

import { DEFAULT_LOCAL_STATE } from './defaults.js';

export interface LocalSession {
  readonly stack: LocalStack;
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

/** One process at a time owns a state folder. */
export async function takeLock(stateDir: string): Promise<() => Promise<void>> {
  const lock = join(stateDir, 'lock');
  if (existsSync(lock)) {
    const pid = Number((await readFile(lock, 'utf8')).trim());
    if (pid && pid !== process.pid && pidAlive(pid)) {
      throw new Error(`the local stack in ${stateDir} is in use by process ${pid} (rotor local?); stop it first or use another --state`);
    }
  }
  await writeFile(lock, String(process.pid));
  return () => rm(lock, { force: true });
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
  const [{ startLocalStack }, demo, large] = await Promise.all([
    import('../local/stack.js'),
    import('../local/estate.js'),
    import('../local/estate-large.js'),
  ]);
  // Seeds apply only to a new state folder; later starts keep the persisted credentials.
  const headNodePassword = demo.newHeadNodePassword();
  const plan = estate === 'large' ? large.largeEstatePlan() : undefined;
  const stack = await startLocalStack({
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    services: plan ? large.largeEstateServices(plan, headNodePassword) : demo.estateServices(headNodePassword),
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

/** Options every command that can target the local stack accepts. */
export interface TargetOptions {
  /** `--local [dir]`: true for the default state folder, a string for another one. */
  local?: string | boolean;
  format: string;
  quiet?: boolean;
}

/** Runs `fn` with a local session when --local was given (closing it afterwards), else against Azure. */
export async function withLocal<T>(options: TargetOptions, fn: (session: LocalSession | undefined) => Promise<T>): Promise<T> {
  const dir = options.local === undefined || options.local === false ? undefined : options.local === true ? DEFAULT_LOCAL_STATE : options.local;
  if (!dir) return fn(undefined);
  const session = await openLocalSession({ stateDir: dir, quiet: options.quiet ?? true });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
