/**
 * Work items: the messages on Rotor's work queue. The nightly timer enqueues one `scanVault` item per configured
 * vault (fan-out across Function instances); the Event Grid handler enqueues `object` items (an event is only a
 * hint: the worker re-reads the vault); verification re-checks are `verify` items with a visibility delay.
 */
import { z } from 'zod';
import { OBJECT_TYPES } from './model.js';

const trigger = z.enum(['timer', 'eventgrid', 'manual']);
const common = {
  runId: z.string().min(1).max(100),
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
      hint: z.string().max(200).optional(),
      eventId: z.string().max(200).optional(),
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

export interface WorkQueue {
  enqueue(item: WorkItem, options?: { delaySeconds?: number }): Promise<void>;
}
