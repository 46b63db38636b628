import { describe, expect, it } from 'vitest';
import { parseIsoDuration, parseRenewBefore, parseShortDuration, parseSince } from '../../src/core/duration.js';

describe('renew-before', () => {
  it('accepts days, percent and both', () => {
    expect(parseRenewBefore('14d')).toEqual({ ok: true, value: { days: 14, percentOfLifetime: undefined } });
    expect(parseRenewBefore('75%')).toEqual({ ok: true, value: { days: undefined, percentOfLifetime: 75 } });
    expect(parseRenewBefore(' 30d , 80% ')).toEqual({ ok: true, value: { days: 30, percentOfLifetime: 80 } });
  });
  it.each(['', '14', '0d', '100%', '0%', '14d,15d', 'soon', '14d,75%,1d', '-3d'])('rejects %j with a message', (text) => {
    const r = parseRenewBefore(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.length).toBeGreaterThan(10);
  });
});

describe('durations', () => {
  it('parses short durations', () => {
    expect(parseShortDuration('30d')).toEqual({ ok: true, value: 30 * 86_400_000 });
    expect(parseShortDuration('36h')).toEqual({ ok: true, value: 36 * 3_600_000 });
    expect(parseShortDuration('90m')).toEqual({ ok: true, value: 90 * 60_000 });
    expect(parseShortDuration('0d').ok).toBe(false);
    expect(parseShortDuration('3w').ok).toBe(false);
  });
  it('parses ISO 8601 durations', () => {
    expect(parseIsoDuration('P90D')).toEqual({ ok: true, value: 90 * 86_400_000 });
    expect(parseIsoDuration('P1Y')).toEqual({ ok: true, value: 365 * 86_400_000 });
    expect(parseIsoDuration('PT12H')).toEqual({ ok: true, value: 12 * 3_600_000 });
    expect(parseIsoDuration('P').ok).toBe(false);
    expect(parseIsoDuration('P1DT').ok).toBe(false);
    expect(parseIsoDuration('90 days').ok).toBe(false);
  });
  it('parses --since shorthands and dates against an injected clock', () => {
    const now = new Date('2026-11-24T00:00:00Z');
    expect(parseSince('7d', now)).toEqual({ ok: true, value: new Date('2026-11-17T00:00:00Z') });
    expect(parseSince('2026-11-01', now)).toEqual({ ok: true, value: new Date('2026-11-01T00:00:00Z') });
    expect(parseSince('yesterday', now).ok).toBe(false);
  });
});
