/**
 * CreateTopics — serves v0–v7.
 *
 * Each topic is checked in Kafka's order, and the first failure is its result (with a message
 * on v1+): a name given twice in the request → INVALID_REQUEST; an illegal name →
 * INVALID_TOPIC_EXCEPTION; an existing topic → TOPIC_ALREADY_EXISTS; a partition count that is
 * not >= 1 or -1 (the agent's --default-partitions) → INVALID_PARTITIONS; a replication factor
 * of 0 or below -1 → INVALID_REPLICATION_FACTOR; a malformed manual assignment →
 * INVALID_REPLICA_ASSIGNMENT; an unknown config, a bad or null value → INVALID_CONFIG.
 *
 * Replication factor -1 (the default, 1) or any value >= 1 is accepted and not stored:
 * durability comes from the object store, and every agent serves every partition, so Metadata
 * always reports this agent as the one replica. For the same reason a manual assignment only
 * sets the partition count (its length); the broker ids in it are not kept.
 *
 * validateOnly (v1+) runs every check and creates nothing. v5+ results carry the partition count,
 * replication factor and every topic config with its value and source; v7+ the new topic's id.
 */
import { topicNameError } from '../../core/metadata/topic-name.js';
import { partitionCountError } from '../../core/metadata/partition-count.js';
import { CreateTopics } from '../../core/protocol/generated/index.js';
import type {
  CreateTopicsRequestCreatableTopic,
  CreateTopicsResponseCreatableTopicResult,
} from '../../core/protocol/generated/create-topics.js';
import type { AgentContext } from '../agent-context.js';
import { AdminError, adminFailure, duplicatesOf } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { checkTopicConfig } from '../topic-config-change.js';
import { topicConfigEntries } from '../topic-config-entries.js';

const DEFAULT_REPLICATION_FACTOR = 1;

/** Partition count and replication factor, from the counts or from a manual assignment. */
function layoutOf(t: CreateTopicsRequestCreatableTopic, defaultPartitions: number): { partitions: number; replicationFactor: number } {
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw new AdminError(ErrorCode.INVALID_REQUEST, 'numPartitions and replicationFactor must be -1 when a manual assignment is given');
    }
    const n = t.assignments.length;
    const countError = partitionCountError(n);
    if (countError !== null) throw new AdminError(ErrorCode.INVALID_PARTITIONS, countError);
    const indexes = new Set(t.assignments.map((a) => a.partitionIndex));
    if (indexes.size !== n || [...indexes].some((i) => i < 0 || i >= n)) {
      throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the assignment must name each partition 0..${n - 1} exactly once`);
    }
    const replicas = t.assignments[0]!.brokerIds.length;
    for (const a of t.assignments) {
      if (a.brokerIds.length === 0) throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex} is assigned no brokers`);
      if (new Set(a.brokerIds).size !== a.brokerIds.length) {
        throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex} names a broker more than once`);
      }
      if (a.brokerIds.length !== replicas) {
        throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'every partition of the assignment must have the same number of replicas');
      }
    }
    return { partitions: n, replicationFactor: replicas };
  }
  if (t.numPartitions === 0 || t.numPartitions < -1) {
    throw new AdminError(ErrorCode.INVALID_PARTITIONS, `invalid partition count ${t.numPartitions}: it must be at least 1, or -1 for the default (${defaultPartitions})`);
  }
  const partitions = t.numPartitions === -1 ? defaultPartitions : t.numPartitions;
  const countError = partitionCountError(partitions);
  if (countError !== null) throw new AdminError(ErrorCode.INVALID_PARTITIONS, countError);
  if (t.replicationFactor === 0 || t.replicationFactor < -1) {
    throw new AdminError(ErrorCode.INVALID_REPLICATION_FACTOR, `invalid replication factor ${t.replicationFactor}: it must be at least 1, or -1 for the default`);
  }
  return { partitions, replicationFactor: t.replicationFactor === -1 ? DEFAULT_REPLICATION_FACTOR : t.replicationFactor };
}

function configsOf(t: CreateTopicsRequestCreatableTopic): Record<string, string> {
  const dup = duplicatesOf(t.configs.map((c) => c.name));
  const out = new Map<string, string>();
  for (const c of t.configs) {
    if (dup.has(c.name)) throw new AdminError(ErrorCode.INVALID_CONFIG, `config ${c.name} appears more than once`);
    if (c.value === null) throw new AdminError(ErrorCode.INVALID_CONFIG, `null value not supported for config ${c.name}`);
    checkTopicConfig(c.name, c.value);
    out.set(c.name, c.value);
  }
  return Object.fromEntries(out);
}

async function createOne(agent: AgentContext, t: CreateTopicsRequestCreatableTopic, validateOnly: boolean): Promise<CreateTopicsResponseCreatableTopicResult> {
  try {
    const nameError = topicNameError(t.name);
    if (nameError !== null) throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    // The store, not the resolver's cache, which may not have seen another agent's change yet.
    if (await agent.metadata.getTopic(t.name)) throw new AdminError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists`);
    const { partitions, replicationFactor } = layoutOf(t, agent.config.defaultPartitions);
    const configs = configsOf(t);
    let topicId: string | undefined;
    if (!validateOnly) {
      const created = await agent.metadata.createTopic(t.name, partitions, configs);
      agent.topics.invalidate(t.name);
      topicId = created.id;
      agent.log('info', `created topic ${t.name} with ${partitions} partitions`);
    }
    return {
      name: t.name,
      topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitions,
      replicationFactor,
      configs: topicConfigEntries(configs).map((e) => ({ name: e.name, value: e.value, readOnly: false, configSource: e.source, isSensitive: false })),
    };
  } catch (e) {
    return { name: t.name, ...adminFailure(e) };
  }
}

export const createTopicsHandler = defineHandler({
  api: CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const validateOnly = apiVersion >= 1 && req.validateOnly;
    const dup = duplicatesOf(req.topics.map((t) => t.name));
    const topics: CreateTopicsResponseCreatableTopicResult[] = [];
    // One at a time: each create is one store transaction anyway, and a request naming many
    // topics then fails or succeeds topic by topic in a predictable order.
    for (const t of req.topics) {
      if (dup.has(t.name)) {
        if (!topics.some((r) => r.name === t.name)) {
          topics.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${t.name} appears more than once in the request` });
        }
        continue;
      }
      topics.push(await createOne(agent, t, validateOnly));
    }
    return { throttleTimeMs: 0, topics };
  },
});
