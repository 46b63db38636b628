/**
 * `rotor local` as a user runs it: it starts the stack (in memory here, with a seed fixture), prints every endpoint,
 * the audit page URL and the local.settings.json values, serves the HTTP functions, and on Ctrl-C (SIGINT) stops
 * and exits 0, leaving none of its ports open. Runs the built CLI (`npm test` builds first).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
let child: ChildProcessWithoutNullStreams | undefined;

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

const canBind = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });

it('prints endpoints and settings, serves the audit page, and stops cleanly on Ctrl-C', async () => {
  child = spawn(process.execPath, [join(root, 'bin/rotor.js'), 'local', '--in-memory', '--seed', join(root, 'examples/seed.json')], { cwd: root });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child!.on('exit', (code) => done(code)));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`rotor local did not get ready:\n${out}`)), 60_000);
    child!.stdout.on('data', () => {
      if (out.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        ready();
      }
    });
    void exited.then((code) => fail(new Error(`rotor local exited ${code}:\n${out}`)));
  });

  expect(out).toContain('Seeded the objects of');
  const settings = JSON.parse(/local\.settings\.json:\n(\{[\s\S]*?\n\})\n/.exec(out)?.[1] ?? '{}') as { Values?: Record<string, string> };
  expect(Object.keys(settings.Values ?? {})).toEqual(expect.arrayContaining(['ROTOR_STORAGE', 'AzureWebJobsStorage', 'ROTOR_LOCAL_TOKEN', 'ROTOR_LOCAL_CA_FILE', 'ROTOR_LOCAL_VAULTS']));
  const urls = [...out.matchAll(/(?:https?|tls):\/\/127\.0\.0\.1:(\d+)/g)];
  const ports = [...new Set(urls.map((m) => Number(m[1])))];
  expect(ports.length).toBeGreaterThanOrEqual(4);
  const page = /Audit page: (\S+)/.exec(out)?.[1] ?? '';
  const response = await fetch(page);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('<html');

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toContain('Stopping the local stack...');
  for (const port of ports) expect(await canBind(port), `port ${port}`).toBe(true);
}, 90_000);
