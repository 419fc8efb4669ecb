/**
 * Long-poll wake-ups. A Fetch that has less than minBytes parks here on its partitions; every
 * commit notifies the partitions it advanced, waking exactly the fetches that care.
 */
export class FetchWaiters {
  private waiters = new Map<string, Set<() => void>>();
  /** Per partition, the sequence number of its last commit. */
  private lastCommit = new Map<string, number>();
  /** Counts every notify; a fetch remembers it before reading to detect commits it raced with. */
  sequence = 0;

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /**
   * Resolves when any of the partitions gets a commit, or after timeoutMs, or when the signal
   * aborts. Resolves true if woken by a commit, or at once if one of the partitions had a commit
   * after `sinceSequence`.
   */
  wait(partitions: readonly { topic: string; partition: number }[], timeoutMs: number, signal?: AbortSignal, sinceSequence = Infinity): Promise<boolean> {
    const keys = partitions.map((p) => FetchWaiters.key(p.topic, p.partition));
    if (keys.some((k) => (this.lastCommit.get(k) ?? -1) > sinceSequence)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let done = false;
      const finish = (woken: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const k of keys) {
          const set = this.waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.waiters.delete(k);
        }
        resolve(woken);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort);
      for (const k of keys) {
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        set.add(wake);
      }
    });
  }

  notify(topic: string, partition: number): void {
    const k = FetchWaiters.key(topic, partition);
    this.lastCommit.set(k, ++this.sequence);
    const set = this.waiters.get(k);
    if (!set) return;
    for (const w of [...set]) w();
  }

  get size(): number {
    return this.waiters.size;
  }
}
