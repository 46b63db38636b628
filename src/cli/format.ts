/** Human-readable and JSON renderings of run results for the CLI. */
import type { AuditRecord } from '../core/audit.js';
import type { PlanEntry } from '../core/scan.js';
import { safe } from './audit-format.js';

export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string, allowed: readonly string[] = ['table', 'json']): string {
  if (!allowed.includes(value)) throw new Error(`--format must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

const short = (v: string): string => (v.length > 12 ? `${v.slice(0, 8)}…` : v);
const thumb = (v: string): string => (v ? `${v.slice(0, 8)}…` : '');

/** What happened to each object, in the order it happened, grouped by vault. */
export function groupRows(rows: readonly AuditRecord[]) {
  const vaults = new Map<string, { scan?: AuditRecord; objects: Map<string, AuditRecord[]>; other: AuditRecord[] }>();
  for (const row of rows) {
    let v = vaults.get(row.vault);
    if (!v) vaults.set(row.vault, (v = { objects: new Map(), other: [] }));
    if (row.action === 'ScanCompleted' || row.action === 'ScanContinued' || row.action === 'ScanFailed') v.scan = row;
    else if (row.objectName) {
      const key = `${row.objectType}/${row.objectName}`;
      const list = v.objects.get(key);
      if (list) list.push(row);
      else v.objects.set(key, [row]);
    } else v.other.push(row);
  }
  return vaults;
}

const MARK: Record<string, string> = {
  RotationCompleted: 'ROTATED',
  VersionCreated: 'NEW VERSION',
  RotationFailed: 'FAILED',
  PolicyViolation: 'REFUSED',
  ManualActionRequired: 'NEEDS A PERSON',
  ExternalRotationStale: 'STALE (external)',
  ExternalRotationObserved: 'OBSERVED',
  NewVersionObserved: 'OBSERVED',
  Skipped: 'SKIPPED',
  EventRejected: 'EVENT REJECTED',
  WorkItemRejected: 'REJECTED',
  WorkItemFailed: 'FAILED',
  ConsumerVerified: 'CONSUMERS OK',
  ConsumerStale: 'CONSUMER STALE',
};

/** The row that best summarises an object's story (its last decisive action). */
function decisive(rows: readonly AuditRecord[]): AuditRecord {
  const order = ['RotationFailed', 'RotationCompleted', 'PolicyViolation', 'ManualActionRequired', 'ExternalRotationStale', 'Skipped', 'VersionCreated'];
  for (const action of order) {
    const hit = [...rows].reverse().find((r) => r.action === action);
    if (hit) return hit;
  }
  return rows[rows.length - 1] as AuditRecord;
}

export function formatRunTable(rows: readonly AuditRecord[], title: string): string {
  const out: string[] = [title, ''];
  if (!rows.length) return [...out, 'No audit rows were written: nothing new happened (findings already reported are not repeated).'].join('\n');
  for (const [vault, v] of groupRows(rows)) {
    out.push(`${safe(vault)}${v.scan ? ` — ${safe(v.scan.detail)}` : ''}`);
    for (const [key, list] of v.objects) {
      const row = decisive(list);
      const detected = list.find((r) => r.action === 'Detected');
      const label = MARK[row.action] ?? row.action.toUpperCase();
      out.push(`  ${safe(key).padEnd(40)} ${label.padEnd(16)} ${safe(row.reason)}`);
      if (detected && detected !== row) out.push(`  ${''.padEnd(40)} ${''.padEnd(16)} why: ${safe(detected.detail)}`);
      out.push(`  ${''.padEnd(40)} ${''.padEnd(16)} ${safe(row.detail)}`);
      const created = list.find((r) => r.action === 'VersionCreated');
      if (created) {
        out.push(
          `  ${''.padEnd(40)} ${''.padEnd(16)} version ${short(created.previousVersion)} → ${short(created.version)}` +
            (created.thumbprint ? `, thumbprint ${thumb(created.previousThumbprint)} → ${thumb(created.thumbprint)}` : ''),
        );
      }
      for (const c of list.filter((r) => r.action.startsWith('Consumer'))) {
        out.push(`  ${''.padEnd(40)} ${''.padEnd(16)} ${c.action.replace('Consumer', '')}: ${safe(c.consumer.replace(/ \(.*\)$/, ''))} — ${safe(c.detail)}`);
      }
    }
    for (const row of v.other) out.push(`  ${(MARK[row.action] ?? row.action).padEnd(57)} ${safe(row.reason)}: ${safe(row.detail)}`);
    out.push('');
  }
  return out.join('\n');
}

export function runJson(rows: readonly AuditRecord[], extra: Record<string, unknown>): string {
  const vaults = [...groupRows(rows)].map(([vault, v]) => ({
    vault,
    scan: v.scan ? { outcome: v.scan.outcome, detail: v.scan.detail } : undefined,
    objects: [...v.objects].map(([key, list]) => {
      const row = decisive(list);
      return { object: key, action: row.action, reason: row.reason, outcome: row.outcome, rows: list };
    }),
    other: v.other,
  }));
  return JSON.stringify({ ...extra, vaults }, null, 2);
}

export function formatPlanTable(entries: ReadonlyArray<PlanEntry & { vault: string }>): string {
  if (!entries.length) return 'Nothing is due.';
  const lines = [`${'OBJECT'.padEnd(48)} ${'WOULD'.padEnd(8)} ${'REASON'.padEnd(24)} WHY`];
  for (const e of entries) {
    lines.push(`${safe(`${e.vault}/${e.type}/${e.name}`).padEnd(48)} ${e.action.padEnd(8)} ${e.reason.padEnd(24)} ${safe(e.message)}`);
  }
  return lines.join('\n');
}
