/**
 * A byte-bounded LRU of log bytes, one entry per index entry (object key + byte range). A flush
 * puts each partition's chunk here as the pieces producers sent (write-through, no copy), so
 * consumers reading the tail never touch the object store; older chunks are cached as read.
 * Committed offsets are patched into the bytes in place, which is safe to repeat: a batch always
 * gets the same offset.
 */
export class LogCache {
  /** Map iteration order is insertion order: re-inserting on hit makes it an LRU. */
  private entries = new Map<string, { pieces: Buffer[]; bytes: number }>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly bytesMax: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  private static key(objectKey: string, start: number, length: number): string {
    return `${objectKey}:${start}:${length}`;
  }

  /** Caches the bytes [start, start+length) of an object, given as consecutive pieces. */
  put(objectKey: string, start: number, length: number, pieces: Buffer[]): void {
    if (length > this.bytesMax) return;
    const k = LogCache.key(objectKey, start, length);
    const old = this.entries.get(k);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(k);
    }
    this.entries.set(k, { pieces, bytes: length });
    this.bytes += length;
    for (const [ek, ev] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(ek);
      this.bytes -= ev.bytes;
    }
  }

  get(objectKey: string, start: number, length: number): Buffer[] | undefined {
    const k = LogCache.key(objectKey, start, length);
    const v = this.entries.get(k);
    if (!v) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(k);
    this.entries.set(k, v);
    return v.pieces;
  }
}
