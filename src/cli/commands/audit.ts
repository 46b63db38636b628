/**
 * `rotor audit`: the auditors' commands — query the audit log (the filters of GET /api/audit), show one object's
 * timeline, verify the tamper-evident chains. Heavy modules load only when a command runs.
 */
import type { Command } from 'commander';
import { UsageError } from '../exit.js';
import type { TargetOptions } from '../local-session.js';
import type { VerifyReport } from '../../core/audit-chain.js';
import { addTargetOptions } from '../target.js';
import type { AuditRowWarning } from '../../core/audit-query.js';

interface QueryOptions extends TargetOptions {
  vault?: string;
  type?: string;
  name?: string;
  action?: string;
  outcome?: string;
  trigger?: string;
  runId?: string;
  since?: string;
  from?: string;
  to?: string;
  pageSize?: string;
  continuation?: string;
  all?: boolean;
}

/** API parameter → the CLI option that sets it (errors name what the user typed). */
const OPTION_OF: Record<string, string> = {
  vault: '--vault',
  objectType: '--type',
  objectName: '--name',
  action: '--action',
  outcome: '--outcome',
  trigger: '--trigger',
  runId: '--run-id',
  from: '--from/--since',
  to: '--to',
  pageSize: '--page-size',
  continuation: '--continuation',
  type: '<type>',
  name: '<name>',
  format: '--format',
};

async function cliErrors<T>(fn: () => Promise<T>): Promise<T> {
  const { AuditQueryError } = await import('../../core/audit-query.js');
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AuditQueryError) {
      const option = OPTION_OF[err.parameter] ?? err.parameter;
      throw new UsageError(`${option}: ${err.message.slice(err.parameter.length + 2)}`);
    }
    throw err;
  }
}

/** The options as query parameters (the same validation as the HTTP API). */
async function queryParameters(opts: QueryOptions, now: Date): Promise<[string, string][]> {
  const { parseSince } = await import('../../core/duration.js');
  if (opts.since !== undefined && opts.from !== undefined) throw new UsageError('--since and --from exclude each other');
  let from = opts.from;
  if (opts.since !== undefined) {
    const parsed = parseSince(opts.since, now);
    if (!parsed.ok) throw new UsageError(`--since: ${parsed.message}`);
    from = parsed.value.toISOString();
  }
  const pairs: [string, string | undefined][] = [
    ['vault', opts.vault],
    ['objectType', opts.type],
    ['objectName', opts.name],
    ['action', opts.action],
    ['outcome', opts.outcome],
    ['trigger', opts.trigger],
    ['runId', opts.runId],
    ['from', opts.continuation ? undefined : from],
    ['to', opts.continuation ? undefined : opts.to],
    ['pageSize', opts.pageSize],
    ['continuation', opts.continuation],
  ];
  return pairs.filter((p): p is [string, string] => p[1] !== undefined);
}

export function registerAuditCommands(program: Command): void {
  const audit = addTargetOptions(program.command('audit'))
    .description(
      'Query the audit log: what was rotated, when, by which trigger, from which version to which, which consumers ' +
        'confirmed it, what failed or needs a person. Newest first, one page at a time (--continuation, --all). ' +
        'Same filters as GET /api/audit. See also `rotor audit timeline` and `rotor audit verify`.',
    )
    .option('--vault <name>', 'only this vault')
    .option('--type <type>', 'object type: certificate | key | secret')
    .option('--name <name>', 'object name')
    .option('--action <action>', 'audit action, e.g. RotationCompleted, RotationFailed, ConsumerStale')
    .option('--outcome <outcome>', 'Succeeded | Failed | Skipped | ActionRequired | Info | Pending')
    .option('--trigger <trigger>', 'timer | eventgrid | manual')
    .option('--run-id <id>', 'rows of one run')
    .option('--since <when>', 'start of the range: 7d, 36h, 90m ago, or an ISO 8601 date/time (default 30d)')
    .option('--from <iso>', 'start of the range (ISO 8601)')
    .option('--to <iso>', 'end of the range (ISO 8601, default now)')
    .option('--page-size <n>', 'rows per page (1-1000, default 100)')
    .option('--continuation <token>', 'continue a previous query where its page ended')
    .option('--all', 'read every page')
    .option('--format <format>', 'table | json | csv', 'table')
    .action(async (opts: QueryOptions) => {
      const { parseFormat } = await import('../format.js');
      const format = parseFormat(opts.format, ['table', 'json', 'csv']);
      {
        // Every argument is validated before anything starts (the same checks run again below, against the target's clock).
        const { parseAuditQuery } = await import('../../core/audit-query.js');
        await cliErrors(async () => parseAuditQuery(await queryParameters(opts, new Date()), new Date(), []));
      }
      await (await import('../local-session.js')).withLocal(opts, async () => {
        await (await import('../local-session.js')).readyStorage();
        const [{ getAuditServices }, { parseAuditQuery, continueQuery }, { rowJson, rowsCsv }, fmt] = await Promise.all([
          import('../../app/services.js'),
          import('../../core/audit-query.js'),
          import('../../app/audit-export.js'),
          import('../audit-format.js'),
        ]);
        const { reader, clock } = await getAuditServices();
        const now = clock.now();
        let query = await cliErrors(async () => parseAuditQuery(await queryParameters(opts, now), now, []));
        const rows: ReturnType<typeof rowJson>[] = [];
        const warnings: AuditRowWarning[] = [];
        for (let first = true; ; first = false) {
          const page = await cliErrors(() => reader.query(query));
          warnings.push(...(page.warnings ?? []));
          // Unreadable rows are left out and named (on stderr, so CSV and table output stay clean).
          if (format !== 'json') for (const w of page.warnings ?? []) console.error(`warning: ${fmt.describeWarning(w)}`);
          if (format === 'csv') process.stdout.write(rowsCsv(page.rows, first));
          else if (format === 'table') {
            if (first) console.log(`Audit rows ${fmt.describeQuery(query)}, newest first`);
            if (page.rows.length) console.log(fmt.formatRowsTable(page.rows, first));
            else if (first) console.log('No rows match.');
          } else rows.push(...page.rows.map(rowJson));
          if (!page.continuation) break;
          if (!opts.all) {
            if (format === 'json') console.log(JSON.stringify({ rows, continuation: page.continuation, warnings }, null, 2));
            else console.error(`More rows: add --continuation ${page.continuation} (or use --all).`);
            return;
          }
          query = continueQuery(query, page.continuation);
        }
        if (format === 'json') console.log(JSON.stringify({ rows, continuation: null, warnings }, null, 2));
      });
    });

  addTargetOptions(audit.command('timeline'))
    .description("One object's story: each rotation from detection to consumer convergence, and the reports about it.")
    .argument('<vault>', 'vault name')
    .argument('<type>', 'certificate | key | secret')
    .argument('<name>', 'object name')
    .option('--format <format>', 'table | json', 'table')
    .action(async (vault: string, type: string, name: string, opts: TargetOptions) => {
      const { parseFormat } = await import('../format.js');
      const format = parseFormat(opts.format);
      await cliErrors(async () => (await import('../../core/audit-query.js')).parseObjectRef(vault, type, name));
      await (await import('../local-session.js')).withLocal(opts, async () => {
        await (await import('../local-session.js')).readyStorage();
        const [{ getAuditServices }, { parseObjectRef }, { readTimeline }, { timelineJson }, { formatTimeline }] = await Promise.all([
          import('../../app/services.js'),
          import('../../core/audit-query.js'),
          import('../../core/audit-timeline.js'),
          import('../../app/audit-export.js'),
          import('../audit-format.js'),
        ]);
        const object = await cliErrors(async () => parseObjectRef(vault, type, name));
        const { reader, consumers } = await getAuditServices();
        const timeline = await readTimeline(reader, consumers, object);
        console.log(format === 'json' ? JSON.stringify(timelineJson(timeline), null, 2) : formatTimeline(timeline));
      });
    });

  addTargetOptions(audit.command('verify'))
    .description(
      'Verify the audit log: recompute the tamper-evident chains and, when Rotor signs digests (ROTOR_DIGEST_KEY_ID), ' +
        'check the signed digest chain (signatures, links, no gap) and every partition against the heads and rows the ' +
        'digests commit. Names the first affected row of each partition and the digest it contradicts; rows newer than ' +
        'the last digest are listed as not yet covered. --export <dir> verifies an export offline (see `rotor audit ' +
        'export`). Exit code 1 when it finds a problem.',
    )
    .option('--vault <name>', 'only this vault')
    .option('--since <when>', 'only partitions from this day on: 7d, 36h, or an ISO 8601 date/time')
    .option('--from <iso>', 'only partitions from this day on (ISO 8601)')
    .option('--to <iso>', 'only partitions up to this day (ISO 8601)')
    .option('--max-digest-age <duration>', 'rows older than this that no digest covers are findings (e.g. 2h, 90m; default 2h)')
    .option('--export <dir>', 'verify an export made by `rotor audit export` (CSV, digests, public keys) without Azure')
    .option('--format <format>', 'table | json', 'table')
    .action(async (opts: TargetOptions & { vault?: string; since?: string; from?: string; to?: string; maxDigestAge?: string; export?: string }) => {
      const { parseFormat } = await import('../format.js');
      const format = parseFormat(opts.format);
      if (opts.since !== undefined && opts.from !== undefined) throw new UsageError('--since and --from exclude each other');
      if (opts.since !== undefined) {
        const parsed = (await import('../../core/duration.js')).parseSince(opts.since, new Date());
        if (!parsed.ok) throw new UsageError(`--since: ${parsed.message}`);
      }
      const maxDigestAgeMs = await parseAge(opts.maxDigestAge);
      const scopeOf = async (now: Date) => {
        const [{ parseVerifyScope }, { parseSince }] = await Promise.all([import('../../core/audit-query.js'), import('../../core/duration.js')]);
        let from = opts.from;
        if (opts.since !== undefined) {
          const parsed = parseSince(opts.since, now);
          if (!parsed.ok) throw new UsageError(`--since: ${parsed.message}`);
          from = parsed.value.toISOString();
        }
        const params = [
          ['vault', opts.vault],
          ['from', from],
          ['to', opts.to],
        ].filter((p): p is [string, string] => p[1] !== undefined);
        return cliErrors(async () => parseVerifyScope(params));
      };
      const { formatVerify } = await import('../audit-format.js');
      const print = (report: VerifyReport): void => {
        console.log(format === 'json' ? JSON.stringify(report, null, 2) : formatVerify(report));
        if (!report.ok) process.exitCode = 1;
      };
      if (opts.export !== undefined) {
        if (opts.local || opts.state !== undefined) throw new UsageError('--export and --local/--state exclude each other');
        const { verifyExport } = await import('../audit-export-dir.js');
        print(await verifyExport(opts.export, { scope: await scopeOf(new Date()), ...(maxDigestAgeMs ? { maxDigestAgeMs } : {}) }));
        return;
      }
      await (await import('../local-session.js')).withLocal(opts, async () => {
        await (await import('../local-session.js')).readyStorage();
        const [{ getAuditServices }, { verifyLog }] = await Promise.all([import('../../app/services.js'), import('../../app/audit-verify.js')]);
        const services = await getAuditServices();
        print(await verifyLog(services, await scopeOf(services.clock.now()), { maxDigestAgeMs }));
      });
    });

  addTargetOptions(audit.command('export'))
    .description(
      "Export the audit log for an auditor's own copy: rows.csv (every row with its chain fields), heads.csv, " +
        'registry.csv, the signed digests (digests/<vault>/<seq>.json) and the public keys that signed them ' +
        '(keys.json), plus manifest.json. `rotor audit verify --export <dir>` checks it with no access to Azure.',
    )
    .argument('<dir>', 'an empty or new folder')
    .option('--vault <name>', 'only this vault')
    .action(async (dir: string, opts: TargetOptions & { vault?: string }) => {
      await (await import('../local-session.js')).withLocal({ ...opts, format: 'table' }, async () => {
        await (await import('../local-session.js')).readyStorage();
        const [{ getAuditServices }, { exportAuditLog }] = await Promise.all([import('../../app/services.js'), import('../audit-export-dir.js')]);
        const summary = await exportAuditLog(await getAuditServices(), dir, { vault: opts.vault });
        console.log(`Exported ${summary.rows} rows of ${summary.partitions} partitions, ${summary.digests} digests and ${summary.keys} public keys to ${dir}`);
      });
    });
}

async function parseAge(value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const m = /^(\d{1,5})(m|h|d)$/.exec(value.trim());
  if (!m) throw new UsageError(`--max-digest-age: use minutes, hours or days, e.g. 90m, 2h, 1d; got "${value.slice(0, 40)}"`);
  const n = Number(m[1]);
  if (n <= 0) throw new UsageError('--max-digest-age: must be more than 0');
  return n * (m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 86_400_000);
}
