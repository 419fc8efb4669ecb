/**
 * What AlterConfigs and IncrementalAlterConfigs share: turning a config resource into a topic,
 * checking config values, and writing the change unless the request is validateOnly.
 * Broker resources are refused with POLICY_VIOLATION: an agent's broker configs are its flags
 * and are not changed at runtime. Other resource types get INVALID_REQUEST, a resource named
 * twice in one request INVALID_REQUEST (as Kafka), an illegal topic name INVALID_TOPIC_EXCEPTION
 * and a missing topic UNKNOWN_TOPIC_OR_PARTITION.
 */
import type { TopicInfo } from '../core/metadata/metadata-store.js';
import { topicNameError } from '../core/metadata/topic-name.js';
import type { AgentContext } from './agent-context.js';
import { AdminError, adminFailure, duplicatesOf } from './admin-error.js';
import { ConfigResourceType } from './config-source.js';
import { ErrorCode, errorMessageOf } from './error-codes.js';
import { validateTopicConfig } from './topic-configs.js';

/** Throws AdminError(INVALID_CONFIG) naming the key and value when the config is unknown or malformed. */
export function checkTopicConfig(name: string, value: string | null): void {
  try {
    validateTopicConfig(name, value);
  } catch (e) {
    throw new AdminError(ErrorCode.INVALID_CONFIG, errorMessageOf(e));
  }
}

export interface ConfigChange {
  configs: Record<string, string | null>;
  /** As MetadataStore.setTopicConfigs: 'replace' sets exactly `configs`, 'incremental' applies each (null deletes). */
  mode: 'replace' | 'incremental';
}

export interface ConfigResource {
  resourceType: number;
  resourceName: string;
}

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/**
 * Runs each resource in request order. `plan` gets the topic as stored now and returns the change,
 * or throws AdminError for a bad entry; the change is written only when `validateOnly` is false.
 */
export async function alterConfigResources<R extends ConfigResource>(
  agent: AgentContext,
  resources: readonly R[],
  validateOnly: boolean,
  plan: (resource: R, topic: TopicInfo) => ConfigChange,
): Promise<AlterResult[]> {
  const dup = duplicatesOf(resources.map((r) => `${r.resourceType}\u0000${r.resourceName}`));
  const results: AlterResult[] = [];
  for (const r of resources) {
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    try {
      if (dup.has(`${r.resourceType}\u0000${r.resourceName}`)) {
        throw new AdminError(ErrorCode.INVALID_REQUEST, `resource ${r.resourceName} (type ${r.resourceType}) appears more than once in the request`);
      }
      if (r.resourceType === ConfigResourceType.BROKER) {
        throw new AdminError(ErrorCode.POLICY_VIOLATION, 'broker configs cannot be changed at runtime: they are the flags of weir agent');
      }
      if (r.resourceType !== ConfigResourceType.TOPIC) {
        throw new AdminError(ErrorCode.INVALID_REQUEST, `resource type ${r.resourceType} is not supported (only topics, type 2)`);
      }
      const nameError = topicNameError(r.resourceName);
      if (nameError !== null) throw new AdminError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
      // The store, not the resolver's cache: a change must be planned against the current configs.
      const topic = await agent.metadata.getTopic(r.resourceName);
      if (!topic) throw new AdminError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${r.resourceName} does not exist`);
      const change = plan(r, topic);
      if (!validateOnly) {
        await agent.metadata.setTopicConfigs(topic.name, change.configs, change.mode);
        agent.topics.invalidate(topic.name);
      }
      results.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (e) {
      results.push({ ...base, ...adminFailure(e) });
    }
  }
  return results;
}
