/**
 * Signed digests of the audit log, anchored outside the table (after AWS CloudTrail's log file integrity validation).
 *
 * Per vault, Rotor writes a chain of digests: digest n names digest n-1 by the SHA-256 of its stored bytes, covers the
 * time from digest n-1's `to` up to its own `to`, lists every partition (vault-day) of the vault with the chain
 * position it is committed up to, and, for each partition written since digest n-1, commits the new head (seq, row
 * key, hash) and a short hash of every new row. The body is canonical JSON (sorted keys, no whitespace), signed with
 * a non-exportable Key Vault key (RS256 or ES256 over SHA-256 of the body; the versioned key id is in the body), and
 * stored as an immutable blob `<vault>/<seq>.json` that is only ever created, never overwritten or deleted.
 *
 * Because every row's hash covers its predecessor's, committing a head hash commits the whole chain up to it; the
 * per-row short hashes only serve to name the first row a consistent rewrite changed.
 *
 * Verification (checkDigestChain, DigestCoverage) checks the digests (signature by a trusted key, seq without gaps,
 * previous-digest links, contiguous time) and then every partition against what the digests commit: truncation,
 * deleted rows, heads or days, rewritten rows, inserted rows, and rows that no digest covers although a digest
 * covered their time (appended behind Rotor's back). Rows newer than the last digest are "not yet covered".
 */
import { createHash, createPublicKey, verify as verifySignature, type JsonWebKey as NodeJwk } from 'node:crypto';
import { z } from 'zod';
import { rowHash, sortFindings, type AuditRow, type ChainFinding, type ChainHead, type FindingKind, type LogVerifier, type VerifyReport, type VerifyScope } from './audit-chain.js';
import type { Clock, Logger } from './ports.js';
import { mapLimit } from './concurrency.js';

export const DIGEST_FORMAT = 'rotor-audit-digest/1';
export type SignatureAlgorithm = 'RS256' | 'ES256';
export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['RS256', 'ES256'];
/** Length of the per-row hash prefixes in a digest (64 bits: attribution only; the head hash carries the proof). */
const ROW_PREFIX = 16;

export interface DigestHead {
  readonly partitionKey: string;
  /** First chain position this digest newly covers (the previous commitment + 1). */
  readonly fromSeq: number;
  /** The head: the partition's newest row when the digest was made. */
  readonly seq: number;
  readonly rowKey: string;
  readonly hash: string;
  /** Hash prefixes of rows fromSeq..seq in chain order ('' for a position that held no row). */
  readonly rows: readonly string[];
}

export interface DigestBody {
  readonly format: typeof DIGEST_FORMAT;
  /** Vault key (lower case, as in partition keys). */
  readonly vault: string;
  readonly seq: number;
  /** Start of the time covered: the previous digest's `to` (null for a vault's first digest: from the beginning). */
  readonly from: string | null;
  /** End of the time covered: when the heads were read. */
  readonly to: string;
  readonly previous: { readonly seq: number; readonly hash: string } | null;
  /** Every partition of the vault and the chain position it is committed up to (-1: registered, no rows yet). */
  readonly partitions: Readonly<Record<string, number>>;
  /** The partitions written since the previous digest. */
  readonly heads: readonly DigestHead[];
  /** The signing key (versioned Key Vault key id) and algorithm. */
  readonly key: { readonly id: string; readonly alg: SignatureAlgorithm };
}

export interface StoredDigest {
  readonly digest: DigestBody;
  /** base64url signature over SHA-256 of canonicalJson(digest). */
  readonly signature: string;
}

/** Canonical JSON: object keys sorted, no whitespace (for strings, integers, booleans, null, arrays, objects). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
/** What is signed: SHA-256 of the canonical body. */
export const digestToSign = (body: DigestBody): Uint8Array => createHash('sha256').update(canonicalJson(body), 'utf8').digest();
export const rowPrefix = (hash: string): string => hash.slice(0, ROW_PREFIX);

export const digestName = (vault: string, seq: number): string => `${vault}/${String(seq).padStart(10, '0')}.json`;
const DIGEST_NAME = /^([a-z0-9_-]{1,63})\/(\d{10})\.json$/;
export function parseDigestName(name: string): { vault: string; seq: number } | undefined {
  const m = DIGEST_NAME.exec(name);
  return m ? { vault: m[1] as string, seq: Number(m[2]) } : undefined;
}

const iso = z.string().datetime({ offset: false });
const digestSchema = z
  .object({
    digest: z
      .object({
        format: z.literal(DIGEST_FORMAT),
        vault: z.string().regex(/^[a-z0-9_-]{1,63}$/),
        seq: z.number().int().min(0),
        from: iso.nullable(),
        to: iso,
        previous: z.object({ seq: z.number().int().min(0), hash: z.string().regex(/^[0-9a-f]{64}$/) }).strict().nullable(),
        partitions: z.record(z.string().max(80), z.number().int().min(-1)),
        heads: z.array(
          z
            .object({
              partitionKey: z.string().max(80),
              fromSeq: z.number().int().min(0),
              seq: z.number().int().min(0),
              rowKey: z.string().max(64),
              hash: z.string().max(64),
              rows: z.array(z.string().max(ROW_PREFIX)),
            })
            .strict(),
        ),
        key: z.object({ id: z.string().url().max(400), alg: z.enum(['RS256', 'ES256']) }).strict(),
      })
      .strict(),
    signature: z.string().regex(/^[A-Za-z0-9_-]+$/).max(2000),
  })
  .strict();

export function parseStoredDigest(text: string): { ok: true; value: StoredDigest } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = digestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, value: parsed.data };
}

export const serializeDigest = (stored: StoredDigest): string => canonicalJson(stored);

// ---------------------------------------------------------------------------------------------------------------
// Ports

/** The immutable digest container. Names are `<vault>/<seq>.json`. */
export interface DigestStore {
  /** Digest names of one vault, ascending. */
  list(vault: string): Promise<string[]>;
  /** Every vault that has digests. */
  vaults(): Promise<string[]>;
  read(name: string): Promise<string | undefined>;
  /** Creates the blob only if no blob of that name exists: 'exists' when one does (it is never overwritten). */
  create(name: string, text: string): Promise<'created' | 'exists'>;
}

/** Signs with Rotor's digest key (Key Vault: the private key never leaves the vault). */
export interface DigestSigner {
  /** The versioned key id and algorithm the next signature will use. */
  key(): Promise<{ id: string; alg: SignatureAlgorithm }>;
  sign(key: { id: string; alg: SignatureAlgorithm }, digest: Uint8Array): Promise<Uint8Array>;
}

export type SignatureVerdict = 'valid' | 'invalid' | 'untrusted-key';

export interface SignatureVerifier {
  /**
   * Whether `signature` is an RS256/ES256 signature of `data` (the canonical body: Key Vault signed its SHA-256)
   * by the trusted key `keyId`.
   */
  verify(keyId: string, alg: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<SignatureVerdict>;
}

/** What the digest writer reads of the audit table. */
export interface AuditHeadSource {
  /** Vault keys with registry rows of days on or after `since`. */
  activeVaults(since: Date): Promise<string[]>;
  /** The registered partitions of a vault (of days on or after `since`, when given). */
  partitions(vault: string, since?: Date): Promise<string[]>;
  head(partitionKey: string): Promise<ChainHead | undefined>;
  /** Rows of a partition with chain position > `afterSeq`: their seq, row key and hash. */
  rowsAfter(partitionKey: string, afterSeq: number): Promise<{ seq: number; rowKey: string; hash: string }[]>;
}

/** A public key as a JWK (RSA: n, e; EC: crv, x, y), base64url members. */
export type PublicJwk = { kty: 'RSA'; n: string; e: string } | { kty: 'EC'; crv: string; x: string; y: string };

/**
 * Verifies signatures with public keys, locally (node:crypto): what an auditor needs is read access to the public
 * key, or a copy of it (an export). `publicKey` answers undefined for a key id that is not trusted.
 */
export class PublicKeyVerifier implements SignatureVerifier {
  constructor(private readonly publicKey: (keyId: string) => Promise<PublicJwk | undefined>) {}

  async verify(keyId: string, alg: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<SignatureVerdict> {
    const jwk = await this.publicKey(keyId);
    if (!jwk) return 'untrusted-key';
    if ((alg === 'RS256') !== (jwk.kty === 'RSA') || (jwk.kty === 'EC' && jwk.crv !== 'P-256')) return 'invalid';
    try {
      const key = createPublicKey({ key: jwk as NodeJwk, format: 'jwk' });
      // RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: ECDSA P-256 with SHA-256, signature r‖s (as JWS and Key Vault).
      return verifySignature('sha256', data, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature) ? 'valid' : 'invalid';
    } catch {
      return 'invalid';
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

export interface DigestWriterDeps {
  readonly store: DigestStore;
  readonly signer: DigestSigner;
  readonly source: AuditHeadSource;
  readonly clock: Clock;
  readonly log?: Logger | undefined;
}

export type DigestWriteResult = { status: 'written'; name: string; heads: number } | { status: 'unchanged' };

const dayOfIso = (isoTime: string): string => isoTime.slice(0, 10).replaceAll('-', '');
const CREATE_ATTEMPTS = 5;

/**
 * Writes the vault's next digest if any partition moved since the previous one. Concurrent writers serialise on the
 * blob name (create-if-absent): the loser re-reads and builds on the winner's digest.
 */
export async function writeDigest(vault: string, deps: DigestWriterDeps): Promise<DigestWriteResult> {
  for (let attempt = 0; ; attempt++) {
    const names = await deps.store.list(vault);
    const lastName = names.at(-1);
    let previous: { stored: StoredDigest; text: string; seq: number } | undefined;
    if (lastName) {
      const text = await deps.store.read(lastName);
      const parsed = text === undefined ? undefined : parseStoredDigest(text);
      const seq = parseDigestName(lastName)?.seq;
      if (!parsed?.ok || seq === undefined) {
        // Never build on a digest that is not Rotor's: verification reports it; a person has to look.
        throw new Error(`the latest audit digest ${lastName} is unreadable (${parsed && !parsed.ok ? parsed.message : 'missing'}); not writing another on top of it`);
      }
      previous = { stored: parsed.value, text: text as string, seq };
    }
    const to = deps.clock.now().toISOString();
    const committed = previous?.stored.digest.partitions ?? {};
    // Registry rows of days before the previous digest's (minus a day for late commits) are in its partition list.
    const registered = await deps.source.partitions(vault, previous ? new Date(Date.parse(previous.stored.digest.to) - 86_400_000) : undefined);
    const all = new Set([...Object.keys(committed), ...registered]);
    // Partitions of days before the previous digest's day cannot move (a day's rows carry that day's time), except
    // by a late commit around midnight: the day before is read too.
    const since = previous ? dayOfIso(new Date(Date.parse(previous.stored.digest.to) - 86_400_000).toISOString()) : '00000000';
    const partitions: Record<string, number> = {};
    const heads: DigestHead[] = [];
    for (const pk of [...all].sort()) {
      const before = committed[pk] ?? -1;
      partitions[pk] = before;
      const day = pk.slice(pk.lastIndexOf('|') + 1);
      if (pk in committed && day < since) continue;
      const head = await deps.source.head(pk);
      if (!head || head.seq <= before) {
        if (head && head.seq < before) deps.log?.error(`audit partition ${pk} ends at row ${head.seq} but digest ${lastName ?? ''} commits it up to row ${before}: rows were removed`, { partitionKey: pk });
        continue;
      }
      const rows = await deps.source.rowsAfter(pk, before);
      const bySeq = new Map(rows.map((r) => [r.seq, r]));
      const prefixes: string[] = [];
      for (let s = before + 1; s <= head.seq; s++) prefixes.push(rowPrefix(bySeq.get(s)?.hash ?? ''));
      heads.push({ partitionKey: pk, fromSeq: before + 1, seq: head.seq, rowKey: head.lastRowKey, hash: head.hash, rows: prefixes });
      partitions[pk] = head.seq;
    }
    if (previous && !heads.length && Object.keys(partitions).length === Object.keys(committed).length) return { status: 'unchanged' };
    if (!previous && !heads.length) return { status: 'unchanged' };
    const key = await deps.signer.key();
    const seq = previous ? previous.seq + 1 : 0;
    const body: DigestBody = {
      format: DIGEST_FORMAT,
      vault,
      seq,
      from: previous ? previous.stored.digest.to : null,
      to: previous && to < previous.stored.digest.to ? previous.stored.digest.to : to,
      previous: previous ? { seq: previous.seq, hash: sha256Hex(previous.text) } : null,
      partitions,
      heads,
      key,
    };
    const signature = Buffer.from(await deps.signer.sign(key, digestToSign(body))).toString('base64url');
    const name = digestName(vault, seq);
    if ((await deps.store.create(name, serializeDigest({ digest: body, signature }))) === 'created') {
      return { status: 'written', name, heads: heads.length };
    }
    if (attempt + 1 >= CREATE_ATTEMPTS) throw new Error(`could not write audit digest ${name}: another writer keeps winning`);
    deps.log?.info(`audit digest ${name} was written by another writer; building on it`);
  }
}

/** The timer: a digest for every vault with recent registry rows (and every vault that already has digests). */
export async function writeDigests(deps: DigestWriterDeps, lookbackDays = 7): Promise<{ written: string[]; failed: string[] }> {
  const since = new Date(deps.clock.now().getTime() - lookbackDays * 86_400_000);
  const vaults = [...new Set(await deps.source.activeVaults(since))].sort();
  const written: string[] = [];
  const failed: string[] = [];
  for (const vault of vaults) {
    try {
      const r = await writeDigest(vault, deps);
      if (r.status === 'written') written.push(r.name);
    } catch (err) {
      failed.push(vault);
      deps.log?.error(`audit digest for ${vault} failed: ${err instanceof Error ? err.message : String(err)}`, { vault });
    }
  }
  return { written, failed };
}

// ---------------------------------------------------------------------------------------------------------------
// Verifying the digest chain

export interface VerifiedDigest {
  readonly name: string;
  readonly body: DigestBody;
}

export interface DigestChainResult {
  readonly vault: string;
  readonly findings: ChainFinding[];
  /** Authentic digests (signed by a trusted key), in seq order: the commitments partitions are checked against. */
  readonly valid: VerifiedDigest[];
  /** How many digest blobs there are. */
  readonly count: number;
}

const digestFinding = (vault: string, kind: FindingKind, digest: string, message: string): ChainFinding => ({
  partitionKey: vault,
  rowKey: '',
  seq: null,
  kind,
  message,
  digest,
});

/**
 * Checks one vault's digests: readable, signed by a trusted key, named after their own vault and seq, seq without
 * gaps from 0, each linking to its predecessor's bytes and continuing its time range.
 */
export async function checkDigestChain(vault: string, entries: readonly { name: string; text: string | undefined }[], verifier: SignatureVerifier): Promise<DigestChainResult> {
  const findings: ChainFinding[] = [];
  const valid: VerifiedDigest[] = [];
  const seen = new Map<string, string>();
  let prev: { seq: number; text: string; body: DigestBody; name: string } | undefined;
  let expectedSeq = 0;
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const { name, text } of sorted) {
    const named = parseDigestName(name);
    if (!named || named.vault !== vault) {
      findings.push(digestFinding(vault, 'digest-unreadable', name, `${name} is not a digest name of vault ${vault}`));
      continue;
    }
    if (named.seq > expectedSeq) {
      const range = named.seq - 1 === expectedSeq ? `digest ${expectedSeq} is` : `digests ${expectedSeq}–${named.seq - 1} are`;
      findings.push(digestFinding(vault, 'digest-missing', digestName(vault, expectedSeq), `${range} missing: the chain of digests has a gap before ${name}`));
    }
    expectedSeq = named.seq + 1;
    if (text === undefined) {
      findings.push(digestFinding(vault, 'digest-missing', name, `${name} is listed but cannot be read`));
      continue;
    }
    const parsed = parseStoredDigest(text);
    if (!parsed.ok) {
      findings.push(digestFinding(vault, 'digest-unreadable', name, `${name} is not a valid digest (${parsed.message})`));
      prev = undefined;
      continue;
    }
    const { digest: body, signature } = parsed.value;
    const hash = sha256Hex(text);
    const verdict = await verifier.verify(body.key.id, body.key.alg, Buffer.from(canonicalJson(body), 'utf8'), Buffer.from(signature, 'base64url'));
    if (verdict === 'untrusted-key') {
      findings.push(digestFinding(vault, 'digest-key', name, `${name} is signed with ${body.key.id}, which is not the trusted digest key`));
      continue;
    }
    if (verdict === 'invalid') {
      findings.push(digestFinding(vault, 'digest-signature', name, `${name} does not match its signature: it was modified after Rotor signed it`));
      continue;
    }
    const copyOf = seen.get(hash);
    seen.set(hash, name);
    if (copyOf || body.vault !== vault || body.seq !== named.seq) {
      findings.push(
        digestFinding(vault, 'digest-replayed', name, `${name} holds digest ${body.seq} of vault ${body.vault}${copyOf ? ` (a copy of ${copyOf})` : ''}: an old digest was replayed under another name`),
      );
      valid.push({ name, body });
      continue;
    }
    if (prev && prev.seq === body.seq - 1) {
      if (!body.previous || body.previous.seq !== prev.seq || body.previous.hash !== sha256Hex(prev.text)) {
        findings.push(digestFinding(vault, 'digest-chain', name, `${name} does not link to ${prev.name}: its previous-digest hash is ${body.previous?.hash.slice(0, 12) ?? '(none)'}…`));
      } else if (body.from !== prev.body.to) {
        findings.push(digestFinding(vault, 'digest-gap', name, `${name} covers from ${body.from ?? 'the beginning'} but ${prev.name} ended at ${prev.body.to}: a gap in time`));
      }
    } else if (body.seq === 0 && (body.previous !== null || body.from !== null)) {
      findings.push(digestFinding(vault, 'digest-chain', name, `${name} is the vault's first digest but names a predecessor`));
    }
    valid.push({ name, body });
    prev = { seq: body.seq, text, body, name };
  }
  return { vault, findings, valid, count: sorted.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Checking partitions against the digests

export interface NotYetCovered {
  readonly partitionKey: string;
  /** First and last chain position not covered by a digest. */
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly rows: number;
  /** Timestamp of the oldest uncovered row. */
  readonly oldest: string;
}

export interface CoverageOptions {
  readonly now: Date;
  /** Uncovered rows older than this are a finding: a digest should exist (default 2 h: hourly digests plus slack). */
  readonly maxDigestAgeMs?: number;
  /** Rows committed this late after their timestamp are still legitimate (default 15 min; a run's flush). */
  readonly lateCommitMs?: number;
}

interface Commitment {
  prefix: string;
  digest: string;
  head?: { rowKey: string; hash: string };
}

interface VaultCommitments {
  /** Partition → chain position committed (max over digests) and the digest that committed it. */
  readonly partitions: Map<string, { seq: number; digest: string }>;
  /** Partition → seq → what a digest committed for it. */
  readonly rows: Map<string, Map<number, Commitment>>;
  readonly last: VerifiedDigest | undefined;
}

const partitionVault = (pk: string): string => pk.slice(0, pk.lastIndexOf('|'));
/** A row's time for messages (a row whose stored time is unreadable still gets named, not a crash). */
const timeOf = (d: Date): string => (Number.isNaN(d.getTime()) ? '(unreadable time)' : d.toISOString());

/**
 * Checks partitions against the commitments of the authentic digests. `checkPartition` is called once per partition
 * present in the table (rows and/or head); `finish` reports partitions the digests commit but the table lacks.
 */
export class DigestCoverage {
  private readonly vaults = new Map<string, VaultCommitments>();
  private readonly uncovered: NotYetCovered[] = [];
  private readonly maxAge: number;
  private readonly late: number;

  constructor(
    chains: readonly DigestChainResult[],
    private readonly options: CoverageOptions,
  ) {
    this.maxAge = options.maxDigestAgeMs ?? 2 * 3_600_000;
    this.late = options.lateCommitMs ?? 15 * 60_000;
    for (const chain of chains) {
      const partitions = new Map<string, { seq: number; digest: string }>();
      const rows = new Map<string, Map<number, Commitment>>();
      let last: VerifiedDigest | undefined;
      for (const d of chain.valid) {
        if (d.body.vault !== chain.vault) continue;
        if (!last || d.body.to > last.body.to) last = d;
        for (const [pk, seq] of Object.entries(d.body.partitions)) {
          if (partitionVault(pk) !== chain.vault) continue;
          const cur = partitions.get(pk);
          if (!cur || seq > cur.seq) partitions.set(pk, { seq, digest: d.name });
        }
        for (const h of d.body.heads) {
          if (partitionVault(h.partitionKey) !== chain.vault) continue;
          let m = rows.get(h.partitionKey);
          if (!m) rows.set(h.partitionKey, (m = new Map<number, Commitment>()));
          h.rows.forEach((prefix, i) => m.set(h.fromSeq + i, { prefix, digest: d.name }));
          const at = m.get(h.seq);
          m.set(h.seq, { prefix: at?.prefix ?? rowPrefix(h.hash), digest: d.name, head: { rowKey: h.rowKey, hash: h.hash } });
          const cur = partitions.get(h.partitionKey);
          if (!cur || h.seq > cur.seq) partitions.set(h.partitionKey, { seq: h.seq, digest: d.name });
        }
      }
      this.vaults.set(chain.vault, { partitions, rows, last });
    }
  }

  /** Whether digests exist for the partition's vault. */
  covers(pk: string): boolean {
    return this.vaults.has(partitionVault(pk));
  }

  get notYetCovered(): readonly NotYetCovered[] {
    return this.uncovered;
  }

  checkPartition(pk: string, rows: readonly AuditRow[], head: ChainHead | undefined): ChainFinding[] {
    const vault = this.vaults.get(partitionVault(pk));
    const committed = vault?.partitions.get(pk);
    const expected = vault?.rows.get(pk) ?? new Map<number, Commitment>();
    const findings: ChainFinding[] = [];
    const bySeq = new Map<number, AuditRow[]>();
    for (const r of rows) {
      const list = bySeq.get(r.chainSeq);
      if (list) list.push(r);
      else bySeq.set(r.chainSeq, [r]);
    }
    const intact = (r: AuditRow): boolean => rowHash(r.partitionKey, r.chainSeq, r.prevRowKey, r.prevHash, r.record) === r.hash;
    const committedSeq = committed?.seq ?? -1;
    // 1. Every committed row must still be there, unchanged: the first contradiction names the first affected row.
    for (let s = 0; s <= committedSeq; s++) {
      const want = expected.get(s);
      const candidates = bySeq.get(s) ?? [];
      if (!candidates.length) {
        const digest = want?.digest ?? committed?.digest ?? '';
        const truncated = !candidates.length && rows.every((r) => r.chainSeq < s);
        const headKey = expected.get(committedSeq)?.head?.rowKey;
        findings.push({
          partitionKey: pk,
          rowKey: s === committedSeq && headKey ? headKey : '',
          seq: s,
          kind: truncated ? 'truncated' : 'deleted',
          message: truncated
            ? `rows ${s}–${committedSeq} are missing: ${digest} commits this partition up to row ${committedSeq}${headKey ? ` (row key ${headKey})` : ''}, but the stored chain ends at row ${head?.seq ?? s - 1}`
            : `row ${s} is missing: ${digest} commits it`,
          digest,
        });
        break;
      }
      if (!want) continue; // no surviving digest lists this position (its digest is missing: reported above)
      const match = candidates.find((r) => rowPrefix(r.hash) === want.prefix && intact(r) && (!want.head || (r.hash === want.head.hash && r.rowKey === want.head.rowKey)));
      if (!match) {
        const r = candidates[0] as AuditRow;
        findings.push({
          partitionKey: pk,
          rowKey: r.rowKey,
          seq: s,
          kind: 'rewritten',
          message: `row ${s} is not the row ${want.digest} commits (hash ${want.prefix}…; the stored row has ${rowPrefix(r.hash)}…): it was rewritten after the digest`,
          digest: want.digest,
        });
        break;
      }
      const extra = candidates.find((r) => r !== match);
      if (extra) {
        findings.push({
          partitionKey: pk,
          rowKey: extra.rowKey,
          seq: s,
          kind: 'inserted',
          message: `row ${extra.rowKey} claims position ${s}, which ${want.digest} commits to another row`,
          digest: want.digest,
        });
        break;
      }
    }
    // 2. Rows no digest covers: legitimate when newer than the last digest, a finding when a digest covered their time.
    const beyond = rows.filter((r) => r.chainSeq > committedSeq).sort((a, b) => a.chainSeq - b.chainSeq);
    if (beyond.length) {
      const last = vault?.last;
      const lastTo = last ? Date.parse(last.body.to) : undefined;
      const backdated = lastTo === undefined ? undefined : beyond.find((r) => r.record.timestamp.getTime() < lastTo - this.late);
      const overdue = beyond.find((r) => this.options.now.getTime() - r.record.timestamp.getTime() > this.maxAge);
      if (backdated && last) {
        findings.push({
          partitionKey: pk,
          rowKey: backdated.rowKey,
          seq: backdated.chainSeq >= 0 ? backdated.chainSeq : null,
          kind: 'unsigned',
          message: `row ${backdated.chainSeq} (${timeOf(backdated.record.timestamp)}) is not covered by any digest, although ${last.name} covers the time up to ${last.body.to}: it was appended without a digest`,
          digest: last.name,
        });
      } else if (overdue) {
        findings.push({
          partitionKey: pk,
          rowKey: overdue.rowKey,
          seq: overdue.chainSeq >= 0 ? overdue.chainSeq : null,
          kind: 'not-covered',
          message: `row ${overdue.chainSeq} (${timeOf(overdue.record.timestamp)}) is older than ${Math.round(this.maxAge / 60_000)} minutes and no digest covers it${last ? ` (the last digest, ${last.name}, ends at ${last.body.to})` : ' (the vault has no digest)'}: a digest is missing`,
          digest: last?.name ?? '',
        });
      } else {
        const oldest = beyond.reduce((a, b) => (b.record.timestamp < a.record.timestamp ? b : a));
        this.uncovered.push({
          partitionKey: pk,
          fromSeq: committedSeq + 1,
          toSeq: (beyond.at(-1) as AuditRow).chainSeq,
          rows: beyond.length,
          oldest: timeOf(oldest.record.timestamp),
        });
      }
    }
    return findings;
  }

  /** Partitions the digests commit (in scope) that the table no longer has: deleted whole, registry row and all. */
  finish(present: ReadonlySet<string>, inScope: (pk: string) => boolean): ChainFinding[] {
    const findings: ChainFinding[] = [];
    for (const [, v] of this.vaults) {
      for (const [pk, c] of v.partitions) {
        if (present.has(pk) || !inScope(pk)) continue;
        if (c.seq < 0) continue; // registered without rows when the digest was made; the registry check reports it
        findings.push({
          partitionKey: pk,
          rowKey: '',
          seq: null,
          kind: 'partition-deleted',
          message: `the partition has no rows and no head, but ${c.digest} commits ${c.seq + 1} rows of it: the whole day was deleted`,
          digest: c.digest,
        });
      }
    }
    return findings;
  }
}

/**
 * Merges the digest findings into the chain findings: where both name the same partition and position, the chain
 * finding is kept and learns which digest it contradicts.
 */
export function mergeFindings(chain: readonly ChainFinding[], digest: readonly ChainFinding[]): ChainFinding[] {
  const out = [...chain];
  for (const f of digest) {
    const i = out.findIndex((c) => c.partitionKey === f.partitionKey && c.seq === f.seq && (c.seq !== null || c.kind === f.kind));
    if (i >= 0) {
      const c = out[i] as ChainFinding;
      if (!c.digest) out[i] = { ...c, digest: f.digest };
    } else out.push(f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Verification, end to end

/** The digests of the vaults in scope, checked, and the coverage the partitions are then checked against. */
export interface DigestEvidence {
  readonly chains: readonly DigestChainResult[];
  readonly coverage: DigestCoverage;
}

/** Digest blobs read in parallel. */
const PARALLEL_READS = 8;


/** Reads and checks the digests of one vault (vault key) or of every vault that has digests. */
export async function loadDigestEvidence(
  store: DigestStore,
  verifier: SignatureVerifier,
  options: CoverageOptions & { vault?: string | undefined },
): Promise<DigestEvidence> {
  const vaults = options.vault !== undefined ? [options.vault] : await store.vaults();
  const chains: DigestChainResult[] = [];
  for (const vault of vaults) {
    const names = await store.list(vault);
    const entries = await mapLimit(names, PARALLEL_READS, async (name) => ({ name, text: await store.read(name) }));
    if (entries.length) chains.push(await checkDigestChain(vault, entries, verifier));
  }
  return { chains, coverage: new DigestCoverage(chains, options) };
}

/** The verification report: chain, registry and digest findings in order, and what the digests covered. */
export function digestReport(
  scope: { vault: string | null; from: string | null; to: string | null },
  verifier: LogVerifier,
  registered: ReadonlyMap<string, string>,
  inScope: (pk: string) => boolean,
  evidence: DigestEvidence | undefined,
): VerifyReport {
  const { chain, digest, rows } = verifier.result(registered);
  let findings: ChainFinding[] = chain;
  if (evidence) {
    const chainFindings = evidence.chains.flatMap((c) => c.findings);
    findings = [...mergeFindings(chain, [...digest, ...evidence.coverage.finish(verifier.partitions, inScope)]), ...chainFindings];
  }
  const all = sortFindings(findings);
  const last = evidence?.chains.flatMap((c) => c.valid.map((d) => d.body.to)).sort().at(-1);
  return {
    ok: all.length === 0,
    scope,
    partitions: verifier.partitions.size,
    rows,
    findings: all,
    digests: evidence
      ? {
          vaults: evidence.chains.length,
          digests: evidence.chains.reduce((n, c) => n + c.count, 0),
          lastDigestAt: last ?? null,
          notYetCovered: evidence.coverage.notYetCovered,
        }
      : null,
  };
}

/** Verifies the audit log: the chains, and — when a digest store is configured — the signed digests. */
export async function verifyAuditLog(
  reader: { verify(scope: VerifyScope, evidence?: DigestEvidence): Promise<VerifyReport> },
  scope: VerifyScope,
  digests: { store: DigestStore; verifier: SignatureVerifier; options: CoverageOptions } | undefined,
  vaultKeyOf: (vault: string) => string,
): Promise<VerifyReport> {
  if (!digests) return reader.verify(scope);
  const evidence = await loadDigestEvidence(digests.store, digests.verifier, {
    ...digests.options,
    vault: scope.vault === undefined ? undefined : vaultKeyOf(scope.vault),
  });
  return reader.verify(scope, evidence);
}
