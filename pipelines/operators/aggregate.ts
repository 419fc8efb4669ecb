import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/**
 * A general aggregate: `aggregate({ init: () => ({ n: 0, total: 0 }), add: (a, r) => ..., merge, result })`.
 * The accumulator must be plain data (it is checkpointed). `merge` is needed for session and
 * sliding windows; `result` defaults to the accumulator itself.
 */
export function aggregate<R extends Rec, A, O = A>(spec: {
  init: () => A;
  add: (acc: A, rec: R) => A;
  merge?: (a: A, b: A) => A;
  result?: (acc: A) => O;
}): Aggregator<R, A, O> {
  return {
    name: 'aggregate',
    init: spec.init,
    add: spec.add,
    ...(spec.merge !== undefined ? { merge: spec.merge } : {}),
    result: spec.result ?? ((a: A) => a as unknown as O),
  };
}
