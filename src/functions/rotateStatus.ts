/**
 * HTTP (function key): GET /api/rotate/{vault}/{type}/{name}/status[?runId=…] — where an on-demand rotation stands
 * (Queued, Running, Verifying, Completed, Failed, ActionRequired, NotRotated), from the object's rotation state and
 * the audit rows of its run. Without runId: the object's latest rotation.
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { findVault } from '../core/config.js';
import { OBJECT_TYPES, type ObjectType } from '../core/model.js';
import { rotationStatus } from '../core/on-demand.js';
import { badRequest } from './rotateNow.js';

export async function rotateStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await servicesForInvocation('manual', contextLogger(context));
  const { vault: vaultName = '', type = '', name = '' } = request.params;
  const vault = findVault(services.config, vaultName);
  if (!vault) return { status: 404, jsonBody: { error: { code: 'VaultNotManaged', parameter: 'vault', message: `vault: "${vaultName}" is not managed by Rotor` } } };
  if (!(OBJECT_TYPES as readonly string[]).includes(type)) return badRequest('type', `must be one of ${OBJECT_TYPES.join(', ')}`);
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) return badRequest('name', 'must be a Key Vault object name (letters, digits, hyphens)');
  const runId = request.query.get('runId') ?? undefined;
  if (runId !== undefined && !/^[\w.:-]{1,100}$/.test(runId)) return badRequest('runId', 'must be a run id (letters, digits, - _ . :, at most 100)');
  const status = await rotationStatus(services, services.auditReader, { vault: vault.name, objectType: type as ObjectType, objectName: name, runId });
  return { status: 200, jsonBody: status };
}

export const rotateStatusHttp: HttpFunctionOptions = { route: 'rotate/{vault}/{type}/{name}/status', methods: ['GET'], authLevel: 'function', handler: rotateStatus };

app.http('rotateStatus', rotateStatusHttp);
