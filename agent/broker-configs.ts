/**
 * The broker configs DescribeConfigs reports for a broker resource. An agent has no dynamic
 * broker configs: what Kafka tools look for is derived from the agent's flags (source
 * STATIC_BROKER_CONFIG when a flag changed it, else DEFAULT_CONFIG) and from the topic defaults
 * in topic-configs.ts, under the broker-level names Kafka gives them (log.retention.ms for
 * retention.ms, ...). All are read-only.
 */
import type { AgentContext } from './agent-context.js';
import { agentFlags } from './config.js';
import { ConfigSource } from './config-source.js';
import { ConfigType, topicConfigDefs } from './topic-configs.js';

/** Topic config → the broker config Kafka falls back to when the topic does not set it. */
export const brokerSynonymOf: Readonly<Record<string, string>> = {
  'cleanup.policy': 'log.cleanup.policy',
  'compression.type': 'compression.type',
  'delete.retention.ms': 'log.cleaner.delete.retention.ms',
  'file.delete.delay.ms': 'log.segment.delete.delay.ms',
  'flush.messages': 'log.flush.interval.messages',
  'flush.ms': 'log.flush.interval.ms',
  'index.interval.bytes': 'log.index.interval.bytes',
  'local.retention.bytes': 'log.local.retention.bytes',
  'local.retention.ms': 'log.local.retention.ms',
  'max.compaction.lag.ms': 'log.cleaner.max.compaction.lag.ms',
  'max.message.bytes': 'message.max.bytes',
  'message.downconversion.enable': 'log.message.downconversion.enable',
  'message.format.version': 'log.message.format.version',
  'message.timestamp.after.max.ms': 'log.message.timestamp.after.max.ms',
  'message.timestamp.before.max.ms': 'log.message.timestamp.before.max.ms',
  'message.timestamp.difference.max.ms': 'log.message.timestamp.difference.max.ms',
  'message.timestamp.type': 'log.message.timestamp.type',
  'min.cleanable.dirty.ratio': 'log.cleaner.min.cleanable.ratio',
  'min.compaction.lag.ms': 'log.cleaner.min.compaction.lag.ms',
  'min.insync.replicas': 'min.insync.replicas',
  preallocate: 'log.preallocate',
  'retention.bytes': 'log.retention.bytes',
  'retention.ms': 'log.retention.ms',
  'segment.bytes': 'log.segment.bytes',
  'segment.index.bytes': 'log.index.size.max.bytes',
  'segment.jitter.ms': 'log.roll.jitter.ms',
  'segment.ms': 'log.roll.ms',
  'unclean.leader.election.enable': 'unclean.leader.election.enable',
};

export interface BrokerConfig {
  name: string;
  value: string;
  type: (typeof ConfigType)[keyof typeof ConfigType];
  source: number;
}

export function brokerConfigs(agent: AgentContext): BrokerConfig[] {
  const { config } = agent;
  const fromFlag = (flag: string, value: string | number | boolean, type: BrokerConfig['type'], name: string): BrokerConfig => ({
    name,
    value: String(value),
    type,
    source: agentFlags[flag]?.default === value ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG,
  });
  const fixed = (name: string, value: string, type: BrokerConfig['type']): BrokerConfig => ({ name, value, type, source: ConfigSource.DEFAULT_CONFIG });
  const out: BrokerConfig[] = [
    fromFlag('node-id', config.nodeId, ConfigType.INT, 'broker.id'),
    fromFlag('node-id', config.nodeId, ConfigType.INT, 'node.id'),
    fromFlag('default-partitions', config.defaultPartitions, ConfigType.INT, 'num.partitions'),
    fromFlag('auto-create-topics', config.autoCreateTopics, ConfigType.BOOLEAN, 'auto.create.topics.enable'),
    fromFlag('request-bytes-max', config.requestBytesMax, ConfigType.INT, 'socket.request.max.bytes'),
    {
      name: 'advertised.listeners',
      value: `PLAINTEXT://${agent.advertised.host}:${agent.advertised.port}`,
      type: ConfigType.STRING,
      source: ConfigSource.STATIC_BROKER_CONFIG,
    },
    // Durability comes from the object store, so there is nothing to replicate: one replica.
    fixed('default.replication.factor', '1', ConfigType.INT),
    fixed('offsets.topic.replication.factor', '1', ConfigType.SHORT),
    fixed('transaction.state.log.replication.factor', '1', ConfigType.SHORT),
    fixed('delete.topic.enable', 'true', ConfigType.BOOLEAN),
  ];
  const seen = new Set(out.map((c) => c.name));
  for (const [topicKey, brokerKey] of Object.entries(brokerSynonymOf)) {
    const def = topicConfigDefs[topicKey];
    if (!def || seen.has(brokerKey)) continue;
    seen.add(brokerKey);
    out.push(fixed(brokerKey, def.defaultValue, def.type));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
