/**
 * Which agents make up the Weir cluster, who leads each partition and coordinates each group,
 * and how an agent tells the others about its commits. Handlers ask this instead of assuming
 * they are alone: LocalCluster is the single agent (no I/O), RedisCluster a set of agents that
 * find each other through Redis.
 *
 * Leadership is only advice to clients (Metadata): the log lives in the shared object and
 * metadata stores, so any agent serves Produce and Fetch for any partition. Group coordination
 * is real ownership: membership lives in the coordinator's memory, so exactly one agent may
 * answer a group's requests and the others answer NOT_COORDINATOR.
 */

/** A live agent as clients see it. */
export interface ClusterMember {
  nodeId: number;
  /** The advertised address, as put in Metadata. */
  host: string;
  port: number;
  startedAtMs: number;
}

export interface CommittedPartition {
  topic: string;
  partition: number;
  highWatermark: number;
}

/** What other agents tell this one; a cluster never echoes this agent's own messages back. */
export interface ClusterListener {
  /** Another agent committed a flush: wake the long polls of these partitions. */
  onCommitted(parts: readonly CommittedPartition[]): void;
  /** Another agent created, changed or deleted a topic (undefined: possibly every topic). */
  onTopicChanged(topic: string | undefined): void;
}

export interface Cluster {
  /** Registers this agent under its advertised address; rejects if it cannot join (e.g. a live duplicate node id). */
  start(self: { host: string; port: number }, listener: ClusterListener): Promise<void>;
  /** This agent. */
  readonly self: ClusterMember;
  /** Live agents, sorted by node id; always includes this one. */
  members(): readonly ClusterMember[];
  /** The agent named as the partition's leader in Metadata. */
  leaderOf(topic: string, partition: number): ClusterMember;
  /** The one agent that coordinates the group. */
  coordinatorOf(groupId: string): ClusterMember;
  /** Whether this agent coordinates the group (group APIs answer NOT_COORDINATOR otherwise). */
  isCoordinatorOf(groupId: string): boolean;
  /** The controller named in Metadata and DescribeCluster: the live agent with the lowest id. */
  controller(): ClusterMember;
  /** Tells the other agents about a commit; best effort (their long polls also time out). */
  publishCommitted(parts: readonly CommittedPartition[]): void;
  /** Tells the other agents to forget their cached view of a topic; best effort (their caches also expire). */
  publishTopicChanged(topic: string | undefined): void;
  /** Leaves the cluster (deregisters) and closes connections. */
  stop(): Promise<void>;
}
