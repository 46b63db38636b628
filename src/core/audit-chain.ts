/**
 * Tamper evidence of the audit log, independent of where rows are stored.
 *
 * Rows are kept in chains — one per partition (vault and day). Row `seq` of a chain carries
 *   hash = sha256(partition \n seq \n prevRowKey \n prevHash \n canonical content)
 * where prevHash/prevRowKey are the hash and row key of row `seq - 1` (the partition's genesis hash and '' for row
 * 0). Each chain has a head (seq, hash and row key of its newest row) written in the same transaction as the rows,
 * and a registry lists every chain, so that deleting a whole day is visible too.
 *
 * Verification walks each chain backwards from its head: the head names the newest row, every row names its
 * predecessor by hash and row key. That walk attributes every break to the right row — an edited row (its hash no
 * longer matches its content, or it no longer matches what its successor links to), a deleted row (the successor
 * links to a row key that holds nothing), a reordered row (the expected row sits under another row key), and an
 * inserted or forged row (a row no later row and no head links to, even when its own hash is self-consistent).
 * Chain order is `seq`, not row-key (time) order: concurrent writers to one partition may commit out of time order.
 *
 * Threat model: this detects edits, deletions, insertions and reorderings made without rewriting every later row
 * and the head. The hashes are not keyed, so someone with write access to the table who recomputes the whole tail
 * of a chain and its head is not detected; anchoring heads outside the table (see docs/audit-api.md) closes that.
 */
import { createHash } from 'node:crypto';
import { canonicalAuditContent, type AuditRecord } from './audit.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export const genesisHash = (partitionKey: string): string => sha256(`rotor-audit-genesis|${partitionKey}`);

/** The hash a row must carry: over its partition, chain position, predecessor (key and hash) and canonical content. */
export function rowHash(partitionKey: string, seq: number, prevRowKey: string, prevHash: string, record: AuditRecord): string {
  return sha256(`${partitionKey}\n${seq}\n${prevRowKey}\n${prevHash}\n${canonicalAuditContent(record)}`);
}

/** A stored audit row as read back: the record and its chain fields. */
export interface AuditRow {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly record: AuditRecord;
  /** Position in the partition's chain (-1 when the stored value is not a number). */
  readonly chainSeq: number;
  readonly prevRowKey: string;
  readonly prevHash: string;
  readonly hash: string;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly lastRowKey: string;
}

/** Where a row of a given content and position must be stored (the storage adapter's key layout). */
export interface ChainLayout {
  partition(record: AuditRecord): string;
  rowKey(record: AuditRecord, seq: number): string;
}

export type FindingKind =
  /** The row's content or chain fields changed after it was written (or a forged row replaced it). */
  | 'edited'
  /** A row of the chain is missing. */
  | 'deleted'
  /** A row that is not part of the chain: no later row and no head links to it. */
  | 'inserted'
  /** The row expected at this chain position is stored under another row key. */
  | 'reordered'
  /** The row is stored in a partition it does not belong to. */
  | 'moved'
  /** The partition has rows but its head row is gone. */
  | 'head-missing'
  /** A registered partition has neither rows nor a head: the whole day is gone. */
  | 'partition-deleted'
  /** A partition the registry does not list. */
  | 'unregistered'
  /** A stored row that cannot be read (a missing field, a field of the wrong type, a timestamp that is no time). */
  | 'unreadable'
  // Findings against the signed digests (src/core/audit-digest.ts): `digest` names the digest contradicted.
  /** The newest rows a digest commits are gone (the head was moved back): names the first missing row. */
  | 'truncated'
  /** A row differs from the row a digest commits at that position (a consistent rewrite of the chain's tail). */
  | 'rewritten'
  /** A row no digest covers although a digest covered its time: appended behind Rotor's back. */
  | 'unsigned'
  /** A row older than the allowed digest age that no digest covers: a digest is missing (or was deleted). */
  | 'not-covered'
  /** A digest of the chain is missing (a gap in the digests' sequence). */
  | 'digest-missing'
  /** A digest does not match its signature (modified after signing). */
  | 'digest-signature'
  /** A digest signed by a key that is not the trusted digest key. */
  | 'digest-key'
  /** A digest that does not link to its predecessor. */
  | 'digest-chain'
  /** A digest whose time range does not continue its predecessor's. */
  | 'digest-gap'
  /** A digest stored under another digest's name (a replay). */
  | 'digest-replayed'
  /** A digest blob that is not a valid digest. */
  | 'digest-unreadable';

export interface ChainFinding {
  readonly partitionKey: string;
  /** The row concerned: where the row is (edited, inserted) or should be (deleted, reordered); '' if unknown. */
  readonly rowKey: string;
  /** Chain position concerned; null for partition-level findings. */
  readonly seq: number | null;
  readonly kind: FindingKind;
  readonly message: string;
  /** The signed digest the finding contradicts (its blob name, `<vault>/<seq>.json`), when there is one. */
  readonly digest?: string | undefined;
  /** `unreadable` findings: the (first) field that cannot be read. */
  readonly field?: string | undefined;
}

interface Expected {
  rowKey: string;
  hash: string;
  seq: number;
  /** Who links to it (for messages). */
  from: string;
}

const short = (hash: string): string => (hash ? `${hash.slice(0, 12)}…` : '(none)');

/**
 * Verifies one partition's chain. Returns its findings in chain order (partition-level findings first, then by
 * seq): the first finding names the first row that is wrong.
 */
export function verifyChain(partitionKey: string, rows: readonly AuditRow[], head: ChainHead | undefined, layout: ChainLayout): ChainFinding[] {
  const findings: ChainFinding[] = [];
  const add = (kind: FindingKind, rowKey: string, seq: number | null, message: string): void => {
    findings.push({ partitionKey, rowKey, seq, kind, message });
  };
  const byKey = new Map(rows.map((r) => [r.rowKey, r]));
  const byHash = new Map<string, AuditRow[]>();
  for (const r of rows) {
    const list = byHash.get(r.hash);
    if (list) list.push(r);
    else byHash.set(r.hash, [r]);
  }
  const visited = new Set<AuditRow>();
  const recomputed = (r: AuditRow): string => rowHash(r.partitionKey, r.chainSeq, r.prevRowKey, r.prevHash, r.record);
  const unvisitedBelow = (seq: number): AuditRow | undefined =>
    rows.filter((r) => !visited.has(r) && r.chainSeq >= 0 && r.chainSeq < seq).sort((a, b) => b.chainSeq - a.chainSeq)[0];

  let expected: Expected | undefined;
  if (head) {
    expected = { rowKey: head.lastRowKey, hash: head.hash, seq: head.seq, from: 'the chain head' };
  } else if (rows.length) {
    add('head-missing', '~head', null, 'the chain head row is missing: the newest rows of this partition may have been deleted with it');
    const newest = [...rows].sort((a, b) => b.chainSeq - a.chainSeq)[0] as AuditRow;
    expected = { rowKey: newest.rowKey, hash: newest.hash, seq: newest.chainSeq, from: 'the newest remaining row' };
  }

  let guard = rows.length + 2;
  while (expected && expected.seq >= 0 && guard-- > 0) {
    const exp: Expected = expected;
    const atKey = exp.rowKey ? byKey.get(exp.rowKey) : undefined;
    const usable = atKey && !visited.has(atKey) ? atKey : undefined;
    const elsewhere = (byHash.get(exp.hash) ?? []).find((r) => !visited.has(r) && r !== usable);
    let row: AuditRow;
    if (usable && usable.hash === exp.hash) {
      row = usable;
      if (layout.partition(row.record) !== partitionKey) {
        add('moved', row.rowKey, exp.seq, `row ${exp.seq} belongs in partition ${layout.partition(row.record)}, not here`);
      } else if (recomputed(row) !== row.hash) {
        add('edited', row.rowKey, exp.seq, `row ${exp.seq} was edited: its stored hash no longer matches its content`);
      } else if (row.chainSeq !== exp.seq || layout.rowKey(row.record, row.chainSeq) !== row.rowKey) {
        add('edited', row.rowKey, exp.seq, `row ${exp.seq} does not match its chain position (claims seq ${row.chainSeq})`);
      }
    } else if (elsewhere) {
      row = elsewhere;
      const holds = usable ? `; row key ${exp.rowKey} holds the row of seq ${usable.chainSeq} instead` : '';
      add('reordered', exp.rowKey || row.rowKey, exp.seq, `row ${exp.seq} is out of place: it is stored under row key ${row.rowKey}${holds}`);
      if (recomputed(row) !== row.hash) add('edited', row.rowKey, exp.seq, `row ${exp.seq} was also edited: its hash no longer matches its content`);
    } else if (usable) {
      row = usable;
      const why =
        recomputed(row) === row.hash
          ? 'its content was changed and its hash recomputed, or a forged row took its place'
          : 'its content and hash were changed';
      add('edited', row.rowKey, exp.seq, `row ${exp.seq} was edited: ${exp.from} links to hash ${short(exp.hash)} but the row has ${short(row.hash)} (${why})`);
    } else {
      const next = unvisitedBelow(exp.seq);
      const firstMissing = next ? next.chainSeq + 1 : 0;
      const range = firstMissing === exp.seq ? `row ${exp.seq}` : `rows ${firstMissing}–${exp.seq}`;
      const key = exp.rowKey ? ` (row key ${exp.rowKey})` : '';
      add(
        'deleted',
        firstMissing === exp.seq ? exp.rowKey : '',
        firstMissing,
        `${range} ${firstMissing === exp.seq ? 'was' : 'were'} deleted: ${exp.from} links to row ${exp.seq}${key}, which is missing`,
      );
      if (!next) {
        expected = undefined;
        break;
      }
      // Carry on from the next row that is still there, trusting its own hash.
      expected = { rowKey: next.rowKey, hash: next.hash, seq: next.chainSeq, from: 'the next remaining row' };
      continue;
    }
    visited.add(row);
    expected = { rowKey: row.prevRowKey, hash: row.prevHash, seq: exp.seq - 1, from: `row ${exp.seq}` };
  }
  if (expected && expected.seq === -1 && (expected.hash !== genesisHash(partitionKey) || expected.rowKey !== '')) {
    const first = rows.find((r) => visited.has(r) && r.chainSeq === 0);
    add('edited', first?.rowKey ?? '', 0, "row 0 was edited: it does not link to the partition's genesis");
  }
  for (const r of rows) {
    if (visited.has(r)) continue;
    const seq = Number.isInteger(r.chainSeq) && r.chainSeq >= 0 ? r.chainSeq : null;
    add('inserted', r.rowKey, seq, `row ${r.rowKey} (claims seq ${r.chainSeq}) is not part of the chain: no later row and no head links to it`);
  }
  return sortFindings(findings);
}

const findingOrder = (f: ChainFinding): number => (f.seq === null ? -1 : f.seq);

export function sortFindings(findings: readonly ChainFinding[]): ChainFinding[] {
  return [...findings].sort(
    (a, b) =>
      (a.partitionKey < b.partitionKey ? -1 : a.partitionKey > b.partitionKey ? 1 : 0) ||
      findingOrder(a) - findingOrder(b) ||
      (a.rowKey < b.rowKey ? -1 : a.rowKey > b.rowKey ? 1 : 0),
  );
}

/** Compares the partitions found with the registry: a registered partition with nothing left was deleted whole. */
export function checkRegistry(registered: ReadonlyMap<string, string>, present: ReadonlySet<string>): ChainFinding[] {
  const findings: ChainFinding[] = [];
  for (const [pk, since] of registered) {
    if (!present.has(pk)) {
      findings.push({
        partitionKey: pk,
        rowKey: '',
        seq: null,
        kind: 'partition-deleted',
        message: `the partition (registered for rows from ${since}) has no rows and no head: the whole day was deleted, or a writer stopped between registering it and writing its first rows`,
      });
    }
  }
  for (const pk of present) {
    if (!registered.has(pk)) {
      findings.push({ partitionKey: pk, rowKey: '', seq: null, kind: 'unregistered', message: 'the partition is not in the registry (its registry row was deleted)' });
    }
  }
  return findings;
}

export interface VerifyScope {
  readonly vault?: string | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly scope: { vault: string | null; from: string | null; to: string | null };
  readonly partitions: number;
  readonly rows: number;
  /** Every finding, by partition and chain order: the first of each partition names the first row that is wrong. */
  readonly findings: readonly ChainFinding[];
  /**
   * The signed digests checked (null when no digest store is configured: then only the chains are checked). Rows
   * newer than a vault's last digest are listed in `notYetCovered`; they are not findings.
   */
  readonly digests?: DigestSummary | null;
}

export interface DigestSummary {
  /** Vaults with digests, digest blobs read, and the newest digest's end time. */
  readonly vaults: number;
  readonly digests: number;
  readonly lastDigestAt: string | null;
  readonly notYetCovered: readonly { partitionKey: string; fromSeq: number; toSeq: number; rows: number; oldest: string }[];
}

/**
 * The partition-by-partition part of verification, whatever the rows are read from (Table storage, an export):
 * feed it each partition once, then the registry; `report` gives the findings in order.
 */
export class LogVerifier {
  private readonly findings: ChainFinding[] = [];
  private readonly digestFindings: ChainFinding[] = [];
  private readonly present = new Set<string>();
  private rowCount = 0;

  constructor(
    private readonly layout: ChainLayout,
    private readonly coverage?: { checkPartition(pk: string, rows: readonly AuditRow[], head: ChainHead | undefined): ChainFinding[] },
  ) {}

  partition(partitionKey: string, rows: readonly AuditRow[], head: ChainHead | undefined): void {
    this.present.add(partitionKey);
    this.rowCount += rows.length;
    this.findings.push(...verifyChain(partitionKey, rows, head, this.layout));
    if (this.coverage) this.digestFindings.push(...this.coverage.checkPartition(partitionKey, rows, head));
  }

  /** A finding made while reading (an unreadable row or head). */
  note(finding: ChainFinding): void {
    this.findings.push(finding);
  }

  get partitions(): ReadonlySet<string> {
    return this.present;
  }

  /** Chain and registry findings, and (separately) the findings against digests. */
  result(registered: ReadonlyMap<string, string>): { chain: ChainFinding[]; digest: ChainFinding[]; rows: number } {
    return { chain: [...checkRegistry(registered, this.present), ...this.findings], digest: this.digestFindings, rows: this.rowCount };
  }
}
