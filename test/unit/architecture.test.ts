/**
 * The architecture, enforced: no import cycles anywhere in src; the core depends on no Azure SDK and on nothing
 * outside src/core; Functions adapters stay thin; host.json agrees with the constants the code uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { MAX_DEQUEUE_COUNT, QUEUE_BATCH, WORK_QUEUE } from '../../src/functions/rotationWorker.js';
import { QUEUES } from '../../src/adapters/storage/clients.js';

const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): { specifier: string; typeOnly: boolean; dynamic: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { specifier: string; typeOnly: boolean; dynamic: boolean }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const specifier = m[1] ?? m[2] ?? m[3] ?? '';
    out.push({ specifier, typeOnly: /^\s*(import|export)\s+type\s/.test(m[0]), dynamic: m[3] !== undefined });
  }
  return out;
}

const all = files(src);
const resolveLocal = (from: string, spec: string): string | undefined =>
  spec.startsWith('.') ? resolve(dirname(from), spec.replace(/\.js$/, '.ts')) : undefined;

describe('architecture', () => {
  it('has no import cycles (static imports, types included)', () => {
    const graph = new Map(all.map((f) => [f, importsOf(f).filter((i) => !i.dynamic).flatMap((i) => resolveLocal(f, i.specifier) ?? [])]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(src, p)).join(' → '));
        return;
      }
      state.set(f, 'visiting');
      for (const next of graph.get(f) ?? []) visit(next, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('keeps the core free of Azure SDKs and of every other layer', () => {
    const offenders = all
      .filter((f) => relative(src, f).startsWith('core/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.specifier.startsWith('@azure/') || (i.specifier.startsWith('.') && !resolveLocal(f, i.specifier)!.startsWith(join(src, 'core'))))
          .map((i) => `${relative(src, f)} imports ${i.specifier}`),
      );
    expect(offenders).toEqual([]);
  });

  it('keeps the function app free of the local stack and the CLI (both are left out of the deployed package)', () => {
    const app = all.filter((f) => /^(functions|app|core|adapters)\//.test(relative(src, f)));
    const offenders = app.flatMap((f) =>
      importsOf(f)
        .filter((i) => {
          const target = resolveLocal(f, i.specifier);
          return target !== undefined && (target.startsWith(join(src, 'local')) || target.startsWith(join(src, 'cli')));
        })
        .map((i) => `${relative(src, f)} imports ${i.specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps Functions adapters thin', () => {
    for (const f of all.filter((f) => relative(src, f).startsWith('functions/'))) {
      const lines = readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('*') && !l.trim().startsWith('/*')).length;
      expect(lines, relative(root, f)).toBeLessThanOrEqual(60);
    }
  });

  it('agrees with host.json about the work queue', () => {
    const host = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as { extensions: { queues: { maxDequeueCount: number; batchSize: number; newBatchThreshold: number; messageEncoding: string } } };
    expect(host.extensions.queues.maxDequeueCount).toBe(MAX_DEQUEUE_COUNT);
    expect(host.extensions.queues.batchSize).toBe(QUEUE_BATCH.batchSize);
    expect(host.extensions.queues.newBatchThreshold).toBe(QUEUE_BATCH.newBatchThreshold);
    expect(host.extensions.queues.messageEncoding).toBe('base64');
    expect(WORK_QUEUE).toBe(QUEUES.work);
    // A vault's work item hands over to a new one before the host's function timeout ends the invocation.
    const [h = 0, m = 0, sec = 0] = (JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as { functionTimeout: string }).functionTimeout.split(':').map(Number);
    const defaults = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }] });
    expect(defaults.rotation.workItemMinutes).toBeLessThan(h * 60 + m + sec / 60);
    // Waits inside an invocation (429 backoff, a pending certificate) end before the host's timeout.
    expect(defaults.rotation.functionTimeoutMinutes).toBe(h * 60 + m + sec / 60);
    expect(QUEUES.poison).toBe(`${QUEUES.work}-poison`);
  });
});
