/**
 * Azurite (the official Azure Storage emulator, npm `azurite`) for Tables, Queues and Blobs (the audit digests), run
 * as child processes on loopback. Azurite does not report the port it bound when given port 0, so a free port is reserved, released and
 * handed to Azurite; if another process takes it in between, the start is retried on a new port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freePort } from './net.js';

/** Azurite's documented development account (public, well-known; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for persistent state; omitted means in-memory. */
  location?: string;
  /** Preferred ports (reused across runs of a persistent stack when still free). */
  tablePort?: number;
  queuePort?: number;
  blobPort?: number;
  /** Start the Blob service too (default true; the audit digests live there). */
  blob?: boolean;
  log?: (line: string) => void;
}

export interface Azurite {
  readonly tablePort: number;
  readonly queuePort: number;
  readonly tableEndpoint: string;
  readonly queueEndpoint: string;
  /** The Blob service (undefined when started without it). */
  readonly blobPort: number | undefined;
  readonly blobEndpoint: string | undefined;
  /** A storage connection string for @azure/data-tables, @azure/storage-queue, @azure/storage-blob and the Functions host. */
  readonly connectionString: string;
  stop(): Promise<void>;
}

type Service = 'table' | 'queue' | 'blob';

function azuriteMain(service: Service): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('azurite/package.json');
  } catch {
    throw new Error('The local stack needs the npm package "azurite" (a dev dependency): run `npm install` first.');
  }
  return join(dirname(pkg), 'dist', 'src', service, 'main.js');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // SIGINT: the signal both Azurite services handle with a graceful shutdown that saves persisted state
    // (the table service ignores SIGTERM's handler path and would lose unsaved data).
    child.kill('SIGINT');
  });
}

async function startOne(service: Service, port: number, opts: AzuriteOptions): Promise<ChildProcess> {
  const args = [
    azuriteMain(service),
    `--${service}Host`,
    '127.0.0.1',
    `--${service}Port`,
    String(port),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
  ];
  if (opts.location) {
    const dir = join(opts.location, service);
    await mkdir(dir, { recursive: true });
    args.push('--location', dir);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  return new Promise<ChildProcess>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void stopChild(child);
      reject(new Error(`Azurite ${service} did not start within 20 s on port ${port}:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      output += text;
      if (/successfully (started|listen)/i.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      } else if (output.includes('EADDRINUSE') || /unhandled error/i.test(output)) {
        clearTimeout(timer);
        void stopChild(child);
        reject(Object.assign(new Error(`Azurite ${service} failed on port ${port}: ${output.trim()}`), { output }));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite ${service} exited with code ${code}: ${output.trim()}`));
    });
  });
}

async function startWithRetry(service: Service, preferred: number | undefined, opts: AzuriteOptions) {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = attempt === 0 && preferred ? await freePort(preferred) : await freePort();
    try {
      return { child: await startOne(service, port, opts), port };
    } catch (err) {
      lastError = err;
      if (!String((err as { output?: string }).output ?? '').includes('EADDRINUSE')) break;
    }
  }
  throw lastError;
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const results = await Promise.allSettled([
    startWithRetry('table', opts.tablePort, opts),
    startWithRetry('queue', opts.queuePort, opts),
    ...(opts.blob === false ? [] : [startWithRetry('blob', opts.blobPort, opts)]),
  ]);
  const [tableResult, queueResult, blobResult] = results;
  if (results.some((r) => r.status !== 'fulfilled') || tableResult?.status !== 'fulfilled' || queueResult?.status !== 'fulfilled') {
    // Never leave half a stack behind.
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? stopChild(r.value.child) : Promise.resolve())));
    const failed = results.find((r) => r.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error('Azurite failed to start');
  }
  const table = tableResult.value;
  const queue = queueResult.value;
  const tableEndpoint = `http://127.0.0.1:${table.port}/${AZURITE_ACCOUNT}`;
  const queueEndpoint = `http://127.0.0.1:${queue.port}/${AZURITE_ACCOUNT}`;
  const blob = blobResult?.status === 'fulfilled' ? blobResult.value : undefined;
  const blobEndpoint = blob ? `http://127.0.0.1:${blob.port}/${AZURITE_ACCOUNT}` : undefined;
  return {
    tablePort: table.port,
    queuePort: queue.port,
    blobPort: blob?.port,
    tableEndpoint,
    queueEndpoint,
    blobEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `TableEndpoint=${tableEndpoint};QueueEndpoint=${queueEndpoint};${blobEndpoint ? `BlobEndpoint=${blobEndpoint};` : ''}`,
    async stop() {
      await Promise.all([stopChild(table.child), stopChild(queue.child), ...(blob ? [stopChild(blob.child)] : [])]);
    },
  };
}
