/**
 * The object store holds Weir's log: immutable objects written once by a flush and read by
 * byte range. Backends: memory (tests), filesystem (embedded default) and S3 (cluster).
 * Every key comes from core/storage/paths.ts.
 */
export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
}

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
}

export interface ObjectStore {
  /** A short name for logs and docs ("memory", "fs", "s3"). */
  readonly kind: string;
  /** Writes the whole object durably; once this resolves the bytes survive a crash. Overwrites. */
  put(key: string, body: Uint8Array): Promise<void>;
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
