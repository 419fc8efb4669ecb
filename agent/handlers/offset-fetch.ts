/**
 * OffsetFetch — serves v0–v9 (v8+ is the multi-group form).
 *
 * Returns a group's committed offsets from the metadata store, whatever the group's state (a
 * group may use commits without group membership): per requested partition the offset, leader
 * epoch (v5+) and metadata, or offset -1 with metadata '' when there is no commit (or no such
 * partition). A null topic list (v2+) means every partition the group has committed. requireStable
 * (v7+) never has to wait: without transactions no commit is ever pending. v9's member id and
 * epoch belong to the new consumer protocol (KIP-848) and are ignored for classic groups, as
 * Kafka does. A metadata store failure is the top-level (v2–v7) or group (v8+) error, per
 * partition before v2.
 */
import type { CommittedOffset, TopicPartitionRef } from '../../core/metadata/group-offset-store.js';
import { OffsetFetch } from '../../core/protocol/generated/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import type { AgentContext } from '../agent-context.js';

interface TopicRequest {
  name: string;
  partitionIndexes: number[];
}

interface PartitionAnswer {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

async function fetchGroup(agent: AgentContext, groupId: string, topics: TopicRequest[] | null): Promise<{ errorCode: number; topics: Array<{ name: string; partitions: PartitionAnswer[] }> }> {
  const requested: TopicPartitionRef[] | null = topics === null ? null : topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
  const answer = (partition: number, o: CommittedOffset | undefined, errorCode: number = ErrorCode.NONE): PartitionAnswer => ({
    partitionIndex: partition,
    committedOffset: o === undefined ? -1n : BigInt(o.offset),
    committedLeaderEpoch: o?.leaderEpoch ?? -1,
    metadata: o === undefined ? '' : (o.metadata ?? ''),
    errorCode,
  });
  let committed: CommittedOffset[];
  try {
    committed = await agent.metadata.fetchOffsets(groupId, requested);
  } catch (e) {
    const errorCode = errorCodeOf(e);
    return { errorCode, topics: (topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => answer(p, undefined, errorCode)) })) };
  }
  if (topics === null) {
    const byTopic = new Map<string, PartitionAnswer[]>();
    for (const o of committed) {
      let list = byTopic.get(o.topic);
      if (list === undefined) byTopic.set(o.topic, (list = []));
      list.push(answer(o.partition, o));
    }
    return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
  }
  const found = new Map(committed.map((o) => [`${o.topic}\u0000${o.partition}`, o]));
  return {
    errorCode: ErrorCode.NONE,
    topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => answer(p, found.get(`${t.name}\u0000${p}`))) })),
  };
}

export const offsetFetchHandler = defineHandler({
  api: OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (v >= 8) {
      const groups = await Promise.all(
        req.groups.map(async (g) => {
          const r = await fetchGroup(ctx.agent, g.groupId, g.topics);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
        }),
      );
      return { throttleTimeMs: 0, groups };
    }
    // v0 and v1 cannot say "all topics"; their empty list means none.
    const r = await fetchGroup(ctx.agent, req.groupId, v >= 2 ? req.topics : (req.topics ?? []));
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
