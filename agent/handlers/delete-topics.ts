/**
 * DeleteTopics — serves v0–v6.
 *
 * Topics are named (v0–v5 topicNames; v6 topics[].name) or, on v6, given by id (name null).
 * A missing name → UNKNOWN_TOPIC_OR_PARTITION, a missing id → UNKNOWN_TOPIC_ID, both name and id,
 * or neither, or a topic named twice → INVALID_REQUEST; messages on v5+. A deleted topic's
 * partitions and index go at once; its objects are left to garbage collection, and produces
 * still in flight for it fail their commit (the topic id no longer matches).
 */
import type { TopicInfo } from '../../core/metadata/metadata-store.js';
import { DeleteTopics } from '../../core/protocol/generated/index.js';
import type { DeleteTopicsResponseDeletableTopicResult } from '../../core/protocol/generated/delete-topics.js';
import type { AgentContext } from '../agent-context.js';
import { AdminError, adminFailure, duplicatesOf } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

interface Target {
  name: string | null;
  topicId: string;
}

async function deleteOne(agent: AgentContext, target: Target, duplicated: boolean): Promise<DeleteTopicsResponseDeletableTopicResult> {
  const result = { name: target.name, topicId: target.topicId };
  try {
    const byId = target.name === null;
    if (duplicated) throw new AdminError(ErrorCode.INVALID_REQUEST, `topic ${target.name ?? target.topicId} appears more than once in the request`);
    if (!byId && target.topicId !== ZERO_UUID) throw new AdminError(ErrorCode.INVALID_REQUEST, 'give a topic name or a topic id, not both');
    if (byId && target.topicId === ZERO_UUID) throw new AdminError(ErrorCode.INVALID_REQUEST, 'give a topic name or a topic id');
    let topic: TopicInfo | null;
    if (byId) {
      // The resolver's id index is a cache; the store's topic list is the truth.
      topic = (await agent.metadata.listTopics()).find((t) => t.id === target.topicId) ?? null;
      if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_ID, `no topic has id ${target.topicId}`);
    } else {
      topic = await agent.metadata.getTopic(target.name!);
      if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${target.name} does not exist`);
    }
    await agent.metadata.deleteTopic(topic.name);
    agent.partitionStates.invalidate(topic.name);
    // Everything: the resolver also indexes topics by id.
    agent.topics.invalidate();
    agent.log('info', `deleted topic ${topic.name}`);
    return { name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (e) {
    return { ...result, ...adminFailure(e) };
  }
}

export const deleteTopicsHandler = defineHandler({
  api: DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  async handle(req, ctx) {
    const targets: Target[] = ctx.apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const dup = duplicatesOf(targets.map((t) => (t.name === null ? `id:${t.topicId}` : `name:${t.name}`)));
    const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
    for (const t of targets) responses.push(await deleteOne(ctx.agent, t, dup.has(t.name === null ? `id:${t.topicId}` : `name:${t.name}`)));
    return { throttleTimeMs: 0, responses };
  },
});
