/** `rotor run`, `rotor plan`, `rotor event`: the main job, its dry run, and feeding Key Vault events. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AttentionKind } from '../../core/attention.js';
import type { VaultConfig } from '../../core/config.js';
import type { AppServices } from '../../app/services.js';
import { UsageError } from '../exit.js';
import { formatAttention, formatPlanTable, formatRunTable, runJson } from '../format.js';
import type { LocalSession, TargetOptions } from '../local-session.js';
import { addFailOn, addTargetOptions, attentionExitCode, formatOption, objectNameOption, objectTypeOption } from '../target.js';
import { Progress } from '../terminal.js';

/** Drains the work queue through the registered queue function; returns the run ids it saw. */
export async function drainWork(session: LocalSession, log: (level: string, fn: string, message: string) => void, progress: Progress): Promise<Set<string>> {
  const [{ drainQueue, loadFunctions }, { queueClient, QUEUES }] = await Promise.all([
    import('../../local/functions-host.js'),
    import('../../adapters/storage/clients.js'),
  ]);
  const { rotationWorker, MAX_DEQUEUE_COUNT, QUEUE_BATCH } = await loadFunctions(() => import('../../functions/rotationWorker.js'));
  const runIds = new Set<string>();
  const storage = session.services.storage;
  let started = 0;
  let done = 0;
  await drainQueue(
    queueClient(storage, QUEUES.work),
    queueClient(storage, QUEUES.poison),
    'rotationWorker',
    async (message, context) => {
      const item = (message ?? {}) as { runId?: unknown; kind?: unknown; vault?: unknown; objectName?: unknown };
      if (typeof item.runId === 'string') runIds.add(item.runId);
      started += 1;
      const text = (v: unknown): string => (typeof v === 'string' ? v : '');
      progress.update(`rotor: work item ${started} (${text(item.kind)} ${text(item.vault)}${item.objectName ? `/${text(item.objectName)}` : ''}), ${done} done`);
      try {
        await rotationWorker(message, context);
      } finally {
        done += 1;
      }
    },
    log,
    { maxDequeueCount: MAX_DEQUEUE_COUNT, ...QUEUE_BATCH },
  );
  progress.done();
  return runIds;
}

export function hostLog(quiet: boolean | undefined) {
  return (level: string, fn: string, message: string): void => {
    if (level === 'error' || level === 'warning') console.error(`[${fn}] ${level}: ${message}`);
    else if (!quiet) console.error(`[${fn}] ${message}`);
  };
}

export async function readRows(session: LocalSession, since: Date, runIds: Set<string> | undefined) {
  const [{ readRecentRows }, { tableClient, TABLES }] = await Promise.all([
    import('../../adapters/storage/audit-table.js'),
    import('../../adapters/storage/clients.js'),
  ]);
  return readRecentRows(tableClient(session.services.storage, TABLES.audit), since, runIds ? [...runIds] : undefined);
}

export function selectVaults(services: Pick<AppServices, 'config'>, name: string | undefined): VaultConfig[] {
  if (!name) return [...services.config.vaults];
  const vault = services.config.vaults.find((v) => v.name.toLowerCase() === name.trim().toLowerCase());
  if (!vault) throw new UsageError(`--vault: "${name}" is not in the configuration (vaults: ${services.config.vaults.map((v) => v.name).join(', ')})`);
  return [vault];
}

/** The open problems of `vaults` after a command: printed (or put into the JSON), and the exit code set. */
export async function reportAttention(services: AppServices, vaults: readonly VaultConfig[], failOn: ReadonlySet<AttentionKind>) {
  const { estateView } = await import('../../core/attention.js');
  const view = await estateView(services, vaults);
  process.exitCode = attentionExitCode(view.attention, failOn);
  return view;
}

type RunOptions = TargetOptions & { verbose?: boolean; failOn: ReadonlySet<AttentionKind> };

export function registerRunCommands(program: Command): void {
  addFailOn(
    addTargetOptions(
      program
        .command('run')
        .description(
          'Run one full nightly pass: the timer enqueues one work item per vault, the queue worker scans each vault, rotates ' +
            'what is due and audits every step; then lists everything that needs attention. With --local the work runs here ' +
            'against the local stack (seeded with the demo HPC estate on first use); without it the work items go to the ' +
            'deployed function app.',
        ),
    ),
  )
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .option('--verbose', 'show the function host log')
    .action(async (opts: RunOptions) => {
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal({ ...opts, quiet: !opts.verbose }, async (session) => {
        const services = await readyServices();
        const { scheduleRun } = await import('../../core/rotor.js');
        if (!session) {
          const { runId, vaults } = await scheduleRun(services, 'manual');
          const view = await reportAttention(services, services.config.vaults, opts.failOn);
          if (opts.format === 'json') console.log(JSON.stringify({ runId, enqueued: vaults, needsAttention: view.attention }, null, 2));
          else console.log(`run ${runId}: enqueued scans of ${vaults.join(', ')} for the deployed workers\n\n${formatAttention(view.attention)}`);
          return;
        }
        const since = new Date(Date.now() - 1000);
        const { invokeTimer, loadFunctions } = await import('../../local/functions-host.js');
        const { nightlyScan } = await loadFunctions(() => import('../../functions/nightlyScan.js'));
        const log = hostLog(!opts.verbose);
        const progress = new Progress();
        progress.update('rotor: the nightly timer enqueues the vaults…');
        await invokeTimer('nightlyScan', nightlyScan, log);
        const runIds = await drainWork(session, log, progress);
        const rows = await readRows(session, since, runIds);
        const view = await reportAttention(services, services.config.vaults, opts.failOn);
        const where = session.attachedTo ? `the running local stack (rotor local, pid ${session.attachedTo}; ${session.stateDir})` : `the local stack (${session.stateDir})`;
        if (opts.format === 'json') {
          console.log(runJson(rows, { runIds: [...runIds], state: session.stateDir, needsAttention: view.attention }));
        } else {
          const title = `Rotor run ${[...runIds].join(', ')} on ${where}${session.seeded ? ', seeded with the demo HPC estate' : ''}`;
          console.log(`${formatRunTable(rows, title)}\n${formatAttention(view.attention)}`);
        }
      });
    });

  addFailOn(
    addTargetOptions(program.command('plan').description('Dry run: what would rotate and why (reads only; writes nothing, not even audit rows), and what needs attention.')),
  )
    .option('--vault <name>', 'only this vault')
    .option('--type <type>', 'with --name: one object (certificate | key | secret)', objectTypeOption)
    .option('--name <name>', 'with --type: one object', objectNameOption)
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (opts: TargetOptions & { vault?: string; type?: 'certificate' | 'key' | 'secret'; name?: string; failOn: ReadonlySet<AttentionKind> }) => {
      if (Boolean(opts.type) !== Boolean(opts.name)) throw new UsageError('--type and --name go together');
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal(opts, async () => {
        const services = await readyServices();
        const vaults = selectVaults(services, opts.vault);
        const { plan } = await import('../../core/rotor.js');
        const entries = await plan(services, { vault: opts.vault, objectType: opts.type, objectName: opts.name });
        const view = await reportAttention(services, vaults, opts.failOn);
        const attention = opts.name ? view.attention.filter((a) => a.type === opts.type && a.name.toLowerCase() === opts.name!.toLowerCase()) : view.attention;
        if (opts.name) process.exitCode = attentionExitCode(attention, opts.failOn);
        if (opts.format === 'json') console.log(JSON.stringify({ plan: entries, needsAttention: attention }, null, 2));
        else console.log(`${formatPlanTable(entries)}\n\n${formatAttention(attention)}`);
      });
    });

  addFailOn(
    addTargetOptions(
      program
        .command('event')
        .description(
          'Feed a file of Key Vault events (Event Grid schema or CloudEvents; one event or an array) through the Event Grid ' +
            'function. Accepted events become work items; malformed or foreign ones are audited as EventRejected.',
        )
        .argument('<file>', 'JSON file with the event(s)'),
    ),
  )
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .option('--verbose', 'show the function host log')
    .action(async (file: string, opts: RunOptions) => {
      let events: unknown;
      try {
        events = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new UsageError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const { withLocal, readyServices } = await import('../local-session.js');
      await withLocal({ ...opts, quiet: !opts.verbose }, async (session) => {
        const services = await readyServices();
        const { invokeEventGrid, loadFunctions } = await import('../../local/functions-host.js');
        const { vaultEvents } = await loadFunctions(() => import('../../functions/vaultEvents.js'));
        // Rows are stamped by this process's clock: from now on, they are this command's own.
        const since = new Date();
        const log = hostLog(!opts.verbose);
        // Against the local stack, example Ids on <vault>.vault.azure.net name the local vault (src/local/event-files.ts).
        const delivered = session ? (await import('../../local/event-files.js')).localizeEventIds(events, session.services.config.vaults) : events;
        await invokeEventGrid('vaultEvents', vaultEvents, delivered, log);
        if (!session) {
          const view = await reportAttention(services, services.config.vaults, opts.failOn);
          console.log(
            opts.format === 'json'
              ? JSON.stringify({ delivered: true, needsAttention: view.attention }, null, 2)
              : `events delivered to the Event Grid handler; the deployed workers handle the work items\n\n${formatAttention(view.attention)}`,
          );
          return;
        }
        await drainWork(session, log, new Progress());
        const rows = await readRows(session, since, undefined);
        const vaultNames = new Set(rows.map((r) => r.vault.toLowerCase()));
        const view = await reportAttention(
          services,
          services.config.vaults.filter((v) => vaultNames.has(v.name.toLowerCase())),
          opts.failOn,
        );
        if (opts.format === 'json') console.log(runJson(rows, { state: session.stateDir, needsAttention: view.attention }));
        else console.log(`${formatRunTable(rows, `Events from ${file} on the local stack (${session.stateDir})`)}\n${formatAttention(view.attention)}`);
      });
    });
}
