/**
 * Bounded audit fields (issue 13): every field has a maximum; longer values keep their beginning and end in
 * `…sha256:` and 16 hex digits of the full value's SHA-256, so rows stay distinct and searchable.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_CONTENT_FIELDS, AUDIT_FIELD_MAX, auditRecord, boundText, canonicalAuditContent, isShortened } from '../../src/core/audit.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('bounded audit fields', () => {
  it('every content field but the timestamp has a documented maximum', () => {
    expect(Object.keys(AUDIT_FIELD_MAX).sort()).toEqual(AUDIT_CONTENT_FIELDS.filter((f) => f !== 'timestamp').sort());
  });

  it('short values are kept as they are; long ones shortened to exactly the maximum with the hash of the full value', () => {
    expect(boundText('abc', 10)).toBe('abc');
    const long = 'x'.repeat(200);
    const shortened = boundText(long, 127);
    expect(shortened).toHaveLength(127);
    expect(shortened).toBe(`${'x'.repeat(127 - 24)}…sha256:${sha(long).slice(0, 16)}`);
    expect(isShortened(shortened)).toBe(true);
    expect(isShortened('plain')).toBe(false);
    // Two long values with the same beginning stay distinct.
    expect(boundText(`${long}a`, 127)).not.toBe(boundText(`${long}b`, 127));
  });

  it('never cuts a surrogate pair and replaces lone surrogates', () => {
    const emoji = '😀'.repeat(100);
    const b = boundText(emoji, 51);
    expect(b.length).toBeLessThanOrEqual(51);
    expect(b).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(boundText('a\uD800b', 10)).toBe('a\uFFFDb');
    expect(boundText('\uDC00', 10)).toBe('\uFFFD');
  });

  it('records built at the edge respect every bound, whatever the input', () => {
    const huge = 'n'.repeat(100_000);
    const inputs = Object.fromEntries(Object.keys(AUDIT_FIELD_MAX).filter((k) => !['trigger', 'action', 'outcome', 'objectType'].includes(k)).map((k) => [k, huge]));
    const r = auditRecord({ runId: huge, trigger: 'eventgrid' }, new Date(0), { ...inputs, vault: huge, action: 'EventRejected', outcome: 'Failed' });
    for (const [field, max] of Object.entries(AUDIT_FIELD_MAX)) {
      expect((r as unknown as Record<string, string>)[field]?.length, field).toBeLessThanOrEqual(max);
    }
    expect(r.objectName.endsWith(sha(huge).slice(0, 16))).toBe(true);
  });

  it('the canonical content of a record with an unreadable timestamp does not throw', () => {
    const r = { ...auditRecord({ runId: 'r', trigger: 'timer' }, new Date(0), { vault: 'kv', action: 'Detected', outcome: 'Info' }), timestamp: new Date(NaN) };
    expect(canonicalAuditContent(r)).toContain('Invalid Date');
  });
});
