/**
 * The metadata store is the single source of truth for topics and for the order of the log.
 * An agent writes a flush object first, then commits it here; the commit assigns offsets.
 * Backends: SQLite (embedded default) and Redis (cluster). Offsets and timestamps are plain
 * numbers: they stay far below 2^53 in practice and the arithmetic is on every hot path.
 * The shared behaviour of all backends is pinned down by test/contracts/metadata-store-contract.ts.
 * Errors: 'invalid_argument' for malformed input (bad topic name, partition count < 1, ...),
 * 'not_found' for a topic or partition that does not exist, 'already_exists' for a duplicate create.
 */
import type { GroupOffsetStore } from './group-offset-store.js';
import type { ProducerBatch, ProducerBatchError, ProducerStateStore } from './producer-state-store.js';

export interface TopicInfo {
  name: string;
  /** UUID, canonical 8-4-4-4-12 lowercase hex. A topic re-created with the same name gets a new id. */
  id: string;
  partitions: number;
  /** Only the configs set on this topic; defaults live in agent/topic-config-defaults.ts. */
  configs: Record<string, string>;
  createdAtMs: number;
  /** Set on a topic created by the mirror (connectors/mirror/); absent on ordinary topics. */
  mirror?: MirrorState;
}

/**
 * A mirror topic's state. While 'mirroring' the topic is read-only to producers and written only
 * at the source's offsets (CommitChunk.runs); 'promoted' (`weir mirror promote`) turns it into an
 * ordinary topic for producers and refuses further mirror writes. Kept in the metadata store
 * beside the topic, not in its configs, so AlterConfigs cannot remove it.
 */
export interface MirrorState {
  state: 'mirroring' | 'promoted';
  /** Names the source cluster (a label or its cluster id); a second source cannot take the topic over. */
  source: string;
}

/**
 * Part of a mirror chunk: consecutive batches of the source at their source offsets, with no
 * offset between them left out (a gap in the source starts a new run). Each run becomes one index
 * entry, because the read path derives every batch's offset from its entry's base offset.
 */
export interface OffsetRun {
  baseOffset: number;
  /** From baseOffset to the last batch's lastOffsetDelta, inclusive: the offsets the run spans. */
  offsetCount: number;
  byteLength: number;
  maxTimestamp: number;
}

export interface PartitionState {
  logStartOffset: number;
  /** The next offset to be assigned; the last committed record is highWatermark - 1. */
  highWatermark: number;
}

/** One committed range of one partition, stored contiguously in one object. */
export interface IndexEntry {
  baseOffset: number;
  /** Inclusive. */
  lastOffset: number;
  maxTimestamp: number;
  objectKey: string;
  byteStart: number;
  byteLength: number;
}

/** One partition's part of a flush, before offsets are assigned. */
export interface CommitChunk {
  topic: string;
  /** The topic id the agent validated against; a mismatch (topic deleted and re-created) fails the chunk. */
  topicId: string;
  partition: number;
  /** How many offsets the chunk consumes: the sum of (lastOffsetDelta + 1) over its batches. */
  offsetCount: number;
  maxTimestamp: number;
  byteStart: number;
  byteLength: number;
  /**
   * Set when an idempotent producer's batch is in the chunk (absent otherwise, so plain produces
   * cost the store nothing extra): the chunk's consecutive pieces, one per append, in byte order,
   * adding up to offsetCount and byteLength. A part with a producer is exactly one batch and is
   * checked against the producer's committed sequences (producer-sequence.ts), in order, inside
   * the commit. Parts refused or found to be duplicates are left out of the index: their bytes stay
   * in the object, unreferenced, and the appended parts around them get offsets as if they were not
   * there.
   */
  parts?: ChunkPart[];
  /**
   * Commit at given offsets (the mirror's write path) instead of at the high watermark: the
   * chunk's bytes are these runs, in byte order, with increasing, non-overlapping offsets;
   * offsetCount and byteLength are the sums of the runs' counts and lengths. Per run: a base offset at or above the high watermark is appended there (the offsets
   * skipped stay a gap); a run whose offsets are all committed already (every one of its first
   * and last offsets held by an index entry, or below the log start) is a duplicate (a re-sent
   * write after a lost answer) and is acknowledged without storing anything; any other overlap
   * with the committed log fails the whole chunk with 'offset_conflict'. Only on a topic whose
   * mirror state is 'mirroring' ('not_mirroring' otherwise). Exclusive with parts.
   */
  runs?: OffsetRun[];
}

/** One append inside a CommitChunk. */
export interface ChunkPart {
  offsetCount: number;
  byteLength: number;
  maxTimestamp: number;
  /** Null for a batch of a non-idempotent producer (producerId -1): appended unchecked. */
  producer: ProducerBatch | null;
}

/** What became of one ChunkPart. */
export type PartResult =
  | { kind: 'appended'; baseOffset: number }
  /** A retry of a batch committed before: nothing is stored again; these are the original offsets. */
  | { kind: 'duplicate'; baseOffset: number; maxTimestamp: number }
  | { kind: 'rejected'; error: ProducerBatchError; message: string };

export type CommitResult =
  /**
   * parts is present exactly when the chunk had parts, index-aligned with them; runs and
   * highWatermark exactly when it had runs (baseOffset is then the first run's).
   */
  | {
      ok: true;
      topic: string;
      partition: number;
      baseOffset: number;
      logStartOffset: number;
      parts?: PartResult[];
      runs?: ('appended' | 'duplicate')[];
      highWatermark?: number;
    }
  | { ok: false; topic: string; partition: number; error: CommitChunkError; message?: string };

/**
 * Why a chunk failed alone: its topic or partition is gone; or (mirror chunks) a run overlaps the
 * committed log without being a re-send of it, or the topic is not a mirror topic being mirrored.
 */
export type CommitChunkError = 'unknown_topic_or_partition' | 'offset_conflict' | 'not_mirroring';

export interface MetadataStore extends GroupOffsetStore, ProducerStateStore {
  readonly kind: string;

  /** The cluster's id (Kafka style: 22 characters of URL-safe base64), created with the store and never changed. */
  clusterId(): Promise<string>;

  /** With `mirror`, the topic is created as a mirror topic in the same step (never visible without its mark). */
  createTopic(name: string, partitions: number, configs: Record<string, string>, mirror?: MirrorState): Promise<TopicInfo>;
  /** Sets or clears (null) a topic's mirror state; 'not_found' for an unknown topic. */
  setTopicMirror(name: string, mirror: MirrorState | null): Promise<TopicInfo>;
  /** Removes the topic and its index; its objects are left for garbage collection. */
  deleteTopic(name: string): Promise<void>;
  getTopic(name: string): Promise<TopicInfo | null>;
  listTopics(): Promise<TopicInfo[]>;
  /** Grows the topic to totalPartitions; 'invalid_argument' unless it is more than the current count (as Kafka). */
  createPartitions(name: string, totalPartitions: number): Promise<TopicInfo>;
  /**
   * 'replace' sets the topic's configs to exactly `configs` (AlterConfigs semantics);
   * 'incremental' applies each entry, a null value deleting the key.
   */
  setTopicConfigs(name: string, configs: Record<string, string | null>, mode: 'replace' | 'incremental'): Promise<TopicInfo>;

  /** Records that an object is about to be written, so an object never committed can be found and deleted. */
  registerPendingObject(objectKey: string): Promise<void>;
  /**
   * Commits a flush atomically across all its partitions: every chunk gets a base offset, or a
   * chunk whose topic/partition is gone gets an error and the others still commit.
   * Chunks of the same partition get consecutive offsets in the order given.
   * Idempotent producers' batches (CommitChunk.parts) are checked against the producer state in
   * the same transaction, in order, and that state is updated with the appended ones; each part's
   * outcome is in CommitResult.parts. Mirror chunks (CommitChunk.runs) are committed at their own
   * offsets, gaps kept.
   * Also marks the object as committed. The object must be pending (registered and not yet
   * committed): 'not_found' if it is not registered (or GC already gave up on it), and
   * 'already_exists' if it was committed before; in both cases nothing is committed.
   */
  commitFlush(objectKey: string, objectSizeBytes: number, chunks: CommitChunk[]): Promise<CommitResult[]>;
  getPartitionState(topic: string, partition: number): Promise<PartitionState | null>;
  /**
   * Index entries with lastOffset >= fromOffset (so the first one may start before fromOffset), in
   * offset order, at most maxEntries. Entries wholly below the log start offset are never returned.
   * This and the lookups below throw 'not_found' for an unknown topic or partition.
   */
  readIndex(topic: string, partition: number, fromOffset: number, maxEntries: number): Promise<IndexEntry[]>;
  /** The first entry (lowest offset, not before log start) whose maxTimestamp >= timestampMs. */
  findByTimestamp(topic: string, partition: number, timestampMs: number): Promise<IndexEntry | null>;
  /** The entry holding the largest timestamp (the earliest such entry on ties). */
  findMaxTimestamp(topic: string, partition: number): Promise<IndexEntry | null>;
  /**
   * Moves the log start offset forward (never back); returns the new log start offset.
   * 'offset_out_of_range' if beforeOffset is beyond the high watermark.
   */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number>;

  close(): Promise<void>;
}
