/**
 * Time arithmetic of the Key Vault emulator: Unix seconds (Key Vault's wire unit), the seed fixture's relative times
 * ("+10d", "-355d", "+36h", "+90m"), ISO 8601 durations (key rotation policies: "P90D", "P2Y") and calendar months
 * (certificate validity_months). Everything is UTC and pure: the emulator's clock is passed in.
 */

export const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
export const fromUnixSeconds = (seconds: number): Date => new Date(seconds * 1000);

const RELATIVE = /^([+-])(\d+(?:\.\d+)?)([smhdw])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses a seed time: relative to `now` ("+10d", "-36h", "+90m", "+30s", "+2w") or an ISO 8601 date/time.
 * Throws an Error whose message quotes the value.
 */
export function parseSeedTime(value: string, now: Date): Date {
  const text = value.trim();
  const relative = RELATIVE.exec(text);
  if (relative) {
    const [, sign, amount, unit] = relative;
    const ms = Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    return new Date(now.getTime() + (sign === '-' ? -ms : ms));
  }
  if (ISO_DATE.test(text)) {
    const parsed = new Date(text);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  throw new Error(`"${value}" is neither a relative time (+10d, -36h, +90m, +30s, +2w) nor an ISO 8601 date`);
}

/** Adds calendar months in UTC; the day is clamped to the target month's last day (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(date: Date, months: number): Date {
  const result = new Date(date.getTime());
  const day = result.getUTCDate();
  result.setUTCDate(1);
  result.setUTCMonth(result.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
  result.setUTCDate(Math.min(day, lastDay));
  return result;
}

/** Whole months between two instants (rounded), used to describe an imported certificate's validity. */
export function monthsBetween(from: Date, to: Date): number {
  return Math.max(1, Math.round((to.getTime() - from.getTime()) / (30.436875 * 86_400_000)));
}

export interface IsoDuration {
  years: number;
  months: number;
  days: number;
  seconds: number;
}

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Parses an ISO 8601 duration such as P90D, P2Y, P1Y6M, PT36H or P2W; undefined when it is not one. */
export function parseIsoDuration(text: string): IsoDuration | undefined {
  const match = DURATION.exec(text.trim().toUpperCase());
  if (!match) return undefined;
  const n = (i: number): number => Number(match[i] ?? 0);
  return {
    years: n(1),
    months: n(2),
    days: n(3) * 7 + n(4),
    seconds: n(5) * 3600 + n(6) * 60 + n(7),
  };
}

export function addIsoDuration(date: Date, duration: IsoDuration): Date {
  const months = addMonths(date, duration.years * 12 + duration.months);
  return new Date(months.getTime() + duration.days * 86_400_000 + duration.seconds * 1000);
}
