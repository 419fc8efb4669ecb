import { WeirError } from '../../core/errors.js';
import type { WindowSpec } from './window-spec.js';

/**
 * Fixed-size windows starting every advanceMs (Flink's sliding / SQL HOP windows): each record is
 * in sizeMs / advanceMs windows. `hopping({ sizeMs: 10_000, advanceMs: 2_000 })`.
 */
export function hopping(options: { sizeMs: number; advanceMs: number; offsetMs?: number }): WindowSpec {
  const { sizeMs, advanceMs, offsetMs = 0 } = options;
  if (!(Number.isSafeInteger(sizeMs) && sizeMs > 0)) throw new WeirError('invalid_argument', `hopping: sizeMs must be a positive integer, got ${sizeMs}`);
  if (!(Number.isSafeInteger(advanceMs) && advanceMs > 0 && advanceMs <= sizeMs)) {
    throw new WeirError('invalid_argument', `hopping: advanceMs must be a positive integer <= sizeMs, got ${advanceMs}`);
  }
  if (!(Number.isSafeInteger(offsetMs) && offsetMs >= 0 && offsetMs < advanceMs)) throw new WeirError('invalid_argument', `hopping: offsetMs must be an integer in [0, advanceMs), got ${offsetMs}`);
  return { kind: 'aligned', sizeMs, advanceMs, offsetMs };
}
