/**
 * An in-memory VaultWorkStore with the Table adapter's semantics (ETags on the lease row and the entries), for unit
 * tests of the vault work (src/core/vault-work.ts). Integration tests use the Table adapter against Azurite.
 */
import type { RunContext } from '../../src/core/audit.js';
import type { PacerState } from '../../src/core/pacing.js';
import {
  pendingObjectKey,
  VaultLeaseLost,
  type AcquireResult,
  type HeldLease,
  type ObjectWorkItem,
  type PendingEntry,
  type VaultWorkStore,
} from '../../src/core/vault-work.js';

interface Lease {
  holder: string;
  until: number;
  checkAt: number;
  pacer?: PacerState | undefined;
}

export class MemoryVaultWorkStore implements VaultWorkStore {
  private seq = 0;
  readonly leases = new Map<string, Lease>();
  readonly entries = new Map<string, Map<string, PendingEntry>>();
  readonly calls = { adds: 0, acquires: 0, renews: 0, releases: 0, pendings: 0, removes: 0 };

  private set(vault: string): Map<string, PendingEntry> {
    const id = vault.toLowerCase();
    let m = this.entries.get(id);
    if (!m) this.entries.set(id, (m = new Map()));
    return m;
  }

  async addObject(item: ObjectWorkItem): Promise<void> {
    this.calls.adds++;
    const key = pendingObjectKey(item);
    this.set(item.vault).set(`o|${key}`, { kind: 'object', key, item, tag: String(++this.seq) });
  }

  async addScan(vault: string, run: RunContext): Promise<void> {
    this.calls.adds++;
    this.set(vault).set('s|scan', { kind: 'scan', key: 'scan', run, tag: String(++this.seq) });
  }

  async acquire(vault: string, holder: string, now: Date, leaseMs: number, graceMs: number): Promise<AcquireResult> {
    this.calls.acquires++;
    const id = vault.toLowerCase();
    const lease = this.leases.get(id);
    if (!lease || !lease.holder || lease.until <= now.getTime()) {
      const until = now.getTime() + leaseMs;
      this.leases.set(id, { holder, until, checkAt: lease?.checkAt ?? 0, pacer: lease?.pacer });
      return { acquired: true, lease: { vault, holder, until: new Date(until), pacer: lease?.pacer } };
    }
    if (lease.checkAt >= lease.until) return { acquired: false, holder: lease.holder, until: new Date(lease.until) };
    lease.checkAt = lease.until + graceMs;
    return { acquired: false, holder: lease.holder, until: new Date(lease.until), checkAt: new Date(lease.checkAt) };
  }

  async renew(lease: HeldLease, now: Date, leaseMs: number, pacer: PacerState): Promise<HeldLease> {
    this.calls.renews++;
    const row = this.leases.get(lease.vault.toLowerCase());
    if (!row || row.holder !== lease.holder) throw new VaultLeaseLost(lease.vault);
    row.until = now.getTime() + leaseMs;
    row.pacer = pacer;
    return { ...lease, until: new Date(row.until) };
  }

  async release(lease: HeldLease, pacer: PacerState): Promise<void> {
    this.calls.releases++;
    const row = this.leases.get(lease.vault.toLowerCase());
    if (!row || row.holder !== lease.holder) return;
    row.holder = '';
    row.until = 0;
    row.pacer = pacer;
  }

  async scheduleCheck(vault: string, at: Date): Promise<boolean> {
    const row = this.leases.get(vault.toLowerCase());
    if (!row || row.checkAt >= at.getTime()) return false;
    row.checkAt = at.getTime();
    return true;
  }

  async pending(vault: string, limit: number): Promise<PendingEntry[]> {
    this.calls.pendings++;
    return [...this.set(vault).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([, e]) => e);
  }

  async remove(vault: string, entries: readonly PendingEntry[]): Promise<void> {
    this.calls.removes++;
    const m = this.set(vault);
    for (const e of entries) {
      const rowKey = e.kind === 'scan' ? 's|scan' : `o|${e.key}`;
      if (m.get(rowKey)?.tag === e.tag) m.delete(rowKey);
    }
  }

  pendingCount(vault: string): number {
    return this.set(vault).size;
  }
}
