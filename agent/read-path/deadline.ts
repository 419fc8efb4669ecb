/**
 * Bounds one await of the read path. A Fetch holds its connection's in-order response queue
 * while it reads, so an object-store or metadata call that never settles must not hold it
 * forever: past the deadline the caller gets a retriable 'unavailable' error (Fetch answers
 * that partition with KAFKA_STORAGE_ERROR and the client retries), while the slow call itself
 * keeps running and is simply no longer waited for.
 *
 * A promise that has already settled wins even when the deadline has passed (the timer fires
 * in a later macrotask), so work served from memory is never failed by the bound.
 */
import { WeirError } from '../../core/errors.js';

export function withDeadline<T>(work: Promise<T>, deadlineMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WeirError('unavailable', `${what()} did not finish in time`)), Math.max(0, deadlineMs - Date.now()));
  });
  // race() subscribes to `work`, so its late rejection is handled, not an unhandled rejection.
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
