/**
 * Table storage keys for Rotor's tables, designed for the auditors' queries:
 * - audit rows: PartitionKey `<vault>|<yyyymmdd>` (one tamper-evident chain per vault per day, so workers on
 *   different vaults never contend on a chain head; a vault's history is a PartitionKey range scan), RowKey
 *   `<inverted time><inverted sequence>` so a partition reads newest first;
 * - state rows: PartitionKey `<vault>`, RowKey `<type>|<name>`.
 * Key Vault names are case-insensitive: keys use the lower-case name.
 */
import type { ObjectType } from '../../core/model.js';

/** Row key of a partition's chain head (sorts after every audit row key). */
export const HEAD_ROW_KEY = '~head';

const MAX_TIME = 9_999_999_999_999;
const MAX_SEQ = 9_999_999_999;

/** Characters Table storage forbids in keys (and '|', our separator) are replaced. */
export function vaultKey(vault: string): string {
  const clean = vault.trim().toLowerCase().replace(/[^a-z0-9-]/g, '_');
  return clean.length ? clean.slice(0, 63) : '_unknown';
}

export const dayOf = (d: Date): string => d.toISOString().slice(0, 10).replaceAll('-', '');

export const auditPartition = (vault: string, timestamp: Date): string => `${vaultKey(vault)}|${dayOf(timestamp)}`;

export function auditRowKey(timestamp: Date, seq: number): string {
  return `${String(MAX_TIME - timestamp.getTime()).padStart(13, '0')}${String(MAX_SEQ - seq).padStart(10, '0')}`;
}

/** The smallest row key of rows at or before `t` (for newest-first time ranges). */
export const rowKeyAtOrBefore = (t: Date): string => String(MAX_TIME - t.getTime()).padStart(13, '0');

export const stateRowKey = (type: ObjectType, name: string): string => `${type}|${name}`;
