/**
 * The storage boundary's guard (src/adapters/storage/table-limits.ts) and the key escaping of consumer rows: what
 * Table storage refuses is refused by Rotor, naming the table and the field; keys are valid for any text.
 */
import { describe, expect, it } from 'vitest';
import { consumerRowKey, tableKey } from '../../src/adapters/storage/keys.js';
import { checkEntity, TABLE_LIMITS, TableLimitError } from '../../src/adapters/storage/table-limits.js';

const entity = (extra: Record<string, unknown>) => ({ partitionKey: 'p', rowKey: 'r', ...extra });

describe('Table limits at the storage boundary', () => {
  it('accepts a string of exactly 32,768 characters and refuses one more, naming table and field', () => {
    expect(() => checkEntity('RotorAudit', entity({ detail: 'x'.repeat(TABLE_LIMITS.maxStringChars) }))).not.toThrow();
    const refused = (() => {
      try {
        checkEntity('RotorAudit', entity({ detail: 'x'.repeat(TABLE_LIMITS.maxStringChars + 1) }));
      } catch (err) {
        return err;
      }
    })();
    expect(refused).toBeInstanceOf(TableLimitError);
    expect(refused).toMatchObject({ table: 'RotorAudit', field: 'detail' });
    expect((refused as Error).message).toMatch(/^RotorAudit: detail: is 32769 characters; Table storage allows at most 32768 \(64 KiB\)/);
  });

  it('counts UTF-16 code units, as the service does (a character outside the BMP counts twice)', () => {
    expect(() => checkEntity('RotorState', entity({ lastError: '🔑'.repeat(16_384) }))).not.toThrow();
    expect(() => checkEntity('RotorState', entity({ lastError: `${'🔑'.repeat(16_384)}x` }))).toThrow(/RotorState: lastError: is 32769 characters/);
  });

  it('refuses more than 255 properties (PartitionKey, RowKey and Timestamp included)', () => {
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
    expect(() => checkEntity('RotorConsumers', entity(props(252)))).not.toThrow();
    expect(() => checkEntity('RotorConsumers', entity(props(253)))).toThrow(/RotorConsumers: \(entity\): has 256 properties; Table storage allows at most 255/);
  });

  it('refuses an entity over 1 MiB counted as the service counts it', () => {
    const big = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${String(i).padStart(2, '0')}`, 'x'.repeat(32_000)]));
    // 16 fields × (8 + 2×3 + 4 + 64,000) bytes = 1,024,288 bytes (< 1 MiB); 17 fields are over.
    expect(checkEntity('RotorState', entity(big(16)))).toBeLessThanOrEqual(TABLE_LIMITS.maxEntityBytes);
    expect(() => checkEntity('RotorState', entity(big(17)))).toThrow(/RotorState: \(entity\): is \d+ bytes; Table storage allows at most 1048576 \(1 MiB\)/);
  });

  it('refuses keys Table storage refuses: over 1 KiB, or with / \\ # ? or control characters', () => {
    expect(() => checkEntity('RotorAudit', { partitionKey: 'a'.repeat(513), rowKey: 'r' })).toThrow(/RotorAudit: partitionKey: is 513 characters/);
    for (const bad of ['a/b', 'a\\b', 'a#b', 'a?b', 'a\u0001b', 'a\u007fb']) {
      expect(() => checkEntity('RotorConsumers', { partitionKey: 'p', rowKey: bad })).toThrow(/RotorConsumers: rowKey: contains a character/);
    }
  });

  it('ignores undefined properties and the SDK metadata', () => {
    expect(checkEntity('T', entity({ a: undefined, etag: 'W/"x"', 'odata.etag': 'y' }))).toBe(4 + 2 + 2);
  });
});

describe('consumer row keys', () => {
  it('escapes what Table keys forbid, reversibly and without collisions', () => {
    const ids = [
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/a/pools/p',
      'hpcpack://cluster-01/cn01',
      'a#b?c\\d',
      'a!2Fb',
      'a/b',
      '100%',
      'line\nbreak',
    ];
    const keys = ids.map(consumerRowKey);
    expect(new Set(keys).size).toBe(ids.length);
    for (const key of keys) expect(() => checkEntity('RotorConsumers', { partitionKey: 'p', rowKey: key })).not.toThrow();
    expect(consumerRowKey('hpcpack://cluster-01/cn01')).toBe('hpcpack:!2F!2Fcluster-01!2Fcn01');
    expect(consumerRowKey('a!2Fb')).toBe('a!212Fb');
    expect(tableKey('')).toBe('!');
  });

  it('shortens an id too long for a key to a prefix and its SHA-256, still distinct', () => {
    const a = tableKey(`${'/x'.repeat(400)}a`);
    const b = tableKey(`${'/x'.repeat(400)}b`);
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(TABLE_LIMITS.maxKeyChars);
    expect(a).toMatch(/~[0-9a-f]{64}$/);
    expect(() => checkEntity('RotorConsumers', { partitionKey: a, rowKey: b })).not.toThrow();
  });
});
