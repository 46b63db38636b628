/** One schema at the edge (issue 13): accepted events fit the work item's schema; foreign addresses are VaultMismatch. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { parseVaultEvents } from '../../src/core/events.js';
import { parseWorkItem } from '../../src/core/work.js';

const config = parseConfig({ vaults: [{ name: 'hpc-kv', url: 'https://hpc-kv.vault.azure.net/' }] });
const topic = (vault: string): string => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${vault}`;
const ev = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'e1',
  topic: topic('hpc-kv'),
  eventType: 'Microsoft.KeyVault.CertificateNearExpiry',
  data: { Id: 'https://hpc-kv.vault.azure.net/certificates/c1/v1', VaultName: 'hpc-kv', ObjectType: 'Certificate', ObjectName: 'c1', ...data },
  ...over,
});

describe('Key Vault events at the edge', () => {
  it('accepts an event on the vault’s own host and resource (any case) and gives the work item it becomes', () => {
    const parsed = parseVaultEvents([ev(), ev({ topic: topic('HPC-KV') }, { Id: 'https://HPC-KV.vault.azure.net:443/certificates/c1/v1' })], config);
    expect(parsed.rejected).toEqual([]);
    for (const e of parsed.accepted) expect(parseWorkItem(e.workItem)).toEqual({ ok: true, item: e.workItem });
    expect(parsed.accepted[0]?.workItem).toMatchObject({ kind: 'object', vault: 'hpc-kv', objectName: 'c1', runId: 'eventgrid-e1', eventId: 'e1' });
  });

  it.each([
    ['another vault’s host', ev({}, { Id: 'https://evil.vault.azure.net/certificates/c1/v1' })],
    ['another cloud’s domain', ev({}, { Id: 'https://hpc-kv.vault.azure.cn/certificates/c1/v1' })],
    ['plain http', ev({}, { Id: 'http://hpc-kv.vault.azure.net/certificates/c1/v1' })],
    ['another vault in the topic', ev({ topic: topic('other-kv') })],
    ['a topic that is no Key Vault', ev({ topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x' })],
    ['another vault in the CloudEvents source', { specversion: '1.0', id: 'c', type: 'Microsoft.KeyVault.CertificateNearExpiry', source: topic('other-kv'), data: { VaultName: 'hpc-kv', ObjectName: 'c1' } }],
  ])('rejects %s as VaultMismatch under the configured vault', (_, event) => {
    const parsed = parseVaultEvents(event, config);
    expect(parsed.accepted).toEqual([]);
    expect(parsed.rejected).toMatchObject([{ reason: 'VaultMismatch', vault: 'hpc-kv' }]);
  });

  it('rejects ids the work item cannot carry (too long, control characters)', () => {
    const parsed = parseVaultEvents([ev({ id: 'x'.repeat(201) }), ev({ id: 'a\nb' }), ev({ id: 'y'.repeat(200) })], config);
    expect(parsed.rejected.map((r) => r.reason)).toEqual(['MalformedEvent', 'MalformedEvent']);
    expect(parsed.rejected[0]?.message).toMatch(/id is 201 characters long/);
    expect(parsed.accepted).toHaveLength(1);
    expect(parsed.accepted[0]?.workItem.runId).toHaveLength('eventgrid-'.length + 60);
  });
});
