/**
 * The last line before Table storage: every entity Rotor writes (audit rows and their chain heads and registry
 * rows, rotation state, consumer rows) passes through `checkEntity`, which refuses what the service would refuse —
 * so an oversize value fails in Rotor, with an error naming the table and the field, instead of as an opaque
 * `PropertyValueTooLarge` / `EntityTooLarge` from the service (or, worse, as a partial batch).
 *
 * Limits (Azure Table storage data model, the same in Azurite):
 * - a string property holds at most 64 KiB, i.e. 32,768 UTF-16 code units; binary at most 64 KiB;
 * - an entity holds at most 255 properties, the system properties PartitionKey, RowKey and Timestamp included
 *   (so 252 of Rotor's own);
 * - an entity is at most 1 MiB, counted as the service does: 4 bytes + 2 × (len PartitionKey + len RowKey) + for
 *   each property 8 bytes + 2 × name length + the value (string 4 + 2 × length, Int32 4, Int64/Double/DateTime 8,
 *   Boolean 1, Guid 16, binary 4 + length);
 * - PartitionKey and RowKey are at most 1 KiB (512 UTF-16 code units) and contain no `/`, `\`, `#`, `?` or
 *   control characters.
 * Nothing is shortened here: shortening is a decision for the code that knows what a field means (audit details
 * are cut at the record edge, src/core/audit.ts); at this boundary an oversize value is a bug, refused loudly.
 */

export const TABLE_LIMITS = {
  /** UTF-16 code units in a string property (64 KiB). */
  maxStringChars: 32_768,
  maxBinaryBytes: 65_536,
  /** Properties including PartitionKey, RowKey and Timestamp. */
  maxProperties: 255,
  maxEntityBytes: 1_048_576,
  /** UTF-16 code units in PartitionKey or RowKey (1 KiB). */
  maxKeyChars: 512,
} as const;

/** Properties the service adds or keeps itself (PartitionKey, RowKey and Timestamp count towards the 255). */
const SYSTEM_PROPERTIES = 3;

// eslint-disable-next-line no-control-regex -- control characters are what Table keys forbid
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

export class TableLimitError extends Error {
  constructor(
    readonly table: string,
    readonly field: string,
    message: string,
  ) {
    super(`${table}: ${field}: ${message}`);
    this.name = 'TableLimitError';
  }
}

/** Bytes the service counts for one property value (undefined: not stored). */
function valueBytes(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return 4 + 2 * value.length;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 4 : 8;
  if (typeof value === 'bigint' || value instanceof Date) return 8;
  if (value instanceof Uint8Array) return 4 + value.byteLength;
  if (typeof value === 'object' && 'value' in value && 'type' in value) return valueBytes((value as { value: unknown }).value);
  return 4 + 2 * JSON.stringify(value).length;
}

function checkKey(table: string, field: 'partitionKey' | 'rowKey', key: unknown): number {
  if (typeof key !== 'string') throw new TableLimitError(table, field, 'must be a string');
  if (key.length > TABLE_LIMITS.maxKeyChars) {
    throw new TableLimitError(table, field, `is ${key.length} characters; Table storage allows at most ${TABLE_LIMITS.maxKeyChars} (1 KiB)`);
  }
  if (FORBIDDEN_KEY_CHARS.test(key)) throw new TableLimitError(table, field, 'contains a character Table storage forbids in keys (/ \\ # ? or a control character)');
  return 2 * key.length;
}

/**
 * Refuses an entity Table storage would refuse: throws TableLimitError naming the table and the field. Returns the
 * entity's size as the service counts it (bytes), for callers that want to report it.
 */
export function checkEntity(table: string, entity: Readonly<Record<string, unknown>>): number {
  let bytes = 4 + checkKey(table, 'partitionKey', entity['partitionKey']) + checkKey(table, 'rowKey', entity['rowKey']);
  let properties = SYSTEM_PROPERTIES;
  for (const [name, value] of Object.entries(entity)) {
    if (name === 'partitionKey' || name === 'rowKey' || name === 'etag' || name === 'timestamp' || name.startsWith('odata')) continue;
    const size = valueBytes(value);
    if (size === undefined) continue;
    properties++;
    if (typeof value === 'string' && value.length > TABLE_LIMITS.maxStringChars) {
      throw new TableLimitError(
        table,
        name,
        `is ${value.length} characters; Table storage allows at most ${TABLE_LIMITS.maxStringChars} (64 KiB) in a string property`,
      );
    }
    if (value instanceof Uint8Array && value.byteLength > TABLE_LIMITS.maxBinaryBytes) {
      throw new TableLimitError(table, name, `is ${value.byteLength} bytes; Table storage allows at most ${TABLE_LIMITS.maxBinaryBytes} in a binary property`);
    }
    bytes += 8 + 2 * name.length + size;
  }
  if (properties > TABLE_LIMITS.maxProperties) {
    throw new TableLimitError(table, '(entity)', `has ${properties} properties; Table storage allows at most ${TABLE_LIMITS.maxProperties} (system properties included)`);
  }
  if (bytes > TABLE_LIMITS.maxEntityBytes) {
    throw new TableLimitError(table, '(entity)', `is ${bytes} bytes; Table storage allows at most ${TABLE_LIMITS.maxEntityBytes} (1 MiB) per entity`);
  }
  return bytes;
}
