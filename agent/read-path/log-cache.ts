/**
 * A byte-bounded LRU of log bytes. Flushes put their whole object here (write-through), so
 * consumers reading the tail never touch the object store; older ranges are cached as read.
 * Entries are immutable once committed offsets are patched in (patching is idempotent: a batch
 * always gets the same offset), so readers may patch cached buffers in place.
 */
export class LogCache {
  /** Map iteration order is insertion order: re-inserting on hit makes it an LRU. */
  private entries = new Map<string, Buffer>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly bytesMax: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  putObject(key: string, body: Buffer): void {
    this.put(`o:${key}`, body);
  }

  putRange(key: string, start: number, body: Buffer): void {
    this.put(`r:${key}:${start}:${body.length}`, body);
  }

  /** The bytes [start, start+length) of an object, if cached whole or as exactly that range. */
  get(key: string, start: number, length: number): Buffer | undefined {
    const whole = this.touch(`o:${key}`);
    if (whole && start + length <= whole.length) {
      this.hits++;
      return whole.subarray(start, start + length);
    }
    const range = this.touch(`r:${key}:${start}:${length}`);
    if (range) this.hits++;
    else this.misses++;
    return range;
  }

  private touch(k: string): Buffer | undefined {
    const v = this.entries.get(k);
    if (v) {
      this.entries.delete(k);
      this.entries.set(k, v);
    }
    return v;
  }

  private put(k: string, body: Buffer): void {
    if (body.length > this.bytesMax) return;
    const old = this.entries.get(k);
    if (old) {
      this.bytes -= old.length;
      this.entries.delete(k);
    }
    this.entries.set(k, body);
    this.bytes += body.length;
    for (const [ek, ev] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(ek);
      this.bytes -= ev.length;
    }
  }
}
