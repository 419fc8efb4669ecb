/**
 * OffsetDelete — serves v0 (KIP-496).
 *
 * Deletes a group's committed offsets of some partitions. Allowed for every partition while the
 * group is Empty (or known only by its offsets); while it has members, only for topics none of
 * them subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for the others). Group errors (the whole request):
 * GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (members of a non-consumer protocol), INVALID_GROUP_ID.
 * Partitions of unknown topics or beyond a topic's partition count: UNKNOWN_TOPIC_OR_PARTITION.
 */
import type { TopicPartitionRef } from '../../core/metadata/group-offset-store.js';
import { OffsetDelete } from '../../core/protocol/generated/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

export const offsetDeleteHandler = defineHandler({
  api: OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { agent } = ctx;
    const errors = new Map<string, number>();
    const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
    const known: TopicPartitionRef[] = [];
    try {
      for (const t of req.topics) {
        const topic = await agent.metadata.getTopic(t.name);
        for (const p of t.partitions) {
          if (topic === null || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) errors.set(key(t.name, p.partitionIndex), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          else known.push({ topic: t.name, partition: p.partitionIndex });
        }
      }
    } catch (e) {
      return { errorCode: errorCodeOf(e), throttleTimeMs: 0, topics: [] };
    }
    const r = await agent.groups.deleteOffsets(req.groupId, known);
    if (r.errorCode !== ErrorCode.NONE) return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
    known.forEach((p, i) => errors.set(key(p.topic, p.partition), r.partitions[i]!));
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(key(t.name, p.partitionIndex)) ?? ErrorCode.NONE })),
      })),
    };
  },
});
