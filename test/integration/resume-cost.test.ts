/**
 * A resume's cost does not grow with the age of the audit log: everything on the rotation path reads only the
 * partitions the rotation can have written (from the day it started). Measured with the real TableAuditLog on
 * Azurite: a key rotation interrupted after its new version was created is resumed against a log with 1 day and
 * with 365 days of the vault's history; the audit reads are the same requests, and none names an older day.
 */
import { TableClient } from '@azure/data-tables';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableAuditLog } from '../../src/adapters/storage/audit-table.js';
import { auditRecord } from '../../src/core/audit.js';
import { processObject, processVault } from '../../src/core/scan.js';
import { startAzurite, type Azurite } from '../../src/local/azurite.js';
import { DAY, harness } from '../support/fakes.js';

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => azurite?.stop());

interface Seen {
  reads: string[];
}

function client(table: string, seen?: Seen): TableClient {
  const policies = seen
    ? [
        {
          policy: {
            name: 'record-reads',
            sendRequest: (request, next) => {
              if (request.method === 'GET') seen.reads.push(decodeURIComponent(request.url));
              return next(request);
            },
          } satisfies PipelinePolicy,
          position: 'perCall' as const,
        },
      ]
    : [];
  return TableClient.fromConnectionString(azurite.connectionString, table, { allowInsecureConnection: true, additionalPolicies: policies });
}

/** Resumes an interrupted rotation against a log holding `days` days of the vault's history; returns the reads. */
async function resumeWithHistory(days: number): Promise<{ reads: string[]; actions: string[] }> {
  const table = `ResumeHistory${days}`;
  const h = harness();
  const now = h.clock.now().getTime();
  // History: one rotation's worth of rows a day (other objects of the same vault), the newest yesterday.
  const history = new TableAuditLog(client(table));
  for (let d = days; d >= 1; d--) {
    for (const action of ['Detected', 'RotationStarted', 'VersionCreated', 'RotationCompleted'] as const) {
      history.append(
        auditRecord({ runId: `old-${d}`, trigger: 'timer' }, new Date(now - d * DAY), { vault: 'hpc-kv', objectType: 'key', objectName: `k${d}`, rotationId: `old-${d}`, action, outcome: 'Info' }),
      );
    }
  }
  await history.flush();

  const seen: Seen = { reads: [] };
  const audit = new TableAuditLog(client(table, seen));
  h.vault.add('key', 'cache-cmk', { notBefore: new Date(now - 350 * DAY), expiresOn: new Date(now + 15 * DAY) });
  // The worker dies after creating the new version, before recording it.
  h.vault.hangAfter.add('createKeyVersion'); // keys are created with createKey (the rotation id travels in its tags)
  void processObject('key', 'cache-cmk', undefined, h.ctx({ audit }));
  for (let i = 0; i < 50 && !h.vault.calls.includes('createKeyVersion'); i++) await new Promise((r) => setTimeout(r, 20));
  h.vault.hangAfter.clear();
  h.clock.advance(11 * 60_000); // the lease has expired
  seen.reads.length = 0;
  await processVault(h.ctx({ audit }));
  expect(h.vault.versionCount('key', 'cache-cmk')).toBe(2);
  expect(h.states.value('hpc-kv', 'key', 'cache-cmk')?.status).toBe('Completed');
  const actions: string[] = [];
  for await (const e of client(table).listEntities<{ objectName?: string; action?: string }>({ queryOptions: { filter: "objectName eq 'cache-cmk'" } })) actions.push(e.action ?? '');
  return { reads: seen.reads, actions };
}

describe('resume cost', () => {
  it('is the same with 1 and with 365 days of audit history, reading only the days since the rotation started', async () => {
    const young = await resumeWithHistory(1);
    const old = await resumeWithHistory(365);
    expect(old.actions.filter((a) => a === 'VersionCreated')).toHaveLength(1);
    expect(old.actions.filter((a) => a === 'RotationCompleted')).toHaveLength(1);
    const queries = (reads: string[]) => reads.filter((u) => u.includes('rotationId eq'));
    expect(queries(young.reads).length).toBeGreaterThan(0);
    expect(old.reads.length).toBe(young.reads.length);
    expect(queries(old.reads).length).toBe(queries(young.reads).length);
    // Each hasRecord reads from the rotation's first day (the harness clock's day, less an hour's skew) on.
    for (const url of queries(old.reads)) expect(url).toMatch(/PartitionKey ge 'hpc-kv\|2026112[34]'/);
  });
});
