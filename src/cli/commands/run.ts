/** `rotor run`, `rotor plan`, `rotor event`: the main job, its dry run, and feeding Key Vault events. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatPlanTable, formatRunTable, parseFormat, runJson } from '../format.js';
import { DEFAULT_LOCAL_STATE } from '../defaults.js';
import type { LocalSession, TargetOptions } from '../local-session.js';

/** Drains the work queue through the registered queue function; returns the run ids it saw. */
async function drainWork(session: LocalSession, log: (level: string, fn: string, message: string) => void): Promise<Set<string>> {
  const [{ drainQueue, loadFunctions }, { queueClient, QUEUES }] = await Promise.all([
    import('../../local/functions-host.js'),
    import('../../adapters/storage/clients.js'),
  ]);
  const { rotationWorker, MAX_DEQUEUE_COUNT, QUEUE_BATCH } = await loadFunctions(() => import('../../functions/rotationWorker.js'));
  const runIds = new Set<string>();
  const storage = session.services.storage;
  await drainQueue(
    queueClient(storage, QUEUES.work),
    queueClient(storage, QUEUES.poison),
    'rotationWorker',
    async (message, context) => {
      const runId = (message as { runId?: unknown } | null)?.runId;
      if (typeof runId === 'string') runIds.add(runId);
      await rotationWorker(message, context);
    },
    log,
    { maxDequeueCount: MAX_DEQUEUE_COUNT, ...QUEUE_BATCH },
  );
  return runIds;
}

function hostLog(quiet: boolean | undefined) {
  return (level: string, fn: string, message: string): void => {
    if (level === 'error' || level === 'warning') console.error(`[${fn}] ${level}: ${message}`);
    else if (!quiet) console.error(`[${fn}] ${message}`);
  };
}

async function printRows(session: LocalSession, since: Date, runIds: Set<string> | undefined, format: string, title: string): Promise<void> {
  const [{ readRecentRows }, { tableClient, TABLES }] = await Promise.all([
    import('../../adapters/storage/audit-table.js'),
    import('../../adapters/storage/clients.js'),
  ]);
  const rows = await readRecentRows(tableClient(session.services.storage, TABLES.audit), since, runIds ? [...runIds] : undefined);
  console.log(format === 'json' ? runJson(rows, { runIds: [...(runIds ?? [])], state: session.stateDir }) : formatRunTable(rows, title));
}

const localOption = ['--local [dir]', `run against the embedded local stack (state folder, default ${DEFAULT_LOCAL_STATE})`] as const;

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description(
      'Run one full nightly pass: the timer enqueues one work item per vault, the queue worker scans each vault, rotates ' +
        'what is due and audits every step. With --local the work runs here against the local stack (seeded with the ' +
        'demo HPC estate on first use); without it the work items go to the deployed function app.',
    )
    .option(...localOption)
    .option('--format <format>', 'table | json', 'table')
    .option('--verbose', 'show the function host log')
    .action(async (opts: TargetOptions & { verbose?: boolean }) => {
      const format = parseFormat(opts.format);
      await (await import('../local-session.js')).withLocal({ ...opts, quiet: !opts.verbose }, async (session) => {
        const [{ getServices }, { scheduleRun }] = await Promise.all([import('../../app/services.js'), import('../../core/rotor.js')]);
        if (!session) {
          const { runId, vaults } = await scheduleRun(await getServices(), 'manual');
          console.log(`run ${runId}: enqueued scans of ${vaults.join(', ')} for the deployed workers`);
          return;
        }
        const since = new Date(Date.now() - 1000);
        const { invokeTimer, loadFunctions } = await import('../../local/functions-host.js');
        const { nightlyScan } = await loadFunctions(() => import('../../functions/nightlyScan.js'));
        const log = hostLog(!opts.verbose);
        await invokeTimer('nightlyScan', nightlyScan, log);
        const runIds = await drainWork(session, log);
        const title = `Rotor run ${[...runIds].join(', ')} on the local stack (${session.stateDir})${session.seeded ? ', seeded with the demo HPC estate' : ''}`;
        await printRows(session, since, runIds, format, title);
      });
    });

  program
    .command('plan')
    .description('Dry run: what would rotate and why (reads only; writes nothing, not even audit rows).')
    .option(...localOption)
    .option('--vault <name>', 'only this vault')
    .option('--type <type>', 'with --name: one object (certificate | key | secret)')
    .option('--name <name>', 'with --type: one object')
    .option('--format <format>', 'table | json', 'table')
    .action(async (opts: TargetOptions & { vault?: string; type?: string; name?: string }) => {
      const format = parseFormat(opts.format);
      if (Boolean(opts.type) !== Boolean(opts.name)) throw new Error('--type and --name go together');
      if (opts.type && !['certificate', 'key', 'secret'].includes(opts.type)) throw new Error(`--type must be certificate, key or secret, got "${opts.type}"`);
      await (await import('../local-session.js')).withLocal(opts, async () => {
        const [{ getServices }, { plan }] = await Promise.all([import('../../app/services.js'), import('../../core/rotor.js')]);
        const entries = await plan(await getServices(), {
          vault: opts.vault,
          objectType: opts.type as 'certificate' | 'key' | 'secret' | undefined,
          objectName: opts.name,
        });
        console.log(format === 'json' ? JSON.stringify(entries, null, 2) : formatPlanTable(entries));
      });
    });

  program
    .command('event')
    .description(
      'Feed a file of Key Vault events (Event Grid schema or CloudEvents; one event or an array) through the Event Grid ' +
        'function. Accepted events become work items; malformed or foreign ones are audited as EventRejected.',
    )
    .argument('<file>', 'JSON file with the event(s)')
    .option(...localOption)
    .option('--format <format>', 'table | json', 'table')
    .option('--verbose', 'show the function host log')
    .action(async (file: string, opts: TargetOptions & { verbose?: boolean }) => {
      const format = parseFormat(opts.format);
      let events: unknown;
      try {
        events = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await (await import('../local-session.js')).withLocal({ ...opts, quiet: !opts.verbose }, async (session) => {
        const { invokeEventGrid, loadFunctions } = await import('../../local/functions-host.js');
        const { vaultEvents } = await loadFunctions(() => import('../../functions/vaultEvents.js'));
        // Rows are stamped by this process's clock: from now on, they are this command's own.
        const since = new Date();
        const log = hostLog(!opts.verbose);
        // Against the local stack, example Ids on <vault>.vault.azure.net name the local vault (src/local/event-files.ts).
        const delivered = session ? (await import('../../local/event-files.js')).localizeEventIds(events, session.services.config.vaults) : events;
        await invokeEventGrid('vaultEvents', vaultEvents, delivered, log);
        if (!session) {
          console.log('events delivered to the Event Grid handler; the deployed workers handle the work items');
          return;
        }
        await drainWork(session, log);
        await printRows(session, since, undefined, format, `Events from ${file} on the local stack (${session.stateDir})`);
      });
    });
}
