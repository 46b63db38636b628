/**
 * HTTP (function key): plan or rotate one object on demand.
 *   GET  /api/rotate/{vault}/{type}/{name}            → dry run: what would happen and why
 *   POST /api/rotate/{vault}/{type}/{name}[?dryRun=true] → rotate it if due (trigger "manual")
 *   POST /api/rotate/{vault}/{type}/{name}?force=true    → rotate it now even when not due (reason ManualRequest)
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { findVault } from '../core/config.js';
import { OBJECT_TYPES, type ObjectType } from '../core/model.js';
import { newRunId, plan, rotationContext } from '../core/rotor.js';
import { processObject } from '../core/scan.js';

const badRequest = (parameter: string, message: string): HttpResponseInit => ({
  status: 400,
  jsonBody: { error: { code: 'BadParameter', parameter, message: `${parameter}: ${message}` } },
});

export async function rotateNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await servicesForInvocation('manual', contextLogger(context), 'an on-demand rotation request was refused');
  const { vault: vaultName = '', type = '', name = '' } = request.params;
  const vault = findVault(services.config, vaultName);
  if (!vault) return { status: 404, jsonBody: { error: { code: 'VaultNotManaged', parameter: 'vault', message: `vault: "${vaultName}" is not managed by Rotor` } } };
  if (!(OBJECT_TYPES as readonly string[]).includes(type)) return badRequest('type', `must be one of ${OBJECT_TYPES.join(', ')}`);
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) return badRequest('name', 'must be a Key Vault object name (letters, digits, hyphens)');
  const dryRunParam = request.query.get('dryRun');
  if (dryRunParam !== null && !['true', 'false'].includes(dryRunParam)) return badRequest('dryRun', 'must be true or false');
  const forceParam = request.query.get('force');
  if (forceParam !== null && !['true', 'false'].includes(forceParam)) return badRequest('force', 'must be true or false');
  const objectType = type as ObjectType;
  if (request.method === 'GET' || dryRunParam === 'true') {
    const entries = await plan(services, { vault: vault.name, objectType, objectName: name });
    return { status: 200, jsonBody: { dryRun: true, vault: vault.name, type, name, plan: entries[0] ?? { action: 'none', message: 'not due' } } };
  }
  const run = { runId: newRunId('manual', services.clock.now(), services.newId), trigger: 'manual' as const };
  const ctx = rotationContext(services, vault, run, contextLogger(context));
  const result = await processObject(objectType, name, undefined, ctx, { force: forceParam === 'true' });
  const status = result.reason === 'NotFound' ? 404 : result.outcome === 'Error' ? 500 : 200;
  return { status, jsonBody: { dryRun: false, runId: run.runId, vault: vault.name, ...result } };
}

export const rotateNowHttp: HttpFunctionOptions = { route: 'rotate/{vault}/{type}/{name}', methods: ['GET', 'POST'], authLevel: 'function', handler: rotateNow };

app.http('rotateNow', rotateNowHttp);
