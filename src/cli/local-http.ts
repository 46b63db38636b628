/**
 * The HTTP side of `rotor local`: Rotor's services built from the local stack's settings (as the Functions host
 * would from local.settings.json) and the HTTP functions served on localhost, on the same port as last time for
 * this state folder when it is free (so a bookmarked audit page keeps working).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildServices, useServices } from '../app/services.js';
import { consoleLogger } from '../app/logging.js';
import { SETTINGS } from '../settings.js';
import type { HttpHost } from '../local/http-host.js';

async function preferredPort(file: string | undefined): Promise<number | undefined> {
  if (!file || !existsSync(file)) return undefined;
  try {
    const port = (JSON.parse(await readFile(file, 'utf8')) as { port?: unknown }).port;
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

export async function startFunctionsHttp(options: {
  stateDir: string | undefined;
  settings: Record<string, string>;
  port?: number | undefined;
}): Promise<{ host: HttpHost; pageUrl: string }> {
  Object.assign(process.env, options.settings);
  delete process.env[SETTINGS.config.name];
  useServices(await buildServices({ env: process.env, log: consoleLogger(true) }));
  const [{ startHttpHost }, { loadFunctions }] = await Promise.all([import('../local/http-host.js'), import('../local/functions-host.js')]);
  const { HTTP_FUNCTIONS, AUDIT_PAGE_PATH } = await loadFunctions(() => import('../local/http-functions.js'));
  const portFile = options.stateDir ? join(options.stateDir, 'http.json') : undefined;
  const host = await startHttpHost({
    routes: HTTP_FUNCTIONS,
    port: options.port ?? (await preferredPort(portFile)),
    log: (level, fn, message) => {
      if (level === 'error' || level === 'warning') console.error(`[${fn}] ${level}: ${message}`);
    },
  });
  if (portFile) await writeFile(portFile, JSON.stringify({ port: host.port }));
  return { host, pageUrl: `${host.url}${AUDIT_PAGE_PATH}` };
}
