import { describe, expect, it } from 'vitest';
import { parseWorkItem } from '../../src/core/work.js';

describe('work items', () => {
  it('parses the three kinds', () => {
    expect(parseWorkItem('{"kind":"scanVault","vault":"kv1","runId":"r1","trigger":"timer"}')).toMatchObject({ ok: true });
    expect(
      parseWorkItem({ kind: 'object', vault: 'kv1', runId: 'r', trigger: 'eventgrid', objectType: 'key', objectName: 'k', hint: 'Microsoft.KeyVault.KeyNearExpiry' }),
    ).toMatchObject({ ok: true });
  });
  it('names the field of a bad item', () => {
    expect(parseWorkItem('not json')).toEqual({ ok: false, message: 'message body is not JSON' });
    expect(parseWorkItem({ kind: 'object', vault: 'kv1', runId: 'r', trigger: 'eventgrid', objectType: 'blob', objectName: 'k' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^objectType: /),
    });
    expect(parseWorkItem({ kind: 'explode' })).toMatchObject({ ok: false, message: expect.stringMatching(/^kind: /) });
  });
});

describe('work items where they are enqueued', () => {
  it('the same schema as the worker, and no item the queue would refuse', async () => {
    const { checkWorkItem, WorkItemError } = await import('../../src/core/work.js');
    const item = { kind: 'object', vault: 'kv1', runId: 'r', trigger: 'eventgrid', objectType: 'key', objectName: 'k' } as const;
    expect(checkWorkItem(item)).toEqual(item);
    expect(() => checkWorkItem({ ...item, eventId: 'e'.repeat(201) })).toThrow(WorkItemError);
    expect(() => checkWorkItem({ ...item, eventId: 'a\u0000b' })).toThrow(/control characters/);
    expect(() => checkWorkItem({ ...item, runId: 'a\uD800' })).toThrow(/lone surrogates/);
  });
});

describe('run ids', () => {
  it('differ for two runs in the same second, also when the ids they come from share a prefix (a counter)', async () => {
    const { newRunId } = await import('../../src/core/rotor.js');
    let n = 0;
    const counter = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const now = new Date('2026-12-04T22:30:00.100Z');
    const a = newRunId('manual', now, counter);
    const b = newRunId('manual', new Date(now.getTime() + 500), counter);
    expect(a).toMatch(/^manual-20261204T223000Z-[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
  });
});
