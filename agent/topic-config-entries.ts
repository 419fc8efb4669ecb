/**
 * A topic's configs as DescribeConfigs and CreateTopics (v5+) report them: every key Weir knows
 * with its effective value, plus any other key stored on the topic, each with its source and
 * type. Synonyms list what the value would fall back to: the topic's own setting first, then the
 * broker-level default (as Kafka orders them).
 */
import { brokerSynonymOf } from './broker-configs.js';
import { ConfigSource } from './config-source.js';
import { ConfigType, topicConfigDefs } from './topic-configs.js';

export interface ConfigSynonym {
  name: string;
  value: string;
  source: number;
}

export interface TopicConfigEntry {
  name: string;
  value: string;
  source: number;
  type: number;
  synonyms: ConfigSynonym[];
}

export function topicConfigEntries(configs: Record<string, string>): TopicConfigEntry[] {
  const keys = new Set([...Object.keys(topicConfigDefs), ...Object.keys(configs)]);
  return [...keys].sort().map((name) => {
    const def = topicConfigDefs[name];
    const own = Object.hasOwn(configs, name) ? configs[name]! : undefined;
    const synonyms: ConfigSynonym[] = [];
    if (own !== undefined) synonyms.push({ name, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    if (def) synonyms.push({ name: brokerSynonymOf[name] ?? name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
    return {
      name,
      value: own ?? def!.defaultValue,
      source: own !== undefined ? ConfigSource.DYNAMIC_TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
      // A key stored by an older Weir that this one no longer knows is shown as a plain string.
      type: def?.type ?? ConfigType.STRING,
      synonyms,
    };
  });
}
