/**
 * `rotor audit` against Azurite, configured the way an auditor's shell is: ROTOR_STORAGE in the environment (no
 * Rotor configuration needed). Same filters and validation as the HTTP API, table/json/csv, paging.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditRecord } from '../../src/core/audit.js';
import { matchesQuery, parseAuditQuery } from '../../src/core/audit-query.js';
import { vaultKey } from '../../src/adapters/storage/keys.js';
import { buildProgram } from '../../src/cli/main.js';
import { corpus, NOW, startAuditEnv, writeAll, type AuditEnv } from '../support/audit.js';

let env: AuditEnv;
const records = corpus();
const saved = process.env['ROTOR_STORAGE'];

beforeAll(async () => {
  env = await startAuditEnv();
  // Rows relative to the real clock, for --since; and a row whose detail tries to drive the terminal.
  const now = Date.now();
  const recent = [
    auditRecord({ runId: 'run-recent', trigger: 'manual' }, new Date(now - 50 * 3_600_000), { vault: 'recent-kv', action: 'ScanCompleted', outcome: 'Info', detail: '50 hours ago' }),
    auditRecord({ runId: 'run-recent', trigger: 'manual' }, new Date(now - 10 * 3_600_000), {
      vault: 'recent-kv',
      objectType: 'secret',
      objectName: 'evil\u001b]0;owned\u0007',
      action: 'Skipped',
      outcome: 'Skipped',
      detail: 'ten hours ago \u001b[2J\u001b[31mred',
    }),
  ];
  await writeAll(env.log, [...records, ...recent]);
  process.env['ROTOR_STORAGE'] = env.azurite.connectionString;
});
afterAll(async () => {
  if (saved === undefined) delete process.env['ROTOR_STORAGE'];
  else process.env['ROTOR_STORAGE'] = saved;
  await env?.stop();
});

/** Runs `rotor …` in-process; returns what it printed. */
async function rotor(...args: string[]): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'rotor', ...args]);
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
  return { out: out.join(''), err: err.join('') };
}

const oracle = (qs: string): string[] => {
  const q = parseAuditQuery(new URLSearchParams(qs), NOW);
  return records
    .filter((r) => matchesQuery(r, q, vaultKey))
    .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
    .map((r) => `${r.timestamp.toISOString()} ${r.action}`);
};

describe('rotor audit', () => {
  it('--format json: the same rows as the API', async () => {
    const { out } = await rotor('audit', '--vault', 'hpc-prod-kv', '--type', 'certificate', '--from', '2026-11-08', '--to', '2026-11-19', '--format', 'json');
    const body = JSON.parse(out) as { rows: { timestamp: string; action: string }[]; continuation: null };
    expect(body.rows.map((r) => `${r.timestamp} ${r.action}`)).toEqual(oracle('vault=hpc-prod-kv&objectType=certificate&from=2026-11-08&to=2026-11-19'));
    expect(body.continuation).toBeNull();
  });

  it('--all --format csv: every page, one header, RFC 4180', async () => {
    const { out } = await rotor('audit', '--outcome', 'Succeeded', '--from', '2026-11-01', '--to', '2026-11-20', '--page-size', '7', '--all', '--format', 'csv');
    const rows = parse<Record<string, string>>(out, { columns: true });
    expect(rows.map((r) => `${r['timestamp']} ${r['action']}`)).toEqual(oracle('outcome=Succeeded&from=2026-11-01&to=2026-11-20'));
    expect(out.match(/^timestamp,/gm)).toHaveLength(1);
    expect(out).toContain('\r\n');
  });

  it('pages with --continuation', async () => {
    const first = await rotor('audit', '--vault', 'batch-kv', '--from', '2026-11-10', '--to', '2026-11-12', '--page-size', '5');
    const token = /--continuation (\S+)/.exec(first.err)?.[1];
    expect(token).toBeDefined();
    const second = await rotor('audit', '--vault', 'batch-kv', '--page-size', '5', '--continuation', token!, '--format', 'json');
    const expected = oracle('vault=batch-kv&from=2026-11-10&to=2026-11-12');
    expect((JSON.parse(second.out) as { rows: { timestamp: string; action: string }[] }).rows.map((r) => `${r.timestamp} ${r.action}`)).toEqual(expected.slice(5, 10));
    await expect(rotor('audit', '--vault', 'hpc-dev-kv', '--continuation', token!)).rejects.toThrow(/^--continuation: belongs to a query with other filters/);
  });

  it('--since 36h, and a table that never writes a row\'s control characters to the terminal', async () => {
    const { out } = await rotor('audit', '--vault', 'recent-kv', '--since', '36h');
    expect(out).toContain('TIME (UTC)');
    expect(out).toContain('ten hours ago');
    expect(out).not.toContain('50 hours ago');
    // eslint-disable-next-line no-control-regex -- no raw control character may reach the terminal
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(out).toContain('\\u001b[2J');
  });

  it('names the option in errors', async () => {
    await expect(rotor('audit', '--type', 'folder')).rejects.toThrow(/^--type: must be one of certificate, key, secret/);
    await expect(rotor('audit', '--since', 'a while')).rejects.toThrow(/^--since: /);
    await expect(rotor('audit', '--page-size', '0')).rejects.toThrow(/^--page-size: /);
    await expect(rotor('audit', '--since', '7d', '--from', '2026-11-01')).rejects.toThrow(/exclude each other/);
    await expect(rotor('audit', '--format', 'xml')).rejects.toThrow(/--format must be one of table, json, csv/);
  });

  it('timeline: one object\'s rotations', async () => {
    const { out } = await rotor('audit', 'timeline', 'hpc-prod-kv', 'certificate', 'hpc-node-comm');
    expect(out).toMatch(/^hpc-prod-kv\/certificate\/hpc-node-comm: \d+ rotation\(s\)/);
    expect(out).toContain('ROTATION rot-');
    expect(out).toMatch(/consumer\s+head-node-01\s+(Verified|Stale)/);
    await expect(rotor('audit', 'timeline', 'hpc-prod-kv', 'folder', 'x')).rejects.toThrow(/^<type>: /);
  });

  it('verify: an untouched log', async () => {
    const { out } = await rotor('audit', 'verify');
    expect(out).toMatch(/^Verified \d+ rows in \d+ partitions \(all vaults\): every chain is intact\./);
  });
});
