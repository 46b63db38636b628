/**
 * `rotor`: the human entry point. Each command lives in src/cli/commands and imports its heavy dependencies only
 * when it runs, so `rotor --help` stays fast.
 */
import { Command } from 'commander';
import { EXIT, exitCodeOf } from './exit.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerConfigCommands } from './commands/config.js';
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
        '  AZURE_CLIENT_ID, ...; see README). With --local they run against the embedded local stack, whose state',
        '  lives in --state <dir> (default .rotor/local) and which is seeded with a demo HPC estate on first use.',
        '  While `rotor local` runs for that folder, the other commands use its running stack.',
        '',
        'Exit codes:',
        '  0 healthy   1 usage or configuration error   2 could not complete (storage or a vault unreachable, ...)',
        '  3 needs attention: status, run, verify, plan and event found an open problem of a kind --fail-on selects',
        '    (default all: expired, failed, manual, stale, unreachable, misconfigured, overdue)',
        '',
        'Examples:',
        '  rotor run --local                 one nightly pass on the local stack (what `npm start` does)',
        '  rotor status --local              every object: days left, next/last rotation, consumers',
        '  rotor verify --local              re-check consumers that have not converged yet',
        '  rotor describe --local hpc-prod-kv certificate hpc-node-comm   versions, rotation, consumers',
        '  rotor rotate --local hpc-batch-kv secret batch-admin-password --force',
        '  rotor status --local --fail-on expired,failed   exit 3 only for these (cron, pipelines)',
        '  rotor audit --local --since 7d    the audit log, newest first (--format csv for auditors)',
        '  rotor local                       keep the stack running; serves the audit page',
      ].join('\n'),
    );
  registerRunCommands(program);
  registerStatusCommands(program);
  registerAuditCommands(program);
  registerLocalCommand(program);
  registerConfigCommands(program);
  return program;
}

/** Runs the CLI; returns the exit code (README "Exit codes"): errors are printed here, once. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    console.error(`rotor: ${err instanceof Error ? err.message : String(err)}`);
    return exitCodeOf(err);
  }
}
