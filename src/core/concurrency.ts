/** Bounded fan-out: every loop over many items goes through a concurrency limit. */
import pLimit from 'p-limit';

/** `fn` over every item, at most `limit` at a time (p-limit), results in the items' order. */
export function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const run = pLimit(limit);
  return Promise.all(items.map((item) => run(() => fn(item))));
}
