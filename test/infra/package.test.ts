/**
 * The Function App package, as infra/scripts/stage.js stages it from the one packaging definition
 * (infra/package.manifest.json, also behind .funcignore and azd's prepackage hook): it holds the compiled functions and
 * what they import, no module of the local stack (src/local), the CLI (src/cli) or the benchmark, and production
 * dependencies only — no devDependency. Needs `npm run build` first (npm test builds before it runs vitest).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** Production dependencies that staged code does not import yet, each with its reason. */
const NOT_YET_IMPORTED: Record<string, string> = {
  '@azure/eventgrid': 'notifications (issue 15) publish CloudEvents with its EventGridPublisherClient from production code',
};

let stage: string;
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const rel = (path: string): string => relative(stage, path).split('\\').join('/');

beforeAll(() => {
  stage = mkdtempSync(join(tmpdir(), 'rotor-stage-'));
  execFileSync(process.execPath, [join(root, 'infra', 'scripts', 'stage.js'), '--out', stage], {
    env: { ...process.env, ROTOR_STAGE_OFFLINE: '1', ROTOR_STAGE_QUIET: '1' },
    stdio: 'pipe',
  });
}, 300_000);
afterAll(() => {
  if (stage) rmSync(stage, { recursive: true, force: true });
});

describe('the staged Function App package', () => {
  it('holds the compiled functions and no module of src/local, src/cli or bench, nor any source or test', () => {
    const all = files(stage).map(rel).filter((f) => !f.startsWith('node_modules/'));
    expect(all).toContain('host.json');
    expect(all).toContain('package.json');
    expect(all.some((f) => /^dist\/src\/functions\/\w+\.js$/.test(f))).toBe(true);
    const forbidden = all.filter((f) => /^(dist\/)?(src\/local|src\/cli|bench|test)(\/|$)/.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(forbidden).toEqual([]);
  });

  it('installs production dependencies only: no devDependency, no package the lockfile marks dev', () => {
    const modules = join(stage, 'node_modules');
    const installed = readdirSync(modules).flatMap((name) =>
      name.startsWith('@') ? readdirSync(join(modules, name)).map((scoped) => `${name}/${scoped}`) : name.startsWith('.') ? [] : [name],
    );
    for (const dependency of Object.keys(pkg.dependencies)) expect(installed, dependency).toContain(dependency);
    expect(installed.filter((name) => name in pkg.devDependencies)).toEqual([]);
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = installed.filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    expect(devOnly).toEqual([]);
    // The emulator's and the tests' packages in particular.
    for (const name of ['node-forge', '@peculiar/x509', 'reflect-metadata', 'csv-parse', 'commander', 'azurite', 'vitest']) {
      expect(installed, name).not.toContain(name);
    }
  });

  it('resolves every import of the staged code inside the package, from production dependencies or Node', () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const imported = new Set<string>();
    const problems: string[] = [];
    for (const file of files(join(stage, 'dist')).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm)) {
        const specifier = (match[1] ?? match[2] ?? match[3]) as string;
        if (specifier.startsWith('.')) {
          if (!existsSync(resolve(dirname(file), specifier))) problems.push(`${rel(file)} imports ${specifier}, which is not in the package`);
        } else if (!builtins.has(specifier)) {
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
          imported.add(name);
          if (!(name in pkg.dependencies)) problems.push(`${rel(file)} imports ${name}, which is not a production dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
    // Every production dependency is there because production code uses it: at run time (above), or for its types
    // and by name (telemetry loads its packages by name) in the sources of the staged modules.
    const sources = files(join(root, 'src'))
      .filter((f) => f.endsWith('.ts') && !/[\\/]src[\\/](local|cli)[\\/]/.test(f))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(pkg.dependencies).filter(
      (name) => !imported.has(name) && !sources.includes(`'${name}'`) && !(name in NOT_YET_IMPORTED),
    );
    expect(unused, 'production dependencies no staged module imports: move them to devDependencies').toEqual([]);
  });

  it('is the package .funcignore describes (both come from infra/package.manifest.json)', () => {
    const generated = execFileSync(process.execPath, [join(root, 'infra', 'scripts', 'stage.js'), '--funcignore'], { encoding: 'utf8' });
    expect(readFileSync(join(root, '.funcignore'), 'utf8')).toBe(generated);
    // Anchored: a bare `src` line would also drop dist/src when publishing from the repository root.
    expect(generated.split('\n').filter((line) => /^!?[^/#!]/.test(line) && line !== '*')).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(root, 'infra', 'package.manifest.json'), 'utf8')) as { include: string[]; exclude: string[] };
    for (const path of manifest.include) expect(generated).toContain(`!/${path}`);
    for (const path of manifest.exclude) expect(generated).toContain(`/${path}`);
  });
});
