import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/**
 * Folds values with an associative function (Kafka Streams' reduce): the first value is the
 * start. The accumulator is `[value]` or `[]`, so a null or undefined value is kept as a value.
 */
export function reduce<R extends Rec>(fn: (a: R['value'], b: R['value']) => R['value']): Aggregator<R, R['value'][], R['value']> {
  return {
    name: 'reduce',
    init: () => [],
    add: (a, r) => (a.length === 0 ? [r.value] : [fn(a[0], r.value)]),
    merge: (a, b) => (a.length === 0 ? b : b.length === 0 ? a : [fn(a[0], b[0])]),
    result: (a) => a[0],
  };
}
