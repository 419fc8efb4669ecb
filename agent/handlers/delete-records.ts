/**
 * DeleteRecords — serves v0–v2.
 *
 * Moves each partition's log start offset up to the given offset (records before it are no
 * longer served; their objects go to garbage collection once nothing else needs them). Offset -1
 * means the high watermark (delete everything). An offset beyond the high watermark, or below -1,
 * → OFFSET_OUT_OF_RANGE; an offset at or before the current log start changes nothing. The
 * result's lowWatermark is the log start offset afterwards. A missing topic or partition →
 * UNKNOWN_TOPIC_OR_PARTITION. (This response has no error message field.)
 */
import type { TopicInfo } from '../../core/metadata/metadata-store.js';
import { DeleteRecords } from '../../core/protocol/generated/index.js';
import type { DeleteRecordsResponsePartitionResult } from '../../core/protocol/generated/delete-records.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const TO_HIGH_WATERMARK = -1n;

export const deleteRecordsHandler = defineHandler({
  api: DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const { agent } = ctx;
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        let topic: TopicInfo | null = null;
        let lookupError: number | null = null;
        try {
          topic = await agent.metadata.getTopic(t.name);
        } catch (e) {
          lookupError = errorCodeOf(e);
        }
        const partitions = await Promise.all(
          t.partitions.map(async (p): Promise<DeleteRecordsResponsePartitionResult> => {
            const failed = (errorCode: number) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode });
            if (lookupError !== null) return failed(lookupError);
            if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            try {
              const state = await agent.metadata.getPartitionState(topic.name, p.partitionIndex);
              if (!state) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
              // Compared as bigint: an int64 offset past 2^53 must not round down into range.
              if (p.offset < TO_HIGH_WATERMARK || p.offset > BigInt(state.highWatermark)) return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
              const before = p.offset === TO_HIGH_WATERMARK ? state.highWatermark : Number(p.offset);
              const logStart = await agent.metadata.deleteRecords(topic.name, p.partitionIndex, before);
              agent.partitionStates.invalidate(topic.name, p.partitionIndex);
              return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(logStart), errorCode: ErrorCode.NONE };
            } catch (e) {
              return failed(errorCodeOf(e));
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
