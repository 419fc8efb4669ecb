import { WeirError } from '../errors.js';
import { crc32c } from '../records/crc32c.js';

/**
 * The flush object: the record batches of many partitions, as the clients sent them, followed by
 * a self-describing index and a fixed footer. Layout and rationale: docs/format.md.
 *
 * The hot path never reads the index: Fetch finds a partition's bytes through the metadata
 * store's index entries (object key + byte range). The object's own index exists so that an
 * object can be understood without the metadata store: by GC, recovery and debugging tools.
 */
export const FLUSH_OBJECT_MAGIC = 'WEIR';
export const FLUSH_OBJECT_FORMAT_VERSION = 1;
export const FLUSH_OBJECT_FOOTER_SIZE = 24;

// Footer field offsets, relative to the footer's first byte.
const F_INDEX_OFFSET = 0; // u64
const F_INDEX_LENGTH = 8; // u32
const F_VERSION = 12; // u16
const F_FLAGS = 14; // u16, 0 in version 1
const F_CRC = 16; // u32: CRC-32C of the index bytes followed by footer bytes [0, 16)
const F_MAGIC = 20; // 4 bytes 'WEIR'

// Index entry: topic id (16) + partition (4) + byte start (8) + byte length (8) + name length (2) + name.
const ENTRY_FIXED_SIZE = 38;
const MAX_TOPIC_NAME_BYTES = 0xffff;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface FlushChunk {
  topicId: string;
  topic: string;
  partition: number;
  /** Record batches in the order they get offsets; stored byte-for-byte and contiguously. */
  batches: Buffer[];
}

export interface FlushPlacement {
  topic: string;
  partition: number;
  byteStart: number;
  byteLength: number;
}

export interface FlushObjectIndexEntry extends FlushPlacement {
  topicId: string;
}

export interface FlushObjectFooter {
  formatVersion: number;
  indexOffset: number;
  indexLength: number;
  /** indexOffset + indexLength + footer: the size the whole object must have. */
  objectSizeBytes: number;
}

export interface FlushObjectIndex extends FlushObjectFooter {
  entries: FlushObjectIndexEntry[];
}

/** The flush object as one buffer (a copy of every batch); see layoutFlushObject. */
export function encodeFlushObject(chunks: FlushChunk[]): { body: Buffer; placements: FlushPlacement[] } {
  const { pieces, sizeBytes, placements } = layoutFlushObject(chunks);
  return { body: Buffer.concat(pieces, sizeBytes), placements };
}

/**
 * Lays out one flush without copying any batch: the object is the concatenation of `pieces`
 * (the batches by reference, then index and footer). placements[i] says where chunks[i]'s
 * batches landed.
 */
export function layoutFlushObject(chunks: FlushChunk[]): { pieces: Buffer[]; sizeBytes: number; placements: FlushPlacement[] } {
  const pieces: Buffer[] = [];
  const placements: FlushPlacement[] = [];
  const names: Buffer[] = [];
  let dataLength = 0;
  let indexLength = 4;
  for (const chunk of chunks) {
    if (!uuidPattern.test(chunk.topicId)) throw new WeirError('invalid_argument', `topic id ${chunk.topicId} is not a canonical UUID`);
    if (!Number.isInteger(chunk.partition) || chunk.partition < 0 || chunk.partition > 0x7fffffff) {
      throw new WeirError('invalid_argument', `partition ${chunk.partition} out of range`);
    }
    const name = Buffer.from(chunk.topic, 'utf8');
    if (name.length > MAX_TOPIC_NAME_BYTES) throw new WeirError('invalid_argument', `topic name of ${name.length} bytes is too long`);
    names.push(name);
    const byteStart = dataLength;
    for (const batch of chunk.batches) {
      pieces.push(batch);
      dataLength += batch.length;
    }
    placements.push({ topic: chunk.topic, partition: chunk.partition, byteStart, byteLength: dataLength - byteStart });
    indexLength += ENTRY_FIXED_SIZE + name.length;
  }
  if (indexLength > 0xffffffff) throw new WeirError('too_large', `flush object index of ${indexLength} bytes`);

  // Index and footer share one buffer: the checksum then covers one contiguous range.
  const tail = Buffer.alloc(indexLength + FLUSH_OBJECT_FOOTER_SIZE);
  let p = tail.writeUInt32BE(chunks.length, 0);
  chunks.forEach((chunk, i) => {
    const placement = placements[i]!;
    const name = names[i]!;
    p += Buffer.from(chunk.topicId.replaceAll('-', ''), 'hex').copy(tail, p);
    p = tail.writeInt32BE(chunk.partition, p);
    p = tail.writeBigUInt64BE(BigInt(placement.byteStart), p);
    p = tail.writeBigUInt64BE(BigInt(placement.byteLength), p);
    p = tail.writeUInt16BE(name.length, p);
    p += name.copy(tail, p);
  });
  tail.writeBigUInt64BE(BigInt(dataLength), p + F_INDEX_OFFSET);
  tail.writeUInt32BE(indexLength, p + F_INDEX_LENGTH);
  tail.writeUInt16BE(FLUSH_OBJECT_FORMAT_VERSION, p + F_VERSION);
  tail.writeUInt16BE(0, p + F_FLAGS);
  tail.writeUInt32BE(crc32c(tail, 0, p + F_CRC), p + F_CRC);
  tail.write(FLUSH_OBJECT_MAGIC, p + F_MAGIC, 'latin1');

  pieces.push(tail);
  return { pieces, sizeBytes: dataLength + tail.length, placements };
}

/**
 * Decodes the footer from the last FLUSH_OBJECT_FOOTER_SIZE bytes of `bytes` (any tail of the
 * object, or all of it). Tools read the footer first, then range-read [indexOffset, size).
 */
export function decodeFlushObjectFooter(bytes: Uint8Array): FlushObjectFooter {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FLUSH_OBJECT_FOOTER_SIZE) throw new WeirError('corrupt', `flush object shorter than its footer (${buf.length} bytes)`);
  const f = buf.length - FLUSH_OBJECT_FOOTER_SIZE;
  if (buf.toString('latin1', f + F_MAGIC, f + F_MAGIC + 4) !== FLUSH_OBJECT_MAGIC) throw new WeirError('corrupt', 'not a flush object: bad magic');
  const formatVersion = buf.readUInt16BE(f + F_VERSION);
  if (formatVersion !== FLUSH_OBJECT_FORMAT_VERSION) throw new WeirError('unsupported', `flush object format version ${formatVersion}`);
  const indexOffset = buf.readBigUInt64BE(f + F_INDEX_OFFSET);
  if (indexOffset > BigInt(Number.MAX_SAFE_INTEGER)) throw new WeirError('corrupt', 'flush object index offset out of range');
  const indexLength = buf.readUInt32BE(f + F_INDEX_LENGTH);
  if (indexLength < 4) throw new WeirError('corrupt', `flush object index length ${indexLength}`);
  return {
    formatVersion,
    indexOffset: Number(indexOffset),
    indexLength,
    objectSizeBytes: Number(indexOffset) + indexLength + FLUSH_OBJECT_FOOTER_SIZE,
  };
}

/**
 * Decodes the object's own index from `bytes`: the whole body, or any tail of it that holds at
 * least the index and the footer. Pass objectSizeBytes when known to also check the object's size.
 * Throws 'corrupt' on a bad magic, checksum or structure, 'unsupported' on an unknown version,
 * and 'invalid_argument' if the tail is too short to hold the index (read more and retry).
 */
export function decodeFlushObjectIndex(bytes: Uint8Array, objectSizeBytes?: number): FlushObjectIndex {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footer = decodeFlushObjectFooter(buf);
  const { indexOffset, indexLength } = footer;
  if (objectSizeBytes !== undefined && objectSizeBytes !== footer.objectSizeBytes) {
    throw new WeirError('corrupt', `flush object is ${objectSizeBytes} bytes but its footer says ${footer.objectSizeBytes}`);
  }
  const footerStart = buf.length - FLUSH_OBJECT_FOOTER_SIZE;
  const start = footerStart - indexLength;
  if (start < 0) {
    throw new WeirError('invalid_argument', `need the last ${indexLength + FLUSH_OBJECT_FOOTER_SIZE} bytes of the object, got ${buf.length}`);
  }
  const crc = buf.readUInt32BE(footerStart + F_CRC);
  if (crc32c(buf, start, footerStart + F_CRC) !== crc) throw new WeirError('corrupt', 'flush object index checksum mismatch');

  const end = footerStart;
  let p = start;
  const need = (n: number): void => {
    if (p + n > end) throw new WeirError('corrupt', 'flush object index truncated');
  };
  need(4);
  const count = buf.readUInt32BE(p);
  p += 4;
  const entries: FlushObjectIndexEntry[] = [];
  for (let i = 0; i < count; i++) {
    need(ENTRY_FIXED_SIZE);
    const hex = buf.toString('hex', p, p + 16);
    const topicId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const partition = buf.readInt32BE(p + 16);
    const byteStart = Number(buf.readBigUInt64BE(p + 20));
    const byteLength = Number(buf.readBigUInt64BE(p + 28));
    const nameLength = buf.readUInt16BE(p + 36);
    p += ENTRY_FIXED_SIZE;
    need(nameLength);
    const topic = buf.toString('utf8', p, p + nameLength);
    p += nameLength;
    if (partition < 0 || byteStart + byteLength > indexOffset) {
      throw new WeirError('corrupt', `flush object index entry ${i} points outside the data section`);
    }
    entries.push({ topicId, topic, partition, byteStart, byteLength });
  }
  if (p !== end) throw new WeirError('corrupt', 'flush object index has trailing bytes');
  return { ...footer, entries };
}
