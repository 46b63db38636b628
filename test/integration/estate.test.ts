/**
 * The README's first command, end to end: `rotor run --local` (what `npm start` runs) on a fresh state folder seeds
 * the demo HPC estate, passes the work through the Azurite queue and shows exactly the seeded outcomes; a second
 * run rotates nothing; `rotor status` and `rotor audit --format csv` tell the same story. Runs the built CLI
 * (`npm test` builds first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/rotor.js');
const run = promisify(execFile);
let state: string;

/** Runs the CLI on the test's state folder; exit 3 (needs attention: the demo estate has open problems) is expected. */
async function rotor(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [bin, ...args, '--state', state], { cwd: root, maxBuffer: 20 * 1024 * 1024, timeout: 240_000 });
    return stdout;
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === 3 && typeof e.stdout === 'string') return e.stdout;
    throw new Error(`rotor ${args.join(' ')} exited ${String(e.code)}: ${e.stderr ?? ''}`);
  }
}

interface RunJson {
  vaults: Array<{
    vault: string;
    objects: Array<{ object: string; action: string; reason: string; rows: Array<{ action: string; reason: string; consumer: string }> }>;
    other?: Array<{ action: string; reason: string; consumer: string }>;
  }>;
}

const consumerStates = (json: RunJson, vault: string, object: string): Record<string, string> => {
  const rows = json.vaults.find((v) => v.vault === vault)?.objects.find((o) => o.object === object)?.rows ?? [];
  return Object.fromEntries(rows.filter((r) => r.action.startsWith('Consumer')).map((r) => [r.consumer.replace(/ \(.*\)$/, ''), r.action]));
};

const decisive = (json: RunJson, vault: string, object: string): string | undefined => {
  const o = json.vaults.find((v) => v.vault === vault)?.objects.find((x) => x.object === object);
  return o ? `${o.action}:${o.reason}` : undefined;
};

let first: RunJson;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
  state = await mkdtemp(join(tmpdir(), 'rotor-estate-'));
  first = JSON.parse(await rotor('run', '--format', 'json')) as RunJson;
}, 300_000);

afterAll(async () => {
  if (state) await rm(state, { recursive: true, force: true });
});

describe('npm start on a fresh state folder', { timeout: 300_000 }, () => {
  it('rotates the due objects of the seeded estate and reports the rest', () => {
    expect(decisive(first, 'hpc-prod-kv', 'certificate/hpc-node-comm')).toBe('VersionCreated:NearExpiry');
    expect(decisive(first, 'hpc-prod-kv', 'key/hpc-cache-cmk')).toBe('VersionCreated:NearExpiry');
    expect(decisive(first, 'hpc-batch-kv', 'certificate/batch-node-tls')).toBe('VersionCreated:LifetimeElapsed');
    expect(decisive(first, 'hpc-batch-kv', 'secret/batch-admin-password')).toBe('RotationCompleted:NearExpiry');
    expect(decisive(first, 'hpc-prod-kv', 'certificate/hpc-portal-public')).toBe('ManualActionRequired:IssuerNotAutoRenewable');
    expect(decisive(first, 'hpc-prod-kv', 'certificate/hpc-old-headnode')).toBe('Skipped:Disabled');
    expect(decisive(first, 'hpc-prod-kv', 'secret/nexus-bmc-credential')).toBe('ExternalRotationStale:ExternalRotationStale');
    expect(decisive(first, 'hpc-prod-kv', 'secret/scheduler-db-connection')).toBe('Skipped:NoExpiry');
    expect(decisive(first, 'hpc-prod-kv', 'certificate/hpc-headnode-web')).toBeUndefined();
  });

  it('shows exactly the seeded consumer outcomes', () => {
    expect(consumerStates(first, 'hpc-prod-kv', 'certificate/hpc-node-comm')).toEqual({
      'HPC Pack node hpc-cluster-01/cn01': 'ConsumerVerified',
      'HPC Pack node hpc-cluster-01/cn02': 'ConsumerVerified',
      'HPC Pack node hpc-cluster-01/cn03': 'ConsumerStale',
      'HPC Pack node hpc-cluster-01/cn04': 'ConsumerUnreachable',
    });
    expect(consumerStates(first, 'hpc-batch-kv', 'certificate/batch-node-tls')).toEqual({
      'Batch pool hpcbatch/render-linux': 'ConsumerPending',
      'Batch pool hpcbatch/solver-windows-pinned': 'ConsumerStale',
      'Batch pool hpcbatch/legacy-postproc': 'ConsumerStale',
    });
    expect(consumerStates(first, 'hpc-prod-kv', 'key/hpc-cache-cmk')).toEqual({ 'HPC Cache hpc-cache-01': 'ConsumerPending' });
  });

  it('a second run rotates nothing', async () => {
    const second = JSON.parse(await rotor('run', '--format', 'json')) as RunJson;
    const actions = second.vaults.flatMap((v) => v.objects.flatMap((o) => o.rows.map((r) => r.action)));
    expect(actions).not.toContain('VersionCreated');
    expect(actions).not.toContain('RotationStarted');
  });

  it('rotor status shows each managed object with its last rotation and consumers', async () => {
    const { objects: status } = JSON.parse(await rotor('status', '--format', 'json')) as { objects: Array<{
      vault: string;
      name: string;
      daysLeft?: number;
      lastRotation?: { status: string };
      consumers: Array<{ consumer: string; status: string }>;
    }> };
    const nodeComm = status.find((s) => s.name === 'hpc-node-comm')!;
    expect(nodeComm.lastRotation?.status).toBe('Verifying');
    expect(nodeComm.daysLeft).toBeGreaterThan(300);
    expect(Object.fromEntries(nodeComm.consumers.map((c) => [c.consumer, c.status]))).toEqual({
      'HPC Pack node hpc-cluster-01/cn01': 'Verified',
      'HPC Pack node hpc-cluster-01/cn02': 'Verified',
      'HPC Pack node hpc-cluster-01/cn03': 'Stale',
      'HPC Pack node hpc-cluster-01/cn04': 'Unreachable',
    });
    expect(status.find((s) => s.name === 'batch-admin-password')?.lastRotation?.status).toBe('Completed');
  });

  it('rotor verify re-checks the rotations waiting for their consumers and audits each check', async () => {
    const verify = JSON.parse(await rotor('verify', '--format', 'json')) as {
      results: Array<{ vault: string; type: string; name: string; outcome: string }>;
      status: Array<{ name: string; consumers: Array<{ consumer: string; status: string }> }>;
    };
    const checked = verify.results.map((r) => `${r.vault}/${r.type}/${r.name}`).sort();
    expect(checked).toEqual(expect.arrayContaining(['hpc-prod-kv/certificate/hpc-node-comm', 'hpc-batch-kv/certificate/batch-node-tls']));
    const nodeComm = verify.status.find((s) => s.name === 'hpc-node-comm')!;
    expect(Object.fromEntries(nodeComm.consumers.map((c) => [c.consumer, c.status]))).toMatchObject({
      'HPC Pack node hpc-cluster-01/cn03': 'Stale',
      'HPC Pack node hpc-cluster-01/cn04': 'Unreachable',
    });
    const rows: Array<Record<string, string>> = parse(await rotor('audit', '--since', '1d', '--all', '--format', 'csv', '--name', 'hpc-node-comm'), { columns: true });
    // Two checks so far (the run's and this one): cn03 stayed stale, so it has one row (its first result); each check
    // has its summary row.
    expect(rows.filter((r) => r['consumer'] === 'HPC Pack node hpc-cluster-01/cn03' || r['consumer']?.startsWith('HPC Pack node hpc-cluster-01/cn03'))).toHaveLength(1);
    const summaries = rows.filter((r) => r['action'] === 'VerificationChecked');
    expect(summaries.map((r) => r['detail']?.slice(0, 8)).sort()).toEqual(['check 1:', 'check 2:']);
  });

  it('rotor plan is a dry run: it names what needs a person and why, and writes nothing', async () => {
    const before = (await rotor('audit', '--since', '1d', '--all', '--format', 'json')).length;
    type Plan = Array<{ type: string; name: string; reason: string; action: string; message: string }>;
    const { plan } = JSON.parse(await rotor('plan', '--format', 'json')) as { plan: Plan };
    const byName = Object.fromEntries(plan.map((p) => [`${p.type}/${p.name}`, `${p.action}:${p.reason}`]));
    expect(byName['certificate/hpc-portal-public']).toBe('manual:NearExpiry');
    expect(byName['secret/scheduler-db-connection']).toBe('report:NoExpiry');
    expect(byName['certificate/hpc-node-comm']).toBeUndefined(); // rotated by the first run
    const one = (JSON.parse(await rotor('plan', '--type', 'certificate', '--name', 'hpc-portal-public', '--format', 'json')) as { plan: Plan }).plan;
    expect(one).toHaveLength(1);
    expect(one[0]!.message).toContain('cannot be renewed automatically');
    expect((await rotor('audit', '--since', '1d', '--all', '--format', 'json')).length).toBe(before);
  });

  it('rotor event feeds event files through the Event Grid function: malformed and foreign events are audited as rejected', async () => {
    const rejected = JSON.parse(await rotor('event', join(root, 'examples/events/malformed-and-foreign.json'), '--format', 'json')) as RunJson;
    // Rows that name no object (the malformed event's) are listed under `other`.
    const rows = rejected.vaults.flatMap((v) => [...v.objects.flatMap((o) => o.rows), ...(v.other ?? [])]);
    expect(rows.filter((r) => r.action === 'EventRejected').map((r) => r.reason).sort()).toEqual(['MalformedEvent', 'UnknownVault']);
    // A NearExpiry hint for an object Rotor cannot renew: the worker re-reads the vault; the finding was already reported.
    const hinted = JSON.parse(await rotor('event', join(root, 'examples/events/near-expiry.eventgrid.json'), '--format', 'json')) as RunJson;
    const actions = hinted.vaults.flatMap((v) => v.objects.flatMap((o) => o.rows.map((r) => r.action)));
    expect(actions).not.toContain('VersionCreated');
    expect(actions).not.toContain('EventRejected');
  });

  it('rotor audit --format csv tells the same story', async () => {
    const rows: Array<Record<string, string>> = parse(await rotor('audit', '--since', '1d', '--all', '--format', 'csv'), { columns: true });
    const created = rows.filter((r) => r['action'] === 'VersionCreated').map((r) => `${r['vault']}/${r['objectName']}`).sort();
    expect(created).toEqual(['hpc-batch-kv/batch-admin-password', 'hpc-batch-kv/batch-node-tls', 'hpc-prod-kv/hpc-cache-cmk', 'hpc-prod-kv/hpc-node-comm']);
    const nodeComm = rows.find((r) => r['action'] === 'VersionCreated' && r['objectName'] === 'hpc-node-comm')!;
    expect(nodeComm['thumbprint']).toMatch(/^[0-9A-F]{40}$/);
    expect(nodeComm['secretId']).toMatch(/\/secrets\/hpc-node-comm\/[0-9a-f]{32}$/);
    expect(rows.filter((r) => r['action'] === 'ScanCompleted')).toHaveLength(4);
  });

  it('rotor audit verify checks the log against the signed digests each run ended with (issue 14)', async () => {
    const report = JSON.parse(await rotor('audit', 'verify', '--format', 'json')) as { ok: boolean; findings: unknown[]; digests: { vaults: number; digests: number } | null };
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    // One chain of digests per vault that wrote rows (the estate's two vaults), several digests each (one per run).
    expect(report.digests?.vaults).toBeGreaterThanOrEqual(2);
    expect(report.digests?.digests).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
