import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/** Sum of a numeric field (default: the value itself). */
export function sum<R extends Rec>(of: (rec: R) => number = (r) => r.value as number): Aggregator<R, number, number> {
  return { name: 'sum', init: () => 0, add: (a, r) => a + of(r), merge: (a, b) => a + b, result: (a) => a };
}
