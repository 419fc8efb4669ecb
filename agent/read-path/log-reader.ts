/**
 * The read path: turns (topic, partition, offset, byte budget) into record batches with their
 * real offsets. The metadata index says which object and byte range holds which offsets; the
 * bytes come from the cache or a range GET. Stored batches still carry the base offset the
 * producer sent, so each one is patched in place with its committed base offset here.
 */
import type { IndexEntry, MetadataStore } from '../../core/metadata/metadata-store.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import type { LogCache } from './log-cache.js';
import { patchOffsets } from '../../core/records/patch-offsets.js';
import { Deadline, withDeadline } from './deadline.js';

/** Byte positions inside a v2 batch header (see docs/format.md). */
const BATCH_LENGTH_AT = 8;
const LAST_OFFSET_DELTA_AT = 23;
const BATCH_OVERHEAD = 12;
const INDEX_ENTRIES_PER_READ = 64;

/**
 * How long a read may wait for the object store (and the index) before the partition fails with
 * a retriable error. Well below the clients' request timeouts (kafkajs 30 s, librdkafka 60 s,
 * Weir's client 30 s + max wait), so they get an answer they can retry instead of timing out
 * their whole connection.
 */
export const READ_TIMEOUT_MS = 10_000;

export interface LogReaderOptions {
  readTimeoutMs?: number;
}

interface InflightGet {
  promise: Promise<Buffer>;
  startedMs: number;
}

export interface PartitionRead {
  /** Whole batches, offsets patched, as consecutive pieces; empty when nothing fits. */
  records: Buffer[];
  sizeBytes: number;
  /** Offset after the last included batch (where a consumer continues). */
  nextOffset: number;
}

export class LogReader {
  private inflight = new Map<string, InflightGet>();
  /** Bound on each read's waits (object GETs, index reads); see READ_TIMEOUT_MS. */
  readonly readTimeoutMs: number;

  constructor(
    private readonly objects: ObjectStore,
    private readonly metadata: MetadataStore,
    private readonly cache: LogCache,
    options: LogReaderOptions = {},
  ) {
    this.readTimeoutMs = options.readTimeoutMs ?? READ_TIMEOUT_MS;
  }

  /** GETs being waited for (shared by concurrent misses); for diagnostics and tests. */
  get inflightReads(): number {
    return this.inflight.size;
  }

  /**
   * The stored bytes of one index entry, offsets patched, as consecutive pieces (each holds
   * whole batches). Concurrent misses share one GET; waiting for it ends at deadlineMs with a
   * retriable 'unavailable' error (a Deadline shared by a read pass, or a time in ms).
   */
  async entryPieces(entry: IndexEntry, deadline: Deadline | number = Date.now() + this.readTimeoutMs): Promise<Buffer[]> {
    const cached = this.cache.get(entry.objectKey, entry.byteStart, entry.byteLength);
    if (cached) return patchOffsets(cached, entry.baseOffset);
    const k = `${entry.objectKey}:${entry.byteStart}:${entry.byteLength}`;
    let g = this.inflight.get(k);
    // A GET older than the bound is not joined: if it never settles, every later read of these
    // bytes would wait on it forever (the range poisoned for the life of the process); a fresh
    // GET may well succeed.
    if (!g || Date.now() - g.startedMs >= this.readTimeoutMs) {
      const promise: Promise<Buffer> = this.objects
        .get(entry.objectKey, { start: entry.byteStart, end: entry.byteStart + entry.byteLength })
        .then((buf) => {
          this.cache.put(entry.objectKey, entry.byteStart, entry.byteLength, [buf]);
          return buf;
        })
        .finally(() => {
          // Only our own entry: a stuck GET that finally settles must not drop its replacement.
          if (this.inflight.get(k)?.promise === promise) this.inflight.delete(k);
        });
      g = { promise, startedMs: Date.now() };
      this.inflight.set(k, g);
    }
    const shared = g;
    let buf: Buffer;
    try {
      buf = await withDeadline(shared.promise, deadline, () => `read of ${entry.objectKey} bytes ${entry.byteStart}+${entry.byteLength}`);
    } catch (e) {
      // Timed out (or failed): the next read of these bytes starts its own GET.
      if (this.inflight.get(k) === shared) this.inflight.delete(k);
      throw e;
    }
    return patchOffsets([buf], entry.baseOffset);
  }

  /** The same as entryPieces, as one buffer (copies only when the entry has several pieces). */
  async entryBytes(entry: IndexEntry): Promise<Buffer> {
    const pieces = await this.entryPieces(entry);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to maxBytes. When
   * `allowOversize` is set, the first batch is returned even if larger than maxBytes, so a
   * consumer can always make progress (KIP-74). Nothing at or past highWatermark is returned.
   * The result references cached bytes: no copy. Waits for the index and the object store end at
   * deadlineMs (default: readTimeoutMs from now) with a retriable 'unavailable' error.
   */
  async read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    allowOversize: boolean,
    highWatermark: number,
    deadline?: Deadline | number,
  ): Promise<PartitionRead> {
    if (deadline instanceof Deadline) return this.readWithin(topic, partition, offset, maxBytes, allowOversize, highWatermark, deadline);
    const own = new Deadline(deadline ?? Date.now() + this.readTimeoutMs);
    try {
      return await this.readWithin(topic, partition, offset, maxBytes, allowOversize, highWatermark, own);
    } finally {
      own.clear();
    }
  }

  private async readWithin(topic: string, partition: number, offset: number, maxBytes: number, allowOversize: boolean, highWatermark: number, deadline: Deadline): Promise<PartitionRead> {
    const out: Buffer[] = [];
    let total = 0;
    let next = offset;
    let from = offset;
    outer: while (from < highWatermark) {
      const entries = await deadline.race(this.metadata.readIndex(topic, partition, from, INDEX_ENTRIES_PER_READ), () => `index read of ${topic}-${partition} at ${from}`);
      if (entries.length === 0) break;
      for (const entry of entries) {
        let batchBase = entry.baseOffset;
        for (const buf of await this.entryPieces(entry, deadline)) {
          let pos = 0;
          let sliceStart = -1;
          let sliceEnd = 0;
          let full = false;
          while (pos + BATCH_OVERHEAD <= buf.length) {
            // The index may already hold a commit whose WAL sync has not finished: it is not
            // acknowledged yet, so it is past the high watermark this fetch reports. Serving it
            // would let a consumer see records a crash could still lose, and ask next for an
            // offset beyond the high watermark.
            if (batchBase >= highWatermark) {
              full = true;
              break;
            }
            const size = buf.readInt32BE(pos + BATCH_LENGTH_AT) + BATCH_OVERHEAD;
            const count = buf.readInt32BE(pos + LAST_OFFSET_DELTA_AT) + 1;
            const last = batchBase + count - 1;
            if (last >= offset) {
              if (total + size > maxBytes && !(allowOversize && total === 0)) {
                full = true;
                break;
              }
              if (sliceStart < 0) sliceStart = pos;
              sliceEnd = pos + size;
              total += size;
              next = last + 1;
            }
            pos += size;
            batchBase += count;
          }
          if (sliceStart >= 0) out.push(buf.subarray(sliceStart, sliceEnd));
          if (full) break outer;
        }
        from = entry.lastOffset + 1;
      }
      if (entries.length < INDEX_ENTRIES_PER_READ) break;
    }
    return { records: out, sizeBytes: total, nextOffset: next };
  }
}

// Moved to core/records (the table connector uses it too); re-exported for existing importers.
export { patchOffsets } from '../../core/records/patch-offsets.js';
