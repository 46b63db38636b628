/**
 * Work items: the messages on Rotor's work queue. The nightly timer enqueues one `scanVault` item per configured
 * vault (fan-out across Function instances); the Event Grid handler enqueues `object` items (an event is only a
 * hint: the worker re-reads the vault); verification re-checks are `verify` items with a visibility delay.
 */
import { z } from 'zod';
import { OBJECT_TYPES } from './model.js';

const trigger = z.enum(['timer', 'eventgrid', 'manual']);

/** The longest event id a work item carries (Event Grid ids are GUIDs; anything longer is rejected at the edge). */
export const MAX_EVENT_ID = 200;
export const MAX_RUN_ID = 100;
/**
 * The largest work item, as UTF-8 JSON: a queue message is at most 64 KiB and is sent base64-encoded (4/3). Items
 * that fit the schema are a few hundred bytes; this is the adapter's last guard, so nothing the queue would refuse
 * (HTTP 413) is ever sent.
 */
export const MAX_WORK_ITEM_BYTES = 48 * 1024;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Text that survives every hop unchanged: no control characters, no lone surrogates. */
const plainText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters')
    .refine((v) => !LONE_SURROGATE.test(v), 'must not contain lone surrogates');

const common = {
  runId: plainText(MAX_RUN_ID),
  trigger,
  vault: z.string().min(1).max(127),
};

export const workItemSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('scanVault'), ...common }).strict(),
  z
    .object({
      kind: z.literal('object'),
      ...common,
      objectType: z.enum(OBJECT_TYPES),
      objectName: z.string().min(1).max(127),
      /** The event that hinted at this object (e.g. Microsoft.KeyVault.CertificateNearExpiry), for the audit row. */
      hint: plainText(200).optional(),
      eventId: plainText(MAX_EVENT_ID).optional(),
      /** An on-demand rotation of an object that is not due (rotateNow ?force=true, `rotor rotate --force`). */
      force: z.boolean().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('verify'),
      ...common,
      objectType: z.enum(OBJECT_TYPES),
      objectName: z.string().min(1).max(127),
      rotationId: z.string().min(1).max(100),
    })
    .strict(),
  /** Drain the vault's pending set (src/core/vault-work.ts): a continuation, or a check after another holder's lease. */
  z.object({ kind: z.literal('drainVault'), ...common }).strict(),
]);

export type WorkItem = z.infer<typeof workItemSchema>;

export type WorkItemParse = { ok: true; item: WorkItem } | { ok: false; message: string };

export function parseWorkItem(value: unknown): WorkItemParse {
  let data = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value);
    } catch {
      return { ok: false, message: 'message body is not JSON' };
    }
  }
  const result = workItemSchema.safeParse(data);
  if (result.success) return { ok: true, item: result.data };
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : 'message';
  return { ok: false, message: `${path}: ${issue?.message ?? 'invalid work item'}` };
}

/**
 * Where work items are enqueued: the same schema as where they run, and the size the queue accepts. Throws
 * WorkItemError naming the field (a bug: the edges build items that fit).
 */
export function checkWorkItem(item: WorkItem): WorkItem {
  const parsed = parseWorkItem(item);
  if (!parsed.ok) throw new WorkItemError(`work item does not fit its schema: ${parsed.message}`);
  const bytes = Buffer.byteLength(JSON.stringify(parsed.item), 'utf8');
  if (bytes > MAX_WORK_ITEM_BYTES) throw new WorkItemError(`work item is ${bytes} bytes; the queue takes at most ${MAX_WORK_ITEM_BYTES}`);
  return parsed.item;
}

export class WorkItemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkItemError';
  }
}

export interface WorkQueue {
  enqueue(item: WorkItem, options?: { delaySeconds?: number }): Promise<void>;
}
