/**
 * The invocation's deadline, carried with the async context of a work item (AsyncLocalStorage), so that waits deep
 * in the adapters — backoff after a 429 inside an SDK pipeline — end before the host's function timeout. The core
 * asks for it through the `DeadlineScope` port (src/core/ports.ts); the composition root installs this one.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DeadlineScope } from '../core/ports.js';

const storage = new AsyncLocalStorage<number>();

/** The deadline (epoch ms) of the work running in this async context, if any. */
export function currentDeadline(): number | undefined {
  return storage.getStore();
}

export const asyncDeadlines: DeadlineScope = {
  run(withinMs, work) {
    const deadline = Date.now() + withinMs;
    const outer = storage.getStore();
    // A nested scope can only shorten the deadline.
    return storage.run(outer === undefined ? deadline : Math.min(outer, deadline), work);
  },
};
