/**
 * Every Redis key of the Redis metadata store, in one place. A Weir cluster's keys all start with
 * `{<namespace>}:`: the braces make the namespace a Redis Cluster hash tag, so every key of one
 * Weir cluster hashes to the same slot and one Lua script may touch any of them (a flush commits
 * to many partitions at once). The price is that one Weir cluster's metadata lives on one Redis
 * shard; several Weir clusters (namespaces) spread over the shards. The namespace is also what
 * keeps clusters (and tests) sharing a Redis apart.
 *
 * The scripts (core/metadata/lua/*.lua) find keys at run time (a topic's partitions, a group's
 * offsets), so they need the same layout: luaKeyPrelude() generates the Lua twins of the builders
 * below from the one LAYOUT table, so the layout is written down only here.
 */
import { WeirError } from '../errors.js';

/** Each key: its tag, then its variable parts joined by ':'. Values say what the key holds. */
const LAYOUT = {
  /** string: the cluster id, set once (SET NX). */
  clusterId: ['cluster-id'],
  /** set: names of all topics. */
  topics: ['topics'],
  /** hash: id, partitions, configs (JSON), created (ms). */
  topic: ['topic', 'name'],
  /** hash: topic id -> name, for group offsets (stored by topic id) to find their topic's name. */
  topicIds: ['topic-ids'],
  /** hash: lso, hwm, maxts (the largest timestamp ever committed). Missing = empty partition. */
  partition: ['part', 'topicId', 'partition'],
  /** sorted set: the partition's index entries, scored by base offset (see redis-encoding.ts). */
  index: ['idx', 'topicId', 'partition'],
  /** hash: producer id -> the producer's state on the partition (see redis-encoding.ts). */
  producerStates: ['pstate', 'topicId', 'partition'],
  /** string counter: the last producer id handed out (INCR). */
  producerIdCounter: ['producer-id'],
  /** hash: producer id -> "epoch:lastEpoch" (lastEpoch -1 before the first bump). */
  producers: ['producers'],
  /** hash: object key -> registration time (ms), for objects written but not (yet) committed. */
  pendingObjects: ['objects-pending'],
  /** hash: object key -> "size|committedAtMs|indexRows". */
  committedObjects: ['objects-committed'],
  /** set: groups with at least one committed offset. */
  groups: ['groups'],
  /** hash: "<topicId>:<partition>" -> encoded commit (see redis-encoding.ts). */
  groupOffsets: ['group', 'group'],
  /** set: groups that committed offsets of a topic, so deleting the topic finds them. */
  topicGroups: ['topic-groups', 'topicId'],
} as const;

type Layout = typeof LAYOUT;
type KeyArgs<K extends keyof Layout> = Layout[K] extends readonly [string, ...infer Rest] ? { [I in keyof Rest]: string | number } : never;

export class RedisKeys {
  /** `{namespace}:`; every key starts with it. */
  readonly prefix: string;

  constructor(readonly namespace: string) {
    const error = namespaceError(namespace);
    if (error !== null) throw new WeirError('invalid_argument', error);
    this.prefix = `{${namespace}}:`;
  }

  key<K extends keyof Layout>(kind: K, ...args: KeyArgs<K>): string {
    const [tag] = LAYOUT[kind];
    return [this.prefix + tag, ...(args as (string | number)[]).map(String)].join(':');
  }

  /** A SCAN pattern matching every key of the namespace (for tests and tools; never on a hot path). */
  pattern(): string {
    return `${this.prefix.replace(/[*?[\]\\{}]/g, (c) => `\\${c}`)}*`;
  }
}

/** Why a namespace cannot be used, or null. Braces would break the hash tag. */
export function namespaceError(namespace: unknown): string | null {
  if (typeof namespace !== 'string' || namespace.length === 0) return 'redis namespace must be a non-empty string';
  if (/[{}]/.test(namespace)) return `redis namespace ${JSON.stringify(namespace)} must not contain braces (it is the hash tag)`;
  return null;
}

/**
 * Lua defining `K.<kind>(...)` for every key of LAYOUT, from the prefix in ARGV[1] (every script
 * gets it there). Numbers must reach these as strings already formatted as integers (see int()
 * in lua/prelude.lua), or Lua would format large ones in exponent notation.
 */
export function luaKeyPrelude(): string {
  const lines = ['local P = ARGV[1]', 'local K = {}'];
  for (const [kind, [tag, ...params]] of Object.entries(LAYOUT) as [string, readonly string[]][]) {
    const body = [`P .. ${JSON.stringify(tag)}`, ...params.map((p) => `':' .. ${p}`)].join(' .. ');
    lines.push(`function K.${kind}(${params.join(', ')}) return ${body} end`);
  }
  return lines.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------------
// Cluster membership and wake-ups (agent/cluster/redis-cluster.ts). Kept apart from LAYOUT: these
// are not metadata and no metadata script touches them, so they stay out of luaKeyPrelude(). They
// share the namespace's hash tag, so the registry's scripts may touch several of them at once.

export interface ClusterKeys {
  /** set: node ids that registered; an id whose `agent` key has expired is a dead agent. */
  agents: string;
  /** string with a TTL (PX): a live agent's registration (JSON), refreshed by its heartbeat. */
  agent: (nodeId: number) => string;
  /** What every `agent` key starts with (the node id follows), for the registry's listing script. */
  agentPrefix: string;
  /** pub/sub channel (not a key): commits, topic changes, joins and leaves, as JSON messages. */
  events: string;
}

export function clusterKeys(keys: RedisKeys): ClusterKeys {
  return {
    agents: `${keys.prefix}agents`,
    agent: (nodeId) => `${keys.prefix}agent:${nodeId}`,
    agentPrefix: `${keys.prefix}agent:`,
    events: `${keys.prefix}events`,
  };
}

// ------------------------------------------------------------------------------------------------
// Coordination (core/coordination/redis-coordination.ts): worker registries and leases with
// fencing tokens, used by pipelines' workers and the mirror's. Not metadata: no metadata script
// touches these. Under `{namespace}:coord:<group>:`, so all keys of a namespace share its hash
// slot and one coordination script may touch a group's keys together.

export interface CoordinationKeys {
  /** sorted set: worker id scored by its registration's expiry (ms, Redis server time). */
  workers: string;
  /** hash: worker id -> meta (free-form, small). */
  workerMeta: string;
  /** hash: item -> "<token>|<expiry ms>|<worker id>", the item's current lease. */
  leases: string;
  /** hash: item -> the last fencing token handed out; only ever incremented, never deleted. */
  fences: string;
}

export function coordinationKeys(keys: RedisKeys, group: string): CoordinationKeys {
  const base = `${keys.prefix}coord:${group}:`;
  return { workers: `${base}workers`, workerMeta: `${base}worker-meta`, leases: `${base}leases`, fences: `${base}fences` };
}

// ------------------------------------------------------------------------------------------------
// Table manifests (core/metadata/table-manifest-redis.ts) and the table connector's BullMQ queue
// (connectors/tables). Kept apart from LAYOUT: no metadata script touches them. They share the
// namespace's hash tag, so one table script may touch all of a table's keys (and Redis Cluster
// routes them to one slot).

export interface TableManifestKeys {
  /** set: topics that have a table. */
  tables: string;
  /** hash: topicId, createdAtMs, seq (the last file sequence number handed out). */
  table: (topic: string) => string;
  /** hash: partition -> next offset to compact. */
  progress: (topic: string) => string;
  /** hash: file key -> "seq|committedAtMs|<entry JSON>" (live files). */
  files: (topic: string) => string;
  /** hash: file key -> retiredAtMs (files a merge replaced, not purged yet). */
  retired: (topic: string) => string;
  /**
   * BullMQ's key prefix for the table connector's queues (BullMQ builds its own keys under it:
   * `<prefix>:<queue>:...`). In braces-free form BullMQ would spread a queue over slots; the hash
   * tag keeps each queue in the namespace's slot, as BullMQ asks for Redis Cluster.
   */
  queuePrefix: string;
}

export function tableManifestKeys(keys: RedisKeys): TableManifestKeys {
  return {
    tables: `${keys.prefix}tables`,
    table: (topic) => `${keys.prefix}table:${topic}`,
    progress: (topic) => `${keys.prefix}table-progress:${topic}`,
    files: (topic) => `${keys.prefix}table-files:${topic}`,
    retired: (topic) => `${keys.prefix}table-retired:${topic}`,
    queuePrefix: `${keys.prefix}bull`,
  };
}
