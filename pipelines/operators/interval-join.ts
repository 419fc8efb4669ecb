/**
 * Windowed stream-stream join (Kafka Streams' KStream-KStream join with JoinWindows): a left and
 * a right record with the same key join when their event times differ by at most withinMs. Both
 * inputs arrive in one task: a stage reading two co-partitioned topics (`fromTopics({...})`),
 * told apart by `left` (the left topic's name, or a predicate for sides that share a topic).
 *
 *   .pipe(intervalJoin({ left: 'clicks', withinMs: 60_000, select: (click, view) => ({ ...click.value, view: view?.value }) }))
 *
 * Each side buffers its records per key in state until the watermark passes t + withinMs +
 * graceMs, when no on-time record of the other side can match any more. A match is emitted as
 * soon as the second record arrives, stamped with the later of the two timestamps. With
 * `type: 'left'` a left record that never matched is emitted with `null` when it expires
 * (Kafka Streams 3.1+ semantics: no eager null results). Records older than the watermark -
 * withinMs - graceMs can match nothing buffered and go to the 'late' side output.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { Rec, RecHeaders } from '../core/contracts.js';
import { canonicalKey } from '../task/canonical-key.js';
import { currentContext } from '../task/current-context.js';
import type { StateStore } from '../task/state-store.js';
import { isLeftOf, type SideSelector } from './internal/side.js';
import { storeName } from './internal/store-name.js';
import { TimerQueue } from './internal/timer-queue.js';

export interface IntervalJoinOptions<R extends Rec, O> {
  left: SideSelector<R>;
  withinMs: number;
  /** Extra time after the watermark passes a record's window for late records of the other side. Default 0. */
  graceMs?: number;
  type?: 'inner' | 'left';
  select: (left: R, right: R | null) => O;
  lateOutput?: string;
  name?: string;
  keysMax?: number;
}

/** A buffered record: timestamp, the record, matched. */
interface Held<R> {
  t: number;
  r: R;
  m: boolean;
}

const NO_HEADERS: RecHeaders = Object.freeze({});

export function intervalJoin<R extends Rec, O>(options: IntervalJoinOptions<R, O>): OperatorFunction<R, Rec<R['key'], O>> {
  const within = options.withinMs;
  const grace = options.graceMs ?? 0;
  if (!(Number.isSafeInteger(within) && within >= 0)) throw new WeirError('invalid_argument', `intervalJoin: withinMs must be an integer >= 0, got ${within}`);
  if (!(Number.isSafeInteger(grace) && grace >= 0)) throw new WeirError('invalid_argument', `intervalJoin: graceMs must be an integer >= 0, got ${grace}`);
  const isLeft = isLeftOf(options.left);
  const leftJoin = options.type === 'left';
  return (source) =>
    new Observable<Rec<R['key'], O>>((subscriber) => {
      const ctx = currentContext();
      const base = storeName(ctx, 'join', options.name);
      const entriesMax = options.keysMax ?? 1_000_000;
      const lefts = ctx.state<Held<R>[]>(`${base}.left`, { entriesMax }) as StateStore<Held<R>[]>;
      const rights = ctx.state<Held<R>[]>(`${base}.right`, { entriesMax }) as StateStore<Held<R>[]>;
      const late = ctx.sideOutput(options.lateOutput ?? 'late');
      const timers = new TimerQueue();
      let wm = ctx.watermark();
      const horizon = within + grace;
      const emit = (key: unknown, l: R, r: R | null, timestamp: number, from: R): void => {
        subscriber.next({ key, value: options.select(l, r), timestamp, headers: NO_HEADERS, topic: from.topic, partition: from.partition, offset: from.offset });
      };
      const rebuild = (): void => {
        wm = ctx.watermark();
        timers.clear();
        for (const store of [lefts, rights]) for (const [key, list] of store.entries()) for (const h of list) timers.add(h.t + horizon + 1, canonicalKey(key));
      };
      if (lefts.size + rights.size > 0) rebuild();
      lefts.onRestore(rebuild);
      rights.onRestore(rebuild);
      const sub = source.subscribe({
        next: (rec) => {
          try {
            const t = rec.timestamp;
            if (t + horizon < wm) {
              late(rec);
              return;
            }
            const ck = canonicalKey(rec.key);
            const left = isLeft(rec);
            const mine = left ? lefts : rights;
            const other = (left ? rights : lefts).getC(ck);
            let matched = false;
            if (other !== undefined) {
              for (const h of other) {
                if (Math.abs(h.t - t) > within) continue;
                matched = true;
                h.m = true;
                const ts = Math.max(h.t, t);
                if (left) emit(rec.key, rec, h.r, ts, rec);
                else emit(rec.key, h.r, rec, ts, rec);
              }
            }
            let list = mine.getC(ck);
            const held: Held<R> = { t, r: rec, m: matched };
            if (list === undefined) mine.setC(ck, rec.key, (list = [held]));
            else list.push(held);
            timers.add(t + horizon + 1, ck);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      const expire = (store: StateStore<Held<R>[]>, ck: string, now: number, emitUnmatched: boolean): void => {
        const entry = store.entryC(ck);
        if (entry === undefined) return;
        const list = entry.value;
        let keep = 0;
        for (const h of list) {
          if (h.t + horizon < now) {
            if (emitUnmatched && !h.m) emit(entry.key, h.r, null, h.t, h.r);
            continue;
          }
          list[keep++] = h;
        }
        list.length = keep;
        if (keep === 0) store.deleteC(ck);
      };
      const off = ctx.onWatermark((w) => {
        wm = w;
        for (;;) {
          const due = timers.pop(w);
          if (due === undefined) break;
          for (const ck of due[1]) {
            expire(lefts, ck, w, leftJoin);
            expire(rights, ck, w, false);
          }
        }
      });
      return () => {
        off();
        sub.unsubscribe();
      };
    });
}
