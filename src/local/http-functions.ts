/**
 * The function app's HTTP functions, as the local HTTP host serves them (name and the options each module registers
 * with `app.http`). Importing this module loads the function modules; it is only imported where the host runs.
 */
import { auditObjectHttp } from '../functions/auditObject.js';
import { auditQueryHttp } from '../functions/auditQuery.js';
import { auditVerifyHttp } from '../functions/auditVerify.js';
import { auditViewHttp } from '../functions/auditView.js';
import { rotateNowHttp } from '../functions/rotateNow.js';
import type { HttpRoute } from './http-host.js';

export const HTTP_FUNCTIONS: readonly HttpRoute[] = [
  { name: 'rotateNow', options: rotateNowHttp },
  { name: 'auditQuery', options: auditQueryHttp },
  { name: 'auditObject', options: auditObjectHttp },
  { name: 'auditVerify', options: auditVerifyHttp },
  { name: 'auditView', options: auditViewHttp },
];

/** Only the auditors' functions (they need the audit table alone, not the Rotor configuration). */
export const AUDIT_HTTP_FUNCTIONS: readonly HttpRoute[] = HTTP_FUNCTIONS.filter((f) => f.name.startsWith('audit'));

/** Path of the auditors' page on a host. */
export const AUDIT_PAGE_PATH = '/api/audit/view';
