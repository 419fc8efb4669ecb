/**
 * Produce — serves v3–v11 (v3 is the first that requires magic v2 record batches).
 * v0–v2 are advertised but every partition is answered UNSUPPORTED_FOR_MESSAGE_FORMAT, as Kafka
 * 4.0 does (KAFKA-18659): librdkafka (< 2.8) only compresses with gzip/snappy/lz4 when the
 * broker's advertised Produce range starts at 0.
 *
 * Each partition's records are validated (CRC-32C, magic 2, sizes against max.message.bytes,
 * keys on compacted topics, timestamps against message.timestamp.*.max.ms) and appended
 * byte for byte to the flusher. With acks=1 or -1 the response waits until the flush object is
 * written AND committed, and carries the offsets the commit assigned; acks=0 gets no response.
 * Errors are per partition: UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE,
 * INVALID_RECORD, UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_TIMESTAMP, KAFKA_STORAGE_ERROR.
 *
 * Idempotent producers (a batch with producerId >= 0): as in Kafka, such a record set must be
 * exactly one batch with a sequence >= 0 (else INVALID_RECORD). Its producer fields go with the
 * append, and the sequence check happens when the flush commits, in the metadata store's
 * transaction (core/metadata/producer-sequence.ts): a retry of one of the producer's last 5
 * batches is answered with its original offsets and stored nothing; a gap is
 * OUT_OF_ORDER_SEQUENCE_NUMBER, an epoch older than one already written INVALID_PRODUCER_EPOCH,
 * and an id never allocated (InitProducerId) UNKNOWN_PRODUCER_ID.
 * Transactional produce is not served yet (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 * A mirror topic still being mirrored (connectors/mirror/) is read-only until `weir mirror
 * promote`: POLICY_VIOLATION, with a message saying so from v8 (docs/decisions.md, Mirror).
 */
import { isWeirError, WeirError } from '../../core/errors.js';
import { Produce } from '../../core/protocol/generated/index.js';
import { scanBatches, setLogAppendTime, type BatchHeader } from '../../core/records/batch.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import type { TopicInfo } from '../../core/metadata/metadata-store.js';
import { lastSequenceOf } from '../../core/metadata/producer-sequence.js';
import { ProducerStateError, type ProducerBatch, type ProducerBatchError } from '../../core/metadata/producer-state-store.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { topicConfigNumber, topicConfigValue } from '../topic-configs.js';

interface PartitionOutcome {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  errorMessage: string | null;
}

const failed = (index: number, errorCode: number, errorMessage: string | null = null): PartitionOutcome => ({
  index,
  errorCode,
  baseOffset: -1n,
  logAppendTimeMs: -1n,
  logStartOffset: -1n,
  errorMessage,
});

const producerErrorCodes: Record<ProducerBatchError, number> = {
  out_of_order_sequence: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  invalid_producer_epoch: ErrorCode.INVALID_PRODUCER_EPOCH,
  unknown_producer_id: ErrorCode.UNKNOWN_PRODUCER_ID,
};

/** The Kafka code for an append's failure, including the sequence check's refusals. */
function appendErrorCode(e: unknown): number {
  return e instanceof ProducerStateError ? producerErrorCodes[e.reason] : errorCodeOf(e);
}

/** The producer fields of an idempotent producer's record set (Kafka's LogValidator rules), or undefined for a plain one. */
function producerBatchOf(batches: BatchHeader[]): ProducerBatch | undefined {
  // Kafka's RecordBatch.hasProducerId: any id > -1.
  if (!batches.some((b) => b.producerId >= 0n)) return undefined;
  if (batches.length !== 1) throw new WeirError('invalid_argument', `an idempotent producer must send one record batch per partition, not ${batches.length}`);
  const b = batches[0]!;
  if (b.baseSequence < 0) throw new WeirError('invalid_argument', `invalid sequence number ${b.baseSequence} in a batch of producer ${b.producerId}`);
  if (b.producerEpoch < 0) throw new WeirError('invalid_argument', `invalid epoch ${b.producerEpoch} in a batch of producer ${b.producerId}`);
  // Producer ids are allocated from 1 upwards; one this large was never handed out.
  if (b.producerId > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProducerStateError('unknown_producer_id', `producer id ${b.producerId} was never allocated by this cluster`);
  return { producerId: Number(b.producerId), producerEpoch: b.producerEpoch, baseSequence: b.baseSequence, lastSequence: lastSequenceOf(b.baseSequence, b.lastOffsetDelta) };
}

/** Validates one partition's record set; throws a WeirError whose kind maps to the Kafka code. */
async function validate(
  topic: TopicInfo,
  records: Buffer,
): Promise<{ batches: BatchHeader[]; offsetCount: number; maxTimestamp: number; logAppendTime: number | null; producer: ProducerBatch | undefined }> {
  if (records.length === 0) throw new WeirError('corrupt', 'empty record set');
  const batches = scanBatches(records);
  const producer = producerBatchOf(batches);
  const maxMessageBytes = topicConfigNumber(topic.configs, 'max.message.bytes');
  const compacted = topicConfigValue(topic.configs, 'cleanup.policy').includes('compact');
  const logAppendTime = topicConfigValue(topic.configs, 'message.timestamp.type') === 'LogAppendTime' ? Date.now() : null;
  const beforeMaxMs = topicConfigNumber(topic.configs, 'message.timestamp.before.max.ms');
  const afterMaxMs = topicConfigNumber(topic.configs, 'message.timestamp.after.max.ms');
  let offsetCount = 0;
  let maxTimestamp = -1;
  const now = Date.now();
  for (const b of batches) {
    if (b.sizeBytes > maxMessageBytes) {
      throw new WeirError('too_large', `batch of ${b.sizeBytes} bytes exceeds max.message.bytes=${maxMessageBytes}`);
    }
    if (b.isTransactional || b.isControl) throw new WeirError('unsupported', 'transactional and control batches are not supported yet');
    if (compacted || (logAppendTime === null && (beforeMaxMs !== Infinity || afterMaxMs !== Infinity))) {
      // Only here are records inflated: keys and per-record timestamps live inside the batch.
      const recs = await decodeBatchRecords(records.subarray(b.position, b.position + b.sizeBytes), { ...b, position: 0 }, { maxBytes: 64 * maxMessageBytes });
      for (const r of recs) {
        if (compacted && r.key === null) throw new WeirError('invalid_argument', 'compacted topic requires a key on every record');
        if (logAppendTime === null && (r.timestamp < now - beforeMaxMs || r.timestamp > now + afterMaxMs)) {
          throw new WeirError('invalid_argument', `timestamp ${r.timestamp} is outside the topic's allowed range`, { retriable: false });
        }
      }
    }
    if (logAppendTime !== null) setLogAppendTime(records, b.position, logAppendTime);
    offsetCount += b.lastOffsetDelta + 1;
    maxTimestamp = Math.max(maxTimestamp, logAppendTime ?? b.maxTimestamp);
  }
  return { batches, offsetCount, maxTimestamp, logAppendTime, producer };
}

function codeForValidation(e: unknown, topic: TopicInfo): number {
  if (!isWeirError(e)) return ErrorCode.UNKNOWN_SERVER_ERROR;
  if (e instanceof ProducerStateError) return appendErrorCode(e);
  switch (e.kind) {
    case 'unsupported':
      return /magic/i.test(e.message) ? ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : ErrorCode.INVALID_RECORD;
    case 'invalid_argument':
      return /timestamp/.test(e.message) && !topicConfigValue(topic.configs, 'cleanup.policy').includes('compact') ? ErrorCode.INVALID_TIMESTAMP : ErrorCode.INVALID_RECORD;
    default:
      return errorCodeOf(e);
  }
}

export const produceHandler = defineHandler({
  api: Produce,
  minVersion: 0,
  maxVersion: 11,
  async handle(req, ctx) {
    const { agent } = ctx;
    const acks = req.acks;
    const reply = (responses: { name: string; partitionResponses: PartitionOutcome[] }[]) =>
      acks === 0 ? null : { responses, throttleTimeMs: 0 };
    if (ctx.apiVersion < 3) {
      return reply(req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => failed(p.index, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, 'Produce v0-v2 (message format v0/v1) is not supported; use v3+')) })));
    }
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      return reply(req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS)) })));
    }
    if (req.transactionalId !== null && req.transactionalId !== undefined) {
      return reply(req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => failed(p.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported yet')) })));
    }
    const responses = await Promise.all(
      req.topicData.map(async (t) => {
        const topic = await agent.topics.getOrCreate(t.name).catch(() => null);
        const partitionResponses = await Promise.all(
          t.partitionData.map(async (p): Promise<PartitionOutcome> => {
            if (!topic || p.index < 0 || p.index >= topic.partitions) return failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            if (topic.mirror?.state === 'mirroring') {
              return failed(p.index, ErrorCode.POLICY_VIOLATION, `topic ${topic.name} is a read-only mirror of ${topic.mirror.source}; run \`weir mirror promote ${topic.name}\` to produce to it`);
            }
            if (!p.records) return failed(p.index, ErrorCode.CORRUPT_MESSAGE, 'null record set');
            let v: Awaited<ReturnType<typeof validate>>;
            try {
              v = await validate(topic, p.records);
            } catch (e) {
              return failed(p.index, codeForValidation(e, topic), errorMessageOf(e));
            }
            const pending = agent.flusher.append({
              topic: topic.name,
              topicId: topic.id,
              partition: p.index,
              records: p.records,
              offsetCount: v.offsetCount,
              maxTimestamp: v.maxTimestamp,
              ...(v.producer === undefined ? {} : { producer: v.producer }),
            });
            if (acks === 0) {
              pending.catch((e: unknown) => agent.log('warn', `acks=0 produce to ${topic.name}-${p.index} lost: ${errorMessageOf(e)}`));
              return failed(p.index, ErrorCode.NONE);
            }
            try {
              const r = await pending;
              return {
                index: p.index,
                errorCode: ErrorCode.NONE,
                baseOffset: BigInt(r.baseOffset),
                // A duplicate answers with the original batch's append time, as Kafka does.
                logAppendTimeMs: v.logAppendTime === null ? -1n : BigInt(r.duplicate?.maxTimestamp ?? v.logAppendTime),
                logStartOffset: BigInt(r.logStartOffset),
                errorMessage: null,
              };
            } catch (e) {
              return failed(p.index, appendErrorCode(e), errorMessageOf(e));
            }
          }),
        );
        return { name: t.name, partitionResponses };
      }),
    );
    return reply(responses);
  },
});
