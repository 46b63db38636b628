/**
 * `rotor status` (like `cmctl status`), `rotor verify` (re-check consumers on demand), `rotor describe` (one object:
 * versions, rotation, consumers) and `rotor rotate` (one object now, the rotateNow function's core path).
 */
import type { Command } from 'commander';
import type { AttentionKind } from '../../core/attention.js';
import type { ObjectDescription } from '../../core/describe.js';
import type { ObjectType } from '../../core/model.js';
import type { ObjectStatus } from '../../core/status.js';
import { safe as clean } from '../audit-format.js';
import { EXIT, UsageError } from '../exit.js';
import { formatAttention, formatPlanTable } from '../format.js';
import type { TargetOptions } from '../local-session.js';
import { addFailOn, addTargetOptions, formatOption, objectNameOption, objectTypeOption } from '../target.js';
import { elideMiddle, hanging, paint, paintState, terminalInfo, type TerminalInfo } from '../terminal.js';
import { reportAttention, selectVaults } from './run.js';

const day = (iso: string | undefined): string => (iso ? iso.slice(0, 10) : '-');
const minute = (iso: string | undefined): string => (iso ? iso.slice(0, 16).replace('T', ' ') : '-');
const consumerName = (label: string): string => label.replace(/ \(.*\)$/, '');

/** Above this many consumers, `rotor status` lists only those not verified. */
const MAX_VERIFIED_LISTED = 20;

export function formatStatusTable(rows: readonly ObjectStatus[], term: TerminalInfo = terminalInfo()): string {
  const out: string[] = [];
  let vault = '';
  const objWidth = Math.min(40, Math.max(24, term.width - 60));
  for (const r of rows) {
    if (r.vault !== vault) {
      vault = r.vault;
      out.push('', paint(term, 'bold', clean(vault)), `  ${'OBJECT'.padEnd(objWidth)} ${'EXPIRES'.padEnd(10)} ${'LEFT'.padStart(5)}  ${'NEXT'.padEnd(10)}  LAST ROTATION`);
    }
    const last = r.lastRotation;
    const verified = r.consumers.filter((c) => c.status === 'Verified').length;
    const consumers = r.consumers.length ? `, ${verified}/${r.consumers.length} consumers verified` : '';
    const left = r.daysLeft === undefined ? '-' : `${r.daysLeft}d`;
    const head = `  ${elideMiddle(clean(`${r.type}/${r.name}`), objWidth).padEnd(objWidth)} ${day(r.expiresOn).padEnd(10)} ${left.padStart(5)}  ${day(r.nextRotation).padEnd(10)}  `;
    if (!last) out.push(`${head}-`);
    else {
      const lines = hanging(head, `${day(last.completedAt ?? last.startedAt)} ${last.status}${consumers}`, term.width);
      out.push(...lines.map((l, i) => (i === 0 ? l.replace(` ${last.status}`, ` ${paintState(term, last.status)}`) : l)));
    }
    const detail = (label: string, text: string): void => void out.push(...hanging(`      ${label}`, text, term.width));
    if (!r.enabled) detail('', 'disabled');
    if (r.finding) detail('now: ', clean(r.finding));
    if (last?.lastError) detail('last error: ', clean(last.lastError));
    // A large cluster lists the consumers that need attention; the verified ones are counted (--format json lists all).
    const many = r.consumers.length > MAX_VERIFIED_LISTED;
    for (const c of r.consumers) {
      if (many && c.status === 'Verified') continue;
      const lines = hanging(`      ${c.status.padEnd(18)} `, `${clean(consumerName(c.consumer))} — ${clean(c.detail)} (checked ${minute(c.checkedAt)})`, term.width);
      out.push(...lines.map((l, i) => (i === 0 ? `      ${paintState(term, c.status, 18)}${l.slice(6 + 18)}` : l)));
    }
    if (many) out.push(`      ${paintState(term, 'Verified', 18)} ${verified} more consumers (--format json lists every one)`);
  }
  return out.join('\n').trimStart() || 'No managed objects.';
}

export function formatDescription(d: ObjectDescription, term: TerminalInfo = terminalInfo()): string {
  const out: string[] = [paint(term, 'bold', clean(`${d.vault}/${d.type}/${d.name}`))];
  const field = (label: string, value: string): void => void out.push(...hanging(`  ${label.padEnd(16)}`, value, term.width));
  field('current version', `${clean(d.currentVersion)}${d.enabled ? '' : ' (disabled)'}`);
  field('expires', d.expiresOn ? `${minute(d.expiresOn)} UTC (${d.daysLeft}d left)` : 'never');
  field('next rotation', d.nextRotation ? day(d.nextRotation) : '-');
  if (d.mode) field('mode', d.mode);
  if (d.finding) field('now', clean(d.finding));
  if (d.secretId) field('secret id', clean(d.secretId));
  out.push('', `  VERSIONS${d.versionsTruncated ? ` (newest ${d.versions.length})` : ''}`);
  // Columns that fit: the thumbprint in full on wide terminals (its start identifies it otherwise), CREATED when there is room.
  const thumbWidth = term.width >= 150 ? 40 : 16;
  const created = term.width >= 120;
  out.push(`    ${'VERSION'.padEnd(32)}  ${created ? `${'CREATED'.padEnd(16)}  ` : ''}${'EXPIRES'.padEnd(16)}  ${'THUMBPRINT'.padEnd(thumbWidth)}`);
  for (const v of d.versions) {
    const flags = [v.current ? 'current' : '', v.enabled ? '' : 'disabled', v.createdBy ? `by ${v.createdBy}` : ''].filter(Boolean).join(', ');
    const thumb = v.thumbprint ? (v.thumbprint.length > thumbWidth ? `${v.thumbprint.slice(0, thumbWidth - 1)}…` : v.thumbprint) : '-';
    const line = `    ${clean(v.version).padEnd(32)}  ${created ? `${minute(v.createdOn).padEnd(16)}  ` : ''}${minute(v.expiresOn).padEnd(16)}  ${thumb.padEnd(thumbWidth)}  ${flags}`;
    out.push(line.trimEnd());
  }
  const r = d.rotation;
  out.push('', '  CURRENT ROTATION');
  if (!r) out.push('    none: Rotor has not rotated this object');
  else {
    const f = (label: string, value: string): void => void out.push(...hanging(`    ${label.padEnd(14)}`, value, term.width));
    out.push(`    ${'state'.padEnd(14)}${paintState(term, r.state)}  (rotation ${clean(r.rotationId)}, attempt ${r.attempts}, trigger ${r.trigger}, reason ${clean(r.reason)})`);
    f('version', `${clean(r.fromVersion) || '(none)'} → ${clean(r.toVersion) || '(not created)'}`);
    if (r.fromThumbprint || r.toThumbprint) f('thumbprint', `${r.fromThumbprint || '(none)'} → ${r.toThumbprint || '(none)'}`);
    f('started', minute(r.startedAt));
    if (r.completedAt) f('completed', minute(r.completedAt));
    if (r.verifyDeadline && !r.completedAt) f('deadline', minute(r.verifyDeadline));
    if (r.lastError) f('last error', clean(r.lastError));
  }
  out.push('', '  CONSUMERS');
  if (!d.consumers.length) out.push('    none recorded');
  for (const c of d.consumers) {
    const uses = c.usesVersion ? `uses ${c.usesVersion === d.currentVersion ? 'the current version' : `version ${c.usesVersion}`}` : c.observed ? `reports ${clean(c.observed)}` : 'version unknown';
    const lines = hanging(`    ${c.state.padEnd(18)} `, `${clean(c.consumer)}: ${uses} — ${clean(c.detail)} (checked ${minute(c.checkedAt)})`, term.width);
    out.push(...lines.map((l, i) => (i === 0 ? `    ${paintState(term, c.state, 18)}${l.slice(4 + 18)}` : l)));
  }
  return out.join('\n');
}

type Filter = TargetOptions & { vault?: string; type?: ObjectType; name?: string; failOn: ReadonlySet<AttentionKind> };

function checkTarget(opts: { type?: string; name?: string }): void {
  if (Boolean(opts.type) !== Boolean(opts.name)) throw new UsageError('--type and --name go together');
}

export function registerStatusCommands(program: Command): void {
  addFailOn(
    addTargetOptions(
      program
        .command('status')
        .description(
          "Every managed object: days left, next rotation, last rotation and each consumer's state (like cmctl status), " +
            'with everything that needs attention at the top. Reads only.',
        ),
    ),
  )
    .option('--vault <name>', 'only this vault')
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (opts: Filter) => {
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal(opts, async () => {
        const services = await readyServices();
        const vaults = selectVaults(services, opts.vault);
        const view = await reportAttention(services, vaults, opts.failOn);
        if (opts.format === 'json') console.log(JSON.stringify({ needsAttention: view.attention, objects: view.statuses }, null, 2));
        else console.log(`${formatAttention(view.attention)}\n\n${formatStatusTable(view.statuses)}`);
      });
    });

  addFailOn(
    addTargetOptions(
      program
        .command('verify')
        .description(
          'Re-check consumers now: every rotation waiting for its consumers (or past its deadline), or the last rotation of ' +
            'one object (--type/--name, also a completed one). Each check writes its consumer audit rows.',
        ),
    ),
  )
    .option('--vault <name>', 'only this vault')
    .option('--type <type>', 'with --name: one object (certificate | key | secret)', objectTypeOption)
    .option('--name <name>', 'with --type: one object', objectNameOption)
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (opts: Filter) => {
      checkTarget(opts);
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal(opts, async () => {
        const services = await readyServices();
        const vaults = selectVaults(services, opts.vault);
        const [{ verifyNow }, { consoleLogger }] = await Promise.all([import('../../core/rotor.js'), import('../../app/logging.js')]);
        const results = await verifyNow(services, { vault: opts.vault, objectType: opts.type, objectName: opts.name }, consoleLogger(true));
        const checked = new Set(results.map((r) => `${r.vault}/${r.type}/${r.name}`));
        const view = await reportAttention(services, vaults, opts.failOn);
        const rows = view.statuses.filter((s) => checked.has(`${s.vault}/${s.type}/${s.name}`));
        if (opts.format === 'json') console.log(JSON.stringify({ results, status: rows, needsAttention: view.attention }, null, 2));
        else console.log(`${results.length ? formatStatusTable(rows) : 'No rotation is waiting for its consumers.'}\n\n${formatAttention(view.attention)}`);
      });
    });

  addTargetOptions(
    program
      .command('describe')
      .description('One object: its versions with expiry and thumbprint, its current rotation, and each consumer with the version it uses. Reads only.')
      .argument('<vault>', 'vault name')
      .argument('<type>', 'certificate | key | secret', objectTypeOption)
      .argument('<name>', 'object name', objectNameOption),
  )
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (vault: string, type: ObjectType, name: string, opts: TargetOptions) => {
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal(opts, async () => {
        const services = await readyServices();
        const [v] = selectVaults(services, vault);
        const { describeObject } = await import('../../core/describe.js');
        const description = await describeObject(services, { vault: v!.name, type, name }).catch((err: unknown) => {
          throw err instanceof Error && err.name === 'ObjectNotFoundError' ? new UsageError(err.message) : err;
        });
        console.log(opts.format === 'json' ? JSON.stringify(description, null, 2) : formatDescription(description));
      });
    });

  addTargetOptions(
    program
      .command('rotate')
      .description(
        'Rotate one object now if it is due (like cmctl renew); --force rotates it even when not due (reason ManualRequest; ' +
          'its mode still applies); --dry-run shows what would happen. The same core path as the rotateNow HTTP function; ' +
          'every step is audited (trigger manual).',
      )
      .argument('<vault>', 'vault name')
      .argument('<type>', 'certificate | key | secret', objectTypeOption)
      .argument('<name>', 'object name', objectNameOption),
  )
    .option('--force', 'rotate even when not due')
    .option('--dry-run', 'only show what would happen and why (writes nothing)')
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (vault: string, type: ObjectType, name: string, opts: TargetOptions & { force?: boolean; dryRun?: boolean }) => {
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal(opts, async (session) => {
        const services = await readyServices();
        const [v] = selectVaults(services, vault);
        const target = { vault: v!.name, objectType: type, objectName: name };
        const { plan } = await import('../../core/rotor.js');
        if (opts.dryRun) {
          const entries = await plan(services, target).catch((err: unknown) => {
            throw new UsageError(err instanceof Error ? err.message : String(err));
          });
          const forced = opts.force && !entries.length ? ' (--force would rotate it now, reason ManualRequest)' : '';
          console.log(opts.format === 'json' ? JSON.stringify({ dryRun: true, force: Boolean(opts.force), plan: entries }, null, 2) : `${formatPlanTable(entries)}${forced}`);
          return;
        }
        // The same core path as rotateNow: the request becomes a work item (trigger manual) that the queue worker runs.
        const { requestRotation } = await import('../../core/on-demand.js');
        const accepted = await requestRotation(services, { ...target, force: opts.force === true });
        if (accepted.kind !== 'accepted') throw new UsageError(`${type} "${name}" does not exist in vault ${target.vault}`);
        if (!session) {
          const text = `run ${accepted.runId}: rotation of ${target.vault}/${type}/${name} queued for the deployed workers; follow it with GET /api/rotate/${target.vault}/${type}/${name}/status?runId=${accepted.runId} or rotor audit --run-id ${accepted.runId}`;
          console.log(opts.format === 'json' ? JSON.stringify({ accepted: true, runId: accepted.runId }, null, 2) : text);
          return;
        }
        const { drainWork, hostLog, readRows } = await import('./run.js');
        const { Progress } = await import('../terminal.js');
        await drainWork(session, hostLog(true), new Progress());
        const rows = (await readRows(session, new Date(Date.now() - 60 * 60_000), new Set([accepted.runId]))).filter(
          (r) => r.objectType === type && r.objectName.toLowerCase() === name.toLowerCase(),
        );
        const { decisive, formatRunTable, stateOf } = await import('../format.js');
        const last = rows.length ? decisive(rows) : undefined;
        const state = last ? stateOf(last, rows) : 'NotDue';
        const reason = last?.reason ?? 'not due (use --force to rotate it now)';
        if (opts.format === 'json') console.log(JSON.stringify({ runId: accepted.runId, state, reason, rows }, null, 2));
        else console.log(formatRunTable(rows, `rotor rotate ${target.vault}/${type}/${name}${opts.force ? ' --force' : ''}: ${state} (${reason}), run ${accepted.runId}`));
        if (['Failed', 'ManualActionRequired', 'PolicyViolation'].includes(state)) process.exitCode = EXIT.attention;
      });
    });
}
