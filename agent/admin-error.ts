/**
 * A failure that already knows its Kafka error code. The admin handlers check many things that
 * Weir's internal error kinds cannot tell apart (a bad partition count, a bad replication factor
 * and a bad config are all 'invalid_argument' to core/), so their checks throw this and the
 * handler turns it into that resource's error code and message.
 */
import { isWeirError } from '../core/errors.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from './error-codes.js';

export class AdminError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/**
 * The error code and message for one resource's result. A WeirError('invalid_argument') that
 * reaches here came from a store check we did not anticipate; INVALID_REQUEST is the honest code.
 */
export function adminFailure(e: unknown): { errorCode: number; errorMessage: string } {
  if (e instanceof AdminError) return { errorCode: e.code, errorMessage: e.message };
  if (isWeirError(e, 'invalid_argument')) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: e.message };
  return { errorCode: errorCodeOf(e), errorMessage: errorMessageOf(e) };
}

/** Names that occur more than once; admin requests reject every entry of a duplicated resource, as Kafka does. */
export function duplicatesOf(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) dup.add(n);
    seen.add(n);
  }
  return dup;
}
