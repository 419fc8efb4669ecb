import type { Rec } from '../core/contracts.js';
import type { Aggregator } from './aggregator.js';

/** Number of records. */
export function count<R extends Rec = Rec>(): Aggregator<R, number, number> {
  return { name: 'count', init: () => 0, add: (a) => a + 1, merge: (a, b) => a + b, result: (a) => a };
}
