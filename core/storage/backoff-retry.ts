/**
 * Bounded retries with exponential backoff and full jitter, for calls to a remote backend (the S3
 * object store). Bounded, because a caller (a flush, a Fetch) must learn that the backend is down
 * within a predictable time instead of waiting forever; jittered, because many agents retrying a
 * throttled bucket in lockstep would keep it throttled.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Attempts in all, the first included (>= 1). */
  maxAttempts: number;
  /** The backoff ceiling before the second attempt; it doubles for every further attempt. */
  baseDelayMs: number;
  /** No single wait is longer than this. */
  maxDelayMs: number;
}

export function assertValidBackoffPolicy(policy: BackoffPolicy): void {
  const { maxAttempts, baseDelayMs, maxDelayMs } = policy;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs)) {
    throw new RangeError(`backoff delays must satisfy 0 <= baseDelayMs <= maxDelayMs, got ${baseDelayMs} and ${maxDelayMs}`);
  }
}

/** The wait before attempt `attempt + 1`: uniform in [0, min(max, base * 2^(attempt-1))] ("full jitter"). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it succeeds, throws an error `isRetriable` rejects (rethrown as is), or
 * `maxAttempts` attempts have failed; then `exhausted` turns the last error into what is thrown.
 */
export async function retryWithBackoff<T>(
  policy: BackoffPolicy,
  fn: (attempt: number) => Promise<T>,
  isRetriable: (e: unknown) => boolean,
  exhausted: (lastError: unknown, attempts: number) => Error,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetriable(e)) throw e;
      if (attempt >= policy.maxAttempts) throw exhausted(e, attempt);
      await sleep(backoffDelayMs(policy, attempt));
    }
  }
}
