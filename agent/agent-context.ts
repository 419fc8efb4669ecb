/**
 * Everything a handler may use, in one object built by the Agent at start-up. Handlers never
 * reach for globals, so tests can build an agent with any stores.
 */
import type { MetadataStore } from '../core/metadata/metadata-store.js';
import type { ObjectStore } from '../core/storage/object-store.js';
import type { Cluster } from './cluster/cluster.js';
import type { AgentConfig } from './config.js';
import type { GroupCoordinator } from './groups/group-coordinator.js';
import type { Handler } from './handler.js';
import type { FetchWaiters } from './read-path/fetch-waiters.js';
import type { LogCache } from './read-path/log-cache.js';
import type { LogReader } from './read-path/log-reader.js';
import type { PartitionStates } from './read-path/partition-states.js';
import type { TopicResolver } from './topic-resolver.js';
import type { Flusher } from './write-path/flusher.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface AgentContext {
  config: AgentConfig;
  clusterId: string;
  /** What Metadata tells clients to connect to. */
  advertised: { host: string; port: number };
  objects: ObjectStore;
  metadata: MetadataStore;
  topics: TopicResolver;
  flusher: Flusher;
  reader: LogReader;
  cache: LogCache;
  waiters: FetchWaiters;
  /** Cached partition states for Fetch; invalidate after changing a partition's offsets. */
  partitionStates: PartitionStates;
  /** Consumer groups: membership in memory here, committed offsets in `metadata`. */
  groups: GroupCoordinator;
  /** The live agents: who Metadata names as leaders, who coordinates which group. */
  cluster: Cluster;
  handlers: ReadonlyMap<number, Handler>;
  log: (level: LogLevel, msg: string) => void;
}
