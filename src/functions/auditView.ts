/**
 * HTTP (function key; Entra ID in production, see docs/audit-api.md):
 *   GET /api/audit/view → a self-contained page for people: filters, rows newest first, object timelines, CSV.
 * The page holds no data; it calls /api/audit with the same credentials (the `code` key it was opened with).
 */
import { app, type HttpFunctionOptions, type HttpResponseInit } from '@azure/functions';
import { auditPageResponse } from '../app/audit-page.js';

export async function auditView(): Promise<HttpResponseInit> {
  return auditPageResponse();
}

export const auditViewHttp: HttpFunctionOptions = { route: 'audit/view', methods: ['GET'], authLevel: 'function', handler: auditView };

app.http('auditView', auditViewHttp);
