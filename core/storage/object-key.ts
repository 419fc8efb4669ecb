import { WeirError } from '../errors.js';

/**
 * The rules every object key obeys, whatever the backend. They are stricter than S3's so that a
 * key is always a safe relative path on a filesystem and sorts the same everywhere:
 * - '/'-separated segments, none empty (no leading, trailing or doubled '/');
 * - a segment never starts with '.', which excludes '.' and '..' (no escaping the root) and
 *   leaves dot-names free for a backend's own files (the fs store's temp files);
 * - only ASCII letters, digits and `_ - . = + , @ ~`, so UTF-16 order (JavaScript's sort)
 *   equals byte order (S3's list order) and no character needs escaping anywhere;
 * - at most 1024 bytes, S3's limit.
 */
export const MAX_OBJECT_KEY_LENGTH = 1024;

const segmentPattern = /^[A-Za-z0-9_\-=+,@~][A-Za-z0-9_.\-=+,@~]*$/;

/** Returns why the key is invalid, or null when it is a valid object key. */
export function objectKeyError(key: unknown): string | null {
  if (typeof key !== 'string') return 'object key must be a string';
  if (key.length === 0) return 'object key must not be empty';
  if (key.length > MAX_OBJECT_KEY_LENGTH) return `object key longer than ${MAX_OBJECT_KEY_LENGTH} bytes`;
  for (const segment of key.split('/')) {
    if (segment.length === 0) return `object key ${JSON.stringify(key)} has an empty segment`;
    if (!segmentPattern.test(segment)) {
      return `object key ${JSON.stringify(key)} has an invalid segment ${JSON.stringify(segment)}`;
    }
  }
  return null;
}

/** Throws WeirError('invalid_argument') unless key is a valid object key. */
export function assertValidObjectKey(key: unknown): asserts key is string {
  const error = objectKeyError(key);
  if (error !== null) throw new WeirError('invalid_argument', error);
}

/** True when a segment could appear in a valid key (used to prune list walks safely). */
export function isValidKeySegment(segment: string): boolean {
  return segment.length > 0 && segmentPattern.test(segment);
}
