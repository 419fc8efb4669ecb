import { WeirError } from '../../core/errors.js';
import type { WindowSpec } from './window-spec.js';

/**
 * Session windows: per key, records whose event times are within gapMs of each other form one
 * session [first, last + gap). A record arriving between two sessions merges them (with the
 * aggregator's merge). `session({ gapMs: 30 * 60_000 })`.
 */
export function session(options: { gapMs: number }): WindowSpec {
  const { gapMs } = options;
  if (!(Number.isSafeInteger(gapMs) && gapMs > 0)) throw new WeirError('invalid_argument', `session: gapMs must be a positive integer, got ${gapMs}`);
  return { kind: 'session', gapMs };
}
