/**
 * Benchmark vaults: seed fixtures of any size with a fixed PRNG seed, a chosen share of due objects and a mix of
 * certificates, keys and secrets. Counts per type are multiples of 25 where possible so that the list-page bound
 * (one request per 25 objects) is exact.
 */
import { mulberry32 } from '../../src/core/generators.js';
import type { SeedCertificate, SeedKey, SeedSecret, SeedVault } from '../../src/local/keyvault/types.js';

export interface VaultShape {
  certificates: number;
  keys: number;
  secrets: number;
}

/** Splits `total` into three near-equal parts, each a multiple of 25 except for the remainder on the first. */
export function mixedShape(total: number): VaultShape {
  const page = 25;
  const pages = Math.floor(total / page);
  const keys = Math.floor(pages / 3) * page;
  const secrets = keys;
  return { certificates: total - keys - secrets, keys, secrets };
}

export interface FixtureOptions {
  shape: VaultShape;
  /** Share of objects (0..1) inside the renew-before window. */
  dueShare: number;
  seed: number;
  /** Name prefix, so several vaults hold distinguishable objects. */
  prefix?: string;
  /** Tags of due secrets (e.g. a secret kind so that auto mode can rotate them). */
  dueSecretTags?: Record<string, string>;
}

interface Times {
  notBefore: string;
  expires: string;
}

/** Picks exactly round(total × share) indexes, deterministically. */
function dueIndexes(total: number, share: number, random: () => number): Set<number> {
  const wanted = Math.round(total * share);
  const picked = new Set<number>();
  while (picked.size < wanted) picked.add(Math.floor(random() * total));
  return picked;
}

export function vaultFixture(options: FixtureOptions): { vault: SeedVault; due: number } {
  const random = mulberry32(options.seed);
  const { certificates, keys, secrets } = options.shape;
  const total = certificates + keys + secrets;
  const due = dueIndexes(total, options.dueShare, random);
  const prefix = options.prefix ?? 'obj';
  // Due: 10 days left of a year (NearExpiry). Not due: between 5 % and 40 % of a one-to-two-year lifetime used.
  const times = (index: number): Times => {
    if (due.has(index)) return { notBefore: '-355d', expires: '+10d' };
    const lifetime = 365 + Math.floor(random() * 365);
    const used = Math.floor(lifetime * (0.05 + random() * 0.35));
    return { notBefore: `-${used}d`, expires: `+${lifetime - used}d` };
  };
  const vault: Required<SeedVault> = { certificates: [], keys: [], secrets: [] };
  let index = 0;
  for (let i = 0; i < certificates; i++, index++) {
    const item: SeedCertificate = { name: `${prefix}-cert-${i}`, ...times(index) };
    vault.certificates.push(item);
  }
  for (let i = 0; i < keys; i++, index++) {
    const item: SeedKey = { name: `${prefix}-key-${i}`, kty: 'RSA', keySize: 2048, ...times(index) };
    vault.keys.push(item);
  }
  for (let i = 0; i < secrets; i++, index++) {
    const isDue = due.has(index);
    const item: SeedSecret = {
      name: `${prefix}-secret-${i}`,
      ...times(index),
      ...(isDue && options.dueSecretTags ? { tags: options.dueSecretTags } : {}),
    };
    vault.secrets.push(item);
  }
  return { vault, due: due.size };
}

/** A vault of `count` due RSA-2048 keys (the rotation wave). */
export function dueKeys(count: number, prefix = 'wave'): SeedVault {
  return { keys: Array.from({ length: count }, (_, i) => ({ name: `${prefix}-key-${i}`, kty: 'RSA' as const, keySize: 2048, notBefore: '-355d', expires: '+10d' })) };
}

/**
 * Items each list returns. As in Key Vault, a certificate's key and secret (managed, `managed: true`) appear in the
 * key and secret lists too; Rotor skips them, but no list filter can leave them out, so they cost list pages.
 */
export function listedItems(shape: VaultShape): { certificate: number; key: number; secret: number } {
  return { certificate: shape.certificates, key: shape.keys + shape.certificates, secret: shape.secrets + shape.certificates };
}

const pagesOf = (items: number): number => Math.ceil(items / 25);

/** Lower bound of list requests: one per started page of 25 listed items, per collection. */
export function listPagesBound(shape: VaultShape): number {
  const listed = listedItems(shape);
  return pagesOf(listed.certificate) + pagesOf(listed.key) + pagesOf(listed.secret);
}

/** Sequential list pages when the three collections are listed concurrently: the longest collection. */
export function sequentialPages(shape: VaultShape): number {
  const listed = listedItems(shape);
  return Math.max(pagesOf(listed.certificate), pagesOf(listed.key), pagesOf(listed.secret));
}
