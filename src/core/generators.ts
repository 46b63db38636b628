/**
 * Secret generators: make the value of a new secret version for a configured secret kind. The value is returned to
 * the caller that writes it to the vault and is never logged, audited or stored anywhere else.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { SecretKind } from './config.js';
import type { Random } from './ports.js';

/** Cryptographically secure randomness for production. */
export const cryptoRandom: Random = {
  int: (maxExclusive) => randomInt(maxExclusive),
  bytes: (length) => new Uint8Array(randomBytes(length)),
};

/** mulberry32: a tiny, well-distributed, seedable 32-bit PRNG; returns a function yielding floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded, deterministic Random for tests and benchmarks. Not for production secrets. */
export function seededRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
    bytes: (length) => Uint8Array.from({ length }, () => Math.floor(next() * 256)),
  };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

type PasswordKind = Extract<SecretKind, { generator: 'password' }>;
type RandomKind = Extract<SecretKind, { generator: 'random' }>;

export function generatePassword(kind: PasswordKind, random: Random): string {
  const classes = [kind.lower ? LOWER : '', kind.upper ? UPPER : '', kind.digits ? DIGITS : '', kind.symbols].filter(
    (c) => c.length > 0,
  );
  const required = classes.length * kind.minOfEach;
  if (required > kind.length) {
    throw new Error(`length ${kind.length} is shorter than ${kind.minOfEach} of each of ${classes.length} character classes`);
  }
  const all = classes.join('');
  const chars: string[] = [];
  for (const cls of classes) for (let i = 0; i < kind.minOfEach; i++) chars.push(cls[random.int(cls.length)] ?? '');
  while (chars.length < kind.length) chars.push(all[random.int(all.length)] ?? '');
  // Fisher–Yates, so the guaranteed characters are not at predictable positions.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [chars[i], chars[j]] = [chars[j] ?? '', chars[i] ?? ''];
  }
  return chars.join('');
}

export function generateRandomValue(kind: RandomKind, random: Random): string {
  return Buffer.from(random.bytes(kind.bytes)).toString(kind.encoding);
}

/** The value for a new version of a secret of this kind; undefined for externally rotated kinds. */
export function generateSecretValue(kind: SecretKind, random: Random): string | undefined {
  switch (kind.generator) {
    case 'password':
      return generatePassword(kind, random);
    case 'random':
      return generateRandomValue(kind, random);
    case 'external':
      return undefined;
  }
}
