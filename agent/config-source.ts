/**
 * The numbers DescribeConfigs (v1+) and CreateTopics (v5+) use to say where a config value comes
 * from, and the resource types of the config APIs. From Kafka's protocol (DescribeConfigsResponse
 * ConfigSource, ConfigResource.Type).
 */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

export const ConfigResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;
