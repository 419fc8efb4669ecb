/**
 * Bounds the awaits of the read path. A Fetch holds its connection's in-order response queue
 * while it reads, so an object-store or metadata call that never settles must not hold it
 * forever: past the deadline the caller gets a retriable 'unavailable' error (Fetch answers
 * that partition with KAFKA_STORAGE_ERROR and the client retries), while the slow call itself
 * keeps running and is simply no longer waited for.
 *
 * One Deadline serves a whole read pass (every partition of a Fetch): a single timer, started
 * at the first wait, however many awaits it bounds, since Fetch is a hot path. A promise that
 * has already settled wins even when the deadline has passed (the timer fires in a later
 * macrotask), so work served from memory is never failed by the bound.
 */
import { WeirError } from '../../core/errors.js';

const EXPIRED = Symbol('deadline expired');

export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private expired: Promise<typeof EXPIRED> | undefined;

  constructor(readonly atMs: number) {}

  static in(ms: number): Deadline {
    return new Deadline(Date.now() + ms);
  }

  /** `work`'s result, or a retriable 'unavailable' error naming `what` if the deadline comes first. */
  async race<T>(work: Promise<T>, what: () => string): Promise<T> {
    this.expired ??= new Promise((resolve) => {
      this.timer = setTimeout(() => resolve(EXPIRED), Math.max(0, this.atMs - Date.now()));
    });
    // race() subscribes to `work`, so its late rejection is handled, not an unhandled rejection.
    const r = await Promise.race([work, this.expired]);
    if (r === EXPIRED) throw new WeirError('unavailable', `${what()} did not finish in time`);
    return r as T;
  }

  /** Stops the timer; call when the pass is over (a pending timer would keep the pass's closures alive). */
  clear(): void {
    clearTimeout(this.timer);
  }
}

/** One bounded await with its own deadline (for callers outside a read pass). */
export async function withDeadline<T>(work: Promise<T>, deadline: Deadline | number, what: () => string): Promise<T> {
  if (typeof deadline !== 'number') return deadline.race(work, what);
  const own = new Deadline(deadline);
  try {
    return await own.race(work, what);
  } finally {
    own.clear();
  }
}
