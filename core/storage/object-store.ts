/**
 * The object store holds Weir's log: immutable objects written once by a flush and read by
 * byte range. Backends: memory (tests), filesystem (embedded default) and S3 (cluster).
 * Every key comes from core/storage/paths.ts and obeys core/storage/object-key.ts; a malformed
 * key fails with WeirError('invalid_argument') on every backend. The shared behaviour of all
 * backends is pinned down by test/contracts/object-store-contract.ts.
 */

/**
 * Needs integers 0 <= start <= end ('invalid_argument' otherwise). Like an HTTP range GET, a
 * range reaching past the end of the object returns only the bytes that exist (possibly none),
 * so a caller that needs an exact length checks the length it got.
 */
export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
}

/** An object's bytes: one buffer, or consecutive pieces to be stored as their concatenation. */
export type ObjectBody = Uint8Array | readonly Uint8Array[];

/** The body as one buffer (copies only when given pieces). */
export function joinObjectBody(body: ObjectBody): Buffer {
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.concat(body as Uint8Array[]);
}

export function objectBodySize(body: ObjectBody): number {
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const b of body) n += b.byteLength;
  return n;
}

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
}

export interface ObjectStore {
  /** A short name for logs and docs ("memory", "fs", "s3"). */
  readonly kind: string;
  /**
   * Writes the whole object durably; once this resolves the bytes survive a crash. Overwrites.
   * The body may be given as consecutive pieces: a flush passes the producers' buffers as they
   * are, so the filesystem backend writes them with one writev instead of copying them first.
   */
  put(key: string, body: ObjectBody): Promise<void>;
  /** Reads the object or a byte range of it. Throws WeirError('not_found') when absent. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Size of the object, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Deletes the object; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with prefix, in lexicographic key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  close(): Promise<void>;
}
