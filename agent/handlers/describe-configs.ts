/**
 * DescribeConfigs — serves v0–v4.
 *
 * Topic resources (type 2): every topic config Weir knows (agent/topic-configs.ts), plus any
 * other key stored on the topic, with its effective value. v0 says isDefault; v1+ says the
 * source: DYNAMIC_TOPIC_CONFIG (1) when the topic sets the key, else DEFAULT_CONFIG (5), and,
 * when includeSynonyms, the synonyms (the topic's setting, then the broker-level default).
 * v3+ carries the config type; documentation is always null. Topic configs are not read-only
 * (AlterConfigs changes them) and none is sensitive.
 *
 * Broker resources (type 4, named by this agent's node id, or '' for the cluster defaults):
 * the read-only set in agent/broker-configs.ts. Another node id → INVALID_REQUEST.
 *
 * configurationKeys null or empty means every key (as Kafka); unknown keys are left out.
 * Per resource: an unknown topic → UNKNOWN_TOPIC_OR_PARTITION, an illegal name →
 * INVALID_TOPIC_EXCEPTION, any other resource type → INVALID_REQUEST; each with a message.
 */
import { topicNameError } from '../../core/metadata/topic-name.js';
import { DescribeConfigs } from '../../core/protocol/generated/index.js';
import type {
  DescribeConfigsRequestResource,
  DescribeConfigsResponseResourceResult,
  DescribeConfigsResponseResult,
} from '../../core/protocol/generated/describe-configs.js';
import type { AgentContext } from '../agent-context.js';
import { AdminError, adminFailure } from '../admin-error.js';
import { brokerConfigs } from '../broker-configs.js';
import { ConfigResourceType, ConfigSource } from '../config-source.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { topicConfigEntries, type ConfigSynonym } from '../topic-config-entries.js';

interface Entry {
  name: string;
  value: string;
  source: number;
  type: number;
  readOnly: boolean;
  synonyms: ConfigSynonym[];
}

async function entriesOf(agent: AgentContext, r: DescribeConfigsRequestResource): Promise<Entry[]> {
  if (r.resourceType === ConfigResourceType.TOPIC) {
    const nameError = topicNameError(r.resourceName);
    if (nameError !== null) throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    const topic = await agent.metadata.getTopic(r.resourceName);
    if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${r.resourceName} does not exist`);
    return topicConfigEntries(topic.configs).map((e) => ({ ...e, readOnly: false }));
  }
  if (r.resourceType === ConfigResourceType.BROKER) {
    const nodeId = String(agent.config.nodeId);
    if (r.resourceName !== '' && r.resourceName !== nodeId) {
      throw new AdminError(ErrorCode.INVALID_REQUEST, `unexpected broker id ${JSON.stringify(r.resourceName)}: this agent is broker ${nodeId} (or use '' for the cluster defaults)`);
    }
    return brokerConfigs(agent).map((c) => ({ ...c, readOnly: true, synonyms: [{ name: c.name, value: c.value, source: c.source }] }));
  }
  throw new AdminError(ErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} is not supported (only topics, type 2, and brokers, type 4)`);
}

export const describeConfigsHandler = defineHandler({
  api: DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const includeSynonyms = apiVersion >= 1 && req.includeSynonyms;
    const results = await Promise.all(
      req.resources.map(async (r): Promise<DescribeConfigsResponseResult> => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        try {
          const wanted = r.configurationKeys === null || r.configurationKeys.length === 0 ? null : new Set(r.configurationKeys);
          const configs = (await entriesOf(agent, r))
            .filter((e) => wanted === null || wanted.has(e.name))
            .map(
              (e): DescribeConfigsResponseResourceResult => ({
                name: e.name,
                value: e.value,
                readOnly: e.readOnly,
                isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
                configSource: e.source,
                isSensitive: false,
                synonyms: includeSynonyms ? e.synonyms : [],
                configType: e.type,
                documentation: null,
              }),
            );
          return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
        } catch (e) {
          return { ...base, ...adminFailure(e), configs: [] };
        }
      }),
    );
    return { throttleTimeMs: 0, results };
  },
});
