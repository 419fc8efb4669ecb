/**
 * Sliding windows (Kafka Streams' SlidingWindows semantics). State per key: the records'
 * accumulators by distinct timestamp (sorted), and how far left and right windows have fired.
 *   - left window of t:  [t - size + 1, t + 1): the records of (t - size, t]; fires at W >= t + 1.
 *   - right window of u: [u + 1, u + size + 1): the records of (u, u + size], emitted only if not
 *     empty; fires at W >= u + size + 1.
 * A record at t is needed until every window holding it is gone: until W >= t + size + lateness.
 * A record whose own left window is gone (t + 1 + lateness <= W) is late.
 */
import type { Rec } from '../../core/contracts.js';
import { canonicalKey } from '../../task/canonical-key.js';
import type { WindowCore } from './window-core.js';

export interface SlidingState<A> {
  /** [timestamp, accumulator of the records at that timestamp], sorted by timestamp. */
  r: [number, A][];
  /** Highest t whose left window fired; highest u whose right window fired. */
  fl: number;
  fr: number;
}

export class SlidingWindows<R extends Rec, A, O> {
  private readonly merge: (a: A, b: A) => A;

  constructor(
    private readonly core: WindowCore<R, A, O, SlidingState<A>>,
    private readonly sizeMs: number,
  ) {
    this.merge = core.agg.merge!.bind(core.agg);
  }

  /** Merged accumulator of the records with lo < t <= hi; undefined if none. */
  private range(st: SlidingState<A>, lo: number, hi: number): A | undefined {
    let acc: A | undefined;
    for (const [t, a] of st.r) {
      if (t <= lo) continue;
      if (t > hi) break;
      acc = acc === undefined ? this.merge(this.core.agg.init(), a) : this.merge(acc, a);
    }
    return acc;
  }

  private emitLeft(key: unknown, st: SlidingState<A>, t: number): void {
    const acc = this.range(st, t - this.sizeMs, t);
    if (acc !== undefined) this.core.emit(key, t - this.sizeMs + 1, t + 1, acc);
  }

  private emitRight(key: unknown, st: SlidingState<A>, u: number): void {
    const acc = this.range(st, u, u + this.sizeMs);
    if (acc !== undefined) this.core.emit(key, u + 1, u + this.sizeMs + 1, acc);
  }

  add(rec: R): void {
    const core = this.core;
    const t = rec.timestamp;
    const size = this.sizeMs;
    if (t + 1 + core.lateness <= core.wm) {
      core.late(rec);
      return;
    }
    const ck = canonicalKey(rec.key);
    let st = core.store.getC(ck);
    if (st === undefined) {
      st = { r: [], fl: -Infinity, fr: -Infinity };
      core.store.setC(ck, rec.key, st);
    }
    const r = st.r;
    let i = r.length;
    while (i > 0 && r[i - 1]![0] > t) i--;
    if (i > 0 && r[i - 1]![0] === t) r[i - 1]![1] = core.agg.add(r[i - 1]![1], rec);
    else {
      r.splice(i, 0, [t, core.agg.add(core.agg.init(), rec)]);
      core.timers.add(t + 1, ck);
      core.timers.add(t + size + 1, ck);
      if (core.lateness > 0) core.timers.add(t + size + core.lateness, ck);
    }
    // Windows already fired (late firing) or every window (emit on update) that this record changed.
    if (!core.onUpdate && t > st.fl && t - size >= st.fr) {
      // Nothing holding t has fired yet; the common, in-order case.
      if (t + 1 <= core.wm) this.fire(core.wm, ck);
      return;
    }
    for (const [t2] of r) {
      if (t2 < t) continue;
      if (t2 >= t + size) break;
      if (core.onUpdate || t2 <= st.fl) this.emitLeft(rec.key, st, t2);
    }
    for (const [u] of r) {
      if (u < t - size) continue;
      if (u >= t) break;
      if (core.onUpdate || u <= st.fr) this.emitRight(rec.key, st, u);
    }
    // The record's own right window, if its time has passed (it holds later records only).
    if (!core.onUpdate && t <= st.fr) this.emitRight(rec.key, st, t);
    if (t + 1 <= core.wm) this.fire(core.wm, ck);
  }

  fire(time: number, ck: string): void {
    const core = this.core;
    const entry = core.store.entryC(ck);
    if (entry === undefined) return;
    const st = entry.value;
    const size = this.sizeMs;
    for (const [t] of st.r) {
      if (t + 1 > time) break;
      if (t <= st.fl) continue;
      if (!core.onUpdate) this.emitLeft(entry.key, st, t);
      st.fl = t;
    }
    for (const [u] of st.r) {
      if (u + size + 1 > time) break;
      if (u <= st.fr) continue;
      if (!core.onUpdate) this.emitRight(entry.key, st, u);
      st.fr = u;
    }
    let drop = 0;
    while (drop < st.r.length && st.r[drop]![0] + size + core.lateness <= time && st.r[drop]![0] <= st.fl && st.r[drop]![0] <= st.fr) drop++;
    if (drop > 0) st.r.splice(0, drop);
    if (st.r.length === 0) core.store.deleteC(ck);
  }

  rebuild(): void {
    const core = this.core;
    core.timers.clear();
    for (const [key, st] of core.store.entries()) {
      const ck = canonicalKey(key);
      for (const [t] of st.r) {
        core.timers.add(t + 1, ck);
        core.timers.add(t + this.sizeMs + 1, ck);
        core.timers.add(t + this.sizeMs + core.lateness, ck);
      }
    }
  }
}
