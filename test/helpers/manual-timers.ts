/**
 * A manual clock for code that takes a Timers (agent/groups/timers.ts): nothing fires until the
 * test advances time, and then due timers run in deadline order (ties in the order they were
 * set), including timers that those callbacks set, if they fall due before the target time.
 */
import type { TimerHandle, Timers } from '../../agent/groups/timers.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualTimers implements Timers {
  now = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  set(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.seq;
    this.pending.set(seq, { at: this.now + Math.max(0, ms), seq, fn });
    return seq;
  }

  clear(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get size(): number {
    return this.pending.size;
  }

  /** Moves the clock forward by ms, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.pending.values()) {
        if (p.at <= target && (next === undefined || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      }
      if (next === undefined) break;
      this.pending.delete(next.seq);
      this.now = next.at;
      next.fn();
    }
    this.now = target;
  }
}
