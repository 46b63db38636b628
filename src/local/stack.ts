/**
 * The local Azure stack: Azurite (tables, queues), the Key Vault–compatible endpoint, and any further emulated
 * services (the consumers: Batch, HPC Pack, HPC Cache). One function starts it on free loopback ports, `stop()`
 * stops it. With a state folder, ports and state persist between runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { StaticTokenCredential } from '../adapters/credentials.js';
import { SETTINGS } from '../settings.js';
import { startAzurite, type Azurite } from './azurite.js';
import { loadOrCreateCa, type LocalCa } from './ca.js';
import { startKeyVaultEmulator } from './keyvault/index.js';
import type { KeyVaultEmulator, KeyVaultEmulatorOptions } from './keyvault/types.js';
import type { LocalService, LocalServiceContext, LocalServiceFactory } from './service.js';

/** Rotor's own emulated vault: it holds the key that signs the audit digests (not a vault Rotor manages). */
export const AUDIT_VAULT = 'rotor-audit';
export const DIGEST_KEY_NAME = 'rotor-audit-digest';

/**
 * Creates the digest signing key in Rotor's own vault unless it exists (through the real KeyClient): EC P-256
 * (ES256) by default, or RSA 3072 (RS256). Returns its versionless key id, what ROTOR_DIGEST_KEY_ID names.
 */
async function ensureDigestKey(vaultUrl: string, token: string, caPem: string, keyType: 'EC' | 'RSA'): Promise<string> {
  const { createKeyVaultClients } = await import('../adapters/azure-clients.js');
  const { keys } = createKeyVaultClients(`${vaultUrl}/`, { credential: new StaticTokenCredential(token), caPem, local: true });
  try {
    return (await keys.getKey(DIGEST_KEY_NAME)).id?.replace(/\/[^/]+$/, '') ?? `${vaultUrl}/keys/${DIGEST_KEY_NAME}`;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  if (keyType === 'EC') await keys.createEcKey(DIGEST_KEY_NAME, { curve: 'P-256', keyOps: ['sign', 'verify'], exportable: false });
  else await keys.createRsaKey(DIGEST_KEY_NAME, { keySize: 3072, keyOps: ['sign', 'verify'], exportable: false });
  return `${vaultUrl}/keys/${DIGEST_KEY_NAME}`;
}

export interface LocalStackOptions {
  /** Folder for persistent state (CA, ports, Azurite data, emulator state). Omitted: in memory. */
  stateDir?: string;
  keyVault?: KeyVaultEmulatorOptions;
  /** Further services (consumer endpoints), started after Key Vault. */
  services?: Record<string, LocalServiceFactory>;
  /** Start Azurite (default true). */
  azurite?: boolean;
  /** Serve Rotor's own vault with the audit digest signing key (default: when Azurite runs, which keeps the digests). */
  auditSigning?: boolean | { keyType: 'EC' | 'RSA' };
  now?: () => Date;
  log?: (line: string) => void;
}

export interface LocalStack {
  readonly ca: LocalCa;
  readonly token: string;
  /** A TokenCredential the local endpoints accept. */
  readonly credential: TokenCredential;
  readonly azurite: Azurite | undefined;
  readonly keyVault: KeyVaultEmulator;
  readonly services: ReadonlyMap<string, LocalService>;
  /** Every app setting a user pastes into local.settings.json to run Rotor against this stack. */
  settings(): Record<string, string>;
  /** Every endpoint: label → URL. */
  endpoints(): Record<string, string>;
  /** Persists state (persistent stacks also save on stop). */
  save(): Promise<void>;
  stop(): Promise<void>;
}

interface PersistedStack {
  token: string;
  ports: Record<string, Record<string, number>>;
}

async function readPersisted(stateDir: string | undefined): Promise<PersistedStack | undefined> {
  if (!stateDir) return undefined;
  try {
    return JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')) as PersistedStack;
  } catch {
    return undefined;
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? (() => new Date());
  const stateDir = options.stateDir;
  if (stateDir) await mkdir(stateDir, { recursive: true });
  const tempDir = stateDir ? undefined : await mkdtemp(join(tmpdir(), 'rotor-stack-'));
  const persisted = await readPersisted(stateDir);
  const token = persisted?.token ?? `rotor-local-${randomBytes(16).toString('hex')}`;
  const ca = await loadOrCreateCa(join(stateDir ?? tempDir ?? '.', 'ca'));

  const started: LocalService[] = [];
  let azurite: Azurite | undefined;
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled([...started].reverse().map((s) => s.stop()));
    await azurite?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };

  const context = (name: string): LocalServiceContext => ({
    ca,
    token,
    stateDir: stateDir ? join(stateDir, name) : undefined,
    preferredPorts: persisted?.ports[name] ?? {},
    now,
    log: (line) => log(`[${name}] ${line}`),
  });

  try {
    const azuritePorts = persisted?.ports['azurite'] ?? {};
    const azuritePromise =
      options.azurite === false
        ? Promise.resolve(undefined)
        : startAzurite({
            ...(stateDir ? { location: join(stateDir, 'azurite') } : {}),
            ...(azuritePorts['table'] ? { tablePort: azuritePorts['table'] } : {}),
            ...(azuritePorts['queue'] ? { queuePort: azuritePorts['queue'] } : {}),
            ...(azuritePorts['blob'] ? { blobPort: azuritePorts['blob'] } : {}),
          });
    const kvOptions = options.keyVault ?? {};
    const signing = options.auditSigning ?? options.azurite !== false;
    const keyVaultPromise = startKeyVaultEmulator(
      context('keyvault'),
      signing ? { ...kvOptions, vaults: [...(kvOptions.vaults ?? ['rotor-local']), AUDIT_VAULT] } : kvOptions,
    );
    const [azuriteResult, keyVaultResult] = await Promise.allSettled([azuritePromise, keyVaultPromise]);
    if (azuriteResult.status === 'fulfilled') azurite = azuriteResult.value;
    if (keyVaultResult.status === 'fulfilled') started.push(keyVaultResult.value);
    if (azuriteResult.status === 'rejected') throw azuriteResult.reason;
    if (keyVaultResult.status === 'rejected') throw keyVaultResult.reason;
    const keyVault = keyVaultResult.value;
    const digestKeyId = signing
      ? await ensureDigestKey(keyVault.vaultUrl(AUDIT_VAULT), token, ca.certPem, signing === true ? 'EC' : signing.keyType)
      : undefined;

    const services = new Map<string, LocalService>([['keyvault', keyVault]]);
    for (const [name, factory] of Object.entries(options.services ?? {})) {
      const service = await factory(context(name), services);
      started.push(service);
      services.set(name, service);
    }

    const settings = (): Record<string, string> => {
      const values: Record<string, string> = {
        [SETTINGS.localToken.name]: token,
        [SETTINGS.localCaFile.name]: ca.certFile,
      };
      if (azurite) {
        values[SETTINGS.storageConnection.name] = azurite.connectionString;
        values['AzureWebJobsStorage'] = azurite.connectionString;
      }
      if (digestKeyId) values[SETTINGS.digestKeyId.name] = digestKeyId;
      for (const service of services.values()) Object.assign(values, service.settings());
      return values;
    };

    const save = async (): Promise<void> => {
      if (!stateDir) return;
      await Promise.all([...services.values()].map((s) => s.save()));
      const ports: PersistedStack['ports'] = {};
      if (azurite) ports['azurite'] = { table: azurite.tablePort, queue: azurite.queuePort, ...(azurite.blobPort ? { blob: azurite.blobPort } : {}) };
      for (const [name, service] of services) ports[name] = service.ports();
      await writeFile(join(stateDir, 'stack.json'), JSON.stringify({ token, ports } satisfies PersistedStack, null, 2));
    };
    await save();

    return {
      ca,
      token,
      credential: new StaticTokenCredential(token),
      azurite,
      keyVault,
      services,
      settings,
      endpoints() {
        const out: Record<string, string> = {};
        if (azurite) {
          out['Azurite Table'] = azurite.tableEndpoint;
          out['Azurite Queue'] = azurite.queueEndpoint;
          if (azurite.blobEndpoint) out['Azurite Blob'] = azurite.blobEndpoint;
        }
        for (const service of services.values()) Object.assign(out, service.endpoints());
        return out;
      },
      save,
      async stop() {
        try {
          await save();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
