/**
 * The idempotent producer's sequence rules, as pure functions every metadata store backend runs
 * inside its commit transaction. They follow Kafka's ProducerAppendInfo (KIP-98, KIP-360), with one
 * deliberate difference, explained at checkProducerBatch.
 */
import type { ChunkPart, PartResult } from './metadata-store.js';
import { MAX_PRODUCER_EPOCH, PRODUCER_BATCHES_KEPT, type ProducerBatch, type ProducerPartitionState } from './producer-state-store.js';

export const MAX_SEQUENCE = 0x7fffffff;

/** Kafka's DefaultRecordBatch.incrementSequence: sequences are int32 and wrap from 2^31-1 to 0. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > MAX_SEQUENCE - lastOffsetDelta ? lastOffsetDelta - (MAX_SEQUENCE - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === MAX_SEQUENCE);
}

export type SequenceVerdict = { kind: 'append' } | Exclude<PartResult, { kind: 'appended' }>;

const reject = (error: Extract<PartResult, { kind: 'rejected' }>['error'], message: string): SequenceVerdict => ({ kind: 'rejected', error, message });

/**
 * Decides what to do with a producer's batch given its state on the partition (null: it never
 * committed there). In Kafka's order: a retry of one of the last 5 batches of the same epoch is a
 * duplicate (its original offsets are returned, nothing is stored); a lower epoch is a zombie; a
 * higher epoch must start at sequence 0; otherwise the batch must follow the last sequence exactly.
 *
 * The difference from Kafka: Kafka (since 2.5) accepts ANY sequence from a producer it has no state
 * for on the partition, because its producer state can be lost (expiry, or retention deleting the
 * producer's last batches). Weir's state lives in the metadata store and is only dropped with its
 * topic, so a producer with no state here has never committed here: its first batch must be
 * sequence 0, and anything else is a real gap (OUT_OF_ORDER_SEQUENCE_NUMBER) that accepting would
 * turn into reordering (a later batch committed before a failed earlier one is retried). An id the
 * store never allocated is UNKNOWN_PRODUCER_ID, which makes clients fetch a new one.
 * `allocated` is asked only when there is no state, so the common path costs no extra lookup.
 */
export function checkProducerBatch(state: ProducerPartitionState | null, batch: ProducerBatch, allocated: () => boolean): SequenceVerdict {
  const who = `producer ${batch.producerId} epoch ${batch.producerEpoch}`;
  if (state === null) {
    if (!allocated()) return reject('unknown_producer_id', `producer id ${batch.producerId} was never allocated by this cluster`);
    if (batch.baseSequence !== 0) {
      return reject('out_of_order_sequence', `${who}: first batch on this partition has sequence ${batch.baseSequence}, expected 0`);
    }
    return { kind: 'append' };
  }
  if (batch.producerEpoch === state.producerEpoch) {
    const dup = state.batches.find((b) => b.firstSequence === batch.baseSequence && b.lastSequence === batch.lastSequence);
    if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset, maxTimestamp: dup.maxTimestamp };
    const last = state.batches[state.batches.length - 1]!.lastSequence;
    if (inSequence(last, batch.baseSequence)) return { kind: 'append' };
    return reject('out_of_order_sequence', `${who}: sequence ${batch.baseSequence} does not follow ${last}`);
  }
  if (batch.producerEpoch < state.producerEpoch) {
    return reject('invalid_producer_epoch', `${who} is older than epoch ${state.producerEpoch}, already written to this partition`);
  }
  if (batch.baseSequence !== 0) {
    return reject('out_of_order_sequence', `${who}: a new epoch must start at sequence 0, not ${batch.baseSequence}`);
  }
  return { kind: 'append' };
}

/** The state after appending `batch` at `baseOffset`: a new epoch starts over, else the last 5 are kept. */
export function withAppendedBatch(
  state: ProducerPartitionState | null,
  batch: ProducerBatch,
  baseOffset: number,
  offsetCount: number,
  maxTimestamp: number,
): ProducerPartitionState {
  const entry = { firstSequence: batch.baseSequence, lastSequence: batch.lastSequence, baseOffset, offsetCount, maxTimestamp };
  if (state === null || state.producerEpoch !== batch.producerEpoch) return { producerEpoch: batch.producerEpoch, batches: [entry] };
  return { producerEpoch: state.producerEpoch, batches: [...state.batches.slice(1 - PRODUCER_BATCHES_KEPT), entry] };
}

/** One log index row a chunk with parts turns into. */
export interface PlannedRow {
  baseOffset: number;
  offsetCount: number;
  byteStart: number;
  byteLength: number;
  maxTimestamp: number;
}

/**
 * Walks a chunk's parts in order from `nextOffset` (the partition's high watermark): each producer
 * part goes through `admit` (the backend's check, which records the new state when it answers
 * 'append'), plain parts are appended. Consecutive appended parts share one index row; a duplicate
 * or refused part ends the row, since its bytes sit between the rows' byte ranges.
 */
export function planChunkParts(
  chunk: { byteStart: number; parts: ChunkPart[] },
  nextOffset: number,
  admit: (part: ChunkPart & { producer: ProducerBatch }, baseOffset: number) => SequenceVerdict,
): { rows: PlannedRow[]; results: PartResult[]; offsetCount: number } {
  const rows: PlannedRow[] = [];
  const results: PartResult[] = [];
  let row: PlannedRow | null = null;
  let byte = chunk.byteStart;
  let next = nextOffset;
  for (const part of chunk.parts) {
    const verdict: SequenceVerdict = part.producer === null ? { kind: 'append' } : admit(part as ChunkPart & { producer: ProducerBatch }, next);
    if (verdict.kind === 'append') {
      if (row === null) rows.push((row = { baseOffset: next, offsetCount: 0, byteStart: byte, byteLength: 0, maxTimestamp: part.maxTimestamp }));
      row.offsetCount += part.offsetCount;
      row.byteLength += part.byteLength;
      row.maxTimestamp = Math.max(row.maxTimestamp, part.maxTimestamp);
      results.push({ kind: 'appended', baseOffset: next });
      next += part.offsetCount;
    } else {
      row = null;
      results.push(verdict);
    }
    byte += part.byteLength;
  }
  return { rows, results, offsetCount: next - nextOffset };
}

/**
 * Why a part's producer fields are malformed, or null. A producer part is exactly one batch, so
 * its last sequence follows from its base sequence and offset count. Malformed input is a bug in
 * the caller (the produce handler validates batches first), so backends fail the whole commit.
 */
export function producerBatchError(batch: ProducerBatch, offsetCount: number): string | null {
  const { producerId, producerEpoch, baseSequence, lastSequence } = batch;
  if (!Number.isSafeInteger(producerId) || producerId < 0) return `producerId ${producerId} must be an integer >= 0`;
  if (!Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > MAX_PRODUCER_EPOCH) return `producerEpoch ${producerEpoch} is not an epoch`;
  if (!Number.isInteger(baseSequence) || baseSequence < 0 || baseSequence > MAX_SEQUENCE) return `baseSequence ${baseSequence} is not a sequence`;
  if (lastSequence !== lastSequenceOf(baseSequence, offsetCount - 1)) return `lastSequence ${lastSequence} does not match ${offsetCount} records from ${baseSequence}`;
  return null;
}
