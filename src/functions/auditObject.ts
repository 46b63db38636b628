/**
 * HTTP (function key; Entra ID in production, see docs/audit-api.md):
 *   GET /api/audit/objects/{vault}/{type}/{name} → the object's timeline: each rotation from detection to consumer
 *   convergence (grouped by rotationId), and the rows that belong to no rotation (reports, observations).
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { timelineJson } from '../app/audit-export.js';
import { answer, jsonResponse } from '../app/audit-http.js';
import { getAuditServices } from '../app/services.js';
import { parseObjectRef } from '../core/audit-query.js';
import { readTimeline } from '../core/audit-timeline.js';

export async function auditObject(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { reader, consumers } = await getAuditServices();
  return answer(context, async () => {
    const { vault = '', type = '', name = '' } = request.params;
    const object = parseObjectRef(vault, type, name);
    return jsonResponse(timelineJson(await readTimeline(reader, consumers, object)));
  });
}

export const auditObjectHttp: HttpFunctionOptions = {
  route: 'audit/objects/{vault}/{type}/{name}',
  methods: ['GET'],
  authLevel: 'function',
  handler: auditObject,
};

app.http('auditObject', auditObjectHttp);
