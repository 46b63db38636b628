/**
 * What every command shares: the target options (`--local`, `--state <dir>`), option parsers that validate each
 * argument before anything starts (commander reports a bad one with exit code 1), `--fail-on`, and the
 * "Needs attention" summary that decides the exit code of status, run, verify, plan and event.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ATTENTION_KINDS, parseFailOn, type AttentionItem, type AttentionKind } from '../core/attention.js';
import type { ObjectType } from '../core/model.js';
import { DEFAULT_LOCAL_STATE } from './defaults.js';
import { EXIT } from './exit.js';

export const OBJECT_TYPES: readonly ObjectType[] = ['certificate', 'key', 'secret'];

export function addTargetOptions(command: Command): Command {
  return command
    .option('--local', `run against the embedded local stack (seeded with the demo HPC estate on first use)`)
    .option('--state <dir>', `the local stack's state folder (implies --local; default ${DEFAULT_LOCAL_STATE})`);
}

export const DEFAULT_FAIL_ON = 'all';

export function addFailOn(command: Command): Command {
  return command.addOption(
    new Option(
      '--fail-on <kinds>',
      `exit ${EXIT.attention} when an open problem of these kinds remains: comma-separated ${ATTENTION_KINDS.join(', ')}; or all, none`,
    )
      .argParser(failOnOption)
      .default(failOnOption(DEFAULT_FAIL_ON), DEFAULT_FAIL_ON),
  );
}

export function failOnOption(value: string): ReadonlySet<AttentionKind> {
  const parsed = parseFailOn(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return parsed.kinds;
}

export function formatOption(allowed: readonly string[] = ['table', 'json']): (value: string) => string {
  return (value) => {
    if (!allowed.includes(value)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    return value;
  };
}

export function objectTypeOption(value: string): ObjectType {
  if (!(OBJECT_TYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${OBJECT_TYPES.join(', ')}`);
  return value as ObjectType;
}

/** Key Vault object names: 1-127 letters, digits and hyphens. */
export function objectNameOption(value: string): string {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(value)) throw new InvalidArgumentError('must be a Key Vault object name (1-127 letters, digits, hyphens)');
  return value;
}

/** The exit code for a command that ran: 3 when an item of a selected kind needs attention, else 0. */
export function attentionExitCode(items: readonly AttentionItem[], failOn: ReadonlySet<AttentionKind>): number {
  return items.some((i) => failOn.has(i.kind)) ? EXIT.attention : EXIT.ok;
}
