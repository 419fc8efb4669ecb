/**
 * OffsetCommit — serves v0–v9.
 *
 * Stores a group's offsets in the metadata store (durable before the response), with the leader
 * epoch (v6+), the metadata string (null is stored as '', as Kafka does) and the commit time (the
 * request's for v1 when it gives one, else now; v2–v4's retention time is accepted and not used:
 * offsets are kept until the group or the topic is deleted). The committer is checked against
 * the group first (agent/groups/group-coordinator.ts): a member must name the current generation
 * (ILLEGAL_GENERATION) and be a member (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID v7+); generation -1
 * without a member id is a "simple" commit, allowed while the group has no members; while the
 * group waits for its leader's assignment, REBALANCE_IN_PROGRESS. A member commit to a group this
 * agent does not know (e.g. after a restart) gets ILLEGAL_GENERATION, GROUP_ID_NOT_FOUND from v9.
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE (over 4096 characters,
 * Kafka's offset.metadata.max.bytes), INVALID_COMMIT_OFFSET_SIZE (an offset beyond 2^53).
 */
import type { OffsetCommitEntry } from '../../core/metadata/group-offset-store.js';
import { OffsetCommit } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

/** Kafka's offset.metadata.max.bytes default; like Kafka, counted in characters. */
export const OFFSET_METADATA_MAX_CHARS = 4096;

export const offsetCommitHandler = defineHandler({
  api: OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const now = Date.now();
    // Every requested partition, with its error if it is refused before reaching the store.
    const slots: Array<{ topic: number; partition: number; errorCode: number; entry: OffsetCommitEntry | null }> = [];
    req.topics.forEach((t, ti) => {
      for (const p of t.partitions) {
        const offset = Number(p.committedOffset);
        let errorCode: number = ErrorCode.NONE;
        if (p.committedMetadata !== null && p.committedMetadata.length > OFFSET_METADATA_MAX_CHARS) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        else if (!Number.isSafeInteger(offset)) errorCode = ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
        const commitTimestampMs = v === 1 && p.commitTimestamp >= 0n ? Number(p.commitTimestamp) : now;
        slots.push({
          topic: ti,
          partition: p.partitionIndex,
          errorCode,
          entry: errorCode !== ErrorCode.NONE ? null : {
            topic: t.name,
            partition: p.partitionIndex,
            offset,
            leaderEpoch: v >= 6 ? Math.max(p.committedLeaderEpoch, -1) : -1,
            metadata: p.committedMetadata ?? '',
            commitTimestampMs: Number.isSafeInteger(commitTimestampMs) ? commitTimestampMs : now,
          },
        });
      }
    });
    const toStore = slots.filter((s) => s.entry !== null);
    const codes = await ctx.agent.groups.commitOffsets(
      {
        groupId: req.groupId,
        generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
        memberId: v >= 1 ? req.memberId : '',
        groupInstanceId: v >= 7 ? req.groupInstanceId : null,
        apiVersion: v,
      },
      toStore.map((s) => s.entry!),
    );
    toStore.forEach((s, i) => (s.errorCode = codes[i]!));
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t, ti) => ({
        name: t.name,
        partitions: slots.filter((s) => s.topic === ti).map((s) => ({ partitionIndex: s.partition, errorCode: s.errorCode })),
      })),
    };
  },
});
