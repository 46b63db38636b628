/**
 * Reads the audit log for auditors: queries, object timelines and chain verification over Table storage.
 *
 * Query planning follows the key layout (keys.ts). Rows of one vault and day share a partition, newest first; the
 * partition registry lists the (day, vault) partitions newest day first. A query therefore:
 *   1. reads the registry rows of the days in [from, to] (one single-partition range query, streamed newest day
 *      first, narrowed to one vault by the vault filter) — days without rows cost nothing;
 *   2. for each day, newest first, reads that day's partitions in parallel, each a single-partition query bounded by
 *      RowKey to [from, to] and to the rows after the continuation position, with the content filters as escaped
 *      OData, and merges them by RowKey (inverted time, so newest first across vaults too);
 *   3. stops as soon as it has one row more than a page (so it knows whether there is a next page).
 * Why not fewer, wider queries: Table storage returns rows in (PartitionKey, RowKey) order. A vault's PartitionKey
 * range over [from, to] therefore comes back oldest day first, and a table-wide query with eventTime bounds (a full
 * scan) comes back vault by vault — either way a newest-first page could only be cut after reading the whole
 * range. Per-day, per-partition queries come back in exactly the order a page needs, stop early, and are
 * index-assisted (PartitionKey equality, RowKey range). The cost: a rare content filter (say outcome=Failed) over a
 * long range with many vaults issues one small query per (day, vault) until the page is full.
 *
 * Every user-supplied value reaches the service through the `odata` template of @azure/data-tables (quotes doubled,
 * values typed), so no parameter can change the structure of a filter.
 */
import { odata, type TableClient } from '@azure/data-tables';
import { boundAuditField } from '../../core/audit.js';
import { LogVerifier, type AuditRow, type ChainHead, type ChainLayout, type VerifyReport, type VerifyScope } from '../../core/audit-chain.js';
import { digestReport, type DigestEvidence } from '../../core/audit-digest.js';
import { AuditQueryError, encodeContinuation, type AuditPage, type AuditQuery, type AuditReader, type AuditRowWarning, type LogItem, type ObjectRef } from '../../core/audit-query.js';
import { fromEntity, readAuditEntity } from './audit-table.js';
import {
  AUDIT_PARTITION_KEY,
  AUDIT_ROW_KEY,
  auditPartition,
  auditRowKey,
  dayOf,
  HEAD_ROW_KEY,
  REGISTRY_PARTITION,
  registryRange,
  registryRowKey,
  rowKeyRange,
  splitPartition,
  vaultKey,
} from './keys.js';
import { mapLimit } from '../../core/concurrency.js';

/** Partitions of one day read in parallel. */
const PARALLEL_PARTITIONS = 8;
/** Most unreadable rows one page names (the count of a damaged range is not the point; their places are). */
const MAX_WARNINGS = 100;

const readableTime = (d: Date): boolean => !Number.isNaN(d.getTime());

/** Where a row belongs; a row whose time cannot be read belongs nowhere (it is also reported as unreadable). */
export const tableLayout: ChainLayout = {
  partition: (record) => (readableTime(record.timestamp) ? auditPartition(record.vault, record.timestamp) : '(unreadable time)'),
  rowKey: (record, seq) => (readableTime(record.timestamp) ? auditRowKey(record.timestamp, seq) : '(unreadable time)'),
};

interface RegistryEntity {
  auditPartition: string;
  vault: string;
  day: string;
  firstEventTime?: Date;
}

const byPosition = (a: AuditRow, b: AuditRow): number =>
  a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : a.partitionKey < b.partitionKey ? -1 : a.partitionKey > b.partitionKey ? 1 : 0;

/** The widest time range the row and registry keys can express (timelines read an object's whole history). */
const ALL_TIME = { from: new Date(Date.UTC(2000, 0, 1)), to: new Date(Date.UTC(2286, 0, 1)) };


export class TableAuditReader implements AuditReader {
  constructor(private readonly client: TableClient) {}


  /** Content filters as escaped OData (AND-ed; empty when there are none). */
  private contentFilter(q: AuditQuery): string {
    const parts: string[] = [];
    if (q.objectType !== undefined) parts.push(odata`objectType eq ${q.objectType}`);
    // Long values are stored shortened (core/audit.ts): a filter for the full value finds its row.
    if (q.objectName !== undefined) parts.push(odata`objectName eq ${boundAuditField('objectName', q.objectName)}`);
    if (q.action !== undefined) parts.push(odata`action eq ${q.action}`);
    if (q.outcome !== undefined) parts.push(odata`outcome eq ${q.outcome}`);
    if (q.trigger !== undefined) parts.push(odata`trigger eq ${q.trigger}`);
    if (q.runId !== undefined) parts.push(odata`runId eq ${boundAuditField('runId', q.runId)}`);
    return parts.map((p) => ` and ${p}`).join('');
  }

  /** The registry rows of the query's days, newest day first, grouped by day. */
  private async *days(q: AuditQuery): AsyncGenerator<string[]> {
    const { hi } = registryRange(q.from, q.to);
    let { lo } = registryRange(q.from, q.to);
    if (q.after) {
      // Days newer than the position's are done.
      const newest = `${registryRowKey(q.after.partition).split('|')[0] ?? ''}|`;
      if (newest > lo) lo = newest;
    }
    if (lo > hi) return;
    let filter = odata`PartitionKey eq ${REGISTRY_PARTITION} and RowKey ge ${lo} and RowKey le ${hi}`;
    if (q.vault !== undefined) filter += ` and ${odata`vault eq ${vaultKey(q.vault)}`}`;
    let day = '';
    let group: string[] = [];
    for await (const e of this.client.listEntities<RegistryEntity>({ queryOptions: { filter } })) {
      if (typeof e.auditPartition !== 'string' || !AUDIT_PARTITION_KEY.test(e.auditPartition)) continue;
      if (e.day !== day && group.length) {
        yield group;
        group = [];
      }
      day = e.day;
      group.push(e.auditPartition);
    }
    if (group.length) yield group;
  }

  /** Up to `limit` rows of one partition in [from, to] after the position, newest first. */
  private async readPartition(pk: string, q: AuditQuery, limit: number, warnings: AuditRowWarning[]): Promise<AuditRow[]> {
    const { lo, hi } = rowKeyRange(q.from, q.to);
    let filter = odata`PartitionKey eq ${pk} and RowKey ge ${lo} and RowKey le ${hi}`;
    if (q.after) {
      // Rows after the position: (RowKey, PartitionKey) greater than the position's.
      filter += pk > q.after.partition ? ` and ${odata`RowKey ge ${q.after.row}`}` : ` and ${odata`RowKey gt ${q.after.row}`}`;
    }
    filter += this.contentFilter(q);
    const rows: AuditRow[] = [];
    const pages = this.client.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(limit, 1000) });
    for await (const page of pages) {
      for (const e of page) {
        if (rows.length >= limit) break;
        const { row, unreadable } = readAuditEntity(e);
        // An unreadable row is named, not returned (and never fails the query).
        if (unreadable) {
          if (warnings.length < MAX_WARNINGS) warnings.push({ partitionKey: row.partitionKey, rowKey: row.rowKey, ...unreadable });
        } else rows.push(row);
      }
      if (rows.length >= limit) break;
    }
    return rows;
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    if (q.after && (!AUDIT_PARTITION_KEY.test(q.after.partition) || !AUDIT_ROW_KEY.test(q.after.row))) {
      throw new AuditQueryError('continuation', 'is not a valid continuation token; pass the token a previous page returned, unchanged');
    }
    const rows: AuditRow[] = [];
    const warnings: AuditRowWarning[] = [];
    const want = q.pageSize + 1;
    try {
      for await (const partitions of this.days(q)) {
        const need = want - rows.length;
        const lists = await mapLimit(partitions, PARALLEL_PARTITIONS, (pk) => this.readPartition(pk, q, need, warnings));
        rows.push(...lists.flat().sort(byPosition).slice(0, need));
        if (rows.length >= want) break;
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { query: q, rows: [], warnings: [] }; // no audit table yet
      throw err;
    }
    const page = rows.slice(0, q.pageSize);
    const last = page[page.length - 1];
    const more = rows.length > q.pageSize && last;
    // Warnings about rows past the page's end are given again with the page that reaches them.
    const end = more ? last : undefined;
    const shown = end ? warnings.filter((w) => byPosition({ rowKey: w.rowKey, partitionKey: w.partitionKey } as AuditRow, end) < 0) : warnings;
    return { query: q, rows: page, continuation: more ? encodeContinuation(q, { partition: last.partitionKey, row: last.rowKey }) : undefined, warnings: shown };
  }

  /**
   * Every row of one object, newest first, at most `limit`: the same registry-planned plan as a query (newest day
   * first, one single-partition query per vault-day), so a long history keeps its newest rows when truncated.
   */
  async objectRows(object: ObjectRef, limit: number): Promise<{ rows: AuditRow[]; truncated: boolean; warnings?: readonly AuditRowWarning[] | undefined }> {
    const page = await this.query({
      vault: object.vault,
      objectType: object.objectType,
      objectName: object.objectName,
      from: ALL_TIME.from,
      to: ALL_TIME.to,
      pageSize: limit,
    });
    return { rows: [...page.rows], truncated: page.continuation !== undefined, warnings: page.warnings };
  }

  /**
   * Recomputes every chain in scope (a whole vault-day partition at a time, streamed in partition order) and checks
   * the partitions against the registry.
   */
  async verify(scope: VerifyScope, evidence?: DigestEvidence): Promise<VerifyReport> {
    const fromDay = scope.from ? dayOf(scope.from) : '00000000';
    const toDay = scope.to ? dayOf(scope.to) : '99999999';
    const key = scope.vault === undefined ? undefined : vaultKey(scope.vault);
    const filter = key
      ? odata`PartitionKey ge ${`${key}|${fromDay}`} and PartitionKey le ${`${key}|${toDay}`}`
      : odata`PartitionKey lt ${REGISTRY_PARTITION}`;
    const inScope = (pk: string): boolean => {
      const { vault, day } = splitPartition(pk);
      return day >= fromDay && day <= toDay && (key === undefined || vault === key);
    };
    const verifier = new LogVerifier(tableLayout, evidence?.coverage);
    const unreadable = { push: (f: Parameters<LogVerifier['note']>[0]) => verifier.note(f) };
    let current = '';
    let rows: AuditRow[] = [];
    let head: ChainHead | undefined;
    const finish = (): void => {
      if (current) verifier.partition(current, rows, head);
    };
    try {
      for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const pk = e.partitionKey ?? '';
        if (!inScope(pk)) continue;
        if (pk !== current) {
          finish();
          current = pk;
          rows = [];
          head = undefined;
        }
        const text = (v: unknown): string => (typeof v === 'string' ? v : '');
        if (e.rowKey === HEAD_ROW_KEY) {
          const seq = e['seq'];
          if (typeof seq === 'number' && Number.isInteger(seq) && typeof e['hash'] === 'string' && typeof e['lastRowKey'] === 'string') {
            head = { seq, hash: text(e['hash']), lastRowKey: text(e['lastRowKey']) };
          } else {
            const field = typeof seq !== 'number' || !Number.isInteger(seq) ? 'seq' : typeof e['hash'] !== 'string' ? 'hash' : 'lastRowKey';
            unreadable.push({ partitionKey: pk, rowKey: HEAD_ROW_KEY, seq: null, kind: 'unreadable', field, message: `the chain head cannot be read: ${field} is missing or of the wrong type` });
          }
        } else {
          const { row, unreadable: why } = readAuditEntity(e);
          if (why) {
            unreadable.push({
              partitionKey: pk,
              rowKey: row.rowKey,
              seq: row.chainSeq >= 0 ? row.chainSeq : null,
              kind: 'unreadable',
              field: why.field,
              message: `row ${row.rowKey} cannot be read: ${why.message}`,
            });
          }
          // Kept in the chain walk (its hash cannot match), so the rows before it are still reached.
          rows.push(row);
        }
      }
      finish();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    const registered = new Map<string, string>();
    let registryFilter = odata`PartitionKey eq ${REGISTRY_PARTITION}`;
    if (scope.from || scope.to) {
      const { lo, hi } = registryRange(scope.from ?? new Date(Date.UTC(2000, 0, 1)), scope.to ?? new Date(Date.UTC(2199, 11, 31)));
      registryFilter += ` and ${odata`RowKey ge ${lo} and RowKey le ${hi}`}`;
    }
    if (key !== undefined) registryFilter += ` and ${odata`vault eq ${key}`}`;
    try {
      for await (const e of this.client.listEntities<RegistryEntity>({ queryOptions: { filter: registryFilter } })) {
        if (typeof e.auditPartition === 'string' && inScope(e.auditPartition)) {
          registered.set(e.auditPartition, e.firstEventTime instanceof Date ? e.firstEventTime.toISOString() : e.day);
        }
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    return digestReport(
      { vault: key ?? null, from: scope.from?.toISOString() ?? null, to: scope.to?.toISOString() ?? null },
      verifier,
      registered,
      inScope,
      evidence,
    );
  }

  /** Every row, chain head and registry row (of one vault, or all), in partition order: an auditor's export. */
  async *snapshot(vault: string | undefined): AsyncGenerator<LogItem> {
    const key = vault === undefined ? undefined : vaultKey(vault);
    const filter = key ? odata`PartitionKey ge ${`${key}|`} and PartitionKey lt ${`${key}|~`}` : odata`PartitionKey lt ${REGISTRY_PARTITION}`;
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    try {
      for await (const e of this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const pk = e.partitionKey ?? '';
        if (e.rowKey === HEAD_ROW_KEY) yield { kind: 'head', partitionKey: pk, head: { seq: Number(e['seq']), hash: text(e['hash']), lastRowKey: text(e['lastRowKey']) } };
        else yield { kind: 'row', row: fromEntity(e) };
      }
      let registryFilter = odata`PartitionKey eq ${REGISTRY_PARTITION}`;
      if (key !== undefined) registryFilter += ` and ${odata`vault eq ${key}`}`;
      for await (const e of this.client.listEntities<RegistryEntity>({ queryOptions: { filter: registryFilter } })) {
        if (typeof e.auditPartition === 'string') {
          yield { kind: 'registry', partitionKey: e.auditPartition, firstEventTime: e.firstEventTime instanceof Date ? e.firstEventTime.toISOString() : String(e.day ?? '') };
        }
      }
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
}
