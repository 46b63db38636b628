/** Hostile values shared by the fuzz suites: unicode, lone surrogates, huge strings, prototype keys, injections. */
import fc from 'fast-check';

/** 10,000–200,000 characters (built by repetition: generating them character by character would be slow). */
export const hugeString = fc
  .tuple(fc.integer({ min: 10_000, max: 200_000 }), fc.constantFrom('a', '😀', '\uD800', '-', 'é', ' ', '\u0000x'))
  .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));

/** Text that breaks naive code: empty, whitespace, controls, lone surrogates, prototype names, OData/CSV/HTML injection. */
export const nastyString = fc.constantFrom(
  '',
  ' ',
  '\t\n',
  '\u0000',
  '\uD800',
  '\uDFFF',
  'a\uDC00b',
  '😀',
  'e\u0301',
  '\u202Ereversed',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  "' or PartitionKey ne '",
  '=HYPERLINK("x")',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  'NaN',
  '-1',
  '1e309',
);

export const shortString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  nastyString,
);

/** Any string, sometimes huge. */
export const hostileString = fc.oneof({ weight: 8, arbitrary: shortString }, { weight: 1, arbitrary: hugeString });

/** Any JSON-ish value of the wrong shape (small; huge ones only as strings). */
export const hostileValue = (strings: fc.Arbitrary<string> = shortString): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: strings },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(shortString, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(shortString, shortString, { maxKeys: 3 }) },
  );

/** An object with own `__proto__` and `constructor` keys, as JSON.parse makes them. */
export function withPrototypeKeys(obj: Record<string, unknown>, proto: unknown): Record<string, unknown> {
  const text = JSON.stringify(obj).replace(/^\{/, `{"__proto__":${JSON.stringify(proto) ?? 'null'},"constructor":${JSON.stringify(proto) ?? 'null'},`);
  return JSON.parse(text.replace(/,\}$/, '}')) as Record<string, unknown>;
}
