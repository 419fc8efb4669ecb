/**
 * Event-time timers: which keys need attention at which time. A binary min-heap of distinct
 * times, each with the set of canonical keys due then. Windows aligned to a grid (tumbling,
 * hopping) share few distinct times, so the heap stays small and adding a timer is usually one
 * Map lookup and one Set add. Timers are not snapshotted: operators rebuild them from their
 * state on restore, and a timer whose state changed meanwhile is simply found to have nothing
 * to do.
 */
export class TimerQueue {
  private readonly heap: number[] = [];
  private readonly byTime = new Map<number, Set<string>>();

  get size(): number {
    return this.heap.length;
  }

  add(timeMs: number, ck: string): void {
    let s = this.byTime.get(timeMs);
    if (s === undefined) {
      s = new Set();
      this.byTime.set(timeMs, s);
      this.push(timeMs);
    }
    s.add(ck);
  }

  /**
   * The earliest time <= limitMs with its keys in sorted order, removed from the queue; undefined
   * if none. Sorted, so what fires at one time comes out in the same order whether the timers
   * were set by processing records or rebuilt from a restored snapshot: a recovered run emits
   * exactly what an uninterrupted one would, in the same order.
   */
  pop(limitMs: number): [number, string[]] | undefined {
    const h = this.heap;
    if (h.length === 0 || h[0]! > limitMs) return undefined;
    const t = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    const keys = this.byTime.get(t)!;
    this.byTime.delete(t);
    const sorted = [...keys];
    if (sorted.length > 1) sorted.sort();
    return [t, sorted];
  }

  clear(): void {
    this.heap.length = 0;
    this.byTime.clear();
  }

  private push(t: number): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= t) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = t;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= t) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = t;
  }
}
