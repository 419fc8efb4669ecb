/**
 * Topic configs: every key Kafka clients and tools expect to see in DescribeConfigs, with Kafka's
 * defaults, its type (for DescribeConfigs v3+ ConfigType) and a validator used by CreateTopics,
 * AlterConfigs and IncrementalAlterConfigs. Keys Weir honours say so in `honoured`; the others
 * are accepted and stored so that tools which round-trip configs keep working.
 */
import { WeirError } from '../core/errors.js';

/** DescribeConfigs ConfigType codes. */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;

interface ConfigDef {
  defaultValue: string;
  type: (typeof ConfigType)[keyof typeof ConfigType];
  /** Allowed values for enum-like strings. */
  oneOf?: readonly string[];
  /** Lower bound for numbers. */
  min?: number;
  honoured: boolean;
}

const LONG_MAX = '9223372036854775807';
const def = (defaultValue: string, type: ConfigDef['type'], extra: Partial<ConfigDef> = {}): ConfigDef => ({
  defaultValue,
  type,
  honoured: false,
  ...extra,
});

export const topicConfigDefs: Readonly<Record<string, ConfigDef>> = {
  'cleanup.policy': def('delete', ConfigType.LIST, { oneOf: ['delete', 'compact', 'compact,delete', 'delete,compact'], honoured: true }),
  'compression.type': def('producer', ConfigType.STRING, { oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] }),
  'delete.retention.ms': def('86400000', ConfigType.LONG, { min: 0 }),
  'file.delete.delay.ms': def('60000', ConfigType.LONG, { min: 0 }),
  'flush.messages': def(LONG_MAX, ConfigType.LONG, { min: 1 }),
  'flush.ms': def(LONG_MAX, ConfigType.LONG, { min: 0 }),
  'follower.replication.throttled.replicas': def('', ConfigType.LIST),
  'index.interval.bytes': def('4096', ConfigType.INT, { min: 0 }),
  'leader.replication.throttled.replicas': def('', ConfigType.LIST),
  'local.retention.bytes': def('-2', ConfigType.LONG, { min: -2 }),
  'local.retention.ms': def('-2', ConfigType.LONG, { min: -2 }),
  'max.compaction.lag.ms': def(LONG_MAX, ConfigType.LONG, { min: 1 }),
  'max.message.bytes': def('1048588', ConfigType.INT, { min: 0, honoured: true }),
  'message.downconversion.enable': def('true', ConfigType.BOOLEAN),
  'message.format.version': def('3.0-IV1', ConfigType.STRING),
  'message.timestamp.after.max.ms': def(LONG_MAX, ConfigType.LONG, { min: 0, honoured: true }),
  'message.timestamp.before.max.ms': def(LONG_MAX, ConfigType.LONG, { min: 0, honoured: true }),
  'message.timestamp.difference.max.ms': def(LONG_MAX, ConfigType.LONG, { min: 0 }),
  'message.timestamp.type': def('CreateTime', ConfigType.STRING, { oneOf: ['CreateTime', 'LogAppendTime'], honoured: true }),
  'min.cleanable.dirty.ratio': def('0.5', ConfigType.DOUBLE, { min: 0 }),
  'min.compaction.lag.ms': def('0', ConfigType.LONG, { min: 0 }),
  'min.insync.replicas': def('1', ConfigType.INT, { min: 1 }),
  preallocate: def('false', ConfigType.BOOLEAN),
  'remote.storage.enable': def('false', ConfigType.BOOLEAN),
  'retention.bytes': def('-1', ConfigType.LONG, { min: -1 }),
  'retention.ms': def('604800000', ConfigType.LONG, { min: -1, honoured: true }),
  'segment.bytes': def('1073741824', ConfigType.INT, { min: 14 }),
  'segment.index.bytes': def('10485760', ConfigType.INT, { min: 4 }),
  'segment.jitter.ms': def('0', ConfigType.LONG, { min: 0 }),
  'segment.ms': def('604800000', ConfigType.LONG, { min: 1 }),
  'unclean.leader.election.enable': def('false', ConfigType.BOOLEAN),
};

/** Throws WeirError('invalid_argument') naming the key and value when a config is unknown or malformed. */
export function validateTopicConfig(key: string, value: string | null): void {
  const d = topicConfigDefs[key];
  if (!d) throw new WeirError('invalid_argument', `Unknown topic config name: ${key}`);
  if (value === null) return;
  const bad = (why: string): never => {
    throw new WeirError('invalid_argument', `Invalid value ${value} for configuration ${key}: ${why}`);
  };
  switch (d.type) {
    case ConfigType.BOOLEAN:
      if (value !== 'true' && value !== 'false') bad('expected true or false');
      break;
    case ConfigType.INT:
    case ConfigType.SHORT:
    case ConfigType.LONG: {
      if (!/^-?\d+$/.test(value.trim())) bad('expected an integer');
      const n = BigInt(value.trim());
      const max = d.type === ConfigType.LONG ? 2n ** 63n - 1n : d.type === ConfigType.INT ? 2n ** 31n - 1n : 32767n;
      if (n > max) bad('out of range');
      if (d.min !== undefined && n < BigInt(d.min)) bad(`value must be at least ${d.min}`);
      break;
    }
    case ConfigType.DOUBLE:
      if (!Number.isFinite(Number(value)) || value.trim() === '') bad('expected a number');
      if (d.min !== undefined && Number(value) < d.min) bad(`value must be at least ${d.min}`);
      break;
    default:
      if (d.oneOf && !d.oneOf.includes(value.replace(/\s+/g, ''))) bad(`must be one of ${d.oneOf.join(', ')}`);
  }
}

/** Validates every entry; returns the configs unchanged so callers can chain. */
export function validateTopicConfigs<T extends Record<string, string | null>>(configs: T): T {
  for (const [k, v] of Object.entries(configs)) validateTopicConfig(k, v);
  return configs;
}

/** The effective value of a config for a topic: its own setting, else Kafka's default. */
export function topicConfigValue(configs: Record<string, string>, key: string): string {
  const v = configs[key];
  if (v !== undefined) return v;
  const d = topicConfigDefs[key];
  if (!d) throw new WeirError('internal', `no default for topic config ${key}`);
  return d.defaultValue;
}

/** Numeric configs as numbers; LONG_MAX style "unbounded" values become Infinity. */
export function topicConfigNumber(configs: Record<string, string>, key: string): number {
  const v = topicConfigValue(configs, key);
  return v === LONG_MAX ? Infinity : Number(v);
}
