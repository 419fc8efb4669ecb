import { WeirError } from '../errors.js';
import type { ByteRange } from './object-store.js';

/**
 * Checks a requested range and clamps it to an object of `size` bytes, the way an HTTP/S3 range
 * GET behaves: bytes past the end are simply not returned. Every backend uses this so they all
 * agree on edge cases; a caller that needs an exact length (Fetch) compares it with what it got.
 */
export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new WeirError('invalid_argument', `invalid byte range [${String(start)}, ${String(end)})`);
  }
}

/** The clamped [start, end) of `range` within an object of `size` bytes (the whole object if no range). */
export function clampRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (range === undefined) return { start: 0, end: size };
  assertValidRange(range);
  const start = Math.min(range.start, size);
  return { start, end: Math.min(Math.max(range.end, start), size) };
}
