/**
 * The contracts between the three parts of Weir's pipelines:
 *   - the definition API and operators (what users write: pipelines/define/, pipelines/operators/),
 *   - the task runner that pushes records through one task's operator chain (pipelines/task/),
 *   - the runtimes that feed tasks: the in-memory test driver (pipelines/testing/) and the Kafka
 *     runtime with sources, sinks, checkpoints and workers (pipelines/runtime/).
 *
 * Execution model (Kafka Streams' task model, with Flink's watermarks and barriers):
 *   - A pipeline is a list of stages. `.keyBy()` ends a stage: its output is written, keyed by the
 *     new key, to an internal repartition topic that the next stage reads. Everything else
 *     (RxJS operators, windows, joins) runs inside a stage.
 *   - A task is one stage x one partition number of its (co-partitioned) input topics. Each task has
 *     its own TaskContext: watermark, keyed state, timers, side outputs. State belongs to a task, so
 *     moving a partition to another worker moves the task with its state snapshot.
 *   - Records are pushed synchronously: `task.push(recs)` calls `next()` for each record, and with
 *     synchronous operators every derived record has reached the sinks' `write()` before `push`
 *     returns. Watermarks advance after each pushed batch, then window operators fire. Async work
 *     inside an operator must be registered with `ctx.track()` so barriers wait for it.
 *   - A checkpoint is a barrier: stop pushing, `await task.barrier()` (tracked async work), flush
 *     every sink (all writes acknowledged), snapshot state, then write one manifest
 *     {source offsets, state snapshot object keys} atomically. Offsets are committed only after the
 *     sinks acknowledged, so output is at-least-once and state is exactly-once with the offsets.
 */
import type { Observable, OperatorFunction } from 'rxjs';

/** Header values as the client sent them; null is a header with no value. */
export type RecHeaders = Readonly<Record<string, Buffer | null>>;

/** One record flowing through a pipeline. Operators that derive a record copy the provenance fields. */
export interface Rec<K = unknown, V = unknown> {
  key: K;
  value: V;
  /** Event time, ms since the epoch. Sources set it from `eventTime` (default: the Kafka timestamp). */
  timestamp: number;
  headers: RecHeaders;
  /** Provenance: where the input record that caused this one was read. */
  topic: string;
  partition: number;
  offset: number;
}

/** The value of a window operator's output record; its key is the grouping key, its timestamp `end - 1`. */
export interface WindowResult<A> {
  /** Inclusive start, exclusive end, ms. */
  start: number;
  end: number;
  value: A;
}

/** A typed serializer/deserializer. `null` bytes (a Kafka null key/value) are passed to `deserialize`. */
export interface Serde<T> {
  readonly name: string;
  serialize(value: T): Buffer | null;
  deserialize(bytes: Buffer | null): T;
  /**
   * Optional fast path for runtimes reading records in place: deserialize buf[start, start +
   * length) (length -1: a Kafka null) without a Buffer view. Must equal deserialize() of those bytes.
   */
  deserializeAt?(buf: Buffer, start: number, length: number): T;
  /**
   * Optional fast path for runtimes writing records in place: the serialized form as a string the
   * runtime encodes as UTF-8 (null: a Kafka null). Must equal serialize() as bytes.
   */
  serializeText?(value: T): string | null;
  /**
   * True when what deserialize/deserializeAt return keeps no reference to the bytes given (a
   * string, a parsed object: not a Buffer view). A runtime may then reuse those bytes' buffer as
   * soon as the records are deserialized (pooled fetch frames); otherwise it leaves it to the
   * garbage collector.
   */
  readonly copies?: boolean;
}

/** Bounded keyed state. Keys are any JSON-able values; they are compared by their canonical JSON form. */
export interface KeyedStateStore<S> {
  get(key: unknown): S | undefined;
  /**
   * Throws WeirError('too_large') (not retriable) when a new key would take the store over its
   * entry bound; the task then fails rather than silently dropping state.
   */
  set(key: unknown, value: S): void;
  delete(key: unknown): void;
  entries(): IterableIterator<[unknown, S]>;
  readonly size: number;
}

export interface StateOptions {
  /** Bound on entries; default 1_000_000. */
  entriesMax?: number;
}

/** Key and value serdes of one topic. */
export interface TopicSerdes<K = unknown, V = unknown> {
  readonly key: Serde<K>;
  readonly value: Serde<V>;
}

/** What operators see of the task they run in. Obtained with `currentContext()` at subscribe time. */
export interface TaskContext {
  readonly pipeline: string;
  /** e.g. "word-count/1/p3": pipeline, stage index, partition. */
  readonly taskId: string;
  readonly partition: number;
  /** The current event-time watermark, ms; -Infinity before the first record. */
  watermark(): number;
  /** Called, synchronously, each time the watermark advances (after the batch that advanced it). */
  onWatermark(listener: (watermarkMs: number) => void): () => void;
  /** Processing time, ms; a manual clock under the test driver. */
  now(): number;
  /** Named, bounded keyed state that is part of the task's checkpoints. Same name => same store. */
  state<S>(name: string, options?: StateOptions): KeyedStateStore<S>;
  /** A named side output (e.g. late records); routed to the sink the pipeline bound to that name, if any. */
  sideOutput(name: string): (rec: Rec) => void;
  /** Registers async work; the next barrier (checkpoint) waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** A table declared on the stage (stream-table joins); throws for an undeclared name. */
  table<V>(name: string): TableView<V>;
}

/**
 * A read-only view of a table topic, by key (GlobalKTable semantics: every partition, latest value
 * per key, a null value deletes). The runtime keeps it up to date; the test driver fills it from
 * piped records. Shared by all tasks of a worker.
 */
export interface TableView<V = unknown> {
  get(key: unknown): V | undefined;
  readonly size: number;
}

/** A table a stage reads, declared by the stream-table join operator's definition. */
export interface TableSpec<K = unknown, V = unknown> {
  readonly name: string;
  readonly topic: string;
  readonly key: Serde<K>;
  readonly value: Serde<V>;
}

/**
 * A task's watermark, carried through a repartition topic to the next stage (Flink's watermark
 * propagation across a shuffle). Each partition of the next stage's input then knows the
 * watermark of every upstream task, and takes the minimum over the ones not idle: a partition
 * that few keys hash to still sees event time advance, and an upstream task whose inputs are all
 * idle does not hold the next stage back.
 */
export interface WatermarkMark {
  /** The writing task, e.g. "word-count/0/p1". */
  readonly fromTaskId: string;
  /** How many tasks write the repartition topic (the upstream stage's partition count). */
  readonly writers: number;
  readonly watermarkMs: number;
  /** True when every input of the writing task is idle. */
  readonly idle: boolean;
}

/**
 * Header that marks a watermark record in a repartition topic (null key and value; the header
 * value is the mark, encoded by pipelines/task/watermark-marks.ts). Tasks consume such records
 * themselves; operators never see them. Runtimes must pass record headers through to the task.
 */
export const WATERMARK_HEADER = 'weir.watermark';

/** Where a stage's output goes. The Kafka runtime's topic sink and custom sinks implement it. */
export interface SinkWriter {
  readonly name: string;
  /** Buffers or sends; must not block. Called synchronously from the operator chain. */
  write(rec: Rec): void;
  /**
   * Repartition topic sinks implement this: write `watermarkMarkRecord(mark, topic, p, nowMs)`
   * (pipelines/task/watermark-marks.ts) to every partition p of the topic, in order with the
   * records (the record carries its partition; do not re-partition it by key). Called after the task's watermark advances or its idleness changes; only when
   * TaskOptions.stageTasks is set. Without it the next stage derives its watermark from the
   * repartitioned records' timestamps (Kafka Streams' stream time), which stalls partitions
   * that receive few keys.
   */
  writeWatermark?(mark: WatermarkMark): void;
  /** Resolves when everything written so far is acknowledged (durable downstream). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A user-declared source, as the definition API records it. The runtimes interpret it. */
export interface SourceSpec<K = unknown, V = unknown> {
  readonly kind: 'topic';
  readonly topics: readonly string[];
  /** Consumer group; default: the pipeline name. */
  readonly group?: string;
  readonly key: Serde<K>;
  readonly value: Serde<V>;
  /** Event time of a record; default: the Kafka record timestamp. */
  readonly eventTime?: (rec: Rec<K, V>) => number;
  /** Where to start without a checkpoint or committed offset. Default 'earliest'. */
  readonly startFrom?: 'earliest' | 'latest' | { timestampMs: number };
  /** Watermark = max event time seen - outOfOrdernessMs. Default 0. */
  readonly outOfOrdernessMs?: number;
  /** A partition with no record for this long stops holding the watermark back. Default 10 s. */
  readonly idleTimeoutMs?: number;
  /**
   * Per-topic serdes for a source over several topics whose records differ (a stream-stream join:
   * `fromTopics({ clicks: {...}, views: {...} })`). A topic listed here is decoded with its own
   * serdes; others with `key`/`value`. `serdesFor(source, topic)` (pipelines/define/source.ts)
   * does this lookup for runtimes.
   */
  readonly topicSerdes?: Readonly<Record<string, TopicSerdes>>;
}

/**
 * A user-declared sink: either a topic or a custom factory. A topic sink writes `rec.timestamp` as
 * the Kafka record timestamp (CreateTime) and partitions by the serialized key with Kafka's default
 * partitioner (murmur2), so a repartition topic is co-partitioned with any topic keyed the same way.
 * `partitions` is set on internal repartition topics (from keyBy's `partitions` option): the count
 * to create the topic with; unset means "as many as the stage's source topic has".
 */
export type SinkSpec =
  | {
      readonly kind: 'topic';
      readonly topic: string;
      readonly key: Serde<unknown>;
      readonly value: Serde<unknown>;
      readonly name: string;
      readonly partitions?: number;
      /** True for `<pipeline>-repartition-<n>` topics the pipeline creates and owns. */
      readonly internal?: boolean;
    }
  | { readonly kind: 'custom'; readonly name: string; readonly create: (ctx: { taskId: string }) => SinkWriter };

/** One stage of a compiled pipeline. */
export interface StageSpec {
  readonly index: number;
  readonly source: SourceSpec;
  /** The stage's operator chain, applied to a task's input stream. */
  readonly transform: OperatorFunction<Rec, Rec>;
  /** Main-output sinks (for a non-final stage: exactly the repartition topic sink). */
  readonly sinks: readonly SinkSpec[];
  /** Side outputs bound to sinks by name (e.g. { late: toTopic('late-clicks') }). */
  readonly sideSinks: Readonly<Record<string, SinkSpec>>;
  /** Tables the stage's joins read. */
  readonly tables: readonly TableSpec[];
}

export interface PipelineSpec {
  readonly name: string;
  readonly stages: readonly StageSpec[];
}

/** Checkpointed state of one task: one opaque buffer per named store. */
export type TaskSnapshot = Map<string, Buffer>;

/** One task's operator chain, built once and fed by a runtime. Implemented in pipelines/task/. */
export interface Task {
  readonly taskId: string;
  /** Pushes decoded records synchronously through the chain, then advances the watermark. */
  push(recs: readonly Rec[]): void;
  /** Lets processing-time work happen (idle-partition watermarks, session gaps under a manual clock). */
  tick(nowMs: number): void;
  /** Resolves when all tracked async work started so far has finished. */
  barrier(): Promise<void>;
  snapshot(): TaskSnapshot;
  /** Only before the first push. */
  restore(snapshot: TaskSnapshot): void;
  /**
   * End of a bounded input (test driver, benchmarks): advances the watermark to +Infinity so every
   * open window fires, then completes the input. Never called by a long-running runtime.
   */
  finish(): void;
  /**
   * Unsubscribes the chain without completing it, so operators emit nothing more: open windows
   * stay in the last snapshot and the task that takes the partition over continues them.
   */
  close(): void;
  /** The current watermark (for metrics: watermark delay = now - watermark). */
  watermark(): number;
  /** Errors raised inside the chain surface here (and fail the runtime). */
  readonly errors: Observable<Error>;
}

/** Everything a runtime gives to build one task. */
export interface TaskOptions {
  readonly pipeline: string;
  readonly stage: StageSpec;
  readonly partition: number;
  /** The input partitions this task reads (one per source topic, same partition number). */
  readonly inputs: readonly { topic: string; partition: number }[];
  readonly sinks: readonly SinkWriter[];
  readonly sideSinks: ReadonlyMap<string, SinkWriter>;
  readonly tables: ReadonlyMap<string, TableView>;
  /** Processing-time clock. */
  readonly clock: () => number;
  /**
   * The number of tasks of this stage (its partition count). With it, the task broadcasts its
   * watermark through main sinks that implement writeWatermark (repartition topics).
   */
  readonly stageTasks?: number;
  /** Receives side-output records whose name has no bound sink (the test driver keeps them); default: dropped. */
  readonly onUnboundSideOutput?: (name: string, rec: Rec) => void;
}

export type CreateTask = (options: TaskOptions) => Task;
