/**
 * What the digest writer reads of the audit table (the AuditHeadSource port): the registry (which vaults wrote
 * lately, which partitions a vault has), a partition's chain head, and the seq/row key/hash of rows after a position.
 * Every value reaches Table storage as an escaped OData literal.
 */
import { odata, type TableClient } from '@azure/data-tables';
import type { ChainHead } from '../../core/audit-chain.js';
import type { AuditHeadSource } from '../../core/audit-digest.js';
import { AUDIT_PARTITION_KEY, HEAD_ROW_KEY, REGISTRY_PARTITION, registryRange, vaultKey } from './keys.js';

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | undefined)?.statusCode;
const FAR_FUTURE = new Date(Date.UTC(2199, 11, 31));

export class TableAuditHeads implements AuditHeadSource {
  constructor(private readonly client: TableClient) {}

  private async *registry(filter: string): AsyncGenerator<{ auditPartition: string; vault: string }> {
    try {
      for await (const e of this.client.listEntities<{ auditPartition?: unknown; vault?: unknown }>({ queryOptions: { filter, select: ['auditPartition', 'vault'] } })) {
        if (typeof e.auditPartition === 'string' && AUDIT_PARTITION_KEY.test(e.auditPartition) && typeof e.vault === 'string') {
          yield { auditPartition: e.auditPartition, vault: e.vault };
        }
      }
    } catch (err) {
      if (statusOf(err) !== 404) throw err; // no audit table yet: nothing to digest
    }
  }

  async activeVaults(since: Date): Promise<string[]> {
    const { lo, hi } = registryRange(since, FAR_FUTURE);
    const vaults = new Set<string>();
    for await (const e of this.registry(odata`PartitionKey eq ${REGISTRY_PARTITION} and RowKey ge ${lo} and RowKey le ${hi}`)) vaults.add(e.vault);
    return [...vaults].sort();
  }

  async partitions(vault: string, since?: Date): Promise<string[]> {
    const out: string[] = [];
    let filter = odata`PartitionKey eq ${REGISTRY_PARTITION} and vault eq ${vaultKey(vault)}`;
    if (since) {
      const { lo, hi } = registryRange(since, FAR_FUTURE);
      filter += ` and ${odata`RowKey ge ${lo} and RowKey le ${hi}`}`;
    }
    for await (const e of this.registry(filter)) out.push(e.auditPartition);
    return out.sort();
  }

  async head(partitionKey: string): Promise<ChainHead | undefined> {
    try {
      const e = await this.client.getEntity<{ seq: unknown; hash: unknown; lastRowKey: unknown }>(partitionKey, HEAD_ROW_KEY);
      const seq = Number(e.seq);
      if (!Number.isInteger(seq)) return undefined;
      return { seq, hash: typeof e.hash === 'string' ? e.hash : '', lastRowKey: typeof e.lastRowKey === 'string' ? e.lastRowKey : '' };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async rowsAfter(partitionKey: string, afterSeq: number): Promise<{ seq: number; rowKey: string; hash: string }[]> {
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ne ${HEAD_ROW_KEY} and chainSeq gt ${afterSeq}`;
    const rows: { seq: number; rowKey: string; hash: string }[] = [];
    for await (const e of this.client.listEntities<{ chainSeq?: unknown; hash?: unknown }>({ queryOptions: { filter, select: ['chainSeq', 'hash'] } })) {
      const seq = Number(e.chainSeq);
      if (Number.isInteger(seq)) rows.push({ seq, rowKey: e.rowKey ?? '', hash: typeof e.hash === 'string' ? e.hash : '' });
    }
    return rows.sort((a, b) => a.seq - b.seq);
  }
}
