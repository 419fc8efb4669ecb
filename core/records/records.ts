/**
 * Records inside a v2 batch: decoding them (decompressing when needed) and building whole batches.
 *
 * Record layout: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 * keyLength varint | key | valueLength varint | value | headerCount varint |
 * [headerKeyLength varint | headerKey utf8 | headerValueLength varint | headerValue]...
 * Lengths of -1 mean null (key, value, header value).
 */
import { WeirError } from '../errors.js';
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_CRC,
  type BatchHeader,
} from './batch.js';
import { Compression, compress, decompress, isCompression } from './compression.js';
import { crc32c } from './crc32c.js';
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong, type Cursor } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: bigint;
  timestamp: number;
  /** Views into the batch (or its decompressed payload), not copies: copy to retain them cheaply. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  attributes: number;
}

export interface DecodeOptions {
  /** Cap on the decompressed payload size; see compression.ts. */
  maxBytes?: number;
}

// Smallest possible record: 1-byte length plus six 1-byte fields (attrs, ts, offset, key, value, header count).
const MIN_RECORD_BYTES = 7;

// Errors that already name their batch, so the decode loop does not wrap them a second time.
const withContext = new WeakSet<WeirError>();

function corrupt(header: BatchHeader, msg: string, cause?: unknown): WeirError {
  const e = new WeirError('corrupt', `record batch at byte ${header.position} (base offset ${header.baseOffset}): ${msg}`, {
    cause,
  });
  withContext.add(e);
  return e;
}

/**
 * Decodes every record of the batch at header.position in buf. The header should come from
 * scanBatches/readBatchHeader on the same buf. Structural problems throw 'corrupt'; a payload
 * decompressing past opts.maxBytes throws 'too_large'.
 */
export async function decodeBatchRecords(buf: Buffer, header: BatchHeader, opts: DecodeOptions = {}): Promise<KafkaRecord[]> {
  const start = header.position + BATCH_HEADER_BYTES;
  const end = header.position + header.sizeBytes;
  if (start > end || end > buf.length) throw corrupt(header, 'batch extends past the end of the buffer');
  let data = buf.subarray(start, end);
  if (header.compression !== Compression.None) {
    try {
      data = await decompress(header.compression, data, opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });
    } catch (e) {
      if (e instanceof WeirError && e.kind === 'corrupt') throw corrupt(header, e.message, e);
      if (e instanceof WeirError && e.kind === 'too_large') {
        throw new WeirError('too_large', `record batch at byte ${header.position}: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
  return decodeRecords(data, header);
}

/** Decodes header.recordCount records that must exactly fill `data` (an uncompressed payload). */
export function decodeRecords(data: Buffer, header: BatchHeader): KafkaRecord[] {
  const count = header.recordCount;
  if (count * MIN_RECORD_BYTES > data.length) {
    throw corrupt(header, `${count} records cannot fit in ${data.length} bytes`);
  }
  const logAppend = header.timestampType === 'log-append';
  const records: KafkaRecord[] = new Array(count);
  const cur: Cursor = { pos: 0 };
  const n = data.length;
  try {
    for (let i = 0; i < count; i++) {
      const length = readVarint(data, cur, n);
      const recordEnd = cur.pos + length;
      if (length < MIN_RECORD_BYTES - 1 || recordEnd > n) throw corrupt(header, `record ${i} has invalid length ${length}`);
      const attributes = data.readInt8(cur.pos++);
      const timestampDelta = readVarlong(data, cur, recordEnd);
      const offsetDelta = readVarint(data, cur, recordEnd);
      if (offsetDelta < 0 || offsetDelta > header.lastOffsetDelta) {
        throw corrupt(header, `record ${i} has offset delta ${offsetDelta} outside [0, ${header.lastOffsetDelta}]`);
      }
      const key = readBytes(data, cur, recordEnd, header, 'key');
      const value = readBytes(data, cur, recordEnd, header, 'value');
      const headerCount = readVarint(data, cur, recordEnd);
      if (headerCount < 0) throw corrupt(header, `record ${i} has negative header count ${headerCount}`);
      if (headerCount * 2 > recordEnd - cur.pos) throw corrupt(header, `record ${i} cannot hold ${headerCount} headers`);
      const headers: RecordHeader[] = new Array(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const keyLength = readVarint(data, cur, recordEnd);
        if (keyLength < 0 || cur.pos + keyLength > recordEnd) throw corrupt(header, `record ${i} has invalid header key length ${keyLength}`);
        const hk = data.toString('utf8', cur.pos, cur.pos + keyLength);
        cur.pos += keyLength;
        headers[h] = { key: hk, value: readBytes(data, cur, recordEnd, header, 'header value') };
      }
      if (cur.pos !== recordEnd) {
        throw corrupt(header, `record ${i} declares ${length} bytes but its fields take ${length - (recordEnd - cur.pos)}`);
      }
      records[i] = {
        offset: header.baseOffset + BigInt(offsetDelta),
        timestamp: logAppend ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
        key,
        value,
        headers,
        attributes,
      };
    }
  } catch (e) {
    // Varint readers know nothing of batches; add which batch failed.
    if (e instanceof WeirError && e.kind === 'corrupt' && !withContext.has(e)) throw corrupt(header, e.message, e);
    throw e;
  }
  if (cur.pos !== n) throw corrupt(header, `${n - cur.pos} bytes left over after ${count} records`);
  return records;
}

function readBytes(data: Buffer, cur: Cursor, end: number, header: BatchHeader, what: string): Buffer | null {
  const len = readVarint(data, cur, end);
  if (len === -1) return null;
  if (len < -1 || cur.pos + len > end) throw corrupt(header, `invalid ${what} length ${len}`);
  const out = data.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building batches

export type Bytes = Buffer | Uint8Array | string;

export interface RecordInput {
  key?: Bytes | null;
  value: Bytes | null;
  headers?: { key: string; value: Bytes | null }[];
  /** Milliseconds; defaults to now. */
  timestamp?: number;
  /** Defaults to the record's index. */
  offsetDelta?: number;
  /** Record attributes byte; unused by Kafka, 0 by default. */
  attributes?: number;
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  records: RecordInput[];
  compression?: Compression;
  /** Codec level (gzip, zstd). */
  compressionLevel?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  partitionLeaderEpoch?: number;
  timestampType?: 'create' | 'log-append';
  /** Defaults to the first record's timestamp (as Kafka clients do). */
  baseTimestamp?: number;
  /** Defaults to the largest record timestamp; for 'log-append' pass the append time. */
  maxTimestamp?: number;
  /** Defaults to the last record's offset delta (needed only for empty, compacted-style batches). */
  lastOffsetDelta?: number;
}

function toBuffer(b: Bytes | null | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

interface EncodedRecords {
  body: Buffer;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  count: number;
}

function encodeRecords(opts: BuildBatchOptions): EncodedRecords {
  const now = Date.now();
  const recs = opts.records;
  const timestamps = recs.map((r) => r.timestamp ?? now);
  const baseTimestamp = opts.baseTimestamp ?? (timestamps.length > 0 ? timestamps[0]! : now);
  let maxTimestamp = opts.maxTimestamp ?? timestamps[0] ?? baseTimestamp;
  if (opts.maxTimestamp === undefined) for (const t of timestamps) if (t > maxTimestamp) maxTimestamp = t;
  const prepared = recs.map((r, i) => {
    const key = toBuffer(r.key);
    const value = toBuffer(r.value);
    const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBuffer(h.value) }));
    const offsetDelta = r.offsetDelta ?? i;
    if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta > 0x7fffffff) {
      throw new WeirError('invalid_argument', `record ${i} has invalid offsetDelta ${offsetDelta}`);
    }
    const timestampDelta = timestamps[i]! - baseTimestamp;
    let size =
      1 +
      sizeOfVarlong(timestampDelta) +
      sizeOfVarint(offsetDelta) +
      sizeOfVarint(key === null ? -1 : key.length) +
      (key?.length ?? 0) +
      sizeOfVarint(value === null ? -1 : value.length) +
      (value?.length ?? 0) +
      sizeOfVarint(headers.length);
    for (const h of headers) {
      size += sizeOfVarint(h.key.length) + h.key.length + sizeOfVarint(h.value === null ? -1 : h.value.length) + (h.value?.length ?? 0);
    }
    return { key, value, headers, offsetDelta, timestampDelta, size, attributes: r.attributes ?? 0 };
  });
  let total = 0;
  for (const p of prepared) total += sizeOfVarint(p.size) + p.size;
  const body = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const p of prepared) {
    pos = writeVarint(body, pos, p.size);
    body[pos++] = p.attributes & 0xff;
    pos = writeVarlong(body, pos, p.timestampDelta);
    pos = writeVarint(body, pos, p.offsetDelta);
    pos = writeBytes(body, pos, p.key);
    pos = writeBytes(body, pos, p.value);
    pos = writeVarint(body, pos, p.headers.length);
    for (const h of p.headers) {
      pos = writeBytes(body, pos, h.key);
      pos = writeBytes(body, pos, h.value);
    }
  }
  let attributes = 0;
  if (opts.timestampType === 'log-append') attributes |= ATTR_TIMESTAMP_TYPE;
  if (opts.isTransactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.isControl) attributes |= ATTR_CONTROL;
  const lastOffsetDelta = opts.lastOffsetDelta ?? (prepared.length > 0 ? prepared[prepared.length - 1]!.offsetDelta : 0);
  return { body, attributes, lastOffsetDelta, baseTimestamp, maxTimestamp, count: prepared.length };
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

function assembleBatch(opts: BuildBatchOptions, enc: EncodedRecords, codec: Compression, payload: Buffer): Buffer {
  const size = BATCH_HEADER_BYTES + payload.length;
  const out = Buffer.allocUnsafe(size);
  out.writeBigInt64BE(opts.baseOffset ?? 0n, 0);
  out.writeInt32BE(size - LOG_OVERHEAD, 8);
  out.writeInt32BE(opts.partitionLeaderEpoch ?? -1, 12);
  out.writeInt8(CURRENT_MAGIC, 16);
  out.writeInt16BE(enc.attributes | codec, OFFSET_ATTRIBUTES);
  out.writeInt32BE(enc.lastOffsetDelta, 23);
  out.writeBigInt64BE(BigInt(enc.baseTimestamp), 27);
  out.writeBigInt64BE(BigInt(enc.maxTimestamp), 35);
  out.writeBigInt64BE(opts.producerId ?? -1n, 43);
  out.writeInt16BE(opts.producerEpoch ?? -1, 51);
  out.writeInt32BE(opts.baseSequence ?? -1, 53);
  out.writeInt32BE(enc.count, 57);
  payload.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(crc32c(out, OFFSET_ATTRIBUTES, size), OFFSET_CRC);
  return out;
}

function codecOf(opts: BuildBatchOptions): Compression {
  const codec = opts.compression ?? Compression.None;
  if (!isCompression(codec)) throw new WeirError('invalid_argument', `unknown compression codec ${codec}`);
  return codec;
}

/** Builds one complete v2 record batch with a correct CRC. Defaults match a non-idempotent producer. */
export async function buildBatch(opts: BuildBatchOptions): Promise<Buffer> {
  const codec = codecOf(opts);
  const enc = encodeRecords(opts);
  const payload =
    codec === Compression.None
      ? enc.body
      : await compress(codec, enc.body, opts.compressionLevel === undefined ? {} : { level: opts.compressionLevel });
  return assembleBatch(opts, enc, codec, payload);
}

/** Synchronous buildBatch for uncompressed batches (compression must be None). */
export function buildBatchSync(opts: BuildBatchOptions): Buffer {
  const codec = codecOf(opts);
  if (codec !== Compression.None) {
    throw new WeirError('invalid_argument', 'buildBatchSync builds only uncompressed batches; use buildBatch');
  }
  const enc = encodeRecords(opts);
  return assembleBatch(opts, enc, codec, enc.body);
}
