/**
 * Exit codes of the `rotor` CLI, for cron jobs and pipelines (documented in README):
 *   0  healthy: the command did its work and nothing selected by --fail-on needs attention;
 *   1  usage or configuration error: a bad argument, an invalid configuration file or setting;
 *   2  the command could not complete: storage or a vault unreachable, an unexpected error;
 *   3  needs attention: the command ran, and at least one open problem of a kind selected by --fail-on remains.
 */
export const EXIT = { ok: 0, usage: 1, failed: 2, attention: 3 } as const;

/** An error the user can fix by changing the command line or the configuration (exit 1). */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (err && typeof err === 'object') {
    const code = (err as { exitCode?: unknown }).exitCode;
    if (typeof code === 'number' && Number.isInteger(code) && code > 0) return code;
    const name = (err as { name?: unknown }).name;
    if (name === 'ConfigError' || name === 'UsageError' || name === 'AuditQueryError') return EXIT.usage;
  }
  return EXIT.failed;
}
