/**
 * Reads committed records straight from the stores (the metadata store's index and the object
 * store's flush objects), the way an agent's read path does, without going through an agent.
 * Like WarpStream's Tableflow: the log is already in the object store, so a table connector
 * neither loads the agents nor needs consumer groups, and several connector processes can read
 * the same partitions.
 *
 * Never past the high watermark: the caller passes the end offset it got from the partition's
 * state, and the read stops there even if the index already holds later entries.
 *
 * Two ways to get the records: readCommitted (one LogRow object per record, for the JS decoders:
 * Avro, and Arrow output), and scanCommitted (a visitor called with positions into the batch
 * bytes, no object per record: the JSON → DuckDB path, where the JS side only moves bytes).
 */
import { BATCH_HEADER_BYTES, scanBatches, type BatchHeader } from '../../core/records/batch.js';
import { Compression, decompress } from '../../core/records/compression.js';
import { WeirError } from '../../core/errors.js';
import { decodeBatchRecords, type RecordHeader } from '../../core/records/records.js';
import { readVarint, readVarlong, type Cursor } from '../../core/records/varint.js';
import type { IndexEntry, MetadataStore } from '../../core/metadata/metadata-store.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { patchOffsets } from '../../core/records/patch-offsets.js';

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

interface EntryBytes {
  buf: Buffer;
  /** The next offset after this entry (at most the end offset). */
  nextOffset: number;
  storedBytes: number;
}

/** The stored bytes of the index entries covering [fromOffset, endOffset), offsets patched, in order. */
async function* readEntries(
  metadata: MetadataStore,
  objects: ObjectStore,
  topic: string,
  partition: number,
  fromOffset: number,
  endOffset: number,
  opts: LogReadOptions,
): AsyncGenerator<EntryBytes> {
  const perRead = opts.entriesPerRead ?? 64;
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
      const next = Math.min(entry.lastOffset + 1, endOffset);
      yield { buf, nextOffset: next, storedBytes: entry.byteLength };
      from = next;
    }
    if (entries.length < perRead) break;
  }
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
  const maxBytes = opts.decompressedBytesMax ?? 256 * 1024 * 1024;
  let from = fromOffset;
  for await (const { buf, nextOffset, storedBytes } of readEntries(metadata, objects, topic, partition, fromOffset, endOffset, opts)) {
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
    yield { rows, nextOffset, storedBytes };
    from = nextOffset;
  }
}

/**
 * Called once per record with positions into `data` (a batch's record bytes, decompressed when
 * needed): key and value are data[start, start + length), a length of -1 meaning null. Headers
 * (headerCount > 0) are decoded on demand with decodeHeaders(data, headersAt, headerCount, end).
 */
export type RecordVisitor = (
  offset: number,
  timestamp: number,
  data: Buffer,
  keyStart: number,
  keyLength: number,
  valueStart: number,
  valueLength: number,
  headersAt: number,
  headerCount: number,
  recordEnd: number,
) => void;

export interface ScanProgress {
  /** Records visited in this entry. */
  rows: number;
  nextOffset: number;
  storedBytes: number;
}

/**
 * The records of [fromOffset, endOffset), in offset order, through `visit`: no object per record.
 * Yields once per index entry (progress, and a point where the caller may flush).
 */
export async function* scanCommitted(
  metadata: MetadataStore,
  objects: ObjectStore,
  topic: string,
  partition: number,
  fromOffset: number,
  endOffset: number,
  visit: RecordVisitor,
  opts: LogReadOptions = {},
): AsyncGenerator<ScanProgress> {
  const maxBytes = opts.decompressedBytesMax ?? 256 * 1024 * 1024;
  let from = fromOffset;
  for await (const { buf, nextOffset, storedBytes } of readEntries(metadata, objects, topic, partition, fromOffset, endOffset, opts)) {
    let rows = 0;
    for (const h of scanBatches(buf, { verifyCrc: true, allowCompacted: true })) {
      const base = Number(h.baseOffset);
      const last = base + h.lastOffsetDelta;
      if (last < from || h.isControl) continue;
      if (base >= endOffset) break;
      rows += await visitBatch(buf, h, from, endOffset, maxBytes, visit);
    }
    yield { rows, nextOffset, storedBytes };
    from = nextOffset;
  }
}

const MIN_RECORD_BYTES = 7;

function corrupt(h: BatchHeader, msg: string): WeirError {
  return new WeirError('corrupt', `record batch at byte ${h.position} (base offset ${h.baseOffset}): ${msg}`);
}

/** The same checks as core/records decodeRecords, without building records. Returns records visited. */
async function visitBatch(buf: Buffer, h: BatchHeader, from: number, end: number, maxBytes: number, visit: RecordVisitor): Promise<number> {
  const start = h.position + BATCH_HEADER_BYTES;
  const stop = h.position + h.sizeBytes;
  if (start > stop || stop > buf.length) throw corrupt(h, 'batch extends past the end of the buffer');
  let data = buf.subarray(start, stop);
  if (h.compression !== Compression.None) data = await decompress(h.compression, data, { maxBytes });
  const count = h.recordCount;
  if (count * MIN_RECORD_BYTES > data.length) throw corrupt(h, `${count} records cannot fit in ${data.length} bytes`);
  const logAppend = h.timestampType === 'log-append';
  const base = Number(h.baseOffset);
  const n = data.length;
  const cur: Cursor = { pos: 0 };
  let visited = 0;
  for (let i = 0; i < count; i++) {
    const length = readVarint(data, cur, n);
    const recordEnd = cur.pos + length;
    if (length < MIN_RECORD_BYTES - 1 || recordEnd > n) throw corrupt(h, `record ${i} has invalid length ${length}`);
    cur.pos++; // attributes
    const timestampDelta = readVarlong(data, cur, recordEnd);
    const offsetDelta = readVarint(data, cur, recordEnd);
    if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) throw corrupt(h, `record ${i} has offset delta ${offsetDelta} outside [0, ${h.lastOffsetDelta}]`);
    const keyLength = readVarint(data, cur, recordEnd);
    if (keyLength < -1 || cur.pos + Math.max(keyLength, 0) > recordEnd) throw corrupt(h, `invalid key length ${keyLength}`);
    const keyStart = cur.pos;
    if (keyLength > 0) cur.pos += keyLength;
    const valueLength = readVarint(data, cur, recordEnd);
    if (valueLength < -1 || cur.pos + Math.max(valueLength, 0) > recordEnd) throw corrupt(h, `invalid value length ${valueLength}`);
    const valueStart = cur.pos;
    if (valueLength > 0) cur.pos += valueLength;
    const headerCount = readVarint(data, cur, recordEnd);
    if (headerCount < 0) throw corrupt(h, `record ${i} has negative header count ${headerCount}`);
    if (headerCount * 2 > recordEnd - cur.pos) throw corrupt(h, `record ${i} cannot hold ${headerCount} headers`);
    const offset = base + offsetDelta;
    if (offset >= from && offset < end) {
      visit(offset, logAppend ? h.maxTimestamp : h.baseTimestamp + timestampDelta, data, keyStart, keyLength, valueStart, valueLength, cur.pos, headerCount, recordEnd);
      visited++;
    }
    cur.pos = recordEnd;
  }
  if (cur.pos !== n) throw corrupt(h, `${n - cur.pos} bytes left over after ${count} records`);
  return visited;
}

/** The headers of a record whose visitor got headersAt and headerCount > 0. */
export function decodeHeaders(data: Buffer, headersAt: number, headerCount: number, recordEnd: number): RecordHeader[] {
  const cur: Cursor = { pos: headersAt };
  const out: RecordHeader[] = new Array(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const keyLength = readVarint(data, cur, recordEnd);
    if (keyLength < 0 || cur.pos + keyLength > recordEnd) throw new WeirError('corrupt', `invalid header key length ${keyLength}`);
    const key = data.toString('utf8', cur.pos, cur.pos + keyLength);
    cur.pos += keyLength;
    const valueLength = readVarint(data, cur, recordEnd);
    if (valueLength < -1 || cur.pos + Math.max(valueLength, 0) > recordEnd) throw new WeirError('corrupt', `invalid header value length ${valueLength}`);
    out[h] = { key, value: valueLength < 0 ? null : data.subarray(cur.pos, cur.pos + valueLength) };
    if (valueLength > 0) cur.pos += valueLength;
  }
  if (cur.pos !== recordEnd) throw new WeirError('corrupt', `record headers end at ${cur.pos}, the record at ${recordEnd}`);
  return out;
}

async function fetchEntry(objects: ObjectStore, e: IndexEntry): Promise<Buffer> {
  const buf = await objects.get(e.objectKey, { start: e.byteStart, end: e.byteStart + e.byteLength });
  // Stored batches carry the producer's base offset; the index knows the committed one.
  patchOffsets([buf], e.baseOffset);
  return buf;
}
