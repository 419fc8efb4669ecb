import type { Rec } from '../core/contracts.js';

/**
 * How a window (or any keyed aggregation) folds records: an accumulator that starts at init(),
 * takes each record with add(), combines with merge() (session merges, sliding windows) and is
 * turned into the output by result(). Accumulators live in checkpointed state, so they must be
 * plain data (numbers, strings, arrays, plain objects, Maps, Buffers), and add/merge may return
 * the same (mutated) accumulator or a new one.
 */
export interface Aggregator<R extends Rec, A, O> {
  readonly name: string;
  init(): A;
  add(acc: A, rec: R): A;
  /** Associative combination; required by session and sliding windows. */
  merge?(a: A, b: A): A;
  result(acc: A): O;
}
