/**
 * Parsers for the small duration languages Rotor accepts in configuration and tags. Each returns a result with a
 * message that can be shown to a user; none throws.
 */
import { MS_PER_DAY } from './model.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Renew-before as the `rotor-renew-before` tag and the config accept it: "14d", "75%", or both "14d,75%". */
export interface RenewBefore {
  /** Rotate when fewer than this many days are left. */
  readonly days?: number | undefined;
  /** Rotate when this share (0 < p < 100) of the lifetime has elapsed. */
  readonly percentOfLifetime?: number | undefined;
}

export function parseRenewBefore(text: string): Parsed<RenewBefore> {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0 || parts.length > 2) {
    return { ok: false, message: `expected "<days>d", "<percent>%" or both separated by a comma, got "${text}"` };
  }
  let days: number | undefined;
  let percent: number | undefined;
  for (const part of parts) {
    const d = /^(\d{1,4})d$/i.exec(part);
    const p = /^(\d{1,2}(?:\.\d+)?)%$/.exec(part);
    if (d && days === undefined) {
      days = Number(d[1]);
      if (days < 1) return { ok: false, message: `days must be at least 1, got "${part}"` };
    } else if (p && percent === undefined) {
      percent = Number(p[1]);
      if (percent <= 0 || percent >= 100) return { ok: false, message: `percent must be between 0 and 100, got "${part}"` };
    } else {
      return { ok: false, message: `expected "<days>d" or "<percent>%", got "${part}"` };
    }
  }
  return { ok: true, value: { days, percentOfLifetime: percent } };
}

/** "30d", "36h", "90m" → milliseconds. */
export function parseShortDuration(text: string): Parsed<number> {
  const m = /^(\d{1,6})([dhm])$/i.exec(text.trim());
  if (!m) return { ok: false, message: `expected a duration like "30d", "36h" or "90m", got "${text}"` };
  const n = Number(m[1]);
  const unit = (m[2] ?? 'd').toLowerCase();
  const ms = unit === 'd' ? n * MS_PER_DAY : unit === 'h' ? n * 3_600_000 : n * 60_000;
  return ms > 0 ? { ok: true, value: ms } : { ok: false, message: `duration must be positive, got "${text}"` };
}

/** ISO 8601 durations as Key Vault rotation policies use them: P90D, P1Y, P1Y6M, PT12H. Months are 30 days. */
export function parseIsoDuration(text: string): Parsed<number> {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) {
    return { ok: false, message: `expected an ISO 8601 duration like "P90D", got "${text}"` };
  }
  const [, y, mo, w, d, h, mi, s] = m.map((v) => (v === undefined ? 0 : Number(v)));
  const ms =
    ((y ?? 0) * 365 + (mo ?? 0) * 30 + (w ?? 0) * 7 + (d ?? 0)) * MS_PER_DAY +
    (h ?? 0) * 3_600_000 +
    (mi ?? 0) * 60_000 +
    (s ?? 0) * 1000;
  return ms > 0 ? { ok: true, value: ms } : { ok: false, message: `duration must be positive, got "${text}"` };
}

/** "7d", "36h", "2026-11-01", "2026-11-01T00:00:00Z" → a Date relative to `now` (for --since / --from). */
export function parseSince(text: string, now: Date): Parsed<Date> {
  const short = parseShortDuration(text);
  if (short.ok) return { ok: true, value: new Date(now.getTime() - short.value) };
  if (/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?$/.test(text.trim())) {
    const d = new Date(text.trim());
    if (!Number.isNaN(d.getTime())) return { ok: true, value: d };
  }
  return { ok: false, message: `expected "7d", "36h", "90m" or an ISO 8601 date/time, got "${text}"` };
}
