/**
 * HTTP (function key; put App Service Authentication with Entra ID in front in production, see docs/audit-api.md):
 *   GET /api/audit?vault=&objectType=&objectName=&action=&outcome=&trigger=&runId=&from=&to=&pageSize=&continuation=&format=json|csv
 * Audit rows newest first, one page at a time; bad parameters → 400 naming the parameter.
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { answer, pageResponse, parsePageFormat } from '../app/audit-http.js';
import { getAuditServices } from '../app/services.js';
import { parseAuditQuery } from '../core/audit-query.js';

export async function auditQuery(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { clock, reader } = await getAuditServices();
  return answer(context, async () => {
    const query = parseAuditQuery(request.query, clock.now());
    const format = parsePageFormat(query.extra.get('format'));
    const page = await reader.query(query);
    context.log(`audit query: ${page.rows.length} rows${page.continuation ? ', more' : ''}`);
    return pageResponse(page, format, request.url);
  });
}

export const auditQueryHttp: HttpFunctionOptions = { route: 'audit', methods: ['GET'], authLevel: 'function', handler: auditQuery };

app.http('auditQuery', auditQueryHttp);
