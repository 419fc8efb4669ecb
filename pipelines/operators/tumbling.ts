import { WeirError } from '../../core/errors.js';
import type { WindowSpec } from './window-spec.js';

/**
 * Fixed, non-overlapping windows [k*size + offset, (k+1)*size + offset): each record is in exactly one.
 * `tumbling({ sizeMs: 60_000 })`.
 */
export function tumbling(options: { sizeMs: number; offsetMs?: number }): WindowSpec {
  const { sizeMs, offsetMs = 0 } = options;
  if (!(Number.isSafeInteger(sizeMs) && sizeMs > 0)) throw new WeirError('invalid_argument', `tumbling: sizeMs must be a positive integer, got ${sizeMs}`);
  if (!(Number.isSafeInteger(offsetMs) && offsetMs >= 0 && offsetMs < sizeMs)) throw new WeirError('invalid_argument', `tumbling: offsetMs must be an integer in [0, sizeMs), got ${offsetMs}`);
  return { kind: 'aligned', sizeMs, advanceMs: sizeMs, offsetMs };
}
