#!/usr/bin/env node
// Stages the Function App package in .deploy/: host.json, package.json, the lockfile, the compiled functions and
// their imports (dist/src without the CLI and the local stack), and production dependencies installed from the
// lockfile. azd zips .deploy (azure.yaml `dist`); by hand: `cd .deploy && zip -r ../rotor.zip .` and
// `az functionapp deployment source config-zip`. No remote build: what was tested is what runs.
// Fails if package.json "main" matches none of the compiled function files (the host would find no functions).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, '.deploy');
const fail = (message) => {
  console.error(`stage: ${message}`);
  process.exit(1);
};

const compiled = join(root, 'dist', 'src');
if (!existsSync(join(compiled, 'functions'))) fail('dist/src/functions is missing: run `npm run build` first.');

/** Files under dir, as paths relative to root with forward slashes. */
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [relative(root, join(dir, e.name)).split('\\').join('/')],
  );
/** package.json "main" glob (`*` within one path segment, `{a,b}` alternatives) as a RegExp. */
const globToRegExp = (glob) =>
  new RegExp(
    `^${glob
      .replace(/[.+^$()|[\]\\]/g, '\\$&')
      .replace(/\{([^}]*)\}/g, (_, alts) => `(?:${alts.split(',').join('|')})`)
      .replace(/\*/g, '[^/]*')}$`,
  );

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const functionFiles = walk(join(compiled, 'functions')).filter((f) => f.endsWith('.js'));
const main = globToRegExp(String(pkg.main ?? ''));
if (!functionFiles.some((f) => main.test(f))) {
  fail(`package.json "main" (${pkg.main}) matches none of ${functionFiles.join(', ')}: the host would load no functions.`);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const file of ['host.json', 'package.json', 'package-lock.json']) cpSync(join(root, file), join(out, file));
cpSync(compiled, join(out, 'dist', 'src'), {
  recursive: true,
  filter: (src) => {
    const rel = relative(compiled, src).split('\\').join('/');
    return !(rel === 'cli' || rel.startsWith('cli/') || rel === 'local' || rel.startsWith('local/'));
  },
});
execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
  cwd: out,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
console.warn(`stage: ${relative(root, out)} is ready (${functionFiles.length} function files).`);
