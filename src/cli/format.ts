/** Human-readable and JSON renderings of run results for the CLI. Tables fit the terminal width (src/cli/terminal.ts). */
import type { AttentionItem } from '../core/attention.js';
import type { AuditRecord } from '../core/audit.js';
import type { PlanEntry } from '../core/scan.js';
import { safe } from './audit-format.js';
import { UsageError } from './exit.js';
import { elideMiddle, hanging, paint, paintState, terminalInfo, type Colour, type TerminalInfo } from './terminal.js';

export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string, allowed: readonly string[] = ['table', 'json']): string {
  if (!allowed.includes(value)) throw new UsageError(`--format must be one of ${allowed.join(', ')}, got "${value}"`);
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

/**
 * The state word shown for an object's story, in the vocabulary `rotor status`, `rotor describe`, the timeline and
 * the audit page share (README "Vocabulary"): the rotation's state, or the report's action.
 */
export function stateOf(row: AuditRecord, rows: readonly AuditRecord[]): string {
  switch (row.action) {
    case 'RotationCompleted':
      return 'Completed';
    case 'RotationFailed':
    case 'WorkItemFailed':
      return 'Failed';
    case 'VersionCreated':
      return rows.some((r) => r.action.startsWith('Consumer') || r.action === 'VerificationStarted') ? 'Verifying' : 'VersionCreated';
    case 'RotationStarted':
      return 'RotationStarted';
    default:
      return row.action;
  }
}

/** The row that best summarises an object's story (its last decisive action). */
export function decisive(rows: readonly AuditRecord[]): AuditRecord {
  const order = ['RotationFailed', 'RotationCompleted', 'PolicyViolation', 'ManualActionRequired', 'ExternalRotationStale', 'Skipped', 'VersionCreated'];
  for (const action of order) {
    const hit = [...rows].reverse().find((r) => r.action === action);
    if (hit) return hit;
  }
  return rows[rows.length - 1] as AuditRecord;
}

/** A consumer label without its parenthesised id suffix (the id is in the audit row and `rotor describe`). */
const consumerName = (label: string): string => label.replace(/ \(.*\)$/, '');

export function formatRunTable(rows: readonly AuditRecord[], title: string, term: TerminalInfo = terminalInfo()): string {
  const width = term.width;
  const out: string[] = [...hanging('', title, width), ''];
  if (!rows.length) return [...out, 'No audit rows were written: nothing new happened (open problems are listed under Needs attention).'].join('\n');
  const stateWidth = 21;
  const nameWidth = Math.max(20, Math.min(48, width - stateWidth - 30));
  const more = (text: string): string[] => hanging('      ', text, width);
  for (const [vault, v] of groupRows(rows)) {
    const head = hanging('', `${safe(vault)}${v.scan ? ` — ${safe(v.scan.detail)}` : ''}`, width);
    out.push(...head.map((l, i) => (i === 0 ? paint(term, 'bold', safe(vault)) + l.slice(safe(vault).length) : l)));
    for (const [key, list] of v.objects) {
      const row = decisive(list);
      const detected = list.find((r) => r.action === 'Detected');
      const state = stateOf(row, list);
      out.push(`  ${elideMiddle(safe(key), nameWidth).padEnd(nameWidth)} ${paintState(term, state, stateWidth)} ${elideMiddle(safe(row.reason), Math.max(10, width - nameWidth - stateWidth - 4))}`);
      if (detected && detected !== row) out.push(...more(`why: ${safe(detected.detail)}`));
      out.push(...more(safe(row.detail)));
      const created = list.find((r) => r.action === 'VersionCreated');
      if (created) {
        out.push(
          ...more(
            `version ${short(created.previousVersion)} → ${short(created.version)}` +
              (created.thumbprint ? `, thumbprint ${thumb(created.previousThumbprint)} → ${thumb(created.thumbprint)}` : ''),
          ),
        );
      }
      for (const c of list.filter((r) => r.action.startsWith('Consumer'))) {
        const word = c.action.replace('Consumer', '');
        const lines = hanging(`      ${word}: `, `${safe(consumerName(c.consumer))} — ${safe(c.detail)}`, width);
        out.push(...lines.map((l, i) => (i === 0 ? `      ${paintState(term, word)}${l.slice(6 + word.length)}` : l)));
      }
    }
    for (const row of v.other) {
      const lines = hanging(`  ${row.action} `, `${safe(row.reason)}: ${safe(row.detail)}`, width);
      out.push(...lines.map((l, i) => (i === 0 ? `  ${paintState(term, row.action)}${l.slice(2 + row.action.length)}` : l)));
    }
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
      return { object: key, state: stateOf(row, list), action: row.action, reason: row.reason, outcome: row.outcome, rows: list };
    }),
    other: v.other,
  }));
  return JSON.stringify({ ...extra, vaults }, null, 2);
}

const PLAN_COLOUR: Readonly<Record<PlanEntry['action'], Colour | undefined>> = {
  rotate: 'cyan',
  notify: 'yellow',
  manual: 'yellow',
  refuse: 'red',
  report: 'gray',
  skip: 'gray',
};

export function formatPlanTable(entries: ReadonlyArray<PlanEntry & { vault: string }>, term: TerminalInfo = terminalInfo()): string {
  if (!entries.length) return 'Nothing is due.';
  const objWidth = Math.min(48, Math.max(24, Math.floor(term.width * 0.4)));
  const lines = [`${'OBJECT'.padEnd(objWidth)} ${'WOULD'.padEnd(8)} REASON: WHY`];
  for (const e of entries) {
    const object = elideMiddle(safe(`${e.vault}/${e.type}/${e.name}`), objWidth).padEnd(objWidth);
    const plain = `${object} ${e.action.padEnd(8)} `;
    const colour = PLAN_COLOUR[e.action];
    const first = `${object} ${colour ? paint(term, colour, e.action) : e.action}${' '.repeat(8 - e.action.length)} `;
    lines.push(...hanging(plain, `${e.reason}: ${safe(e.message)}`, term.width).map((l, i) => (i === 0 ? first + l.slice(plain.length) : l)));
  }
  return lines.join('\n');
}

const KIND_LABEL: Readonly<Record<AttentionItem['kind'], string>> = {
  expired: 'Expired',
  failed: 'Failed',
  manual: 'ManualActionRequired',
  stale: 'Stale',
  unreachable: 'Unreachable',
  misconfigured: 'Misconfigured',
  overdue: 'Overdue',
};

/** "Needs attention": every open problem — a line naming it, then what is wrong — fitted to the terminal. */
export function formatAttention(items: readonly AttentionItem[], term: TerminalInfo = terminalInfo()): string {
  if (!items.length) return `${paint(term, 'green', 'Needs attention: nothing')} — no expired object, failed rotation, person needed, or stale, unreachable or misconfigured consumer.`;
  const out = [paint(term, 'bold', `Needs attention (${items.length}):`)];
  const labelWidth = 21;
  for (const item of items) {
    const label = KIND_LABEL[item.kind];
    const object = safe(`${item.vault}/${item.type}/${item.name}`);
    const room = term.width - 2 - labelWidth - 1;
    out.push(`  ${paintState(term, label, labelWidth)} ${elideMiddle(object, room)}`);
    out.push(...hanging('      ', item.consumer ? `${safe(consumerName(item.consumer))} — ${safe(item.message)}` : safe(item.message), term.width));
  }
  return out.join('\n');
}
