/** `rotor status` (like `cmctl status`) and `rotor verify` (re-check consumers on demand). */
import type { Command } from 'commander';
import { DEFAULT_LOCAL_STATE } from '../defaults.js';
import { parseFormat } from '../format.js';
import type { TargetOptions } from '../local-session.js';
import type { ObjectStatus } from '../../core/status.js';
import { safe as clean } from '../audit-format.js';

const localOption = ['--local [dir]', `run against the embedded local stack (state folder, default ${DEFAULT_LOCAL_STATE})`] as const;
const OBJECT_TYPES = ['certificate', 'key', 'secret'];

function checkTarget(opts: { type?: string; name?: string }): void {
  if (Boolean(opts.type) !== Boolean(opts.name)) throw new Error('--type and --name go together');
  if (opts.type && !OBJECT_TYPES.includes(opts.type)) throw new Error(`--type must be certificate, key or secret, got "${opts.type}"`);
}

const day = (iso: string | undefined): string => (iso ? iso.slice(0, 10) : '-');

/** Above this many consumers, `rotor status` lists only those not verified. */
const MAX_VERIFIED_LISTED = 20;

export function formatStatusTable(rows: readonly ObjectStatus[]): string {
  const out: string[] = [];
  let vault = '';
  for (const r of rows) {
    if (r.vault !== vault) {
      vault = r.vault;
      out.push('', vault, `  ${'OBJECT'.padEnd(40)} ${'EXPIRES'.padEnd(10)} ${'LEFT'.padStart(5)}  ${'NEXT'.padEnd(10)}  LAST ROTATION`);
    }
    const last = r.lastRotation;
    const consumers = r.consumers.length ? ` — ${r.consumers.filter((c) => c.status === 'Verified').length}/${r.consumers.length} consumers verified` : '';
    const lastText = last ? `${day(last.completedAt ?? last.startedAt)} ${last.status}${consumers}` : '-';
    const left = r.daysLeft === undefined ? '-' : `${r.daysLeft}d`;
    out.push(`  ${clean(`${r.type}/${r.name}`).padEnd(40)} ${day(r.expiresOn).padEnd(10)} ${left.padStart(5)}  ${day(r.nextRotation).padEnd(10)}  ${lastText}`);
    if (!r.enabled) out.push(`      disabled`);
    if (r.finding) out.push(`      now: ${clean(r.finding)}`);
    if (last?.lastError) out.push(`      last error: ${clean(last.lastError)}`);
    // A large cluster lists the consumers that need attention; the verified ones are counted (--format json lists all).
    const many = r.consumers.length > MAX_VERIFIED_LISTED;
    for (const c of r.consumers) {
      if (many && c.status === 'Verified') continue;
      out.push(`      ${c.status.padEnd(18)} ${clean(c.consumer)} — ${clean(c.detail)} (checked ${c.checkedAt.slice(0, 16).replace('T', ' ')})`);
    }
    if (many) out.push(`      ${'Verified'.padEnd(18)} ${r.consumers.filter((c) => c.status === 'Verified').length} more consumers (--format json lists every one)`);
  }
  return out.join('\n').trimStart() || 'No managed objects.';
}

export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description(
      'Every managed object: days left, next rotation, last rotation and each consumer\'s state (like cmctl status). ' +
        'Reads only.',
    )
    .option(...localOption)
    .option('--vault <name>', 'only this vault')
    .option('--format <format>', 'table | json', 'table')
    .action(async (opts: TargetOptions & { vault?: string }) => {
      const format = parseFormat(opts.format);
      await (await import('../local-session.js')).withLocal(opts, async () => {
        const [{ getServices }, { findVault }, { vaultStatus }] = await Promise.all([
          import('../../app/services.js'),
          import('../../core/config.js'),
          import('../../core/status.js'),
        ]);
        const services = await getServices();
        const vaults = opts.vault ? [findVault(services.config, opts.vault)] : services.config.vaults;
        const rows: ObjectStatus[] = [];
        for (const vault of vaults) {
          if (!vault) throw new Error(`vault "${opts.vault}" is not in the configuration`);
          rows.push(...(await vaultStatus({ config: services.config, gateway: services.gateway(vault), states: services.states, clock: services.clock, consumerResults: services.consumerResults })));
        }
        console.log(format === 'json' ? JSON.stringify(rows, null, 2) : formatStatusTable(rows));
      });
    });

  program
    .command('verify')
    .description(
      'Re-check consumers now: every rotation waiting for its consumers (or past its deadline), or the last rotation of ' +
        'one object (--type/--name, also a completed one). Each check writes its consumer audit rows.',
    )
    .option(...localOption)
    .option('--vault <name>', 'only this vault')
    .option('--type <type>', 'with --name: one object (certificate | key | secret)')
    .option('--name <name>', 'with --type: one object')
    .option('--format <format>', 'table | json', 'table')
    .action(async (opts: TargetOptions & { vault?: string; type?: string; name?: string }) => {
      const format = parseFormat(opts.format);
      checkTarget(opts);
      await (await import('../local-session.js')).withLocal(opts, async () => {
        const [{ getServices }, { verifyNow }, { consoleLogger }, { findVault }, { vaultStatus }] = await Promise.all([
          import('../../app/services.js'),
          import('../../core/rotor.js'),
          import('../../app/logging.js'),
          import('../../core/config.js'),
          import('../../core/status.js'),
        ]);
        const services = await getServices();
        const results = await verifyNow(
          services,
          { vault: opts.vault, objectType: opts.type as 'certificate' | 'key' | 'secret' | undefined, objectName: opts.name },
          consoleLogger(true),
        );
        const checked = new Set(results.map((r) => `${r.vault}/${r.type}/${r.name}`));
        const rows: ObjectStatus[] = [];
        for (const vaultName of new Set(results.map((r) => r.vault))) {
          const vault = findVault(services.config, vaultName)!;
          const all = await vaultStatus({ config: services.config, gateway: services.gateway(vault), states: services.states, clock: services.clock, consumerResults: services.consumerResults });
          rows.push(...all.filter((s) => checked.has(`${s.vault}/${s.type}/${s.name}`)));
        }
        if (format === 'json') console.log(JSON.stringify({ results, status: rows }, null, 2));
        else console.log(results.length ? formatStatusTable(rows) : 'No rotation is waiting for its consumers.');
      });
    });
}
