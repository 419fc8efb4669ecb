import { WeirError } from '../../core/errors.js';
import type { WindowSpec } from './window-spec.js';

/**
 * Sliding windows (Kafka Streams' SlidingWindows): windows that move with the records, so every
 * distinct set of records no more than sizeMs - 1 apart is aggregated once. For each record at t
 * there is a window ending with it, [t - size + 1, t + 1), and, if later records fall within
 * sizeMs, one starting just after it, [t + 1, t + 1 + size). `sliding({ sizeMs: 5 * 60_000 })`.
 */
export function sliding(options: { sizeMs: number }): WindowSpec {
  const { sizeMs } = options;
  if (!(Number.isSafeInteger(sizeMs) && sizeMs > 0)) throw new WeirError('invalid_argument', `sliding: sizeMs must be a positive integer, got ${sizeMs}`);
  return { kind: 'sliding', sizeMs };
}
