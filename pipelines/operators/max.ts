import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/** Largest value of a numeric field (default: the value). */
export function max<R extends Rec>(of: (rec: R) => number = (r) => r.value as number): Aggregator<R, number | null, number> {
  return {
    name: 'max',
    init: () => null,
    add: (a, r) => {
      const v = of(r);
      return a === null || v > a ? v : a;
    },
    merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
    result: (a) => a as number,
  };
}
