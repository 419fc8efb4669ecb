/**
 * Tumbling and hopping windows. State per key: the key's open (or fired, within lateness)
 * windows as a small array sorted by start. Timers: one at each window's end (fire) and, with
 * allowed lateness, one at end + lateness (purge).
 */
import type { Rec } from '../../core/contracts.js';
import { canonicalKey } from '../../task/canonical-key.js';
import type { WindowCore } from './window-core.js';

/** One window of a key: start, end, accumulator, fired. Short names: this is checkpointed per window. */
export interface Win<A> {
  s: number;
  e: number;
  a: A;
  f: boolean;
}

export class AlignedWindows<R extends Rec, A, O> {
  constructor(
    private readonly core: WindowCore<R, A, O, Win<A>[]>,
    private readonly sizeMs: number,
    private readonly advanceMs: number,
    private readonly offsetMs: number,
  ) {}

  add(rec: R): void {
    const core = this.core;
    const ts = rec.timestamp;
    const ck = canonicalKey(rec.key);
    const store = core.store;
    let list = store.getC(ck);
    const isNew = list === undefined;
    if (list === undefined) list = [];
    const size = this.sizeMs;
    const adv = this.advanceMs;
    // The last window start at or before ts on the grid; earlier ones back to ts - size + 1.
    const rem = (ts - this.offsetMs) % adv;
    const lastStart = ts - (rem < 0 ? rem + adv : rem);
    let accepted = false;
    for (let start = lastStart; start > ts - size; start -= adv) {
      const end = start + size;
      if (end + core.lateness <= core.wm) continue; // that window is gone
      accepted = true;
      let w: Win<A> | undefined;
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.s === start) {
          w = list[i];
          break;
        }
      }
      if (w === undefined) {
        w = { s: start, e: end, a: core.agg.init(), f: false };
        let i = list.length;
        while (i > 0 && list[i - 1]!.s > start) i--;
        list.splice(i, 0, w);
        if (end <= core.wm) {
          // New but already past its end (allowed lateness): it fires now, purges later.
          w.f = true;
          core.timers.add(end + core.lateness, ck);
        } else core.timers.add(end, ck);
      }
      w.a = core.agg.add(w.a, rec);
      if (core.onUpdate || w.f) core.emit(rec.key, w.s, w.e, w.a);
    }
    if (!accepted) {
      core.late(rec);
      return;
    }
    if (isNew) store.setC(ck, rec.key, list);
  }

  fire(t: number, ck: string): void {
    const core = this.core;
    const entry = core.store.entryC(ck);
    if (entry === undefined) return;
    const list = entry.value;
    const lateness = core.lateness;
    let keep = 0;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (!w.f && w.e <= t) {
        w.f = true;
        if (!core.onUpdate) core.emit(entry.key, w.s, w.e, w.a);
        if (lateness > 0) core.timers.add(w.e + lateness, ck);
      }
      if (w.f && w.e + lateness <= t) continue; // purged
      list[keep++] = w;
    }
    list.length = keep;
    if (keep === 0) core.store.deleteC(ck);
  }

  rebuild(): void {
    const core = this.core;
    core.timers.clear();
    for (const [key, list] of core.store.entries()) {
      const ck = canonicalKey(key);
      for (const w of list) core.timers.add(w.f ? w.e + core.lateness : w.e, ck);
    }
  }
}
