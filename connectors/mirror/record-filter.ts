/**
 * What of a source partition's fetched bytes the mirror writes. A Fetch answer holds whole
 * batches from the one holding the fetch offset, possibly a partial batch at the end (cut by the
 * byte limits), and, read_committed, the list of aborted transactions in range.
 *
 * Kept: every complete batch ending at or after `fromOffset`, byte for byte. Skipped, leaving gaps
 * at their offsets as the issue asks for transaction markers: control batches (commit/abort
 * markers) and the batches of aborted transactions (Kafka's consumer algorithm: a producer is
 * "aborted" from its aborted transaction's first offset until its next control batch), so that
 * consumers of the mirror, which serves no transaction index, see only committed data.
 * The next offset to fetch moves past skipped batches too.
 */
import { WeirError } from '../../core/errors.js';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  LOG_OVERHEAD,
  OFFSET_ATTRIBUTES,
  OFFSET_BASE_OFFSET,
  OFFSET_BATCH_LENGTH,
  OFFSET_LAST_OFFSET_DELTA,
  OFFSET_MAGIC,
  OFFSET_MAX_TIMESTAMP,
  OFFSET_PRODUCER_ID,
} from '../../core/records/batch.js';

/** Smallest v2 batch header we read fields from (through producerId). */
const HEADER_BYTES = 61;

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export interface FilteredRecords {
  /** The kept batches, as one buffer (a subarray of the response when they are contiguous). */
  records: Buffer | null;
  bytes: number;
  batches: number;
  /** Where the next fetch starts: after the last complete batch seen (kept or skipped). */
  nextOffset: number;
  /** Largest maxTimestamp of the kept batches (-1 if none): for the lag in time. */
  maxTimestamp: number;
  skippedBatches: number;
}

export function filterFetched(data: Buffer, fromOffset: number, aborted: readonly AbortedTransaction[] | null): FilteredRecords {
  const slices: Buffer[] = [];
  let sliceStart = -1;
  let sliceEnd = -1;
  let pos = 0;
  let next = fromOffset;
  let bytes = 0;
  let batches = 0;
  let skipped = 0;
  let maxTimestamp = -1;
  const pendingAborts = [...(aborted ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  const closeSlice = (): void => {
    if (sliceStart >= 0) slices.push(data.subarray(sliceStart, sliceEnd));
    sliceStart = -1;
  };
  while (pos + HEADER_BYTES <= data.length) {
    const size = data.readInt32BE(pos + OFFSET_BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < HEADER_BYTES) throw new WeirError('corrupt', `source batch at byte ${pos} has invalid length ${size - LOG_OVERHEAD}`);
    if (pos + size > data.length) break; // a partial batch at the end: fetched again next time
    const magic = data.readInt8(pos + OFFSET_MAGIC);
    if (magic !== 2) throw new WeirError('unsupported', `source batch at byte ${pos} has magic ${magic}; the mirror copies magic 2 batches (Kafka 0.11+ message format)`);
    const base = Number(data.readBigInt64BE(pos + OFFSET_BASE_OFFSET));
    const last = base + data.readInt32BE(pos + OFFSET_LAST_OFFSET_DELTA);
    if (last < fromOffset) {
      // Before where we are (the batch holding the fetch offset starts earlier): already copied.
      closeSlice();
      pos += size;
      continue;
    }
    const attributes = data.readInt16BE(pos + OFFSET_ATTRIBUTES);
    const producerId = data.readBigInt64BE(pos + OFFSET_PRODUCER_ID);
    while (pendingAborts.length > 0 && Number(pendingAborts[0]!.firstOffset) <= last) abortedProducers.add(pendingAborts.shift()!.producerId);
    let keep = true;
    if ((attributes & ATTR_CONTROL) !== 0) {
      // The marker ends the producer's transaction, aborted or not; markers themselves stay gaps.
      abortedProducers.delete(producerId);
      keep = false;
    } else if ((attributes & ATTR_TRANSACTIONAL) !== 0 && abortedProducers.has(producerId)) {
      keep = false;
    }
    if (keep) {
      if (sliceStart < 0) sliceStart = pos;
      sliceEnd = pos + size;
      bytes += size;
      batches++;
      maxTimestamp = Math.max(maxTimestamp, Number(data.readBigInt64BE(pos + OFFSET_MAX_TIMESTAMP)));
    } else {
      closeSlice();
      skipped++;
    }
    next = last + 1;
    pos += size;
  }
  closeSlice();
  const records = slices.length === 0 ? null : slices.length === 1 ? slices[0]! : Buffer.concat(slices, bytes);
  return { records, bytes, batches, nextOffset: next, maxTimestamp, skippedBatches: skipped };
}
