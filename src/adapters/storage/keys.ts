/**
 * Table storage keys for Rotor's tables, designed for the auditors' queries:
 * - audit rows: PartitionKey `<vault>|<yyyymmdd>` (one tamper-evident chain per vault per day, so workers on
 *   different vaults never contend on a chain head; a vault's history is a PartitionKey range scan), RowKey
 *   `<inverted time><inverted sequence>` so a partition reads newest first;
 * - the partition registry: PartitionKey `~partitions`, RowKey `<inverted yyyymmdd>|<vault>`, one row per audit
 *   partition, written before the partition's first rows: it lets a query find the (vault, day) partitions of a
 *   time range newest first with one request, and lets verification notice a day that was deleted whole;
 * - state rows: PartitionKey `<vault>`, RowKey `<type>|<name>`;
 * - consumer rows (RotorConsumers): PartitionKey `<rotation id>`, RowKey the consumer's stable id escaped for
 *   Table keys (`tableKey`), so one rotation's consumers are one partition: written in batch transactions, read
 *   with one query.
 * Key Vault names are case-insensitive: keys use the lower-case name.
 */
import { createHash } from 'node:crypto';
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

/** Row keys of rows with a timestamp in [from, to] lie in [rowKeyRange.lo, rowKeyRange.hi]. */
export function rowKeyRange(from: Date, to: Date): { lo: string; hi: string } {
  return { lo: auditRowKey(to, MAX_SEQ), hi: auditRowKey(from, 0) };
}

/** Audit row keys as this layout writes them (23 digits). */
export const AUDIT_ROW_KEY = /^\d{23}$/;
/** Audit partition keys as this layout writes them. */
export const AUDIT_PARTITION_KEY = /^[a-z0-9_-]{1,63}\|\d{8}$/;

/** Partition of the partition registry (sorts after every vault's audit partitions). */
export const REGISTRY_PARTITION = '~partitions';

const MAX_DAY = 99_999_999;

/** Registry row key of an audit partition: newest day first, then vault. */
export function registryRowKey(partitionKey: string): string {
  const [vault = '', day = ''] = partitionKey.split('|');
  return `${String(MAX_DAY - Number(day)).padStart(8, '0')}|${vault}`;
}

/** The registry row keys of days [fromDay, toDay] (yyyymmdd) lie in [lo, hi]. */
export function registryRange(from: Date, to: Date): { lo: string; hi: string } {
  return { lo: `${String(MAX_DAY - Number(dayOf(to))).padStart(8, '0')}|`, hi: `${String(MAX_DAY - Number(dayOf(from))).padStart(8, '0')}|~` };
}

/** The vault key and day of an audit partition key. */
export function splitPartition(partitionKey: string): { vault: string; day: string } {
  const bar = partitionKey.lastIndexOf('|');
  return { vault: partitionKey.slice(0, bar), day: partitionKey.slice(bar + 1) };
}

export const stateRowKey = (type: ObjectType, name: string): string => `${type}|${name}`;

/** Longest key Rotor writes (Table storage allows 1 KiB = 512 UTF-16 code units). */
const MAX_KEY_CHARS = 512;

/**
 * Any text as a Table key, reversibly while it fits: `/ \ # ?` and control characters (which Table keys forbid), `%`
 * (which breaks URL-addressed point operations) and the escape character `!` itself become `!XX` (hex), so distinct
 * texts stay distinct keys. A key longer than 512 characters keeps its first 440 and ends with `~` and the SHA-256 of the
 * whole text (the full text is stored in a property beside it).
 */
export function tableKey(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what Table keys forbid
  const escaped = text.replace(/[!%/\\#?\u0000-\u001f\u007f-\u009f]/g, (c) => `!${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (escaped.length <= MAX_KEY_CHARS) return escaped.length ? escaped : '!';
  const cut = escaped.slice(0, 440).replace(/![0-9A-F]?$/, '');
  return `${cut}~${createHash('sha256').update(text).digest('hex')}`;
}

/** Partition of a rotation's consumer rows. */
export const consumerPartition = (rotationId: string): string => tableKey(rotationId);
/** Row key of one consumer of a rotation. */
export const consumerRowKey = (consumerId: string): string => tableKey(consumerId);
