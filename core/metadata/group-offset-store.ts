/**
 * Consumer groups' committed offsets: the only durable part of a group. Membership lives in
 * memory on the coordinating agent (agent/groups/); what a group has consumed lives here, so it
 * survives restarts and is visible to every agent. MetadataStore extends this interface; the
 * shared behaviour of all backends is pinned down by test/contracts/group-offset-contract.ts.
 *
 * Offsets belong to a topic, not a topic name: deleting a topic deletes every group's offsets for
 * it, so a topic re-created with the same name starts with none. A group exists here exactly as
 * long as it has at least one committed offset. Group ids are any string, the empty one included
 * (Kafka allows commits for the group "" for compatibility).
 */
export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface OffsetCommitEntry extends TopicPartitionRef {
  /** The next offset the group will consume. Any safe integer; Kafka does not check it either. */
  offset: number;
  /** The leader epoch of the record before `offset`, -1 when unknown. */
  leaderEpoch: number;
  /** The client's string, kept verbatim (null when it sent none). */
  metadata: string | null;
  /** When the commit was made, in ms since the epoch. */
  commitTimestampMs: number;
}

export type CommittedOffset = OffsetCommitEntry;

/** Per entry of commitOffsets, in the same order. */
export type OffsetCommitResult = 'ok' | 'unknown_topic_or_partition';

export interface GroupOffsetStore {
  /**
   * Stores the entries in one atomic write, replacing earlier commits of the same partitions; an
   * entry whose topic or partition does not exist is not stored and gets
   * 'unknown_topic_or_partition', the others still commit. The same partition twice: the last wins.
   * Durable when it resolves.
   */
  commitOffsets(group: string, entries: OffsetCommitEntry[]): Promise<OffsetCommitResult[]>;
  /**
   * The committed offsets of the given partitions that have one (partitions without a commit, or
   * that do not exist, are left out), or of every partition of the group when `partitions` is null.
   * Sorted by topic, then partition.
   */
  fetchOffsets(group: string, partitions: TopicPartitionRef[] | null): Promise<CommittedOffset[]>;
  /** Deletes the commits of the given partitions; returns how many there were. */
  deleteOffsets(group: string, partitions: TopicPartitionRef[]): Promise<number>;
  /** Deletes every commit of the group; returns whether it had any. */
  deleteGroup(group: string): Promise<boolean>;
  /** Every group with at least one committed offset, sorted. */
  listGroupsWithOffsets(): Promise<string[]>;
}
