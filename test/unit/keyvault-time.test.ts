import { describe, expect, it } from 'vitest';
import { addIsoDuration, addMonths, parseIsoDuration, parseSeedTime } from '../../src/local/keyvault/time.js';

const now = new Date('2026-01-31T12:00:00Z');

describe('parseSeedTime', () => {
  it.each([
    ['+10d', '2026-02-10T12:00:00.000Z'],
    ['-355d', '2025-02-10T12:00:00.000Z'],
    ['+36h', '2026-02-02T00:00:00.000Z'],
    ['+90m', '2026-01-31T13:30:00.000Z'],
    ['-30s', '2026-01-31T11:59:30.000Z'],
    ['+2w', '2026-02-14T12:00:00.000Z'],
    ['+1.5d', '2026-02-02T00:00:00.000Z'],
    ['2027-03-01T00:00:00Z', '2027-03-01T00:00:00.000Z'],
    ['2027-03-01', '2027-03-01T00:00:00.000Z'],
  ])('%s', (value, expected) => {
    expect(parseSeedTime(value, now).toISOString()).toBe(expected);
  });

  it.each(['10d', '+10x', 'soon', '', '+d', '2027-13-45'])('rejects %j with a message quoting it', (value) => {
    expect(() => parseSeedTime(value, now)).toThrow(`"${value}"`);
  });
});

describe('months and ISO 8601 durations', () => {
  it('adds calendar months, clamping to the last day of the month', () => {
    expect(addMonths(now, 1).toISOString()).toBe('2026-02-28T12:00:00.000Z');
    expect(addMonths(now, 13).toISOString()).toBe('2027-02-28T12:00:00.000Z');
    expect(addMonths(new Date('2024-01-31T00:00:00Z'), 1).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(addMonths(now, -12).toISOString()).toBe('2025-01-31T12:00:00.000Z');
  });

  it('parses and applies durations', () => {
    expect(parseIsoDuration('P90D')).toEqual({ years: 0, months: 0, days: 90, seconds: 0 });
    expect(parseIsoDuration('P1Y6M')).toEqual({ years: 1, months: 6, days: 0, seconds: 0 });
    expect(parseIsoDuration('P2W')).toEqual({ years: 0, months: 0, days: 14, seconds: 0 });
    expect(parseIsoDuration('PT36H')).toEqual({ years: 0, months: 0, days: 0, seconds: 36 * 3600 });
    expect(addIsoDuration(now, parseIsoDuration('P2Y')!).toISOString()).toBe('2028-01-31T12:00:00.000Z');
    expect(addIsoDuration(now, parseIsoDuration('P1MT1H')!).toISOString()).toBe('2026-02-28T13:00:00.000Z');
  });

  it.each(['P', 'PT', '90D', 'P1.5D', 'P-1D', 'PXD'])('rejects %j', (value) => {
    expect(parseIsoDuration(value)).toBeUndefined();
  });
});
