/**
 * WeirMirrorTopics (Weir's own API, key 10001, weir-specs/) — serves v0.
 *
 * Mirror topics' lifecycle, for `weir mirror` (connectors/mirror/). Per topic, by Action:
 * - 0 ensure: creates the topic as a mirror of SourceCluster (marked in the same step, so it is
 *   never writable by producers in between) with NumPartitions and Configs; an existing mirror
 *   topic of that source grows to NumPartitions and takes the configs (a null value returns a key
 *   to its default). An existing ordinary topic, or a mirror of another source, is
 *   TOPIC_ALREADY_EXISTS: the mirror never adopts data it did not write. A promoted topic is left
 *   alone and reported as promoted, which tells the mirror to stop copying it.
 * - 1 promote: the topic takes ordinary produces from now on and no more mirror writes (persisted
 *   in the metadata store); promoting twice is fine; an ordinary topic is INVALID_REQUEST.
 * - 2 describe: only reports.
 * Every answer carries the topic's id, partition count and mirror state (0 none, 1 mirroring,
 * 2 promoted). Configs are checked as CreateTopics checks them (INVALID_CONFIG). Authorization:
 * the mirror token, as WeirMirrorWrite (CLUSTER_AUTHORIZATION_FAILED).
 */
import type { MirrorState, TopicInfo } from '../../core/metadata/metadata-store.js';
import { topicNameError } from '../../core/metadata/topic-name.js';
import { WeirMirrorTopics, type WeirMirrorTopicsRequestTopic } from '../../core/protocol/generated/index.js';
import type { AgentContext } from '../agent-context.js';
import { AdminError, adminFailure } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { checkTopicConfig } from '../topic-config-change.js';
import { mirrorTokenError } from './weir-mirror-write.js';

export const MirrorAction = { ENSURE: 0, PROMOTE: 1, DESCRIBE: 2 } as const;
export const MirrorStateCode = { NONE: 0, MIRRORING: 1, PROMOTED: 2 } as const;

const stateCode = (m: MirrorState | undefined): number =>
  m === undefined ? MirrorStateCode.NONE : m.state === 'mirroring' ? MirrorStateCode.MIRRORING : MirrorStateCode.PROMOTED;

function answer(topic: TopicInfo) {
  return {
    name: topic.name,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicId: topic.id,
    numPartitions: topic.partitions,
    mirrorState: stateCode(topic.mirror),
    sourceCluster: topic.mirror?.source ?? null,
  };
}

async function ensure(agent: AgentContext, t: WeirMirrorTopicsRequestTopic): Promise<TopicInfo> {
  const configs: Record<string, string | null> = {};
  for (const c of t.configs) {
    checkTopicConfig(c.name, c.value);
    configs[c.name] = c.value;
  }
  const mirror: MirrorState = { state: 'mirroring', source: t.sourceCluster };
  // The store, not the resolver's cache: another agent (another mirror worker) may have created it.
  let topic = await agent.metadata.getTopic(t.name);
  if (topic === null) {
    if (t.numPartitions < 1) throw new AdminError(ErrorCode.INVALID_PARTITIONS, `partition count ${t.numPartitions} must be at least 1`);
    const set = Object.fromEntries(Object.entries(configs).filter((e): e is [string, string] => e[1] !== null));
    try {
      topic = await agent.metadata.createTopic(t.name, t.numPartitions, set, mirror);
      agent.log('info', `created mirror topic ${t.name} (${t.numPartitions} partitions) of ${t.sourceCluster}`);
    } catch (e) {
      // A concurrent ensure (another worker) created it first: carry on with that one.
      topic = await agent.metadata.getTopic(t.name);
      if (topic === null) throw e;
    }
    agent.topics.invalidate(t.name);
  }
  if (topic.mirror === undefined) throw new AdminError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists on Weir and is not a mirror topic; the mirror does not adopt it`);
  if (topic.mirror.source !== t.sourceCluster) {
    throw new AdminError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} is a mirror of ${topic.mirror.source}, not of ${t.sourceCluster}`);
  }
  if (topic.mirror.state === 'promoted') return topic;
  if (t.numPartitions > topic.partitions) {
    topic = await agent.metadata.createPartitions(t.name, t.numPartitions);
    agent.topics.invalidate(t.name);
  }
  const changed = Object.entries(configs).some(([k, v]) => (topic!.configs[k] ?? null) !== v);
  if (changed) {
    topic = await agent.metadata.setTopicConfigs(t.name, configs, 'incremental');
    agent.topics.invalidate(t.name);
  }
  return topic;
}

async function promote(agent: AgentContext, name: string): Promise<TopicInfo> {
  const topic = await agent.metadata.getTopic(name);
  if (topic === null) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
  if (topic.mirror === undefined) throw new AdminError(ErrorCode.INVALID_REQUEST, `topic ${name} is not a mirror topic`);
  if (topic.mirror.state === 'promoted') return topic;
  const promoted = await agent.metadata.setTopicMirror(name, { state: 'promoted', source: topic.mirror.source });
  agent.topics.invalidate(name);
  agent.log('info', `promoted mirror topic ${name}: it takes produces now, and no more mirror writes`);
  return promoted;
}

export const weirMirrorTopicsHandler = defineHandler({
  api: WeirMirrorTopics,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { agent } = ctx;
    const refusal = mirrorTokenError(agent, req.token);
    const topics = [];
    // One at a time, in request order, like CreateTopics: each is a few store transactions.
    for (const t of req.topics) {
      try {
        if (refusal !== null) throw new AdminError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, refusal);
        const nameError = topicNameError(t.name);
        if (nameError !== null) throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
        let topic: TopicInfo | null;
        if (t.action === MirrorAction.ENSURE) topic = await ensure(agent, t);
        else if (t.action === MirrorAction.PROMOTE) topic = await promote(agent, t.name);
        else if (t.action === MirrorAction.DESCRIBE) topic = await agent.metadata.getTopic(t.name);
        else throw new AdminError(ErrorCode.INVALID_REQUEST, `unknown action ${t.action}`);
        if (topic === null) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`);
        topics.push(answer(topic));
      } catch (e) {
        topics.push({ name: t.name, ...adminFailure(e), topicId: '00000000-0000-0000-0000-000000000000' });
      }
    }
    if (refusal !== null) agent.log('warn', `refused WeirMirrorTopics from ${ctx.peer}: ${refusal}`);
    return { throttleTimeMs: 0, topics };
  },
});
