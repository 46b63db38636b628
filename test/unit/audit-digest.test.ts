/**
 * The digest logic on its own (src/core/audit-digest.ts), with ports in memory: canonical JSON, what a digest
 * commits, when none is written, how concurrent writers serialise, and the checks of the digest chain and of the
 * coverage — including the edges where a false alarm would be easy (late commits, rows newer than the last digest).
 * The signer here "signs" with SHA-256 so the chain logic is tested apart from cryptography (which the integration
 * tests run through Key Vault's CryptographyClient).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditRecord } from '../../src/core/audit.js';
import { genesisHash, rowHash, type AuditRow, type ChainHead } from '../../src/core/audit-chain.js';
import {
  canonicalJson,
  checkDigestChain,
  DigestCoverage,
  digestName,
  parseStoredDigest,
  writeDigest,
  type AuditHeadSource,
  type DigestStore,
  type SignatureVerifier,
} from '../../src/core/audit-digest.js';

const T0 = Date.UTC(2026, 10, 19, 1, 0, 0);
const MIN = 60_000;
const KEY = 'https://kv.example/keys/digest/v1';

class MemoryStore implements DigestStore {
  readonly blobs = new Map<string, string>();
  /** Called before a create lands (lets a test race another writer in). */
  beforeCreate?: (name: string) => Promise<void>;
  list = async (vault: string) => [...this.blobs.keys()].filter((n) => n.startsWith(`${vault}/`)).sort();
  vaults = async () => [...new Set([...this.blobs.keys()].map((n) => n.split('/')[0] as string))].sort();
  read = async (name: string) => this.blobs.get(name);
  create = async (name: string, text: string) => {
    await this.beforeCreate?.(name);
    if (this.blobs.has(name)) return 'exists' as const;
    this.blobs.set(name, text);
    return 'created' as const;
  };
}

/** A table of chains in memory. */
class MemoryLog implements AuditHeadSource {
  readonly rows = new Map<string, AuditRow[]>();
  append(vault: string, at: number, n = 1): void {
    const pk = `${vault}|${new Date(at).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const list = this.rows.get(pk) ?? [];
    for (let i = 0; i < n; i++) {
      const prev = list.at(-1);
      const seq = list.length;
      const record = auditRecord({ runId: 'r', trigger: 'timer' }, new Date(at + i), { vault, action: 'Detected', outcome: 'Info', detail: `row ${seq}` });
      const prevHash = prev?.hash ?? genesisHash(pk);
      const rowKey = `rk-${String(seq).padStart(4, '0')}`;
      list.push({ partitionKey: pk, rowKey, record, chainSeq: seq, prevRowKey: prev?.rowKey ?? '', prevHash, hash: rowHash(pk, seq, prev?.rowKey ?? '', prevHash, record) });
    }
    this.rows.set(pk, list);
  }
  activeVaults = async () => [...new Set([...this.rows.keys()].map((pk) => pk.split('|')[0] as string))];
  partitions = async (vault: string, since?: Date) => {
    const day = since ? since.toISOString().slice(0, 10).replaceAll('-', '') : '';
    return [...this.rows.keys()].filter((pk) => pk.startsWith(`${vault}|`) && pk.slice(pk.indexOf('|') + 1) >= day).sort();
  };
  head = async (pk: string): Promise<ChainHead | undefined> => {
    const last = this.rows.get(pk)?.at(-1);
    return last && { seq: last.chainSeq, hash: last.hash, lastRowKey: last.rowKey };
  };
  rowsAfter = async (pk: string, seq: number) => (this.rows.get(pk) ?? []).filter((r) => r.chainSeq > seq).map((r) => ({ seq: r.chainSeq, rowKey: r.rowKey, hash: r.hash }));
}

const sha = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();
const signer = { key: async () => ({ id: KEY, alg: 'ES256' as const }), sign: async (_k: unknown, digest: Uint8Array) => digest };
const verifier: SignatureVerifier = {
  verify: async (keyId, _alg, data, signature) => (keyId !== KEY ? 'untrusted-key' : sha(data).equals(Buffer.from(signature)) ? 'valid' : 'invalid'),
};

function setup() {
  const store = new MemoryStore();
  const log = new MemoryLog();
  let now = T0;
  const deps = { store, signer, source: log, clock: { now: () => new Date(now) } };
  return { store, log, deps, at: (t: number) => void (now = t) };
}

const entries = async (store: MemoryStore, vault: string) => Promise.all((await store.list(vault)).map(async (name) => ({ name, text: await store.read(name) })));

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined, keeps arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: null }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":1}]},"b":1}');
  });
});

describe('writing digests', () => {
  it('commits every partition, the new heads and a hash prefix per new row; nothing new, no digest', async () => {
    const { store, log, deps, at } = setup();
    log.append('v', T0, 3);
    at(T0 + 5 * MIN);
    expect(await writeDigest('v', deps)).toEqual({ status: 'written', name: 'v/0000000000.json', heads: 1 });
    expect(await writeDigest('v', deps)).toEqual({ status: 'unchanged' });
    log.append('v', T0 + 6 * MIN, 2);
    at(T0 + 10 * MIN);
    await writeDigest('v', deps);
    const parsed = parseStoredDigest((await store.read(digestName('v', 1)))!);
    if (!parsed.ok) throw new Error(parsed.message);
    const d = parsed.value.digest;
    const rows = log.rows.get('v|20261119')!;
    expect(d).toMatchObject({ seq: 1, from: new Date(T0 + 5 * MIN).toISOString(), to: new Date(T0 + 10 * MIN).toISOString(), partitions: { 'v|20261119': 4 } });
    expect(d.previous?.hash).toBe(createHash('sha256').update((await store.read(digestName('v', 0)))!).digest('hex'));
    expect(d.heads).toEqual([{ partitionKey: 'v|20261119', fromSeq: 3, seq: 4, rowKey: 'rk-0004', hash: rows[4]!.hash, rows: [rows[3]!.hash.slice(0, 16), rows[4]!.hash.slice(0, 16)] }]);
  });

  it('a writer that loses the race for a name builds on the winner, never overwriting it', async () => {
    const { store, log, deps, at } = setup();
    log.append('v', T0, 2);
    at(T0 + MIN);
    let raced = false;
    let winner: string | undefined;
    store.beforeCreate = async () => {
      if (raced) return;
      raced = true;
      // Another writer (the timer, say) gets its digest in first.
      expect(await writeDigest('v', deps)).toMatchObject({ status: 'written', name: 'v/0000000000.json' });
      winner = store.blobs.get('v/0000000000.json');
    };
    // This writer finds the name taken, re-reads, and finds nothing left to commit.
    expect(await writeDigest('v', deps)).toEqual({ status: 'unchanged' });
    expect(store.blobs.get('v/0000000000.json')).toBe(winner);
    log.append('v', T0 + 2 * MIN, 1);
    expect(await writeDigest('v', deps)).toMatchObject({ status: 'written', name: 'v/0000000001.json' });
  });

  it('does not build on a latest digest that is not valid', async () => {
    const { store, log, deps } = setup();
    store.blobs.set('v/0000000000.json', '{"not":"a digest"}');
    log.append('v', T0, 1);
    await expect(writeDigest('v', deps)).rejects.toThrow(/v\/0000000000\.json is unreadable/);
  });
});

describe('checking the digest chain', () => {
  async function twoDigests() {
    const s = setup();
    s.log.append('v', T0, 2);
    s.at(T0 + MIN);
    await writeDigest('v', s.deps);
    s.log.append('v', T0 + 2 * MIN, 2);
    s.at(T0 + 3 * MIN);
    await writeDigest('v', s.deps);
    return s;
  }

  it('accepts an intact chain', async () => {
    const { store } = await twoDigests();
    const result = await checkDigestChain('v', await entries(store, 'v'), verifier);
    expect(result.findings).toEqual([]);
    expect(result.valid.map((d) => d.name)).toEqual(['v/0000000000.json', 'v/0000000001.json']);
  });

  it('names a missing first digest, a broken link, a gap in time and an untrusted key', async () => {
    const { store } = await twoDigests();
    const list = await entries(store, 'v');
    expect((await checkDigestChain('v', list.slice(1), verifier)).findings).toMatchObject([{ kind: 'digest-missing', digest: 'v/0000000000.json' }]);
    const resign = (text: string, change: (d: Record<string, unknown>) => void, key = KEY) => {
      const parsed = JSON.parse(text) as { digest: Record<string, unknown> };
      change(parsed.digest);
      parsed.digest['key'] = { id: key, alg: 'ES256' };
      return canonicalJson({ digest: parsed.digest, signature: sha(Buffer.from(canonicalJson(parsed.digest))).toString('base64url') });
    };
    const second = list[1]!.text!;
    const relinked = resign(second, (d) => void (d['previous'] = { seq: 0, hash: 'f'.repeat(64) }));
    expect((await checkDigestChain('v', [list[0]!, { name: list[1]!.name, text: relinked }], verifier)).findings).toMatchObject([{ kind: 'digest-chain' }]);
    const gap = resign(second, (d) => void (d['from'] = new Date(T0 + 2 * MIN).toISOString()));
    expect((await checkDigestChain('v', [list[0]!, { name: list[1]!.name, text: gap }], verifier)).findings).toMatchObject([{ kind: 'digest-gap' }]);
    const foreign = resign(second, () => undefined, 'https://evil.example/keys/digest/v1');
    expect((await checkDigestChain('v', [list[0]!, { name: list[1]!.name, text: foreign }], verifier)).findings).toMatchObject([{ kind: 'digest-key' }]);
  });
});

describe('coverage', () => {
  it('a row committed late (within 15 minutes before the digest) is not yet covered, not a finding; older ones are', async () => {
    const { store, log, deps, at } = setup();
    log.append('v', T0, 2);
    at(T0 + 30 * MIN);
    await writeDigest('v', deps);
    const chain = await checkDigestChain('v', await entries(store, 'v'), verifier);
    // Committed after the digest, stamped 10 minutes before it: a legitimate late flush.
    log.append('v', T0 + 20 * MIN, 1);
    const pk = 'v|20261119';
    let coverage = new DigestCoverage([chain], { now: new Date(T0 + 31 * MIN) });
    expect(coverage.checkPartition(pk, log.rows.get(pk)!, await log.head(pk))).toEqual([]);
    expect(coverage.notYetCovered).toMatchObject([{ partitionKey: pk, fromSeq: 2, toSeq: 2, rows: 1 }]);
    // Stamped 20 minutes before the digest's end: it should have been in it.
    log.append('v', T0 + 10 * MIN, 1);
    coverage = new DigestCoverage([chain], { now: new Date(T0 + 31 * MIN) });
    expect(coverage.checkPartition(pk, log.rows.get(pk)!, await log.head(pk))).toMatchObject([{ kind: 'unsigned', seq: 3, digest: 'v/0000000000.json' }]);
  });

  it('rows of a vault without digests are findings only once older than the maximum digest age', async () => {
    const { log } = setup();
    log.append('w', T0, 2);
    const pk = 'w|20261119';
    expect(new DigestCoverage([], { now: new Date(T0 + 60 * MIN) }).checkPartition(pk, log.rows.get(pk)!, await log.head(pk))).toEqual([]);
    expect(new DigestCoverage([], { now: new Date(T0 + 3 * 60 * MIN) }).checkPartition(pk, log.rows.get(pk)!, await log.head(pk))).toMatchObject([{ kind: 'not-covered', seq: 0 }]);
    expect(new DigestCoverage([], { now: new Date(T0 + 3 * 60 * MIN), maxDigestAgeMs: 4 * 3_600_000 }).checkPartition(pk, log.rows.get(pk)!, await log.head(pk))).toEqual([]);
  });
});
