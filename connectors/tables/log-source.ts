/**
 * Reads committed records straight from the stores (the metadata store's index and the object
 * store's flush objects), the way an agent's read path does, without going through an agent.
 * Like WarpStream's Tableflow: the log is already in the object store, so a table connector
 * neither loads the agents nor needs consumer groups, and several connector processes can read
 * the same partitions.
 *
 * Never past the high watermark: the caller passes the end offset it got from the partition's
 * state, and the read stops there even if the index already holds later entries.
 */
import { scanBatches } from '../../core/records/batch.js';
import { decodeBatchRecords, type RecordHeader } from '../../core/records/records.js';
import type { IndexEntry, MetadataStore } from '../../core/metadata/metadata-store.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { patchOffsets } from '../../agent/read-path/log-reader.js';

const PREFETCH_ENTRIES = 4;

export interface LogRow {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface LogChunk {
  rows: LogRow[];
  /** Offsets covered so far: the next offset after this chunk (control records included). */
  nextOffset: number;
  /** Stored bytes read for this chunk (for progress reporting and size estimates). */
  storedBytes: number;
}

export interface LogReadOptions {
  /** Index entries fetched per metadata read. */
  entriesPerRead?: number;
  /** Bound on one batch's decompressed payload. */
  decompressedBytesMax?: number;
}

/**
 * Yields the records of [fromOffset, endOffset) of one partition, one chunk per index entry, in
 * offset order. Control batches (transaction markers) take offsets but produce no rows.
 */
export async function* readCommitted(
  metadata: MetadataStore,
  objects: ObjectStore,
  topic: string,
  partition: number,
  fromOffset: number,
  endOffset: number,
  opts: LogReadOptions = {},
): AsyncGenerator<LogChunk> {
  const perRead = opts.entriesPerRead ?? 64;
  const maxBytes = opts.decompressedBytesMax ?? 256 * 1024 * 1024;
  let from = fromOffset;
  while (from < endOffset) {
    const entries = await metadata.readIndex(topic, partition, from, perRead);
    if (entries.length === 0) break;
    // Fetch a few entries ahead while one decodes (object GETs are the latency), bounded so a
    // read holds at most PREFETCH_ENTRIES entries' bytes (each up to a flush, 8 MiB by default).
    const bytes: (Promise<Buffer> | undefined)[] = [];
    const want = (i: number): void => {
      const e = entries[i];
      if (e === undefined || e.baseOffset >= endOffset || bytes[i] !== undefined) return;
      const p = fetchEntry(objects, e);
      p.catch(() => undefined); // awaited below, or abandoned when the reader stops early
      bytes[i] = p;
    };
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.baseOffset >= endOffset) return;
      for (let j = i; j < i + PREFETCH_ENTRIES; j++) want(j);
      const buf = await bytes[i]!;
      bytes[i] = undefined;
      const rows: LogRow[] = [];
      for (const h of scanBatches(buf, { verifyCrc: true, allowCompacted: true })) {
        const base = Number(h.baseOffset);
        const last = base + h.lastOffsetDelta;
        if (last < from || h.isControl) continue;
        if (base >= endOffset) break;
        for (const r of await decodeBatchRecords(buf, h, { maxBytes })) {
          const offset = Number(r.offset);
          if (offset < from || offset >= endOffset) continue;
          rows.push({ offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
        }
      }
      const next = Math.min(entry.lastOffset + 1, endOffset);
      yield { rows, nextOffset: next, storedBytes: entry.byteLength };
      from = next;
    }
    if (entries.length < perRead) break;
  }
}

async function fetchEntry(objects: ObjectStore, e: IndexEntry): Promise<Buffer> {
  const buf = await objects.get(e.objectKey, { start: e.byteStart, end: e.byteStart + e.byteLength });
  // Stored batches carry the producer's base offset; the index knows the committed one.
  patchOffsets([buf], e.baseOffset);
  return buf;
}
