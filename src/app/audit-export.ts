/**
 * How audit rows leave Rotor: one flat JSON object per row (the record's fields, then the chain fields that let an
 * auditor recompute the proof), and CSV (RFC 4180, by csv-stringify) with the same columns. Shared by the HTTP
 * functions and the CLI. CSV values are written exactly as stored — no spreadsheet-formula escaping, which would
 * change the values the hashes cover; open exports in a spreadsheet as text.
 */
import { stringify } from 'csv-stringify/sync';
import { AUDIT_CONTENT_FIELDS } from '../core/audit.js';
import type { AuditRow } from '../core/audit-chain.js';
import type { ObjectTimeline, RotationStory } from '../core/audit-timeline.js';

export const CHAIN_FIELDS = ['partitionKey', 'rowKey', 'chainSeq', 'prevRowKey', 'prevHash', 'hash'] as const;

/** Columns of the JSON rows and of the CSV export, in order. */
export const AUDIT_COLUMNS = [...AUDIT_CONTENT_FIELDS, ...CHAIN_FIELDS] as const;
export type AuditColumn = (typeof AUDIT_COLUMNS)[number];

export type AuditRowJson = { [K in AuditColumn]: K extends 'chainSeq' ? number : string };

export function rowJson(row: AuditRow): AuditRowJson {
  const { record } = row;
  return {
    // Readers leave unreadable rows out; should one get here, it has no time rather than failing the answer.
    timestamp: Number.isNaN(record.timestamp.getTime()) ? '' : record.timestamp.toISOString(),
    runId: record.runId,
    trigger: record.trigger,
    vault: record.vault,
    objectType: record.objectType,
    objectName: record.objectName,
    version: record.version,
    previousVersion: record.previousVersion,
    thumbprint: record.thumbprint,
    previousThumbprint: record.previousThumbprint,
    action: record.action,
    reason: record.reason,
    outcome: record.outcome,
    detail: record.detail,
    rotationId: record.rotationId,
    consumer: record.consumer,
    expected: record.expected,
    observed: record.observed,
    secretId: record.secretId,
    expiresOn: record.expiresOn,
    partitionKey: row.partitionKey,
    rowKey: row.rowKey,
    chainSeq: row.chainSeq,
    prevRowKey: row.prevRowKey,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/** RFC 4180 CSV (CRLF line breaks, fields quoted when needed), with or without the header line. */
export function rowsCsv(rows: readonly AuditRow[], header = true): string {
  return stringify(
    rows.map((r) => {
      const j = rowJson(r);
      return AUDIT_COLUMNS.map((c) => String(j[c]));
    }),
    { header, columns: [...AUDIT_COLUMNS], record_delimiter: 'windows', quoted_match: /^\s|\s$/ },
  );
}

export interface TimelineJson extends Omit<ObjectTimeline, 'rotations' | 'other'> {
  readonly rotations: (Omit<RotationStory, 'rows'> & { rows: AuditRowJson[] })[];
  readonly other: AuditRowJson[];
}

export function timelineJson(t: ObjectTimeline): TimelineJson {
  return {
    object: t.object,
    rowCount: t.rowCount,
    truncated: t.truncated,
    rotations: t.rotations.map((r) => ({ ...r, rows: r.rows.map(rowJson) })),
    other: t.other.map(rowJson),
  };
}
