/**
 * Drops records whose id (default: the key) was seen within `withinMs` of event time; the first
 * one passes. Bounded: an id is forgotten once the watermark passes its first sighting +
 * withinMs (timers), and the number of ids held is capped by `idsMax` (exceeding it fails the
 * task with a clear error rather than letting duplicates through).
 *
 *   .pipe(dedupe({ withinMs: 10 * 60_000, by: (r) => r.value.eventId }))
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { Rec } from '../core/contracts.js';
import { canonicalKey } from '../task/canonical-key.js';
import { currentContext } from '../task/current-context.js';
import type { StateStore } from '../task/state-store.js';
import { storeName } from './internal/store-name.js';
import { TimerQueue } from './internal/timer-queue.js';

export interface DedupeOptions<R> {
  withinMs: number;
  /** The identity of a record; default its key. */
  by?: (rec: R) => unknown;
  /** Bound on ids held; default 1 000 000. */
  idsMax?: number;
  name?: string;
}

export function dedupe<R extends Rec>(options: DedupeOptions<R>): MonoTypeOperatorFunction<R> {
  const { withinMs } = options;
  if (!(Number.isSafeInteger(withinMs) && withinMs > 0)) throw new WeirError('invalid_argument', `dedupe: withinMs must be a positive integer, got ${withinMs}`);
  const by = options.by ?? ((r: R) => r.key);
  return (source) =>
    new Observable<R>((subscriber) => {
      const ctx = currentContext();
      // id -> event time of the sighting that passed
      const store = ctx.state<number>(storeName(ctx, 'dedupe', options.name), { entriesMax: options.idsMax ?? 1_000_000 }) as StateStore<number>;
      const timers = new TimerQueue();
      let wm = ctx.watermark();
      const rebuild = (): void => {
        wm = ctx.watermark();
        timers.clear();
        for (const [id, t] of store.entries()) timers.add(t + withinMs, canonicalKey(id));
      };
      if (store.size > 0) rebuild();
      store.onRestore(rebuild);
      const sub = source.subscribe({
        next: (rec) => {
          try {
            const id = by(rec);
            const ck = canonicalKey(id);
            const seen = store.getC(ck);
            if (seen !== undefined && Math.abs(rec.timestamp - seen) < withinMs) return;
            store.setC(ck, id, rec.timestamp);
            timers.add(rec.timestamp + withinMs, ck);
          } catch (e) {
            subscriber.error(e);
            return;
          }
          subscriber.next(rec);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      const off = ctx.onWatermark((w) => {
        wm = w;
        for (;;) {
          const due = timers.pop(wm);
          if (due === undefined) break;
          const [t, keys] = due;
          // Forget an id only if its latest sighting is the one this timer was set for.
          for (const ck of keys) if (store.getC(ck) !== undefined && store.getC(ck)! + withinMs <= t) store.deleteC(ck);
        }
      });
      return () => {
        off();
        sub.unsubscribe();
      };
    });
}
