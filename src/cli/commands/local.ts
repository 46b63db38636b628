import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_LOCAL_STATE, LARGE_LOCAL_STATE } from '../defaults.js';

export function registerLocalCommand(program: Command): void {
  program
    .command('local')
    .description(
      'Start the local Azure stack (Azurite tables and queues, the Key Vault-compatible endpoint, and the consumer ' +
        'endpoints) seeded with the demo HPC estate, serve the HTTP functions (the audit page among them) on ' +
        'localhost, print every endpoint and the settings to paste into local.settings.json (for `func start`), and ' +
        'run until Ctrl-C.',
    )
    .option('--state <dir>', `folder where the stack keeps its state between runs (default ${DEFAULT_LOCAL_STATE}; ${LARGE_LOCAL_STATE} for --estate large)`)
    .option('--in-memory', 'keep no state: everything is lost on exit')
    .option('--latency <ms>', 'fixed latency added to every Key Vault request', (v) => Number.parseInt(v, 10))
    .option('--no-limits', "do not enforce Key Vault's per-vault throttling limits")
    .option('--http-port <port>', 'port of the local HTTP functions (default: the last one used, else a free one)', (v) => Number.parseInt(v, 10))
    .option('--seed <fixture.json>', 'also create the objects of a seed fixture in the Key Vault endpoint (see examples/seed.json)')
    .addOption(
      new Option(
        '--estate <kind>',
        'the estate to seed a new state folder with: demo (the default) or large (HPC Pack clusters of 2,000, 500 and 50 ' +
          'nodes, 200 Batch pools over 4 accounts, 10 HPC Caches, 20 vaults × 1,000 objects; state in .rotor/large unless --state)',
      ).choices(['demo', 'large']),
    )
    .action(async (opts: { state?: string; inMemory?: boolean; latency?: number; limits: boolean; httpPort?: number; seed?: string; estate?: 'demo' | 'large' }) => {
      const { startEstateStack, takeLock, publishRunningStack } = await import('../local-session.js');
      const { mkdir } = await import('node:fs/promises');
      const started = Date.now();
      const stateDir = opts.inMemory ? undefined : resolve(opts.state ?? (opts.estate === 'large' ? LARGE_LOCAL_STATE : DEFAULT_LOCAL_STATE));
      if (stateDir) await mkdir(stateDir, { recursive: true });
      const release = stateDir ? await takeLock(stateDir) : async () => undefined;
      const { stack, settings, cleanup, configFile } = await startEstateStack({
        stateDir,
        latencyMs: opts.latency,
        limits: opts.limits,
        estate: opts.estate,
        log: (line) => console.log(line),
      });
      const { startFunctionsHttp } = await import('../local-http.js');
      let http: Awaited<ReturnType<typeof startFunctionsHttp>>;
      try {
        if (opts.seed) {
          const { readFile } = await import('node:fs/promises');
          const fixture = JSON.parse(await readFile(opts.seed, 'utf8')) as Parameters<typeof stack.keyVault.seed>[0];
          await stack.keyVault.seed(fixture);
          console.log(`Seeded the objects of ${opts.seed}.`);
        }
        http = await startFunctionsHttp({ stateDir, settings, port: opts.httpPort });
      } catch (err) {
        await stack.stop().then(cleanup).then(release);
        throw err;
      }
      // The other commands (`rotor status --local`, `rotor run --local`, ...) use this running stack for this folder.
      const unpublish = stateDir ? await publishRunningStack(stateDir, { settings, configFile }) : async () => undefined;
      console.log(`Local stack started in ${Date.now() - started} ms${stateDir ? ` (state: ${stateDir})` : ' (in memory)'}.\n`);
      console.log('Endpoints:');
      for (const [label, url] of Object.entries(stack.endpoints())) console.log(`  ${label.padEnd(28)} ${url}`);
      console.log(`  ${'HTTP functions'.padEnd(28)} ${http.host.url}/api/ (function keys are not checked locally)`);
      console.log(`\nAudit page: ${http.pageUrl}`);
      console.log('\nlocal.settings.json:');
      console.log(JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', ROTOR_SCHEDULE: '0 0 2 * * *', ...settings } }, null, 2));
      console.log(`\nNode clients outside Rotor: export NODE_EXTRA_CA_CERTS=${stack.ca.certFile}`);
      if (stateDir) console.log(`\nOther commands with --local${stateDir === resolve(DEFAULT_LOCAL_STATE) ? "" : ` --state ${stateDir}`} use this running stack (e.g. rotor status --local).`);
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((resolveStop) => {
        // Started through npx (npm exec → sh → node), a signal to the npx process is not forwarded here; when that
        // wrapper goes away this process is re-parented, which is the cue to stop too (no orphaned stack).
        const parent = process.ppid;
        const orphaned = setInterval(() => {
          if (process.ppid !== parent) stop();
        }, 1000);
        orphaned.unref();
        const stop = (): void => {
          clearInterval(orphaned);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', stop);
          console.log('\nStopping the local stack...');
          void unpublish()
            .then(() => http.host.stop())
            .then(() => stack.stop())
            .then(cleanup)
            .then(release)
            .then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', stop);
      });
    });
}
