/**
 * Conformance of the local Key Vault endpoint to recorded real Key Vault traffic: every recording in
 * ../shared/specs/keyvault/recordings (beside the repository) is replayed against the emulator, in order, with the
 * recorded bodies, and every response is compared with the recorded one by status code and JSON shape (see
 * helpers/recordings.ts for what is compared and how a client's replay differs from a byte replay). A difference is
 * either fixed in the emulator or listed with its reason in test/conformance/keyvault-allow-list.json, which this
 * test prints; an allow-list entry that no longer matches anything fails the test too, so the list stays true.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../src/local/stack.js';
import { startKeyVaultStack, testClock } from './helpers/keyvault.js';
import { findRecordingsDir, loadRecordings, replay, type AllowListEntry, type Mismatch, type Recording } from './helpers/recordings.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const recordingsDir = findRecordingsDir(repoRoot);
const allowList = JSON.parse(readFileSync(join(repoRoot, 'test', 'conformance', 'keyvault-allow-list.json'), 'utf8')) as {
  entries: AllowListEntry[];
};
const recordings: Recording[] = recordingsDir ? loadRecordings(recordingsDir) : [];
const vaultOf = (index: number): string => `rec-${String(index + 1).padStart(2, '0')}`;

/** recoverableDays of the recorded vault (its soft-delete retention), from the first attributes that show it. */
function recoverableDaysOf(recording: Recording): number {
  const match = /"recoverableDays":\s*(\d+)/.exec(JSON.stringify(recording.entries.map((e) => e.ResponseBody)));
  return match ? Number(match[1]) : 90;
}

const allowed = (m: Mismatch): AllowListEntry | undefined =>
  allowList.entries.find((a) => a.recording === m.recording && (m.path === a.path || m.path.startsWith(`${a.path}.`) || m.path.startsWith(`${a.path}[`)));

const results = new Map<string, Mismatch[]>();
const used = new Set<AllowListEntry>();
let stack: LocalStack;
const clock = testClock('2026-04-06T03:38:00Z');

const describeIf = recordingsDir ? describe : describe.skip;
if (!recordingsDir) {
  const message = `Key Vault recordings not found (looked for shared/specs/keyvault/recordings beside ${repoRoot} and its parents)`;
  if (process.env['CI'] === 'true') throw new Error(message);
  console.warn(`${message}: conformance test skipped.`);
}

describeIf('conformance to recorded real Key Vault traffic', () => {
  beforeAll(async () => {
    stack = await startKeyVaultStack(
      {
        vaults: recordings.map((_, i) => vaultOf(i)),
        // Self-issued certificates complete 10 s (of the emulator's clock) after the create, as in the recordings.
        pendingDelayMs: 10_000,
        pendingTimers: false,
        recoverableDays: Object.fromEntries(recordings.map((r, i) => [vaultOf(i), recoverableDaysOf(r)])),
        faults: { limits: false },
      },
      { now: clock.now },
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    const lines = [
      `Key Vault conformance: ${[...results.values()].filter((m) => m.length === 0).length} of ${results.size} recordings conform ` +
        `(${[...results.values()].filter((m) => m.length > 0 && m.every((x) => allowed(x))).length} more with allow-listed differences).`,
      `Allow-list (test/conformance/keyvault-allow-list.json):`,
      ...allowList.entries.map((a) => `  - ${a.recording} ${a.path}: ${a.reason}`),
    ];
    console.log(lines.join('\n'));
  });

  it.each(recordings.map((r, i) => [r.file, i] as const))('%s', async (file, index) => {
    const recording = recordings[index] as Recording;
    const mismatches: Mismatch[] = [];
    await replay(
      recording,
      {
        vaultUrl: stack.keyVault.vaultUrl(vaultOf(index)),
        token: stack.token,
        caPem: stack.ca.certPem,
        setClock: (date) => clock.set(date.toISOString()),
        seed: async ({ keys, secrets, certificates }) => {
          if (!keys.length && !secrets.length && !certificates.length) return;
          await stack.keyVault.seed({
            vaults: {
              [vaultOf(index)]: {
                keys: keys.map(({ name, enabled }) => ({ name, enabled })),
                secrets: secrets.map(({ name, enabled }) => ({ name, enabled })),
                certificates: certificates.map(({ name, enabled }) => ({ name, enabled })),
              },
            },
          });
        },
      },
      (m) => mismatches.push(m),
    );
    results.set(file, mismatches);
    for (const m of mismatches) {
      const entry = allowed(m);
      if (entry) used.add(entry);
    }
    const unexplained = mismatches.filter((m) => !allowed(m)).map((m) => `#${m.entry} ${m.request}: ${m.path}: ${m.message}`);
    expect(unexplained, `differences from ${file} that are neither fixed nor allow-listed`).toEqual([]);
  }, 60_000);

  it('has no stale allow-list entries', () => {
    const stale = allowList.entries.filter((a) => results.has(a.recording) && !used.has(a)).map((a) => `${a.recording} ${a.path}`);
    expect(stale, 'allow-list entries that no longer match a difference: remove them').toEqual([]);
  });
});
