/**
 * Terminal renderings of the audit log for `rotor audit`: rows, an object's timeline, a verification report. Row
 * values come from vaults and events anyone with vault access can name, so control characters (terminal escape
 * sequences) are shown as visible escapes, never written raw.
 */
import type { ChainFinding, VerifyReport } from '../core/audit-chain.js';
import type { AuditRow } from '../core/audit-chain.js';
import type { AuditQuery, AuditRowWarning } from '../core/audit-query.js';
import type { ObjectTimeline } from '../core/audit-timeline.js';

/** Control characters as \u escapes (no terminal escape sequence from a row ever reaches the terminal). */
export const safe = (text: string): string =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const cut = (text: string, width: number): string => {
  const s = safe(text);
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
};
const pad = (text: string, width: number): string => cut(text, width).padEnd(width);
const shortId = (v: string): string => (v.length > 14 ? `${v.slice(0, 10)}…` : v);
const time = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 19);

export function formatRowsTable(rows: readonly AuditRow[], withHeader = true): string {
  const lines: string[] = [];
  if (withHeader) {
    lines.push(`${'TIME (UTC)'.padEnd(19)}  ${'VAULT'.padEnd(16)}  ${'OBJECT'.padEnd(32)}  ${'ACTION'.padEnd(24)}  ${'OUTCOME'.padEnd(14)}  ${'TRIGGER'.padEnd(9)}  ${'VERSION'.padEnd(25)}  DETAIL`);
  }
  for (const { record: r } of rows) {
    const object = r.objectName ? `${r.objectType}/${r.objectName}` : r.objectType || '(vault)';
    const version = r.previousVersion ? `${shortId(r.previousVersion)} → ${shortId(r.version)}` : shortId(r.version);
    const detail = [r.consumer ? `${r.consumer}:` : '', r.reason ? `[${r.reason}]` : '', r.detail].filter(Boolean).join(' ');
    lines.push(
      `${time(r.timestamp)}  ${pad(r.vault, 16)}  ${pad(object, 32)}  ${pad(r.action, 24)}  ${pad(r.outcome, 14)}  ${pad(r.trigger, 9)}  ${pad(version, 25)}  ${cut(detail, 100)}`,
    );
  }
  return lines.join('\n');
}

export function describeQuery(q: AuditQuery): string {
  const filters = (['vault', 'objectType', 'objectName', 'action', 'outcome', 'trigger', 'runId'] as const)
    .filter((k) => q[k] !== undefined)
    .map((k) => `${k}=${safe(String(q[k]))}`);
  return `${q.from.toISOString()} – ${q.to.toISOString()}${filters.length ? `, ${filters.join(', ')}` : ''}`;
}

export function formatTimeline(t: ObjectTimeline): string {
  const out: string[] = [`${safe(t.object.vault)}/${t.object.objectType}/${safe(t.object.objectName)}: ${t.rotations.length} rotation(s), ${t.other.length} other row(s)${t.truncated ? ' (truncated)' : ''}`, ''];
  for (const r of t.rotations) {
    out.push(`ROTATION ${safe(r.rotationId)}  ${r.status === 'VersionCreated' && r.consumers.length ? 'Verifying' : r.status}  trigger ${r.trigger}  reason ${safe(r.reason)}  runs ${r.runIds.map(safe).join(', ')}`);
    out.push(`  version     ${safe(r.fromVersion) || '(none)'} → ${safe(r.toVersion) || '(not created)'}`);
    if (r.fromThumbprint || r.toThumbprint) out.push(`  thumbprint  ${safe(r.fromThumbprint) || '(none)'} → ${safe(r.toThumbprint) || '(none)'}`);
    for (const [label, value] of [
      ['detected', r.detectedAt],
      ['started', r.startedAt],
      ['created', r.versionCreatedAt],
      ['completed', r.completedAt],
      ['failed', r.failedAt],
    ] as const) {
      if (value) out.push(`  ${label.padEnd(11)} ${value}`);
    }
    for (const c of r.consumers) {
      out.push(`  consumer    ${pad(c.consumer, 24)} ${c.state.padEnd(13)} ${c.at}${c.verifiedAt ? `  confirmed ${c.verifiedAt}` : ''}  ${cut(c.detail, 60)}`);
    }
    if (r.consumers.length) out.push(`  converged   ${r.converged ? `yes, ${r.convergedAt ?? ''}` : 'NO'}`);
    out.push('');
  }
  if (t.other.length) {
    out.push('OTHER ROWS (reports, observations)');
    out.push(formatRowsTable(t.other));
  }
  return out.join('\n');
}

const findingLine = (f: ChainFinding): string =>
  `${pad(f.partitionKey, 28)}  ${String(f.seq ?? '-').padStart(5)}  ${pad(f.rowKey || '-', 23)}  ${f.kind.padEnd(17)}  ${f.field ? `[${safe(f.field)}] ` : ''}${safe(f.message)}${f.digest ? `  [digest ${safe(f.digest)}]` : ''}`;

/** What the signed digests covered: the digests checked and the rows newer than the last digest. */
function digestLines(report: VerifyReport): string[] {
  const d = report.digests;
  if (d === undefined) return [];
  if (d === null) return ['Signed digests: not configured (ROTOR_DIGEST_KEY_ID): only the chains were checked.'];
  const out = [`Signed digests: ${d.digests} digests of ${d.vaults} vaults checked${d.lastDigestAt ? `, the newest ends at ${d.lastDigestAt}` : ''}.`];
  for (const n of d.notYetCovered) {
    out.push(`  not yet covered: ${safe(n.partitionKey)} rows ${n.fromSeq}–${n.toSeq} (${n.rows} rows since ${n.oldest}; the next digest covers them)`);
  }
  return out;
}

/** One unreadable row a query left out: where it is and what is wrong. */
export const describeWarning = (w: AuditRowWarning): string =>
  `unreadable row left out: partition ${safe(w.partitionKey)}, row key ${safe(w.rowKey)}, field ${safe(w.field)}: ${safe(w.message)}`;

export function formatVerify(report: VerifyReport): string {
  const scope = [report.scope.vault ? `vault ${report.scope.vault}` : 'all vaults', report.scope.from ? `from ${report.scope.from}` : '', report.scope.to ? `to ${report.scope.to}` : '']
    .filter(Boolean)
    .join(', ');
  const head = `Verified ${report.rows} rows in ${report.partitions} partitions (${scope}): `;
  if (report.ok) return [`${head}every chain is intact${report.digests ? ' and matches the signed digests' : ''}.`, ...digestLines(report)].join('\n');
  return [
    `${head}${report.findings.length} problem(s). The first problem of each partition names the first row that is wrong.`,
    `${'PARTITION'.padEnd(28)}  ${'SEQ'.padStart(5)}  ${'ROW KEY'.padEnd(23)}  ${'PROBLEM'.padEnd(17)}  DETAIL`,
    ...report.findings.map(findingLine),
    ...digestLines(report),
  ].join('\n');
}
