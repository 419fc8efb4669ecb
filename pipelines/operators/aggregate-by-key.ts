/**
 * An unwindowed running aggregate per key (Kafka Streams' groupByKey().aggregate(), a KTable):
 * every record updates its key's accumulator and the new result is emitted at once.
 *
 *   .pipe(aggregateByKey(count()))         // running count per key
 */
import type { OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';
import { keyedProcess, type KeyedProcessOptions } from './keyed-process.js';

export function aggregateByKey<R extends Rec, A, O>(agg: Aggregator<R, A, O>, options: KeyedProcessOptions = {}): OperatorFunction<R, Rec<R['key'], O>> {
  return keyedProcess<R, A, O>(
    (rec, state, emit) => {
      const acc = agg.add(state.get() ?? agg.init(), rec);
      state.set(acc);
      emit(agg.result(acc));
    },
    options,
  );
}
