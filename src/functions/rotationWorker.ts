/**
 * Queue: runs one work item (scan a vault, or look at one object). Failures are rethrown so the queue retries;
 * the last delivery is audited before the host moves the message to the poison queue.
 */
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { runWorkItem } from '../core/rotor.js';

/** Must match host.json extensions.queues (a unit test checks it): the local host and the benchmark use them. */
export const MAX_DEQUEUE_COUNT = 5;
export const QUEUE_BATCH = { batchSize: 8, newBatchThreshold: 4 } as const;
export const WORK_QUEUE = 'rotor-work';

export async function rotationWorker(message: unknown, context: InvocationContext): Promise<void> {
  const dequeueCount = Number(context.triggerMetadata?.['dequeueCount'] ?? 1);
  // A configuration error is audited once, on the delivery after which the message moves to the poison queue.
  const lastDelivery = dequeueCount >= MAX_DEQUEUE_COUNT;
  const services = await servicesForInvocation('timer', contextLogger(context), lastDelivery ? 'a work item moves to the poison queue unrun' : undefined);
  const result = await runWorkItem(message, services, { dequeueCount, maxDequeueCount: MAX_DEQUEUE_COUNT }, contextLogger(context));
  if (result.kind === 'scanVault') {
    const s = result.summary;
    context.log(`scanned ${s.vault} in ${s.durationMs} ms`, { runId: s.runId, scanned: s.scanned, outcomes: s.outcomes, notDue: s.notDue });
  }
}

app.storageQueue('rotationWorker', { queueName: WORK_QUEUE, connection: 'ROTOR_STORAGE', handler: rotationWorker });
