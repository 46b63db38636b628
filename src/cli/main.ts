/**
 * `rotor`: the human entry point. Each command lives in src/cli/commands and imports its heavy dependencies only
 * when it runs, so `rotor --help` stays fast.
 */
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit.js';
import { registerLocalCommand } from './commands/local.js';
import { registerRunCommands } from './commands/run.js';
import { registerStatusCommands } from './commands/status.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('rotor')
    .description(
      'Rotor keeps the certificates, keys and secrets of HPC estates on Azure from expiring: it finds what is near ' +
        'expiry, rotates it, verifies that consumers (Batch pools, HPC Pack nodes, HPC Cache) picked up the new ' +
        'version, and writes an audit row for every action to Azure Table storage.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    // Subcommands' options stay theirs (`rotor audit verify --vault x` is verify's --vault, not audit's).
    .enablePositionalOptions()
    .addHelpText(
      'after',
      [
        '',
        'Targets:',
        '  Without --local, commands use the app settings in the environment (ROTOR_CONFIG, ROTOR_STORAGE,',
        '  AZURE_CLIENT_ID, ...; see README). With --local [dir] they run against the embedded local stack, whose',
        '  state lives in dir (default .rotor/local) and which is seeded with a demo HPC estate on first use.',
        '',
        'Examples:',
        '  rotor run --local                 one nightly pass on the local stack (what `npm start` does)',
        '  rotor status --local              every object: days left, next/last rotation, consumers',
        '  rotor verify --local              re-check consumers that have not converged yet',
        '  rotor audit --local --since 7d    the audit log, newest first (--format csv for auditors)',
        '  rotor local                       keep the stack running; serves the audit page',
      ].join('\n'),
    );
  registerRunCommands(program);
  registerStatusCommands(program);
  registerAuditCommands(program);
  registerLocalCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
