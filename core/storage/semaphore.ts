/**
 * A counting semaphore with FIFO hand-off. The fs object store uses it to bound open file
 * handles: a burst of Fetches fanning out to many range reads must queue rather than hit EMFILE,
 * which would fail requests that a moment later would have succeeded.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`semaphore permits must be >= 1, got ${permits}`);
    this.available = permits;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    // Hand the permit straight to the next waiter so a newcomer cannot overtake it.
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.available++;
  }
}
