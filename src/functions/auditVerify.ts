/**
 * HTTP (function key; Entra ID in production, see docs/audit-api.md):
 *   GET /api/audit/verify[?vault=&from=&to=] → recomputes the audit chains in scope (default: everything) and names the
 *   first row of each partition that was edited, deleted, inserted or reordered; with signed digests, also checks the
 *   digest chain and every partition against it (docs/audit-api.md). 200 with `ok: false` when it found some.
 */
import { app, type HttpFunctionOptions, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { answer, jsonResponse } from '../app/audit-http.js';
import { verifyLog } from '../app/audit-verify.js';
import { getAuditServices } from '../app/services.js';
import { parseVerifyScope } from '../core/audit-query.js';

export async function auditVerify(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const services = await getAuditServices();
  return answer(context, async () => {
    const report = await verifyLog(services, parseVerifyScope(request.query));
    if (!report.ok) context.warn(`audit verify: ${report.findings.length} findings`, { first: report.findings[0] });
    return jsonResponse(report);
  });
}

export const auditVerifyHttp: HttpFunctionOptions = { route: 'audit/verify', methods: ['GET'], authLevel: 'function', handler: auditVerify };

app.http('auditVerify', auditVerifyHttp);
