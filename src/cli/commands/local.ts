import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_LOCAL_STATE } from '../local-session.js';

export function registerLocalCommand(program: Command): void {
  program
    .command('local')
    .description(
      'Start the local Azure stack (Azurite tables and queues, the Key Vault-compatible endpoint, and the consumer\n' +
        'endpoints), print every endpoint and the settings to paste into local.settings.json, and run until Ctrl-C.',
    )
    .option('--state <dir>', 'folder where the stack keeps its state between runs', DEFAULT_LOCAL_STATE)
    .option('--in-memory', 'keep no state: everything is lost on exit')
    .option('--vault <name...>', 'vault names to serve (default: rotor-local)')
    .option('--latency <ms>', 'fixed latency added to every Key Vault request', (v) => Number.parseInt(v, 10))
    .option('--no-limits', "do not enforce Key Vault's per-vault throttling limits")
    .action(async (opts: { state: string; inMemory?: boolean; vault?: string[]; latency?: number; limits: boolean }) => {
      const { startLocalStack } = await import('../../local/stack.js');
      const started = Date.now();
      const stack = await startLocalStack({
        ...(opts.inMemory ? {} : { stateDir: resolve(opts.state) }),
        keyVault: {
          ...(opts.vault ? { vaults: opts.vault } : {}),
          faults: { ...(opts.latency ? { latencyMs: opts.latency } : {}), ...(opts.limits ? {} : { limits: false }) },
          expiryCheckIntervalMs: 60_000,
        },
        log: (line) => console.log(line),
      });
      console.log(`Local stack started in ${Date.now() - started} ms${opts.inMemory ? ' (in memory)' : ` (state: ${resolve(opts.state)})`}.\n`);
      console.log('Endpoints:');
      for (const [label, url] of Object.entries(stack.endpoints())) console.log(`  ${label.padEnd(28)} ${url}`);
      console.log('\nlocal.settings.json:');
      console.log(JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', ...stack.settings() } }, null, 2));
      console.log(`\nNode clients outside Rotor: export NODE_EXTRA_CA_CERTS=${stack.ca.certFile}`);
      console.log('Press Ctrl-C to stop.');
      await new Promise<void>((resolveStop) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          console.log('\nStopping the local stack...');
          void stack.stop().then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
