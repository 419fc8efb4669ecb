/**
 * The general stateful operator (Flink's KeyedProcessFunction without timers): for each record,
 * a function gets the record, its key's checkpointed state and an emit function. Use it for
 * what windows and joins do not cover: regular (unwindowed) joins, pattern detection, running
 * aggregates with retractions.
 *
 *   .pipe(keyedProcess<Rec<string, Order>, number, Alert>((r, state, emit) => {
 *     const total = (state.get() ?? 0) + r.value.amount;
 *     state.set(total);
 *     if (total > 10_000) emit({ user: r.key, total });
 *   }))
 *
 * State must be plain data; it is bounded by keysMax like every store. Emitted records keep the
 * input's key, timestamp, headers and provenance.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';
import { canonicalKey } from '../task/canonical-key.js';
import { currentContext } from '../task/current-context.js';
import type { StateStore } from '../task/state-store.js';
import { storeName } from './internal/store-name.js';

export interface KeyState<S> {
  get(): S | undefined;
  set(value: S): void;
  delete(): void;
}

export interface KeyedProcessOptions {
  name?: string;
  keysMax?: number;
}

export function keyedProcess<R extends Rec, S, O>(
  fn: (rec: R, state: KeyState<S>, emit: (value: O) => void) => void,
  options: KeyedProcessOptions = {},
): OperatorFunction<R, Rec<R['key'], O>> {
  return (source) =>
    new Observable<Rec<R['key'], O>>((subscriber) => {
      const ctx = currentContext();
      const store = ctx.state<S>(storeName(ctx, 'process', options.name), { entriesMax: options.keysMax ?? 1_000_000 }) as StateStore<S>;
      // One reusable accessor and emitter, pointed at the current record: no allocation per record.
      let ck = '';
      let cur: R;
      const state: KeyState<S> = {
        get: () => store.getC(ck),
        set: (v) => store.setC(ck, cur.key, v),
        delete: () => store.deleteC(ck),
      };
      const emit = (value: O): void =>
        subscriber.next({ key: cur.key, value, timestamp: cur.timestamp, headers: cur.headers, topic: cur.topic, partition: cur.partition, offset: cur.offset });
      return source.subscribe({
        next: (rec) => {
          cur = rec;
          ck = canonicalKey(rec.key);
          try {
            fn(rec, state, emit);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
