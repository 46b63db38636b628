/**
 * HTTP (function key): plan or rotate one object on demand.
 *   GET  /api/rotate/{vault}/{type}/{name}               → dry run: what would happen and why
 *   POST /api/rotate/{vault}/{type}/{name}[?dryRun=true]  → 202 Accepted: rotate it if due, through the queue
 *   POST /api/rotate/{vault}/{type}/{name}?force=true     → 202 Accepted: rotate it even when not due (ManualRequest)
 *   GET  /api/rotate/{vault}/{type}/{name}/status[?runId] → where the request stands (rotateStatus.ts)
 * The work runs in the queue worker (its time limits), never inside the HTTP call (the host answers within ~230 s).
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { findVault } from '../core/config.js';
import { OBJECT_TYPES, type ObjectType } from '../core/model.js';
import { requestRotation } from '../core/on-demand.js';
import { plan } from '../core/rotor.js';

export const badRequest = (parameter: string, message: string): HttpResponseInit => ({
  status: 400,
  jsonBody: { error: { code: 'BadParameter', parameter, message: `${parameter}: ${message}` } },
});
const boolParam = (request: HttpRequest, name: string): boolean | 'invalid' | undefined => {
  const v = request.query.get(name);
  return v === null ? undefined : v === 'true' ? true : v === 'false' ? false : 'invalid';
};

export async function rotateNow(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await servicesForInvocation('manual', contextLogger(context), 'an on-demand rotation request was refused');
  const { vault: vaultName = '', type = '', name = '' } = request.params;
  const vault = findVault(services.config, vaultName);
  if (!vault) return { status: 404, jsonBody: { error: { code: 'VaultNotManaged', parameter: 'vault', message: `vault: "${vaultName}" is not managed by Rotor` } } };
  if (!(OBJECT_TYPES as readonly string[]).includes(type)) return badRequest('type', `must be one of ${OBJECT_TYPES.join(', ')}`);
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) return badRequest('name', 'must be a Key Vault object name (letters, digits, hyphens)');
  const dryRun = boolParam(request, 'dryRun');
  const force = boolParam(request, 'force');
  if (dryRun === 'invalid') return badRequest('dryRun', 'must be true or false');
  if (force === 'invalid') return badRequest('force', 'must be true or false');
  const objectType = type as ObjectType;
  if (request.method === 'GET' || dryRun) {
    const entries = await plan(services, { vault: vault.name, objectType, objectName: name });
    return { status: 200, jsonBody: { dryRun: true, vault: vault.name, type, name, plan: entries[0] ?? { action: 'none', message: 'not due' } } };
  }
  const accepted = await requestRotation(services, { vault: vault.name, objectType, objectName: name, force: force === true });
  if (accepted.kind !== 'accepted') return { status: 404, jsonBody: { error: { code: 'ObjectNotFound', message: `${type} "${name}" does not exist in ${vault.name}` } } };
  const path = `/api/rotate/${encodeURIComponent(vault.name)}/${type}/${encodeURIComponent(name)}/status?runId=${encodeURIComponent(accepted.runId)}`;
  const statusUrl = new URL(path, request.url).toString();
  return { status: 202, headers: { Location: statusUrl }, jsonBody: { accepted: true, runId: accepted.runId, vault: vault.name, type, name, statusUrl } };
}

export const rotateNowHttp: HttpFunctionOptions = { route: 'rotate/{vault}/{type}/{name}', methods: ['GET', 'POST'], authLevel: 'function', handler: rotateNow };

app.http('rotateNow', rotateNowHttp);
