/**
 * The CLI as automation uses it (cron jobs, pipelines), run as built (`npm test` builds first) against a local
 * stack seeded with the demo estate: every exit code (0 healthy, 1 usage / configuration, 2 cannot reach storage,
 * 3 needs attention with --fail-on), "Needs attention" listed on every run until resolved, `rotor describe`,
 * `rotor rotate`, `rotor config validate`, and the commands using the stack `rotor local` runs on the same folder.
 * Timeouts are generous: each command starts a local stack on a loaded machine; nothing here measures speed.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/rotor.js');
let dir: string;
let state: string;
let local: ChildProcessWithoutNullStreams | undefined;

interface Result {
  code: number;
  out: string;
  err: string;
}

function rotor(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, maxBuffer: 20 * 1024 * 1024, timeout: 240_000, env: { ...process.env, NO_COLOR: '1', COLUMNS: '100', ...env } },
      (error, stdout, stderr) => done({ code: error ? Number((error as { code?: unknown }).code ?? 99) : 0, out: stdout, err: stderr }),
    );
  });
}

interface Attention {
  kind: string;
  vault: string;
  type: string;
  name: string;
  consumer?: string;
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
  dir = await mkdtemp(join(tmpdir(), 'rotor-cli-'));
  state = join(dir, 'state');
}, 30_000);

afterAll(async () => {
  if (local && local.exitCode === null) local.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('exit codes and Needs attention', () => {
  let first: Result;
  beforeAll(async () => {
    first = await rotor(['run', '--state', state]);
  }, 300_000);

  it('rotor run exits 3 and lists every open problem by name at the end', () => {
    expect(first.code, first.err).toBe(3);
    const tail = first.out.slice(first.out.indexOf('Needs attention'));
    expect(tail).toMatch(/^Needs attention \(\d+\):/);
    for (const text of [
      'hpc-prod-kv/certificate/hpc-portal-public',
      'HPC Pack node hpc-cluster-01/cn03',
      'HPC Pack node hpc-cluster-01/cn04',
      'Batch pool hpcbatch/solver-windows-pinned',
      'hpc-prod-kv/secret/nexus-bmc-credential',
    ]) {
      expect(tail).toContain(text);
    }
  });

  it('the second run lists the same problems again (not only the first time they are seen), as JSON too', async () => {
    const second = await rotor(['run', '--state', state, '--format', 'json']);
    expect(second.code, second.err).toBe(3);
    const items = (JSON.parse(second.out) as { needsAttention: Attention[] }).needsAttention;
    const names = items.map((i) => `${i.kind} ${i.vault}/${i.type}/${i.name}${i.consumer ? ` ${i.consumer}` : ''}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'manual hpc-prod-kv/certificate/hpc-portal-public',
        'stale hpc-prod-kv/certificate/hpc-node-comm HPC Pack node hpc-cluster-01/cn03',
        'unreachable hpc-prod-kv/certificate/hpc-node-comm HPC Pack node hpc-cluster-01/cn04',
        'stale hpc-batch-kv/certificate/batch-node-tls Batch pool hpcbatch/solver-windows-pinned',
        'overdue hpc-prod-kv/secret/nexus-bmc-credential',
      ]),
    );
    expect(items.some((i) => i.kind === 'expired')).toBe(false);
  }, 300_000);

  it('status puts Needs attention at the top; --fail-on chooses what fails (0 when none of those kinds is open)', async () => {
    const all = await rotor(['status', '--state', state]);
    expect(all.code).toBe(3);
    expect(all.out.startsWith('Needs attention (')).toBe(true);
    const expiredOnly = await rotor(['status', '--state', state, '--fail-on', 'expired,failed']);
    expect(expiredOnly.code, expiredOnly.err).toBe(0);
    const none = await rotor(['plan', '--state', state, '--fail-on', 'none']);
    expect(none.code, none.err).toBe(0);
    const overdue = await rotor(['verify', '--state', state, '--fail-on', 'overdue']);
    expect(overdue.code, overdue.err).toBe(3);
  }, 300_000);

  it('tables fit the terminal width and keep the distinguishing end of names', async () => {
    const narrow = await rotor(['status', '--state', state], { COLUMNS: '80' });
    const lines = narrow.out.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    for (const node of ['cn01', 'cn02', 'cn03', 'cn04']) expect(narrow.out).toContain(`hpc-cluster-01/${node}`);
    expect(narrow.out).not.toContain('\u001b['); // NO_COLOR
  }, 300_000);

  it('usage errors exit 1 before anything starts', async () => {
    const bad = await rotor(['status', '--state', join(dir, 'never-created'), '--fail-on', 'stale,bogus']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('unknown kind "bogus"');
    expect(existsSync(join(dir, 'never-created'))).toBe(false);
    const since = await rotor(['audit', '--state', join(dir, 'never-created'), '--since', 'yesterday-ish']);
    expect(since.code).toBe(1);
    expect(since.err).toContain('--since');
    expect(existsSync(join(dir, 'never-created'))).toBe(false);
    const type = await rotor(['describe', '--state', join(dir, 'never-created'), 'hpc-prod-kv', 'blob', 'x']);
    expect(type.code).toBe(1);
    // `--local` is a plain flag: a file after it is the command's argument.
    const event = await rotor(['event', '--local', join(dir, 'missing.json')]);
    expect(event.code).toBe(1);
    expect(event.err).toContain('missing.json');
  }, 300_000);

  it('unreachable storage fails fast (exit 2) naming the setting and the endpoint', async () => {
    const config = join(state, 'rotor.config.json');
    const down = await rotor(['status'], {
      ROTOR_CONFIG_FILE: config,
      ROTOR_STORAGE: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1',
    });
    expect(down.code).toBe(2);
    expect(down.err).toContain("Rotor's storage (ROTOR_STORAGE) cannot be reached at http://127.0.0.1:1/devstoreaccount1");
    expect(down.err).toContain('ECONNREFUSED');
    // The error is the probe's (one request, 5 s timeout), not the Table client's after its retries (36 s before).
    expect(down.err).not.toMatch(/^rotor: connect ECONNREFUSED/m);
  }, 300_000);
});

describe('describe, rotate and config validate', () => {
  it('rotor describe shows versions with thumbprints, the current rotation, and which version each consumer uses', async () => {
    const r = await rotor(['describe', 'hpc-prod-kv', 'certificate', 'hpc-node-comm', '--state', state, '--format', 'json']);
    expect(r.code, r.err).toBe(0);
    const d = JSON.parse(r.out) as {
      currentVersion: string;
      versions: Array<{ version: string; current: boolean; thumbprint?: string; expiresOn?: string }>;
      rotation?: { state: string; fromVersion: string; toVersion: string };
      consumers: Array<{ consumer: string; state: string; usesVersion?: string }>;
    };
    expect(d.versions.length).toBeGreaterThanOrEqual(2);
    expect(d.versions.every((v) => /^[0-9A-F]{40}$/.test(v.thumbprint ?? '') && v.expiresOn)).toBe(true);
    expect(d.versions.find((v) => v.current)?.version).toBe(d.currentVersion);
    expect(d.rotation?.state).toBe('Verifying');
    expect(d.rotation?.toVersion).toBe(d.currentVersion);
    const uses = Object.fromEntries(d.consumers.map((c) => [c.consumer, c.usesVersion]));
    expect(uses['HPC Pack node hpc-cluster-01/cn01']).toBe(d.currentVersion);
    expect(uses['HPC Pack node hpc-cluster-01/cn03']).toBe(d.rotation?.fromVersion);
    const table = await rotor(['describe', 'hpc-prod-kv', 'certificate', 'hpc-node-comm', '--state', state]);
    expect(table.out).toContain('VERSIONS');
    expect(table.out).toContain('CONSUMERS');
    const missing = await rotor(['describe', 'hpc-prod-kv', 'certificate', 'no-such-cert', '--state', state]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('does not exist');
  }, 300_000);

  it('rotor rotate: --dry-run writes nothing, --force rotates a healthy object now (ManualRequest), audited', async () => {
    const dry = await rotor(['rotate', 'hpc-batch-kv', 'secret', 'batch-admin-password', '--dry-run', '--state', state, '--format', 'json']);
    expect(dry.code, dry.err).toBe(0);
    expect((JSON.parse(dry.out) as { plan: unknown[] }).plan).toEqual([]);
    const forced = await rotor(['rotate', 'hpc-batch-kv', 'secret', 'batch-admin-password', '--force', '--state', state, '--format', 'json']);
    expect(forced.code, forced.err).toBe(0);
    const result = JSON.parse(forced.out) as { state: string; reason: string; rows: Array<{ action: string; reason: string; trigger: string }> };
    expect(result.state).toBe('Completed');
    expect(result.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['RotationStarted', 'VersionCreated', 'RotationCompleted']));
    expect(result.rows.every((r) => r.trigger === 'manual')).toBe(true);
    expect(result.rows.find((r) => r.action === 'Detected')?.reason).toBe('ManualRequest');
  }, 300_000);

  it('rotor config validate: 0 for a valid file, 1 naming every bad field', async () => {
    const good = await rotor(['config', 'validate', join(state, 'rotor.config.json')]);
    expect(good.code, good.err).toBe(0);
    expect(good.out).toContain('valid');
    const config = JSON.parse(await readFile(join(state, 'rotor.config.json'), 'utf8')) as { vaults: Array<{ url: string }>; rotation?: unknown };
    config.vaults[0]!.url = 'http://plain.example';
    config.rotation = { maxAttempts: 0 };
    const badFile = join(dir, 'bad.json');
    await writeFile(badFile, JSON.stringify(config));
    const bad = await rotor(['config', 'validate', badFile]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('config.vaults[0].url');
    expect(bad.err).toContain('config.rotation.maxAttempts');
    const json = await rotor(['config', 'validate', badFile, '--format', 'json']);
    expect((JSON.parse(json.out) as { valid: boolean; issues: string[] }).issues.length).toBeGreaterThanOrEqual(2);
    await writeFile(badFile, '{ not json');
    expect((await rotor(['config', 'validate', badFile])).code).toBe(1);
  }, 300_000);
});

describe('while rotor local runs', () => {
  it('the other commands use its running stack on the same state folder, and Ctrl-C stops it', async () => {
    local = spawn(process.execPath, [bin, 'local', '--state', state], { cwd: root });
    let out = '';
    local.stdout.on('data', (d: Buffer) => (out += d.toString()));
    local.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((done) => local!.on('exit', (code) => done(code)));
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`rotor local did not get ready:\n${out}`)), 90_000);
      local!.stdout.on('data', () => {
        if (out.includes('Press Ctrl-C to stop.')) {
          clearTimeout(timer);
          ready();
        }
      });
      void exited.then((code) => fail(new Error(`rotor local exited ${code}:\n${out}`)));
    });
    const status = await rotor(['status', '--state', state, '--format', 'json']);
    expect(status.code, status.err).toBe(3);
    expect((JSON.parse(status.out) as { objects: unknown[] }).objects.length).toBeGreaterThan(5);
    const run = await rotor(['run', '--state', state]);
    expect(run.code, run.err).toBe(3);
    expect(run.out.replace(/\s+/g, ' ')).toContain(`running local stack (rotor local, pid ${local.pid};`);
    local.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(join(state, 'running.json'))).toBe(false);
    // Afterwards a command starts its own stack again.
    expect((await rotor(['status', '--state', state, '--fail-on', 'none'])).code).toBe(0);
  }, 300_000);
});
