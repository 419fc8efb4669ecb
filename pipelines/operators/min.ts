import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/** Smallest value of a numeric field (default: the value). A window always has a record, so never null in output. */
export function min<R extends Rec>(of: (rec: R) => number = (r) => r.value as number): Aggregator<R, number | null, number> {
  return {
    name: 'min',
    init: () => null,
    add: (a, r) => {
      const v = of(r);
      return a === null || v < a ? v : a;
    },
    merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)),
    result: (a) => a as number,
  };
}
