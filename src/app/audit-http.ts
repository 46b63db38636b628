/**
 * HTTP shapes of the auditors' API, shared by the thin functions in src/functions/audit*.ts: bad parameters become
 * 400 with the parameter named (and are logged), pages become JSON or CSV with a link to the next page.
 */
import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { AuditQueryError, queryParameters, type AuditPage } from '../core/audit-query.js';
import { rowJson, rowsCsv } from './audit-export.js';

export type PageFormat = 'json' | 'csv';

export function parsePageFormat(value: string | undefined): PageFormat {
  if (value === undefined || value === 'json') return 'json';
  if (value === 'csv') return 'csv';
  throw new AuditQueryError('format', `must be json or csv; got "${value.slice(0, 40)}"`);
}

const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

export function badParameter(err: AuditQueryError, context: InvocationContext): HttpResponseInit {
  context.warn(`bad request: ${err.message}`, { parameter: err.parameter });
  return { status: 400, headers: SECURITY_HEADERS, jsonBody: { error: { code: 'BadParameter', parameter: err.parameter, message: err.message } } };
}

/** Runs a handler body; a bad parameter (thrown anywhere inside) becomes a 400 naming it. */
export async function answer(context: InvocationContext, body: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof AuditQueryError) return badParameter(err, context);
    throw err;
  }
}

/** Link to the next page: the same query (without the function key) plus the continuation token. */
export function nextLink(requestUrl: string, page: AuditPage, format: PageFormat): string | undefined {
  if (!page.continuation) return undefined;
  const url = new URL(requestUrl);
  const params = new URLSearchParams({ ...queryParameters(page.query), ...(format === 'csv' ? { format } : {}), continuation: page.continuation });
  return `${url.pathname}?${params.toString()}`;
}

/** Rows named in the CSV answer's `x-rotor-warnings` header (JSON, ASCII); the count is in `x-rotor-warnings-count`. */
const HEADER_WARNINGS = 20;

/** The CSV answer's warnings: how many rows were left out as unreadable, and where the first of them are. */
function warningHeaders(page: AuditPage): Record<string, string> {
  const warnings = page.warnings ?? [];
  if (!warnings.length) return {};
  const listed = warnings.slice(0, HEADER_WARNINGS).map((w) => ({ partitionKey: w.partitionKey, rowKey: w.rowKey, field: w.field }));
  // JSON with every non-ASCII character escaped: a header value must be visible ASCII.
  const ascii = JSON.stringify(listed).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return { 'x-rotor-warnings-count': String(warnings.length), 'x-rotor-warnings': ascii };
}

export function pageResponse(page: AuditPage, format: PageFormat, requestUrl: string): HttpResponseInit {
  const next = nextLink(requestUrl, page, format);
  const q = page.query;
  if (format === 'csv') {
    const name = `rotor-audit-${q.from.toISOString().slice(0, 10)}-${q.to.toISOString().slice(0, 10)}.csv`;
    return {
      status: 200,
      headers: {
        ...SECURITY_HEADERS,
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        ...(page.continuation ? { 'x-rotor-continuation': page.continuation, link: `<${next}>; rel="next"` } : {}),
        ...warningHeaders(page),
      },
      body: rowsCsv(page.rows),
    };
  }
  return {
    status: 200,
    headers: SECURITY_HEADERS,
    jsonBody: {
      query: { ...queryParameters(q) },
      count: page.rows.length,
      rows: page.rows.map(rowJson),
      continuation: page.continuation ?? null,
      next: next ?? null,
      warnings: page.warnings ?? [],
    },
  };
}

export function jsonResponse(body: unknown, status = 200): HttpResponseInit {
  return { status, headers: SECURITY_HEADERS, jsonBody: body };
}
