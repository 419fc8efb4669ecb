/**
 * CreatePartitions — serves v0–v3.
 *
 * Grows a topic to `count` partitions; the new ones start empty at offset 0. A count not larger
 * than the current one → INVALID_PARTITIONS (Kafka also refuses "no change"); a missing topic →
 * UNKNOWN_TOPIC_OR_PARTITION; a topic named twice → INVALID_REQUEST. A manual assignment must
 * have one entry per new partition, each naming at least one broker (INVALID_REPLICA_ASSIGNMENT);
 * the broker ids are not kept, as every agent serves every partition. validateOnly runs every
 * check and changes nothing.
 */
import { partitionCountError } from '../../core/metadata/partition-count.js';
import { topicNameError } from '../../core/metadata/topic-name.js';
import { CreatePartitions } from '../../core/protocol/generated/index.js';
import type { CreatePartitionsRequestTopic, CreatePartitionsResponseTopicResult } from '../../core/protocol/generated/create-partitions.js';
import type { AgentContext } from '../agent-context.js';
import { AdminError, adminFailure, duplicatesOf } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

async function growOne(agent: AgentContext, t: CreatePartitionsRequestTopic, validateOnly: boolean): Promise<CreatePartitionsResponseTopicResult> {
  try {
    if (topicNameError(t.name) !== null) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`);
    const topic = await agent.metadata.getTopic(t.name);
    if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`);
    if (t.count < topic.partitions) {
      throw new AdminError(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} has ${topic.partitions} partitions, more than the ${t.count} asked for: partitions cannot be removed`);
    }
    if (t.count === topic.partitions) throw new AdminError(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} already has ${topic.partitions} partitions`);
    const countError = partitionCountError(t.count);
    if (countError !== null) throw new AdminError(ErrorCode.INVALID_PARTITIONS, countError);
    if (t.assignments !== null) {
      const added = t.count - topic.partitions;
      if (t.assignments.length !== added) {
        throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `the assignment has ${t.assignments.length} entries for ${added} new partitions`);
      }
      if (t.assignments.some((a) => a.brokerIds.length === 0)) throw new AdminError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'every new partition must be assigned a broker');
    }
    if (!validateOnly) {
      await agent.metadata.createPartitions(topic.name, t.count);
      agent.topics.invalidate(topic.name);
      agent.log('info', `topic ${topic.name} grown from ${topic.partitions} to ${t.count} partitions`);
    }
    return { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (e) {
    const f = adminFailure(e);
    // The store re-checks the count inside its transaction; losing that race is still "not larger".
    if (f.errorCode === ErrorCode.INVALID_REQUEST && !(e instanceof AdminError)) f.errorCode = ErrorCode.INVALID_PARTITIONS;
    return { name: t.name, ...f };
  }
}

export const createPartitionsHandler = defineHandler({
  api: CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const dup = duplicatesOf(req.topics.map((t) => t.name));
    const results: CreatePartitionsResponseTopicResult[] = [];
    for (const t of req.topics) {
      if (dup.has(t.name)) {
        results.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${t.name} appears more than once in the request` });
      } else {
        results.push(await growOne(ctx.agent, t, req.validateOnly));
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
