/**
 * Metadata — serves v0–v12.
 *
 * Lists the live agents as brokers and, per partition, the leader the cluster routes it to
 * (agent/cluster/; replicas and ISR are just the leader). The leader is advice that spreads
 * clients over the agents: any agent serves any partition (the log lives in the object store), so
 * Produce and Fetch never answer NOT_LEADER_OR_FOLLOWER. With one agent, it leads everything. Topics are looked up by name, or by id on
 * v10+; a null topic list (an empty one on v0) means all topics. Unknown topics are auto-created when both the
 * request (v4+) and the agent (--auto-create-topics) allow it, else UNKNOWN_TOPIC_OR_PARTITION;
 * invalid names get INVALID_TOPIC_EXCEPTION.
 */
import { Metadata } from '../../core/protocol/generated/index.js';
import type { TopicInfo } from '../../core/metadata/metadata-store.js';
import { topicNameError } from '../../core/metadata/topic-name.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import type { AgentContext } from '../agent-context.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export function describeTopic(agent: AgentContext, t: TopicInfo) {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    partitions: Array.from({ length: t.partitions }, (_, i) => {
      const nodeId = agent.cluster.leaderOf(t.name, i).nodeId;
      return {
        errorCode: ErrorCode.NONE,
        partitionIndex: i,
        leaderId: nodeId,
        leaderEpoch: 0,
        replicaNodes: [nodeId],
        isrNodes: [nodeId],
        offlineReplicas: [],
      };
    }),
  };
}

const missing = (name: string | null, topicId: string, errorCode: number) => ({ errorCode, name, topicId, isInternal: false, partitions: [] });

export const metadataHandler = defineHandler({
  api: Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const allowCreate = apiVersion < 4 || req.allowAutoTopicCreation;
    let topics;
    if (req.topics === null || (apiVersion === 0 && req.topics.length === 0)) {
      topics = (await agent.metadata.listTopics()).map((t) => describeTopic(agent, t));
    } else {
      topics = await Promise.all(
        req.topics.map(async (rt) => {
          if (rt.name === null || rt.name === undefined) {
            if (!rt.topicId || rt.topicId === ZERO_UUID) return missing(null, ZERO_UUID, ErrorCode.INVALID_REQUEST);
            const t = await agent.topics.getById(rt.topicId);
            return t ? describeTopic(agent, t) : missing(null, rt.topicId, ErrorCode.UNKNOWN_TOPIC_ID);
          }
          if (topicNameError(rt.name)) return missing(rt.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION);
          const t = await agent.topics.getOrCreate(rt.name, allowCreate);
          return t ? describeTopic(agent, t) : missing(rt.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }),
      );
    }
    return {
      throttleTimeMs: 0,
      brokers: agent.cluster.members().map((m) => ({ nodeId: m.nodeId, host: m.host, port: m.port, rack: null })),
      clusterId: agent.clusterId,
      controllerId: agent.cluster.controller().nodeId,
      topics,
    };
  },
});
