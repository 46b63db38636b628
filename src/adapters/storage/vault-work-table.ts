/**
 * Vault leases and pending sets in Azure Table storage (table RotorVaultWork), one partition per vault:
 * - RowKey `~lease`: the vault's lease — holder, leaseUntil, checkAt (a drainVault check is scheduled for then),
 *   and the holder's pacer state (admissions still inside Key Vault's window) for the next holder; every change is
 *   conditional on the ETag that was read, so two instances never both take it;
 * - RowKey `o|<type>|<name>[|new-version][|force]`: a pending object work item (the item as JSON). Adding replaces
 *   an entry for the same key, so a burst of events for one object is one entry;
 * - RowKey `s|scan`: a requested scan of the vault.
 * Pending entries sort before the lease row (`~`), so one range query reads them, objects first. A handled entry is
 * deleted conditionally (its ETag): an entry re-added meanwhile (a newer event for the object) stays and is handled
 * again. (Table batch transactions cannot carry an ETag on a delete, so deletes are single requests, in parallel.)
 */
import { odata, type TableClient } from '@azure/data-tables';
import type { RunContext } from '../../core/audit.js';
import type { PacerState } from '../../core/pacing.js';
import { parseWorkItem } from '../../core/work.js';
import {
  pendingObjectKey,
  VaultLeaseLost,
  type AcquireResult,
  type HeldLease,
  type ObjectWorkItem,
  type PendingEntry,
  type VaultWorkStore,
} from '../../core/vault-work.js';
import type { Logger } from '../../core/ports.js';
import { ensureOnce } from './clients.js';
import { checkEntity } from './table-limits.js';
import { vaultKey } from './keys.js';

const LEASE_ROW = '~lease';
const SCAN_ROW = 's|scan';
const OBJECT_PREFIX = 'o|';
/** Conditional writes retried after a conflict before giving up. */
const CONFLICT_RETRIES = 5;
/** Parallel conditional deletes. */
const DELETE_CONCURRENCY = 16;

interface LeaseEntity {
  holder?: string;
  leaseUntil?: Date;
  checkAt?: Date;
  pacer?: string;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | undefined)?.statusCode;
const time = (d: unknown): number => (d instanceof Date ? d.getTime() : typeof d === 'string' ? Date.parse(d) || 0 : 0);

function parsePacer(text: unknown): PacerState | undefined {
  if (typeof text !== 'string' || !text) return undefined;
  try {
    const value = JSON.parse(text) as PacerState;
    return value && typeof value === 'object' && typeof value.admitted === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Table storage allows 64 KiB per string property: the pacer's admissions are bounded by the vault's limits. */
const pacerText = (state: PacerState): string => JSON.stringify(state).slice(0, 30_000);

export class TableVaultWorkStore implements VaultWorkStore {
  /** Requests by kind (the benchmark reports them). */
  readonly stats = { adds: 0, leaseReads: 0, leaseWrites: 0, pendingQueries: 0, deletes: 0, conflicts: 0 };
  /** ETag of each lease row this instance wrote last. */
  private readonly leaseEtags = new Map<string, string>();

  constructor(
    private readonly client: TableClient,
    private readonly log?: Logger,
  ) {}

  private ensureTable(): Promise<void> {
    return ensureOnce(`table:${this.client.url}/${this.client.tableName}`, () => this.client.createTable());
  }

  async addObject(item: ObjectWorkItem): Promise<void> {
    const entity = { partitionKey: vaultKey(item.vault), rowKey: objectRowKey(pendingObjectKey(item)), item: JSON.stringify(item), addedAt: new Date() };
    checkEntity(this.client.tableName, entity);
    await this.ensureTable();
    this.stats.adds++;
    await this.client.upsertEntity(entity, 'Replace');
  }

  async addScan(vault: string, run: RunContext): Promise<void> {
    const entity = { partitionKey: vaultKey(vault), rowKey: SCAN_ROW, runId: run.runId, trigger: run.trigger, addedAt: new Date() };
    checkEntity(this.client.tableName, entity);
    await this.ensureTable();
    this.stats.adds++;
    await this.client.upsertEntity(entity, 'Replace');
  }

  private async readLease(vault: string): Promise<{ row: LeaseEntity; etag: string | undefined }> {
    this.stats.leaseReads++;
    try {
      const e = await this.client.getEntity<LeaseEntity>(vaultKey(vault), LEASE_ROW);
      return { row: e, etag: e.etag };
    } catch (err) {
      if (statusOf(err) === 404) return { row: {}, etag: undefined };
      throw err;
    }
  }

  /**
   * Writes the lease row if it still has `etag` (undefined: only if it does not exist); `Merge` keeps the properties
   * not given (a scheduled check). Returns the new ETag, or undefined on a conflict.
   */
  private async writeLease(vault: string, row: LeaseEntity, etag: string | undefined, mode: 'Replace' | 'Merge' = 'Replace'): Promise<string | undefined> {
    this.stats.leaseWrites++;
    const entity: Record<string, unknown> & { partitionKey: string; rowKey: string } = { partitionKey: vaultKey(vault), rowKey: LEASE_ROW };
    for (const [k, v] of Object.entries(row)) if (v !== undefined) entity[k] = v;
    checkEntity(this.client.tableName, entity);
    try {
      const response = etag ? await this.client.updateEntity(entity, mode, { etag }) : await this.client.createEntity(entity);
      return response.etag ?? '';
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409) {
        this.stats.conflicts++;
        return undefined;
      }
      throw err;
    }
  }

  async acquire(vault: string, holder: string, now: Date, leaseMs: number, graceMs: number): Promise<AcquireResult> {
    await this.ensureTable();
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const { row, etag } = await this.readLease(vault);
      const until = time(row.leaseUntil);
      if (!row.holder || until <= now.getTime()) {
        const lease: HeldLease = { vault, holder, until: new Date(now.getTime() + leaseMs), pacer: parsePacer(row.pacer) };
        const written = await this.writeLease(vault, { holder, leaseUntil: lease.until, checkAt: row.checkAt ?? new Date(0), pacer: row.pacer ?? '' }, etag);
        if (written === undefined) continue;
        this.leaseEtags.set(vaultKey(vault), written);
        return { acquired: true, lease };
      }
      const wanted = until + graceMs;
      if (time(row.checkAt) >= until) return { acquired: false, holder: row.holder, until: new Date(until) };
      const written = await this.writeLease(vault, { ...pick(row), checkAt: new Date(wanted) }, etag);
      if (written === undefined) continue;
      return { acquired: false, holder: row.holder, until: new Date(until), checkAt: new Date(wanted) };
    }
    // Contended beyond the retries: another instance is busy with the lease; treat it as held for a short while.
    return { acquired: false, holder: 'unknown', until: new Date(now.getTime() + graceMs) };
  }

  async renew(lease: HeldLease, now: Date, leaseMs: number, pacer: PacerState): Promise<HeldLease> {
    const key = vaultKey(lease.vault);
    let etag = this.leaseEtags.get(key);
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      if (!etag) {
        const read = await this.readLease(lease.vault);
        if (read.row.holder !== lease.holder) throw new VaultLeaseLost(lease.vault);
        etag = read.etag;
      }
      const until = new Date(now.getTime() + leaseMs);
      const written = await this.writeLease(lease.vault, { holder: lease.holder, leaseUntil: until, pacer: pacerText(pacer) }, etag, 'Merge');
      if (written !== undefined) {
        this.leaseEtags.set(key, written);
        return { ...lease, until };
      }
      etag = undefined; // someone wrote the row (a deferred instance scheduling its check, or a new holder): look
    }
    throw new Error(`could not renew the lease of vault ${lease.vault}: too many conflicting writes`);
  }

  async release(lease: HeldLease, pacer: PacerState): Promise<void> {
    const key = vaultKey(lease.vault);
    let etag = this.leaseEtags.get(key);
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      if (!etag) {
        const read = await this.readLease(lease.vault);
        if (read.row.holder !== lease.holder) return; // lost meanwhile: nothing to give up
        etag = read.etag;
      }
      const written = await this.writeLease(lease.vault, { holder: '', leaseUntil: new Date(0), pacer: pacerText(pacer) }, etag, 'Merge');
      if (written !== undefined) {
        this.leaseEtags.delete(key);
        return;
      }
      etag = undefined;
    }
    this.log?.warn(`could not release the lease of vault ${lease.vault}; it expires by itself`);
  }

  async scheduleCheck(vault: string, at: Date): Promise<boolean> {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt++) {
      const { row, etag } = await this.readLease(vault);
      if (!etag || time(row.checkAt) >= at.getTime()) return false;
      const written = await this.writeLease(vault, { checkAt: at }, etag, 'Merge');
      if (written === undefined) continue;
      // The holder's cached ETag is stale now; its next renewal reads the row again.
      return true;
    }
    return false;
  }

  async pending(vault: string, limit: number): Promise<PendingEntry[]> {
    await this.ensureTable();
    this.stats.pendingQueries++;
    const filter = odata`PartitionKey eq ${vaultKey(vault)} and RowKey lt ${'~'}`;
    const out: PendingEntry[] = [];
    const pages = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(Math.max(limit, 1), 1000) });
    for await (const page of pages) {
      for (const e of page) {
        const entry = toEntry(e, vault);
        if (entry) out.push(entry);
        else if (e.rowKey) await this.drop(vault, e.rowKey, e.etag, 'is not a valid work item'); // never blocks the set
      }
      break; // one page per call
    }
    return out.slice(0, limit);
  }

  private async drop(vault: string, rowKey: string, etag: string | undefined, why: string): Promise<void> {
    this.log?.warn(`dropping pending entry ${rowKey} of vault ${vault}: it ${why}`);
    await this.deleteOne(vault, rowKey, etag);
  }

  private async deleteOne(vault: string, rowKey: string, etag: string | undefined): Promise<void> {
    this.stats.deletes++;
    try {
      await this.client.deleteEntity(vaultKey(vault), rowKey, etag ? { etag } : {});
    } catch (err) {
      const status = statusOf(err);
      if (status !== 412 && status !== 404) throw err; // re-added meanwhile (handled again), or already gone
    }
  }

  async remove(vault: string, entries: readonly PendingEntry[]): Promise<void> {
    const queue = [...entries];
    const worker = async (): Promise<void> => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        await this.deleteOne(vault, e.kind === 'scan' ? SCAN_ROW : objectRowKey(e.key), e.tag);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, queue.length) }, worker));
  }
}

/** Row keys cannot hold '/', '\\', '#', '?' or control characters: the object's key is percent-encoded. */
const objectRowKey = (key: string): string => `${OBJECT_PREFIX}${encodeURIComponent(key)}`;

function pick(row: LeaseEntity): LeaseEntity {
  return { holder: row.holder, leaseUntil: row.leaseUntil, checkAt: row.checkAt, pacer: row.pacer };
}

function toEntry(e: Record<string, unknown> & { rowKey?: string; etag: string }, vault: string): PendingEntry | undefined {
  const rowKey = e.rowKey ?? '';
  if (rowKey === SCAN_ROW) {
    const trigger = e['trigger'];
    if (trigger !== 'timer' && trigger !== 'eventgrid' && trigger !== 'manual') return undefined;
    return { kind: 'scan', key: 'scan', run: { runId: (typeof e['runId'] === 'string' && e['runId'] ? e['runId'] : 'scan').slice(0, 100), trigger }, tag: e.etag };
  }
  if (!rowKey.startsWith(OBJECT_PREFIX)) return undefined;
  // The stored item is validated like any work item: a row edited by hand cannot smuggle in anything else.
  const parsed = parseWorkItem(typeof e['item'] === 'string' ? e['item'] : '');
  if (!parsed.ok || parsed.item.kind !== 'object' || parsed.item.vault.toLowerCase() !== vault.toLowerCase()) return undefined;
  const key = pendingObjectKey(parsed.item);
  if (objectRowKey(key) !== rowKey) return undefined;
  return { kind: 'object', key, item: parsed.item, tag: e.etag };
}
