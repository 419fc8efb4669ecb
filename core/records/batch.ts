/**
 * Record batch (magic v2) headers: scanning and validating a Produce `records` blob, and the few
 * in-place edits the agent makes before appending (base offset, leader epoch, LogAppendTime).
 *
 * Layout (big-endian; offsets relative to the batch start):
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
 *   17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
 *   35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32
 *   57 recordCount int32 | 61 records...
 * batchLength counts the bytes after itself; the CRC-32C covers attributes..end, so baseOffset and
 * partitionLeaderEpoch can be assigned without re-checksumming.
 */
import { WeirError } from '../errors.js';
import { Compression, isCompression } from './compression.js';
import { crc32c } from './crc32c.js';

export const OFFSET_BASE_OFFSET = 0;
export const OFFSET_BATCH_LENGTH = 8;
export const OFFSET_PARTITION_LEADER_EPOCH = 12;
export const OFFSET_MAGIC = 16;
export const OFFSET_CRC = 17;
export const OFFSET_ATTRIBUTES = 21;
export const OFFSET_LAST_OFFSET_DELTA = 23;
export const OFFSET_BASE_TIMESTAMP = 27;
export const OFFSET_MAX_TIMESTAMP = 35;
export const OFFSET_PRODUCER_ID = 43;
export const OFFSET_PRODUCER_EPOCH = 51;
export const OFFSET_BASE_SEQUENCE = 53;
export const OFFSET_RECORD_COUNT = 57;
/** Size of the fixed batch header; records start here. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before and including batchLength, i.e. sizeBytes = batchLength + LOG_OVERHEAD. */
export const LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export interface BatchHeader {
  /** Byte offset of the batch in the scanned buffer. */
  position: number;
  baseOffset: bigint;
  batchLength: number;
  /** Whole batch on the wire: batchLength + 12. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: Compression;
  timestampType: 'create' | 'log-append';
  isTransactional: boolean;
  isControl: boolean;
  /** Set by compaction: baseTimestamp holds the delete horizon (KIP-534). */
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface ScanOptions {
  /** Verify each batch's CRC-32C (default true). Skip only for bytes already verified on write. */
  verifyCrc?: boolean;
  /**
   * Accept batches whose record count is below lastOffsetDelta + 1, as log compaction leaves them
   * (including empty batches kept for producer state). Producers never send such batches, so the
   * Produce path keeps the default (false) and rejects them.
   */
  allowCompacted?: boolean;
}

/** Reads the header of the batch at `position`; checks magic and length but not the CRC. */
export function readBatchHeader(buf: Buffer, position: number): BatchHeader {
  const remaining = buf.length - position;
  if (remaining < OFFSET_MAGIC + 1) {
    throw new WeirError('corrupt', `truncated record batch at byte ${position}: ${remaining} bytes left, header needs ${BATCH_HEADER_BYTES}`);
  }
  const magic = buf.readInt8(position + OFFSET_MAGIC);
  if (magic !== CURRENT_MAGIC) {
    // Magic sits at the same offset in the v0/v1 message set format, so this test is reliable.
    if (magic === 0 || magic === 1) {
      throw new WeirError('unsupported', `record batch at byte ${position} uses message format magic ${magic}; only magic 2 is supported`);
    }
    throw new WeirError('corrupt', `record batch at byte ${position} has invalid magic ${magic}`);
  }
  if (remaining < BATCH_HEADER_BYTES) {
    throw new WeirError('corrupt', `truncated record batch at byte ${position}: ${remaining} bytes left, header needs ${BATCH_HEADER_BYTES}`);
  }
  const batchLength = buf.readInt32BE(position + OFFSET_BATCH_LENGTH);
  if (batchLength < BATCH_HEADER_BYTES - LOG_OVERHEAD) {
    throw new WeirError('corrupt', `record batch at byte ${position} has invalid length ${batchLength}`);
  }
  const sizeBytes = batchLength + LOG_OVERHEAD;
  if (sizeBytes > remaining) {
    throw new WeirError('corrupt', `truncated record batch at byte ${position}: declares ${sizeBytes} bytes, ${remaining} present`);
  }
  const attributes = buf.readInt16BE(position + OFFSET_ATTRIBUTES);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (!isCompression(codec)) {
    throw new WeirError('corrupt', `record batch at byte ${position} has unknown compression codec ${codec}`);
  }
  const recordCount = buf.readInt32BE(position + OFFSET_RECORD_COUNT);
  if (recordCount < 0) {
    throw new WeirError('corrupt', `record batch at byte ${position} has negative record count ${recordCount}`);
  }
  return {
    position,
    baseOffset: buf.readBigInt64BE(position + OFFSET_BASE_OFFSET),
    batchLength,
    sizeBytes,
    partitionLeaderEpoch: buf.readInt32BE(position + OFFSET_PARTITION_LEADER_EPOCH),
    magic,
    crc: buf.readUInt32BE(position + OFFSET_CRC),
    attributes,
    compression: codec,
    timestampType: attributes & ATTR_TIMESTAMP_TYPE ? 'log-append' : 'create',
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    hasDeleteHorizon: (attributes & ATTR_DELETE_HORIZON) !== 0,
    lastOffsetDelta: buf.readInt32BE(position + OFFSET_LAST_OFFSET_DELTA),
    // int64 millisecond timestamps fit a double exactly for any realistic date.
    baseTimestamp: Number(buf.readBigInt64BE(position + OFFSET_BASE_TIMESTAMP)),
    maxTimestamp: Number(buf.readBigInt64BE(position + OFFSET_MAX_TIMESTAMP)),
    producerId: buf.readBigInt64BE(position + OFFSET_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(position + OFFSET_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(position + OFFSET_BASE_SEQUENCE),
    recordCount,
  };
}

/** CRC-32C the batch at `position` should carry (over attributes..end). */
export function computeBatchCrc(buf: Buffer, position: number, sizeBytes: number): number {
  return crc32c(buf, position + OFFSET_ATTRIBUTES, position + sizeBytes);
}

/**
 * Walks every batch in `records` (a Produce request's record set, or stored log bytes) and
 * validates structure. Errors: 'unsupported' for magic 0/1; 'corrupt' for truncation, a trailing
 * partial batch, bad magic/length/count/codec or CRC mismatch; 'invalid_argument' for an offset
 * delta that does not match the record count.
 */
export function scanBatches(records: Buffer, opts: ScanOptions = {}): BatchHeader[] {
  const verifyCrc = opts.verifyCrc ?? true;
  const allowCompacted = opts.allowCompacted ?? false;
  const headers: BatchHeader[] = [];
  let position = 0;
  while (position < records.length) {
    const h = readBatchHeader(records, position);
    if (verifyCrc) {
      const actual = computeBatchCrc(records, position, h.sizeBytes);
      if (actual !== h.crc) {
        throw new WeirError(
          'corrupt',
          `record batch at byte ${position} fails its CRC: stored 0x${h.crc.toString(16)}, computed 0x${actual.toString(16)}`,
        );
      }
    }
    checkOffsetDelta(h, allowCompacted);
    headers.push(h);
    position += h.sizeBytes;
  }
  return headers;
}

function checkOffsetDelta(h: BatchHeader, allowCompacted: boolean): void {
  if (allowCompacted) {
    if (h.lastOffsetDelta < 0 || h.lastOffsetDelta + 1 < h.recordCount) {
      throw new WeirError(
        'invalid_argument',
        `record batch at byte ${h.position} has lastOffsetDelta ${h.lastOffsetDelta} but ${h.recordCount} records`,
      );
    }
    return;
  }
  // Same rule as Kafka's LogValidator: a producer's batch is dense and non-empty.
  if (h.recordCount === 0 || h.lastOffsetDelta + 1 !== h.recordCount) {
    throw new WeirError(
      'invalid_argument',
      `record batch at byte ${h.position} has lastOffsetDelta ${h.lastOffsetDelta} but ${h.recordCount} records`,
    );
  }
}

/** Assigns the batch's base offset in place. Not covered by the CRC, so no re-checksum. */
export function patchBaseOffset(buf: Buffer, position: number, baseOffset: bigint): void {
  buf.writeBigInt64BE(baseOffset, position + OFFSET_BASE_OFFSET);
}

/** Assigns the partition leader epoch in place. Not covered by the CRC either. */
export function patchPartitionLeaderEpoch(buf: Buffer, position: number, epoch: number): void {
  buf.writeInt32BE(epoch, position + OFFSET_PARTITION_LEADER_EPOCH);
}

/**
 * Stamps the batch with LogAppendTime (topic config message.timestamp.type=LogAppendTime): sets
 * the timestamp-type attribute and maxTimestamp, then recomputes the CRC since both are covered.
 * Like Kafka, baseTimestamp and the per-record deltas stay as sent; readers of a LogAppendTime
 * batch use maxTimestamp for every record.
 */
export function setLogAppendTime(buf: Buffer, position: number, timestampMs: number): void {
  if (!Number.isSafeInteger(timestampMs)) {
    throw new WeirError('invalid_argument', `LogAppendTime ${timestampMs} is not an integer millisecond timestamp`);
  }
  const sizeBytes = buf.readInt32BE(position + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
  if (sizeBytes < BATCH_HEADER_BYTES || position + sizeBytes > buf.length) {
    throw new WeirError('corrupt', `no complete record batch at byte ${position}`);
  }
  const attributes = buf.readInt16BE(position + OFFSET_ATTRIBUTES);
  buf.writeInt16BE(attributes | ATTR_TIMESTAMP_TYPE, position + OFFSET_ATTRIBUTES);
  buf.writeBigInt64BE(BigInt(timestampMs), position + OFFSET_MAX_TIMESTAMP);
  buf.writeUInt32BE(computeBatchCrc(buf, position, sizeBytes), position + OFFSET_CRC);
}
