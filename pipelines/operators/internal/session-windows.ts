/**
 * Session windows. State per key: its sessions sorted by start, each [first, last + gap). A
 * record opens [t, t + gap) and merges every session it overlaps or touches (Flink's rule),
 * combining their accumulators with the aggregator's merge. The merge is decided before the
 * lateness check, so a late record that bridges into a still-open session is not late.
 * Timers are not moved when a session grows: a stale timer finds the session's end later than
 * its time and does nothing.
 */
import type { Rec } from '../../core/contracts.js';
import { canonicalKey } from '../../task/canonical-key.js';
import type { Win } from './aligned-windows.js';
import type { WindowCore } from './window-core.js';

export class SessionWindows<R extends Rec, A, O> {
  private readonly merge: (a: A, b: A) => A;

  constructor(
    private readonly core: WindowCore<R, A, O, Win<A>[]>,
    private readonly gapMs: number,
  ) {
    this.merge = core.agg.merge!.bind(core.agg);
  }

  add(rec: R): void {
    const core = this.core;
    const ts = rec.timestamp;
    const ck = canonicalKey(rec.key);
    const existing = core.store.getC(ck);
    const list = existing ?? [];
    let start = ts;
    let end = ts + this.gapMs;
    let first = -1;
    let last = -1;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (w.s <= end && w.e >= start) {
        if (first < 0) first = i;
        last = i;
      }
    }
    // Overlap with [ts, ts+gap) is contiguous in a start-sorted list of disjoint sessions.
    let acc: A;
    if (first >= 0) {
      acc = list[first]!.a;
      start = Math.min(start, list[first]!.s);
      end = Math.max(end, list[last]!.e);
      for (let i = first + 1; i <= last; i++) acc = this.merge(acc, list[i]!.a);
    } else acc = core.agg.init();
    if (end + core.lateness <= core.wm) {
      core.late(rec);
      return;
    }
    acc = core.agg.add(acc, rec);
    // A merged session that had fired (within lateness) and now extends past the watermark
    // fires again at its new end, with everything merged into it.
    const w: Win<A> = { s: start, e: end, a: acc, f: false };
    if (first >= 0) list.splice(first, last - first + 1, w);
    else {
      let i = list.length;
      while (i > 0 && list[i - 1]!.s > start) i--;
      list.splice(i, 0, w);
    }
    if (end <= core.wm) {
      w.f = true;
      core.emit(rec.key, start, end, acc);
      core.timers.add(end + core.lateness, ck);
    } else {
      if (core.onUpdate) core.emit(rec.key, start, end, acc);
      core.timers.add(end, ck);
    }
    if (existing === undefined) core.store.setC(ck, rec.key, list);
  }

  fire(t: number, ck: string): void {
    const core = this.core;
    const entry = core.store.entryC(ck);
    if (entry === undefined) return;
    const list = entry.value;
    let keep = 0;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (!w.f && w.e <= t) {
        w.f = true;
        if (!core.onUpdate) core.emit(entry.key, w.s, w.e, w.a);
        if (core.lateness > 0) core.timers.add(w.e + core.lateness, ck);
      }
      if (w.f && w.e + core.lateness <= t) continue;
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
