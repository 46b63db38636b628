#!/usr/bin/env node
// Stages the Function App package in .deploy/ (or --out <dir>) from the one packaging definition,
// infra/package.manifest.json: host.json, package.json, the lockfile and the compiled functions with their imports
// (dist/src without the CLI and the local stack), plus production dependencies installed from the lockfile
// (`npm ci --omit=dev`: no devDependency). azd zips .deploy (azure.yaml `dist`); by hand: `cd .deploy && zip -r
// ../rotor.zip .` and `az functionapp deployment source config-zip`. No remote build: what was tested is what runs.
// Fails if package.json "main" matches none of the compiled function files (the host would find no functions).
//
//   node infra/scripts/stage.js                 stage into .deploy
//   node infra/scripts/stage.js --out <dir>     stage into <dir> (tests)
//   node infra/scripts/stage.js --funcignore    print the .funcignore the definition implies (the file is generated)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fail = (message) => {
  console.error(`stage: ${message}`);
  process.exit(1);
};

const manifest = JSON.parse(readFileSync(join(root, 'infra', 'package.manifest.json'), 'utf8'));
const include = manifest.include ?? [];
const exclude = manifest.exclude ?? [];

/**
 * The .funcignore of the definition (gitignore syntax, anchored at the root so that `src` never matches `dist/src`):
 * everything is ignored, the included paths are re-included, the excluded ones ignored again. node_modules is not
 * shipped from the working tree (it holds devDependencies): publish with a remote build, or publish .deploy.
 */
function funcignore() {
  const lines = [
    '# Generated from infra/package.manifest.json by `node infra/scripts/stage.js --funcignore`: do not edit.',
    '*',
  ];
  const reincluded = new Set();
  for (const path of include) {
    const parts = path.replace(/\/$/, '').split('/');
    // Re-include each parent directory, then ignore its other entries.
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (reincluded.has(parent)) continue;
      reincluded.add(parent);
      lines.push(`!/${parent}/`, `/${parent}/*`);
    }
    lines.push(`!/${path}`);
  }
  for (const path of exclude) lines.push(`/${path}`);
  return `${lines.join('\n')}\n`;
}

if (process.argv.includes('--funcignore')) {
  process.stdout.write(funcignore());
  process.exit(0);
}

const outArg = process.argv.indexOf('--out');
const out = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]) : join(root, '.deploy');

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

const excluded = (rel) => exclude.some((path) => rel === path.replace(/\/$/, '') || rel.startsWith(path.endsWith('/') ? path : `${path}/`));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const path of include) {
  const source = join(root, path);
  if (!existsSync(source)) fail(`${path} (infra/package.manifest.json) does not exist.`);
  cpSync(source, join(out, path), {
    recursive: true,
    filter: (src) => !excluded(relative(root, src).split('\\').join('/')),
  });
}
execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', ...(process.env.ROTOR_STAGE_OFFLINE ? ['--prefer-offline'] : [])], {
  cwd: out,
  stdio: process.env.ROTOR_STAGE_QUIET ? 'ignore' : 'inherit',
  shell: process.platform === 'win32',
});
console.warn(`stage: ${relative(root, out) || out} is ready (${functionFiles.length} function files).`);
