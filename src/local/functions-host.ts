/**
 * A small local stand-in for the Azure Functions host, for machines without Core Tools: it invokes the registered
 * handlers (the exported functions in src/functions) the way the host does — timer with a Timer object, queue
 * messages pulled from the Azurite queue with their dequeue count (retries, then the poison queue), Event Grid
 * events one per invocation — each with a real InvocationContext.
 */
import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import type { InvocationContext, Timer } from '@azure/functions';
import type { DequeuedMessageItem as DequeuedMessage, QueueClient } from '@azure/storage-queue';

export type LogSink = (level: string, functionName: string, message: string) => void;

export function invocationContext(functionName: string, sink: LogSink, triggerMetadata: Record<string, unknown> = {}): InvocationContext {
  return new functions.InvocationContext({
    functionName,
    invocationId: randomUUID(),
    triggerMetadata,
    logHandler: (level, ...args) => sink(level, functionName, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
  });
}

export async function invokeTimer(
  functionName: string,
  handler: (timer: Timer, context: InvocationContext) => Promise<void>,
  sink: LogSink,
): Promise<void> {
  const now = new Date().toISOString();
  await handler({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: now, next: now, lastUpdated: now } }, invocationContext(functionName, sink));
}

export interface QueueDrainOptions {
  /** Messages fetched at a time (host.json extensions.queues.batchSize). */
  batchSize?: number;
  /** A new batch is fetched when this many or fewer messages are in flight (host.json newBatchThreshold; default batchSize / 2). */
  newBatchThreshold?: number;
  /** Deliveries before a message moves to the poison queue (host.json maxDequeueCount). */
  maxDequeueCount?: number;
  /** Visibility timeout while a message is being handled, in seconds. */
  visibilityTimeoutSeconds?: number;
  /** Delay before a failed message is visible again, in seconds (host.json visibilityTimeout). */
  retryDelaySeconds?: number;
  /** Stop waiting for delayed messages after this long, in ms. */
  idleTimeoutMs?: number;
}

export interface QueueDrainResult {
  handled: number;
  failed: number;
  poisoned: number;
  /** Most messages in flight at once. */
  peakInFlight: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Pulls messages from `queue` and runs `handler` on each until the queue has no visible message and nothing is in
 * flight. Like the Functions host, it fetches up to `batchSize` messages and fetches the next batch as soon as the
 * messages in flight drop to `newBatchThreshold` (so at most batchSize + newBatchThreshold run at once). Failed
 * messages are retried after `retryDelaySeconds`; after maxDequeueCount deliveries they move to `<queue>-poison`.
 */
export async function drainQueue(
  queue: QueueClient,
  poison: QueueClient,
  functionName: string,
  handler: (message: unknown, context: InvocationContext) => Promise<void>,
  sink: LogSink,
  options: QueueDrainOptions = {},
): Promise<QueueDrainResult> {
  const batchSize = Math.min(32, Math.max(1, options.batchSize ?? 8));
  const newBatchThreshold = Math.max(0, options.newBatchThreshold ?? Math.floor(batchSize / 2));
  const maxDequeueCount = options.maxDequeueCount ?? 5;
  const visibility = options.visibilityTimeoutSeconds ?? 300;
  const retryDelay = options.retryDelaySeconds ?? 1;
  const idleTimeoutMs = options.idleTimeoutMs ?? 0;
  const result: QueueDrainResult = { handled: 0, failed: 0, poisoned: 0, peakInFlight: 0 };
  await queue.createIfNotExists();
  /** Messages this drain made invisible for a retry: it waits for them to come back (as the host would). */
  const retrying = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let idleSince = Date.now();

  const handle = async (m: DequeuedMessage): Promise<void> => {
    const text = Buffer.from(m.messageText, 'base64').toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // The host hands non-JSON messages to the function as strings.
    }
    const context = invocationContext(functionName, sink, {
      id: m.messageId,
      dequeueCount: m.dequeueCount,
      insertionTime: m.insertedOn.toISOString(),
      expirationTime: m.expiresOn.toISOString(),
      popReceipt: m.popReceipt,
    });
    try {
      await handler(body, context);
      await queue.deleteMessage(m.messageId, m.popReceipt);
      result.handled++;
    } catch (err) {
      result.failed++;
      sink('error', functionName, `message ${m.messageId} failed (delivery ${m.dequeueCount}): ${err instanceof Error ? err.message : String(err)}`);
      if (m.dequeueCount >= maxDequeueCount) {
        await poison.createIfNotExists();
        await poison.sendMessage(m.messageText);
        await queue.deleteMessage(m.messageId, m.popReceipt);
        result.poisoned++;
      } else {
        await queue.updateMessage(m.messageId, m.popReceipt, undefined, retryDelay);
        retrying.add(m.messageId);
      }
    }
  };

  for (;;) {
    if (inFlight.size > newBatchThreshold) {
      await Promise.race(inFlight);
      continue;
    }
    const received = await queue.receiveMessages({ numberOfMessages: batchSize, visibilityTimeout: visibility });
    if (!received.receivedMessageItems.length) {
      if (inFlight.size) {
        // Work in flight may enqueue more (or fail and come back): look again when one finishes, or shortly.
        await Promise.race([...inFlight, pause(200)]);
        continue;
      }
      const props = await queue.getProperties();
      const remaining = props.approximateMessagesCount ?? 0;
      const waitingForRetry = retrying.size > 0 && Date.now() - idleSince < (retryDelay + 5) * 1000;
      if (remaining === 0 || (!waitingForRetry && Date.now() - idleSince > idleTimeoutMs)) return result;
      await pause(200);
      continue;
    }
    idleSince = Date.now();
    for (const m of received.receivedMessageItems) {
      retrying.delete(m.messageId);
      const p: Promise<void> = handle(m)
        .catch((err: unknown) => sink('error', functionName, `message ${m.messageId} could not be settled: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          inFlight.delete(p);
          idleSince = Date.now();
        });
      inFlight.add(p);
    }
    result.peakInFlight = Math.max(result.peakInFlight, inFlight.size);
  }
}

/** Delivers Key Vault events the way Event Grid and the host do: one invocation per event. */
export async function invokeEventGrid(
  functionName: string,
  handler: (event: unknown, context: InvocationContext) => Promise<void>,
  events: unknown,
  sink: LogSink,
): Promise<void> {
  for (const event of Array.isArray(events) ? events : [events]) await handler(event, invocationContext(functionName, sink));
}

/**
 * Imports function modules without the two warnings @azure/functions prints outside the real host ("Failed to
 * detect the Azure Functions runtime", "Skipping call to register function"): here that is expected.
 */
export async function loadFunctions<T>(load: () => Promise<T>): Promise<T> {
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('WARNING: ') && args[0].includes('"@azure/functions"')) return;
    original(...args);
  };
  try {
    return await load();
  } finally {
    console.warn = original;
  }
}
