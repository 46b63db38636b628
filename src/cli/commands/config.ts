/** `rotor config validate [file]`: checks a configuration file (or the configured one) without touching Azure. */
import type { Command } from 'commander';
import { EXIT } from '../exit.js';
import { formatOption } from '../target.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description("Rotor's configuration (the JSON document of ROTOR_CONFIG / ROTOR_CONFIG_FILE).");
  config
    .command('validate')
    .description(
      'Validate a configuration file — or, without a file, the configuration the app settings name (ROTOR_CONFIG, else ' +
        'ROTOR_CONFIG_FILE) — against the schema, naming every field that is wrong. Reads nothing else. Exit 0 when ' +
        'valid, 1 when not.',
    )
    .argument('[file]', 'JSON configuration file')
    .option('--format <format>', 'table | json', formatOption(), 'table')
    .action(async (file: string | undefined, opts: { format: string }) => {
      const [{ readFile }, { ConfigError, parseConfigText }, { loadConfig }, { SETTINGS }] = await Promise.all([
        import('node:fs/promises'),
        import('../../core/config.js'),
        import('../../app/services.js'),
        import('../../settings.js'),
      ]);
      const source = file ?? (process.env[SETTINGS.config.name]?.trim() ? SETTINGS.config.name : (process.env[SETTINGS.configFile.name] ?? SETTINGS.configFile.name));
      try {
        let text: string | undefined;
        if (file) {
          try {
            text = await readFile(file, 'utf8');
          } catch (err) {
            const message = `${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`;
            throw new ConfigError(message, [message]);
          }
        }
        const parsed = text !== undefined ? parseConfigText(text, file!) : await loadConfig(process.env);
        const summary = {
          valid: true,
          source,
          vaults: parsed.vaults.map((v) => v.name),
          secretKinds: Object.keys(parsed.secretKinds),
          objects: parsed.objects.length,
          consumers: { batch: parsed.consumers.batch.length, hpcPack: parsed.consumers.hpcPack.length, hpcCache: parsed.consumers.hpcCache.length },
        };
        if (opts.format === 'json') console.log(JSON.stringify(summary, null, 2));
        else {
          console.log(`${source}: valid.`);
          console.log(`  vaults: ${summary.vaults.join(', ') || '(none)'}`);
          console.log(`  secret kinds: ${summary.secretKinds.join(', ') || '(none)'}; per-object settings: ${summary.objects}`);
          console.log(`  consumers: ${summary.consumers.batch} Batch, ${summary.consumers.hpcPack} HPC Pack, ${summary.consumers.hpcCache} HPC Cache`);
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (opts.format === 'json') console.log(JSON.stringify({ valid: false, source, issues: err.issues.length ? err.issues : [err.message] }, null, 2));
        else {
          console.error(`${source}: invalid.`);
          for (const issue of err.issues.length ? err.issues : [err.message]) console.error(`  ${issue}`);
        }
        process.exitCode = EXIT.usage;
      }
    });
}
