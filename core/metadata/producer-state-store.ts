/**
 * Idempotent producer state (KIP-98, KIP-360), the part of the metadata store that hands out
 * producer ids and remembers, per (producer, partition), which sequence numbers were committed.
 *
 * It lives in the metadata store, not in the agent, for two reasons: agents are stateless (a
 * producer's retry after kill -9 may reach a fresh agent, or another agent of the cluster), and
 * the sequence check must see every earlier commit of the partition, whichever agent made it.
 * So the check itself runs inside commitFlush's transaction (see CommitChunk.parts in
 * metadata-store.ts and the rules in producer-sequence.ts); this interface has only what lives
 * outside a commit.
 *
 * Producer ids are plain numbers: the store allocates them from 1 upwards and never reuses one,
 * so they stay far below 2^53. A batch carrying an id beyond that was never allocated here.
 */
import { WeirError } from '../errors.js';

/** Kafka's epochs are int16; from this epoch on a bump hands out a new producer id (Kafka's "exhausted"). */
export const MAX_PRODUCER_EPOCH = 0x7fff;
/** Kafka keeps the metadata of the last 5 batches per producer and partition, matching max.in.flight=5. */
export const PRODUCER_BATCHES_KEPT = 5;

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

/** The producer fields of one record batch, as a commit checks them. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** baseSequence + lastOffsetDelta, wrapping from 2^31-1 to 0 as Kafka's sequences do. */
  lastSequence: number;
}

/** One committed batch, remembered so that a retry of it gets its original offsets back. */
export interface ProducerBatchMetadata {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  offsetCount: number;
  /** The batch's max timestamp as committed (the append time on LogAppendTime topics). */
  maxTimestamp: number;
}

/** What the store knows about one producer on one partition. */
export interface ProducerPartitionState {
  producerEpoch: number;
  /** The last PRODUCER_BATCHES_KEPT committed batches of this epoch, oldest first; never empty. */
  batches: ProducerBatchMetadata[];
}

/**
 * Why a producer batch was refused at commit:
 * - 'out_of_order_sequence': a gap (or a new epoch / first batch not starting at sequence 0);
 * - 'invalid_producer_epoch': an epoch lower than one already committed to the partition (a zombie);
 * - 'unknown_producer_id': an id this store never handed out (or whose state is gone).
 */
export type ProducerBatchError = 'out_of_order_sequence' | 'invalid_producer_epoch' | 'unknown_producer_id';

/** A flusher append refused by the sequence check; the produce handler maps `reason` to a Kafka code. */
export class ProducerStateError extends WeirError {
  constructor(
    readonly reason: ProducerBatchError,
    message: string,
  ) {
    super('conflict', message, { retriable: false });
    this.name = 'ProducerStateError';
  }
}

export type BumpEpochResult = ({ ok: true } & ProducerIdAndEpoch) | { ok: false; error: 'producer_fenced'; message: string };

export interface ProducerStateStore {
  /** A producer id never handed out before, at epoch 0. Durable when it resolves. */
  allocateProducerId(): Promise<ProducerIdAndEpoch>;
  /**
   * InitProducerId with a known producer id and epoch (KIP-360): the producer asks to continue
   * under a higher epoch, which fences its older epoch on every partition it writes next.
   * - the epoch is the current one (or higher: clients also bump locally) → epoch + 1;
   * - it is the one before the last bump (a retried bump whose answer was lost) → the current
   *   epoch, unchanged;
   * - any other, lower epoch → 'producer_fenced';
   * - an id this store does not know, or an epoch that cannot grow any more → a new producer id.
   * Durable when it resolves. 'invalid_argument' for ids or epochs outside their ranges.
   */
  bumpEpoch(producerId: number, producerEpoch: number): Promise<BumpEpochResult>;
  /** The producer's state on a partition; null if it never committed there (or the partition does not exist). */
  getProducerState(topic: string, partition: number, producerId: number): Promise<ProducerPartitionState | null>;
}
