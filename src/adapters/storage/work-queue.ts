/**
 * Rotor's work queue on Azure Storage queues. Messages are base64-encoded JSON, the encoding the Functions queue
 * trigger expects by default (host.json extensions.queues.messageEncoding).
 */
import type { QueueClient } from '@azure/storage-queue';
import { checkWorkItem, type WorkItem, type WorkQueue } from '../../core/work.js';
import { call } from '../errors.js';
import { ensureOnce } from './clients.js';

export const encodeMessage = (item: unknown): string => Buffer.from(JSON.stringify(item), 'utf8').toString('base64');

export class StorageWorkQueue implements WorkQueue {
  constructor(private readonly client: QueueClient) {}

  ensureQueue(): Promise<void> {
    return ensureOnce(`queue:${this.client.url}`, () => this.client.createIfNotExists());
  }

  async enqueue(item: WorkItem, options: { delaySeconds?: number } = {}): Promise<void> {
    // The schema the worker parses with, and the queue's size limit: nothing is sent that would be refused there.
    const message = encodeMessage(checkWorkItem(item));
    await this.ensureQueue();
    const delay = Math.max(0, Math.min(Math.round(options.delaySeconds ?? 0), 7 * 86_400 - 1));
    await call(`enqueue ${item.kind} for ${item.vault}`, () =>
      this.client.sendMessage(message, delay ? { visibilityTimeout: delay } : {}),
    );
  }
}
