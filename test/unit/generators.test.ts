import { describe, expect, it } from 'vitest';
import { secretKindSchema } from '../../src/core/config.js';
import { generatePassword, generateSecretValue, seededRandom } from '../../src/core/generators.js';

const password = (o: Record<string, unknown>) => {
  const kind = secretKindSchema.parse({ generator: 'password', ...o });
  if (kind.generator !== 'password') throw new Error('kind');
  return kind;
};

describe('secret generators', () => {
  it('makes passwords of the configured length with at least minOfEach of each class', () => {
    const kind = password({ length: 20, minOfEach: 2, symbols: '!#' });
    for (let seed = 1; seed <= 50; seed++) {
      const value = generatePassword(kind, seededRandom(seed));
      expect(value).toHaveLength(20);
      expect((value.match(/[a-z]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect((value.match(/[A-Z]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect((value.match(/[0-9]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect((value.match(/[!#]/g) ?? []).length).toBeGreaterThanOrEqual(2);
      expect(value).toMatch(/^[a-zA-Z0-9!#]+$/);
    }
  });

  it('respects disabled classes and is deterministic for a seed', () => {
    const kind = password({ length: 16, upper: false, symbols: '' });
    const a = generatePassword(kind, seededRandom(7));
    expect(a).toMatch(/^[a-z0-9]{16}$/);
    expect(generatePassword(kind, seededRandom(7))).toBe(a);
    expect(generatePassword(kind, seededRandom(8))).not.toBe(a);
  });

  it('makes random values in the configured encoding and nothing for external kinds', () => {
    const random = secretKindSchema.parse({ generator: 'random', bytes: 32, encoding: 'hex' });
    expect(generateSecretValue(random, seededRandom(1))).toMatch(/^[0-9a-f]{64}$/);
    const external = secretKindSchema.parse({ generator: 'external', expectedRotationDays: 30 });
    expect(generateSecretValue(external, seededRandom(1))).toBeUndefined();
  });

  it('rejects impossible password rules: the schema names the field, the generator refuses them too', () => {
    expect(() => password({ length: 8, minOfEach: 3 })).toThrow(/must be at least 12/);
    const impossible = { ...password({ length: 12, minOfEach: 3 }), length: 8 };
    expect(() => generatePassword(impossible, seededRandom(1))).toThrow(/shorter than 3 of each/);
  });
});
