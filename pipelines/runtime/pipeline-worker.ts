/**
 * PipelineWorker: runs one pipeline's tasks on one worker, against any Kafka-compatible broker.
 * Several workers (threads of one process, processes, machines) split the tasks through a
 * Coordination backend (core/coordination: in-process or Redis): each task (stage x partition)
 * is a lease item, so a worker runs exactly the tasks whose leases it holds.
 *
 * One loop per worker does everything that touches tasks, so pushes, checkpoints and task
 * handovers never interleave:
 *   - Sources pull: one Fetch round at a time is in flight, asking only for input partitions
 *     whose buffers have room (bytes and records bounds per partition, plus a worker-wide bytes
 *     bound). Records wait in those buffers, undecoded, until the loop pushes them; so memory is
 *     bounded whatever RxJS does downstream.
 *   - Push: records are deserialized (the source's serdes, its eventTime) and pushed to their
 *     task in batches; between batches the loop waits for the producer's buffer to drain below
 *     its bound (sink backpressure).
 *   - Checkpoint, every checkpointIntervalMs and on revoke: barrier (tracked async work), flush
 *     every sink (acks), then per task: check the lease is still ours, snapshot, write state +
 *     manifest (checkpoint-store.ts), and only then commit the offsets to the consumer group
 *     (for lag tools; the manifest is the source of truth). Output is at-least-once: records
 *     written after the last checkpoint are written again after a crash. State is exactly-once
 *     with the offsets: it is restored from the same manifest the offsets come from.
 *   - Membership changes (WorkerMembership callbacks) are queued to the loop: assigned tasks
 *     restore their last manifest and seek their inputs to its offsets (else to the group's
 *     committed offsets, else to the source's startFrom); revoked tasks checkpoint, then close,
 *     then their leases are released (state handover); lost tasks close without a checkpoint.
 *
 * Repartition topics and missing output topics are created at start.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FramePool } from '../../core/client/frame-pool.js';
import { Fetcher, type FetchedColumns } from '../../core/client/fetcher.js';
import type { RecordColumns } from '../../core/client/record-columns.js';
import { KafkaClient } from '../../core/client/kafka-client.js';
import { Producer, type ProducerOptions } from '../../core/client/producer.js';
import type { Coordination, Lease } from '../../core/coordination/coordination.js';
import { WorkerMembership } from '../../core/coordination/membership.js';
import { WeirError } from '../../core/errors.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { WATERMARK_HEADER, type CreateTask, type PipelineSpec, type Rec, type RecHeaders, type SinkSpec, type SinkWriter, type SourceSpec, type StageSpec, type TableView, type Task } from '../core/contracts.js';
import { allSerdesOf, serdesFor } from '../define/source.js';
import { createTask as defaultCreateTask } from '../task/task.js';
import { CheckpointStore, type InputOffset } from './checkpoint-store.js';
import type { MetricsSource, TaskMetrics } from './metrics.js';
import { CountingSink, SEQUENCE_HEADER, TopicSink, UPSTREAM_HEADER } from './topic-sink.js';
import { TopicTable } from './topic-table.js';

export interface PipelineWorkerOptions {
  pipeline: PipelineSpec;
  brokers: readonly string[];
  objectStore: ObjectStore;
  coordination: Coordination;
  /** Unique among the pipeline's live workers; default host-pid-random. */
  workerId?: string;
  /** Default 10 s. */
  checkpointIntervalMs?: number;
  /** Per input partition buffer bounds (defaults 4 MiB, 50 000 records). */
  partitionBufferBytesMax?: number;
  partitionBufferRecordsMax?: number;
  /** Across all of the worker's input buffers (default 64 MiB). */
  bufferBytesMax?: number;
  /** Records pushed to a task per push() call (default 2000). */
  pushBatchRecordsMax?: number;
  /** How long a stage waits for an empty input that has data at the broker (default 200). */
  alignMaxWaitMs?: number;
  /** Long-poll wait of a fetch round (default 200). */
  fetchMaxWaitMs?: number;
  /** How often tasks get tick() for processing-time work (default 200). */
  tickIntervalMs?: number;
  /**
   * At most one watermark mark per repartition sink per this interval (default 200, Flink's
   * autoWatermarkInterval); the newest watermark in between is written at the next chance.
   */
  watermarkIntervalMs?: number;
  heartbeatIntervalMs?: number;
  leaseTtlMs?: number;
  producer?: ProducerOptions;
  clientId?: string;
  clock?: () => number;
  createTask?: CreateTask;
  log?: (line: string) => void;
}

/**
 * How long a worker's producer lingers before sending output records: Kafka Streams' default
 * (its producer override linger.ms = 100), for the same reason. A pipeline writes continuously,
 * so fewer, larger Produce requests save CPU on both sides (measured in bench/pipeline-topic:
 * the agent's CPU fell from 1.1-1.3 s to 0.4 s per million records with 5 -> 100 ms, and the
 * pipeline on two threads gained a quarter). Latency-sensitive pipelines lower it
 * (`weir run --linger-ms`); a checkpoint's flush never waits for it.
 */
export const PIPELINE_LINGER_MS_DEFAULT = 100;

interface InputState {
  topic: string;
  partition: number;
  /** Next offset to fetch. */
  fetchOffset: number;
  /** Next offset to process (everything before is in the task's state / sinks). */
  nextOffset: number;
  /** Fetched records, undecoded, oldest chunk first; `at` indexes into chunks[0]. */
  chunks: RecordColumns[];
  /** Each chunk's release (FetchedColumns.release), called when the chunk has been pushed. */
  releases: (() => void)[];
  at: number;
  /** Records buffered (over all chunks, from `at`). */
  count: number;
  bufferBytes: number;
  highWatermark: number;
  /** Bumped on every seek so a fetch answer for an old position is discarded. */
  epoch: number;
  /** A repartition topic of this pipeline: records carry upstream task and sequence headers. */
  internal: boolean;
}

interface ActiveTask {
  lease: Lease;
  taskId: string;
  stage: StageSpec;
  partition: number;
  group: string;
  task: Task;
  inputs: InputState[];
  sinks: CountingSink[];
  sideSinks: Map<string, SinkWriter>;
  /** Repartition sinks, whose output sequence numbers are checkpointed. */
  internalSinks: Map<string, TopicSink>;
  /** Highest sequence applied per upstream task (repartition inputs); checkpointed. */
  upstreamSeen: Map<string, number>;
  duplicatesSkipped: number;
  /** Watermark marks read from repartition inputs (not counted as records in). */
  marksIn: number;
  sequence: number;
  recordsIn: number;
  lastCheckpointDurationMs: number | null;
  lastCheckpointBytes: number | null;
  checkpoints: number;
}

type Op = { kind: 'assigned' | 'revoked' | 'lost'; leases: readonly Lease[]; done: (e?: Error) => void };

const RECORD_OVERHEAD_BYTES = 64;
const ALIGNED_PUSH_MIN_RECORDS = 16;
const PUSH_SLICE_RECORDS = 256;

export function taskIdOf(pipeline: string, stage: number, partition: number): string {
  return `${pipeline}/${stage}/p${partition}`;
}

function parseTaskId(id: string): { stage: number; partition: number } {
  const m = /\/(\d+)\/p(\d+)$/.exec(id);
  if (m === null) throw new WeirError('internal', `not a task id: ${id}`);
  return { stage: Number(m[1]), partition: Number(m[2]) };
}

export class PipelineWorker implements MetricsSource {
  readonly workerId: string;
  readonly client: KafkaClient;
  readonly producer: Producer;
  private readonly fetcher: Fetcher;
  private readonly checkpoints: CheckpointStore;
  private readonly o: PipelineWorkerOptions & Required<Pick<PipelineWorkerOptions, 'checkpointIntervalMs' | 'partitionBufferBytesMax' | 'partitionBufferRecordsMax' | 'bufferBytesMax' | 'pushBatchRecordsMax' | 'fetchMaxWaitMs' | 'tickIntervalMs'>>;
  private readonly clock: () => number;
  private readonly createTask: CreateTask;
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly tables = new Map<string, TopicTable>();
  private readonly ops: Op[] = [];
  private stageCounts: number[] = [];
  private membership: WorkerMembership | null = null;
  private fetchInFlight: Promise<void> | null = null;
  private wakeLoop: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private failure: Error | null = null;
  private lastCheckpointMs = 0;
  /** Where the loop is waiting (diagnostics of a stalled worker), and since when. */
  private loopAt = 'not started';
  private loopAtSinceMs = 0;
  private fetchStartedMs = 0;
  private lastTickMs = 0;
  private bufferedBytes = 0;
  private readonly failedListeners = new Set<(e: Error) => void>();
  private readonly stageHoldSince = new Map<number, number>();
  private readonly alignMaxWaitMs: number;
  /** Fetch frames come from a FramePool and go back when their records are pushed. */
  private readonly pooledFrames: boolean;
  /** Counts of tasks that moved away, so per-worker totals never go backwards. */
  private retiredIn = 0;
  private retiredOut = 0;

  constructor(options: PipelineWorkerOptions) {
    this.o = {
      checkpointIntervalMs: 10_000,
      partitionBufferBytesMax: 4 * 1024 * 1024,
      partitionBufferRecordsMax: 50_000,
      bufferBytesMax: 64 * 1024 * 1024,
      pushBatchRecordsMax: 2000,
      fetchMaxWaitMs: 200,
      tickIntervalMs: 200,
      ...options,
    };
    this.workerId = options.workerId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.clock = options.clock ?? Date.now;
    this.alignMaxWaitMs = options.alignMaxWaitMs ?? 200;
    this.createTask = options.createTask ?? defaultCreateTask;
    // Fetch frames are reused once their records are pushed when every source serde copies what
    // it reads (json, string): then no record refers to a frame's bytes (header values are copied
    // out, see decode), and a thread does not pay for fresh multi-megabyte buffers per fetch.
    this.pooledFrames = options.pipeline.stages.every((s) => allSerdesOf(s.source).every((sd) => sd.copies === true));
    this.client = new KafkaClient({
      brokers: options.brokers,
      clientId: options.clientId ?? `weir-pipeline-${options.pipeline.name}`,
      // Free frames kept for reuse: at most a quarter of the fetch buffer bound.
      ...(this.pooledFrames ? { framePool: new FramePool(Math.floor(this.o.bufferBytesMax / 4)) } : {}),
    });
    this.producer = new Producer(this.client, { lingerMs: PIPELINE_LINGER_MS_DEFAULT, idempotent: true, ...options.producer });
    this.fetcher = new Fetcher(this.client, { maxWaitMs: this.o.fetchMaxWaitMs, partitionBytesMax: this.o.partitionBufferBytesMax, pooledFrames: this.pooledFrames });
    this.checkpoints = new CheckpointStore(options.objectStore, options.pipeline.name);
  }

  get pipelineName(): string {
    return this.o.pipeline.name;
  }

  /** The coordination group of the pipeline's workers. */
  get group(): string {
    return `pipeline-${this.o.pipeline.name}`;
  }

  onFailed(listener: (e: Error) => void): void {
    this.failedListeners.add(listener);
  }

  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Creates the pipeline's topics and registers this worker, without taking tasks yet: a runner
   * starting several workers registers them all first, so their first assignments already split.
   */
  async prepare(): Promise<void> {
    if (this.stageCounts.length > 0) return;
    await this.prepareTopics();
    await this.o.coordination.heartbeat(this.group, this.workerId, this.o.leaseTtlMs ?? 10_000, JSON.stringify({ host: hostname(), pid: process.pid }));
  }

  /** prepare(), then joins the workers of the pipeline and starts the loop with its first assignment. */
  async start(): Promise<void> {
    await this.prepare();
    const items: string[] = [];
    this.o.pipeline.stages.forEach((s, i) => {
      for (let p = 0; p < this.stageCounts[i]!; p++) items.push(taskIdOf(this.o.pipeline.name, s.index, p));
    });
    this.loopDone = this.loop().catch((e: Error) => this.fail(e));
    this.membership = new WorkerMembership({
      coordination: this.o.coordination,
      group: this.group,
      workerId: this.workerId,
      items,
      heartbeatIntervalMs: this.o.heartbeatIntervalMs ?? 1000,
      ttlMs: this.o.leaseTtlMs ?? 10_000,
      meta: JSON.stringify({ host: hostname(), pid: process.pid }),
      listener: {
        assigned: (leases) => this.enqueue('assigned', leases),
        revoked: (leases) => this.enqueue('revoked', leases),
        lost: (leases) => this.enqueue('lost', leases),
      },
      onError: (e) => this.log(`coordination: ${e.message}`),
    });
    await this.membership.start();
  }

  /** Final checkpoint of every task, leases released, everything closed. */
  async stop(): Promise<void> {
    if (this.membership !== null && this.failure === null) await this.membership.stop();
    else this.membership?.abandon();
    this.stopping = true;
    this.wake();
    await this.loopDone;
    for (const t of this.tasks.values()) this.closeTask(t);
    this.tasks.clear();
    await Promise.all([...this.tables.values()].map((t) => t.stop()));
    await this.producer.close().catch(() => {});
    await this.client.close();
  }

  /** Records in and out over the worker's life, including tasks that moved away. */
  totals(): { recordsIn: number; recordsOut: number } {
    let recordsIn = this.retiredIn;
    let recordsOut = this.retiredOut;
    for (const t of this.tasks.values()) {
      recordsIn += t.recordsIn;
      recordsOut += t.sinks.reduce((n, s) => n + s.count, 0);
    }
    return { recordsIn, recordsOut };
  }

  /** Task ids this worker runs now. */
  ownedTasks(): string[] {
    return [...this.tasks.keys()].sort();
  }

  taskMetrics(): TaskMetrics[] {
    const now = this.clock();
    return [...this.tasks.values()].map((t) => {
      const wm = t.task.watermark();
      return {
        pipeline: this.o.pipeline.name,
        taskId: t.taskId,
        stage: t.stage.index,
        partition: t.partition,
        recordsIn: t.recordsIn,
        recordsOut: t.sinks.reduce((n, s) => n + s.count, 0),
        lagRecords: t.inputs.reduce((n, i) => n + Math.max(0, i.highWatermark - i.nextOffset), 0),
        watermarkDelayMs: Number.isFinite(wm) ? Math.max(0, now - wm) : null,
        lastCheckpointDurationMs: t.lastCheckpointDurationMs,
        lastCheckpointBytes: t.lastCheckpointBytes,
        checkpoints: t.checkpoints,
      };
    });
  }

  /** Checkpoints every task now (tests, shutdown hooks); resolves when done. */
  checkpointNow(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.ops.push({ kind: 'revoked', leases: [], done: (e) => (e ? reject(e) : resolve()) });
      this.wake();
    });
  }

  private log(line: string): void {
    this.o.log?.(`[${this.workerId}] ${line}`);
  }

  private fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    this.log(`failed: ${e.message}`);
    for (const l of this.failedListeners) l(e);
    this.wake();
  }

  private enqueue(kind: Op['kind'], leases: readonly Lease[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.ops.push({ kind, leases, done: (e) => (e ? reject(e) : resolve()) });
      this.wake();
    });
  }

  private at(where: string): void {
    if (this.loopAt === where) return;
    this.loopAt = where;
    this.loopAtSinceMs = Date.now();
  }

  /**
   * Where the worker is and what it waits on: the loop's await point and for how long, the fetch
   * in flight, queued membership ops, buffered input, the producer's state. For a stalled run.
   */
  diagnostics(): Record<string, unknown> {
    const now = Date.now();
    return {
      workerId: this.workerId,
      loopAt: this.loopAt,
      loopAtForMs: now - this.loopAtSinceMs,
      fetchInFlightForMs: this.fetchInFlight !== null ? now - this.fetchStartedMs : null,
      opsQueued: this.ops.length,
      bufferedBytes: this.bufferedBytes,
      failure: this.failure?.message ?? null,
      inputs: [...this.tasks.values()].flatMap((t) =>
        t.inputs.map((i) => ({ task: t.taskId, input: `${i.topic}/${i.partition}`, fetchOffset: i.fetchOffset, nextOffset: i.nextOffset, buffered: i.count, highWatermark: i.highWatermark })),
      ),
      producer: this.producer.diagnostics(),
    };
  }

  private wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  // ---------------------------------------------------------------------------------------------
  // Topics

  private sourceTopicCount(source: SourceSpec, counts: Map<string, number>): number {
    const cs = source.topics.map((t) => counts.get(t)!);
    if (new Set(cs).size > 1) {
      throw new WeirError('invalid_argument', `topics ${source.topics.join(', ')} are read together and must be co-partitioned, but have ${cs.join(', ')} partitions`);
    }
    return cs[0]!;
  }

  private async prepareTopics(): Promise<void> {
    const { pipeline } = this.o;
    const counts = new Map<string, number>();
    for (const t of pipeline.stages[0]!.source.topics) {
      if (!(await this.client.topicExists(t))) throw new WeirError('not_found', `pipeline ${pipeline.name}: source topic ${t} does not exist`);
      counts.set(t, await this.client.partitionCount(t));
    }
    this.stageCounts = [];
    for (const stage of pipeline.stages) {
      let n: number;
      if (stage.index === 0) n = this.sourceTopicCount(stage.source, counts);
      else {
        const prev = pipeline.stages[stage.index - 1]!;
        const rep = prev.sinks.find((s) => s.kind === 'topic' && s.internal && stage.source.topics.includes(s.topic)) as Extract<SinkSpec, { kind: 'topic' }> | undefined;
        n = rep?.partitions ?? this.stageCounts[stage.index - 1]!;
        for (const t of stage.source.topics) {
          // Repartition topics are the pipeline's own: create them with the count their stage needs.
          await this.client.createTopics([{ name: t, partitions: n }]);
          counts.set(t, await this.client.partitionCount(t));
        }
        n = this.sourceTopicCount(stage.source, counts);
      }
      this.stageCounts.push(n);
    }
    // Output topics that do not exist yet are created with their stage's partition count.
    for (const stage of pipeline.stages) {
      const sinks = [...stage.sinks, ...Object.values(stage.sideSinks)];
      for (const s of sinks) {
        if (s.kind !== 'topic' || s.internal) continue;
        if (!(await this.client.topicExists(s.topic))) await this.client.createTopics([{ name: s.topic, partitions: this.stageCounts[stage.index]! }]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The loop

  private async loop(): Promise<void> {
    this.lastCheckpointMs = this.clock();
    while (!this.stopping || this.ops.length > 0) {
      if (this.failure) throw this.failure;
      this.at('ops');
      while (this.ops.length > 0) await this.runOp(this.ops.shift()!);
      if (this.stopping) break;
      this.startFetch();
      const pushed = this.pushSome();
      const now = this.clock();
      if (now - this.lastTickMs >= this.o.tickIntervalMs) {
        this.lastTickMs = now;
        for (const t of this.tasks.values()) {
          t.task.tick(now);
          // A mark held back by the interval goes out now, even if the watermark stopped moving.
          for (const s of t.internalSinks.values()) s.writePendingMark(false);
        }
      }
      if (now - this.lastCheckpointMs >= this.o.checkpointIntervalMs) {
        this.at('checkpoint');
        await this.checkpoint([...this.tasks.values()]);
        this.lastCheckpointMs = this.clock();
      }
      if (pushed) {
        this.at('producer writable');
        await this.producer.writable();
        this.at('yield');
        await new Promise<void>((r) => setImmediate(r));
      } else {
        this.at('idle');
        await new Promise<void>((resolve) => {
          this.wakeLoop = resolve;
          setTimeout(() => this.wake(), Math.min(50, this.o.tickIntervalMs)).unref();
        });
      }
    }
  }

  private async runOp(op: Op): Promise<void> {
    try {
      if (op.kind === 'assigned') {
        for (const l of op.leases) await this.startTask(l);
      } else if (op.kind === 'revoked') {
        const ts = op.leases.length === 0 ? [...this.tasks.values()] : op.leases.map((l) => this.tasks.get(l.item)).filter((t): t is ActiveTask => t !== undefined);
        await this.checkpoint(ts);
        if (op.leases.length > 0) {
          for (const t of ts) {
            this.closeTask(t);
            this.tasks.delete(t.taskId);
          }
          this.log(`revoked ${ts.map((t) => t.taskId).join(', ')} (checkpointed)`);
        }
      } else {
        for (const l of op.leases) {
          const t = this.tasks.get(l.item);
          if (t === undefined) continue;
          this.closeTask(t);
          this.tasks.delete(t.taskId);
        }
        this.log(`lost ${op.leases.map((l) => l.item).join(', ')}`);
      }
      op.done();
    } catch (e) {
      op.done(e as Error);
      throw e;
    }
  }

  private closeTask(t: ActiveTask): void {
    this.retiredIn += t.recordsIn;
    this.retiredOut += t.sinks.reduce((n, s) => n + s.count, 0);
    t.task.close();
    for (const i of t.inputs) {
      this.bufferedBytes -= i.bufferBytes;
      // Dropped unread: their frames go to the garbage collector rather than back to the pool.
      i.chunks = [];
      i.releases = [];
      i.at = 0;
      i.count = 0;
      i.bufferBytes = 0;
      i.epoch++;
    }
    for (const s of [...t.sinks, ...t.sideSinks.values()]) void s.close().catch(() => {});
  }

  private async sinkFor(spec: SinkSpec, taskId: string): Promise<SinkWriter> {
    if (spec.kind === 'custom') return spec.create({ taskId });
    const internal = spec.internal === true;
    return new TopicSink(spec, this.producer, await this.client.partitionCount(spec.topic), internal ? taskId : null, this.o.watermarkIntervalMs ?? 200, this.clock);
  }

  private async tableFor(name: string, stage: StageSpec): Promise<TableView> {
    const spec = stage.tables.find((t) => t.name === name)!;
    let t = this.tables.get(name);
    if (t === undefined) {
      t = new TopicTable(spec, this.client, new Fetcher(this.client, { maxWaitMs: 500, lane: `fetch-table-${name}` }));
      this.tables.set(name, t);
    }
    await t.start();
    return t;
  }

  private async startTask(lease: Lease): Promise<void> {
    const { stage: stageIndex, partition } = parseTaskId(lease.item);
    const stage = this.o.pipeline.stages[stageIndex];
    if (stage === undefined) throw new WeirError('internal', `task ${lease.item} names no stage`);
    const taskId = lease.item;
    const manifest = await this.checkpoints.latest(stageIndex, partition);
    const sinks = await Promise.all(stage.sinks.map(async (s) => new CountingSink(await this.sinkFor(s, taskId))));
    const internalSinks = new Map<string, TopicSink>();
    for (const s of sinks) if (s.inner instanceof TopicSink && stage.sinks.some((x) => x.kind === 'topic' && x.internal && x.name === s.name)) internalSinks.set(s.name, s.inner);
    for (const [name, seq] of Object.entries(manifest?.sinkSequences ?? {})) {
      const s = internalSinks.get(name);
      if (s !== undefined) s.sequence = seq;
    }
    const internalTopics = new Set(this.o.pipeline.stages.flatMap((st) => st.sinks.filter((x) => x.kind === 'topic' && x.internal).map((x) => (x as { topic: string }).topic)));
    const sideSinks = new Map<string, SinkWriter>();
    for (const [name, s] of Object.entries(stage.sideSinks)) sideSinks.set(name, await this.sinkFor(s, taskId));
    const tables = new Map<string, TableView>();
    for (const t of stage.tables) tables.set(t.name, await this.tableFor(t.name, stage));
    const inputs = stage.source.topics.map((topic) => ({ topic, partition }));
    // stageTasks: the task broadcasts its watermark through the repartition sink (writeWatermark).
    const stageTasks = this.stageCounts[stageIndex]!;
    const task = this.createTask({ pipeline: this.o.pipeline.name, stage, partition, inputs, sinks, sideSinks, tables, clock: this.clock, stageTasks });
    task.errors.subscribe((e) => this.fail(new WeirError('internal', `task ${taskId}: ${e.message}`, { cause: e, retriable: false })));
    const group = stage.source.group ?? this.o.pipeline.name;
    let offsets: Map<string, number>;
    if (manifest !== null) {
      task.restore(await this.checkpoints.loadState(manifest));
      offsets = new Map(manifest.offsets.map((o) => [`${o.topic}\u0000${o.partition}`, o.offset]));
    } else {
      offsets = new Map();
    }
    const states: InputState[] = [];
    for (const { topic } of inputs) {
      let at = offsets.get(`${topic}\u0000${partition}`);
      if (at === undefined) at = await this.initialOffset(group, stage.source, topic, partition);
      states.push({ topic, partition, fetchOffset: at, nextOffset: at, chunks: [], releases: [], at: 0, count: 0, bufferBytes: 0, highWatermark: at, epoch: 0, internal: internalTopics.has(topic) });
    }
    this.tasks.set(taskId, {
      lease,
      taskId,
      stage,
      partition,
      group,
      task,
      inputs: states,
      sinks,
      sideSinks,
      internalSinks,
      upstreamSeen: new Map(Object.entries(manifest?.upstreamSeen ?? {})),
      duplicatesSkipped: 0,
      marksIn: 0,
      sequence: manifest !== null && manifest.token === lease.token ? manifest.sequence + 1 : 0,
      recordsIn: 0,
      lastCheckpointDurationMs: null,
      lastCheckpointBytes: null,
      checkpoints: 0,
    });
    this.log(`started ${taskId} (token ${lease.token}) from ${manifest ? `checkpoint ${manifest.checkpointId}` : 'no checkpoint'} at ${states.map((s) => `${s.topic}/${s.partition}@${s.nextOffset}`).join(', ')}`);
  }

  private async initialOffset(group: string, source: SourceSpec, topic: string, partition: number): Promise<number> {
    const [committed] = await this.client.fetchOffsets(group, [{ topic, partition }]);
    if (committed !== undefined && committed.offset >= 0) return committed.offset;
    const spec = source.startFrom ?? 'earliest';
    return (await this.client.listOffsets(topic, [partition], spec)).get(partition) ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Fetching

  private startFetch(): void {
    if (this.fetchInFlight !== null || this.bufferedBytes >= this.o.bufferBytesMax) return;
    // Refill below half the bounds: asking for every partition the moment one record leaves its
    // buffer would turn the fetch loop into a stream of tiny requests (agent and client CPU).
    const lowBytes = this.o.partitionBufferBytesMax / 2;
    const lowRecords = this.o.partitionBufferRecordsMax / 2;
    const want: { input: InputState; epoch: number; maxBytes: number }[] = [];
    let needed = false;
    for (const t of this.tasks.values()) {
      for (const i of t.inputs) {
        const records = i.count;
        if (records >= this.o.partitionBufferRecordsMax || i.bufferBytes >= this.o.partitionBufferBytesMax) continue;
        if (records < lowRecords && i.bufferBytes < lowBytes) needed = true;
        want.push({ input: i, epoch: i.epoch, maxBytes: Math.max(64 * 1024, this.o.partitionBufferBytesMax - i.bufferBytes) });
      }
    }
    if (want.length === 0 || !needed) return;
    // The broker answers at once when any asked partition has data, so a long poll only waits
    // when there is nothing to read anyway.
    this.fetchStartedMs = Date.now();
    this.fetchInFlight = this.fetcher
      .fetchColumns(
        want.map((w) => ({ topic: w.input.topic, partition: w.input.partition, offset: w.input.fetchOffset, maxBytes: w.maxBytes })),
        this.o.fetchMaxWaitMs,
      )
      .then((got) => this.applyFetch(want, got))
      .catch((e: Error) => {
        if (e instanceof WeirError && e.retriable) this.log(`fetch: ${e.message}`);
        else this.fail(e);
      })
      .finally(() => {
        this.fetchInFlight = null;
        this.wake();
      });
  }

  private async applyFetch(want: { input: InputState; epoch: number }[], got: FetchedColumns[]): Promise<void> {
    const byKey = new Map(want.map((w) => [`${w.input.topic}\u0000${w.input.partition}`, w]));
    for (const f of got) {
      const w = byKey.get(`${f.topic}\u0000${f.partition}`);
      if (w === undefined || w.epoch !== w.input.epoch) {
        f.release(); // revoked or re-seeked meanwhile: nothing of it is read
        continue;
      }
      const i = w.input;
      if (f.error) throw f.error;
      if (f.highWatermark >= 0) i.highWatermark = f.highWatermark;
      if (f.outOfRange) {
        f.release();
        // Retention deleted what we wanted: like auto.offset.reset=earliest, and loudly.
        const reset = (await this.client.listOffsets(f.topic, [f.partition], 'earliest')).get(f.partition) ?? 0;
        this.log(`${f.topic}/${f.partition}: offset ${i.fetchOffset} out of range, resetting to ${reset}`);
        if (w.epoch !== i.epoch) continue;
        i.fetchOffset = reset;
        if (i.count === 0) i.nextOffset = reset;
        continue;
      }
      const cols = f.columns;
      if (cols.length === 0) f.release();
      else {
        const bytes = cols.payloadBytes + cols.length * RECORD_OVERHEAD_BYTES;
        i.chunks.push(cols);
        i.releases.push(f.release);
        i.count += cols.length;
        i.bufferBytes += bytes;
        this.bufferedBytes += bytes;
      }
      i.fetchOffset = f.nextOffset;
      // Skipped control batches advance the processed position too when nothing is buffered.
      if (i.count === 0 && cols.length === 0) i.nextOffset = Math.max(i.nextOffset, f.nextOffset);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pushing

  /**
   * Pushes buffered records, aligned by event time across the inputs of one stage on this worker
   * (Kafka Streams' timestamp-ordered choice, across tasks as well as within one): the input
   * whose next record is oldest goes first, up to the next-oldest input's head plus half the
   * source's allowed disorder. Without this, one upstream task racing ahead would push the
   * repartition topic's event time forward and make the others' records late downstream. An
   * input that is empty while the broker has more for it holds its stage back for at most
   * alignMaxWaitMs (Kafka Streams' max.task.idle.ms), then the others go on.
   */
  private pushSome(): boolean {
    let pushed = false;
    const stages = new Map<number, { t: ActiveTask; i: InputState }[]>();
    for (const t of this.tasks.values()) {
      let l = stages.get(t.stage.index);
      if (l === undefined) stages.set(t.stage.index, (l = []));
      for (const i of t.inputs) l.push({ t, i });
    }
    const now = this.clock();
    for (const [stage, inputs] of stages) {
      const ready = inputs.filter(({ i }) => i.count > 0);
      if (ready.length === 0) {
        this.stageHoldSince.delete(stage);
        continue;
      }
      const spec = ready[0]!.t.stage;
      if (!spec.sinks.some((s) => s.kind === 'topic' && s.internal)) {
        // No repartition topic downstream: the stage's tasks never meet, so each input goes at
        // its own pace, in big batches (a task's own inputs meet in its min-watermark).
        for (const { t, i } of ready) this.pushInput(t, i, Math.min(i.chunks[0]!.length, i.at + this.o.pushBatchRecordsMax));
        pushed = true;
        continue;
      }
      const starving = ready.length < inputs.length && inputs.some(({ i }) => i.count === 0 && i.highWatermark > i.fetchOffset);
      if (starving) {
        const since = this.stageHoldSince.get(stage) ?? now;
        this.stageHoldSince.set(stage, since);
        if (now - since < this.alignMaxWaitMs) continue;
      } else {
        this.stageHoldSince.delete(stage);
      }
      const slackMs = Math.floor((spec.source.outOfOrdernessMs ?? 0) / 2);
      // A bounded number of rounds per call keeps the loop responsive (fetches, checkpoints).
      for (let round = 0; round < 64 && ready.length > 0; round++) {
        ready.sort((a, b) => headTimestamp(a.i) - headTimestamp(b.i));
        const { t, i } = ready[0]!;
        const limitTs = ready.length > 1 ? headTimestamp(ready[1]!.i) + slackMs : Infinity;
        const c = i.chunks[0]!;
        // At least a few records per push: finer interleaving than that buys no correctness
        // (producer batching interleaves tasks' records at that grain anyway) and costs a lot.
        let end = Math.min(c.length, i.at + ALIGNED_PUSH_MIN_RECORDS);
        const max = Math.min(c.length, i.at + this.o.pushBatchRecordsMax);
        while (end < max && c.timestamps[end]! <= limitTs) end++;
        this.pushInput(t, i, end);
        pushed = true;
        if (i.count === 0) {
          ready.shift();
          // An emptied input with more at the broker: stop here and let the fetch refill it.
          if (i.highWatermark > i.fetchOffset && inputs.length > 1) break;
        }
      }
    }
    return pushed;
  }

  /**
   * Pushes records [i.at, end) of the input's first chunk to its task, decoded and pushed
   * PUSH_SLICE_RECORDS at a time: a slice's Recs then die young. Decoding thousands first kept
   * them all alive across a scavenge, so V8 promoted most of them to the old generation (about
   * 350 B per record) and a quarter of the CPU went to major GCs.
   */
  private pushInput(t: ActiveTask, i: InputState, end: number): void {
    const c = i.chunks[0]!;
    const kl = c.keyLen;
    const vl = c.valueLen;
    while (i.at < end) {
      const from = i.at;
      const to = Math.min(end, from + PUSH_SLICE_RECORDS);
      const marksBefore = t.marksIn;
      // Decoded before the position moves: a record the serdes reject leaves it unconsumed.
      const recs = this.decode(t, i, c, from, to);
      let bytes = (to - from) * RECORD_OVERHEAD_BYTES;
      for (let k = from; k < to; k++) bytes += (kl[k]! > 0 ? kl[k]! : 0) + (vl[k]! > 0 ? vl[k]! : 0);
      i.at = to;
      i.count -= to - from;
      i.bufferBytes -= bytes;
      this.bufferedBytes -= bytes;
      i.nextOffset = c.offsets[to - 1]! + 1;
      if (recs.length > 0) t.task.push(recs);
      t.recordsIn += recs.length - (t.marksIn - marksBefore);
      if (this.failure !== null) break;
    }
    if (i.at >= c.length) {
      i.chunks.shift();
      // Every record of the chunk is deserialized: nothing refers to its bytes any more.
      i.releases.shift()!();
      i.at = 0;
    }
  }

  /** A header value as a Rec keeps it: copied out of a pooled frame, which will be reused. */
  private headerValue(v: Buffer | null): Buffer | null {
    return v === null || !this.pooledFrames ? v : Buffer.from(v);
  }

  /**
   * Records [from, end) of a fetched chunk as Recs. Keys and values are read straight out of the
   * fetched batch (serdes with deserializeAt need no Buffer view); headers are decoded only for
   * records that have some.
   */
  private decode(t: ActiveTask, i: InputState, c: RecordColumns, from: number, end: number): Rec[] {
    const source = t.stage.source;
    const { key: keySerde, value: valueSerde } = serdesFor(source, i.topic);
    const keyAt = keySerde.deserializeAt?.bind(keySerde);
    const valueAt = valueSerde.deserializeAt?.bind(valueSerde);
    const eventTime = source.eventTime;
    const topic = i.topic;
    const partition = i.partition;
    const out: Rec[] = [];
    for (let k = from; k < end; k++) {
      let headers: RecHeaders = EMPTY_HEADERS;
      if (c.headerCount[k]! > 0) {
        const hs = c.headers(k);
        if (i.internal && hs.length === 1 && hs[0]!.key === WATERMARK_HEADER && c.keyLen[k]! < 0 && c.valueLen[k]! < 0) {
          // A watermark mark from an upstream task: the task consumes it (never the operators), so
          // no serdes and no eventTime; it carries no sequence number (marks are idempotent).
          out.push({ key: null, value: null, timestamp: c.timestamps[k]!, headers: { [WATERMARK_HEADER]: this.headerValue(hs[0]!.value) }, topic, partition, offset: c.offsets[k]! });
          t.marksIn++;
          continue;
        }
        const h: Record<string, Buffer | null> = {};
        let upstream: string | null = null;
        let seq = -1;
        for (const x of hs) {
          if (i.internal && x.key === UPSTREAM_HEADER) upstream = x.value?.toString('utf8') ?? null;
          else if (i.internal && x.key === SEQUENCE_HEADER && x.value?.length === 8) seq = Number(x.value.readBigInt64BE(0));
          else h[x.key] = this.headerValue(x.value);
        }
        if (upstream !== null && seq >= 0) {
          // A repartition record the upstream task wrote again after restoring its checkpoint
          // (at-least-once): already applied here, so skipping it keeps state exactly-once.
          const seen = t.upstreamSeen.get(upstream) ?? -1;
          if (seq <= seen) {
            t.duplicatesSkipped++;
            continue;
          }
          t.upstreamSeen.set(upstream, seq);
        }
        headers = h;
      }
      const data = c.bufs[c.buf[k]!]!;
      let rec: Rec;
      try {
        const key = keyAt !== undefined ? keyAt(data, c.keyStart[k]!, c.keyLen[k]!) : keySerde.deserialize(c.key(k));
        const value = valueAt !== undefined ? valueAt(data, c.valueStart[k]!, c.valueLen[k]!) : valueSerde.deserialize(c.value(k));
        rec = { key, value, timestamp: c.timestamps[k]!, headers, topic, partition, offset: c.offsets[k]! };
        if (eventTime !== undefined) rec.timestamp = eventTime(rec as never);
      } catch (e) {
        // A record the serdes cannot read stops the pipeline with where it is, and nothing is
        // skipped: the offset stays before it, so fixing the serde and restarting resumes there.
        throw new WeirError('invalid_argument', `pipeline ${this.o.pipeline.name}: cannot deserialize ${topic}/${partition} offset ${c.offsets[k]!}: ${(e as Error).message}`, { cause: e });
      }
      out.push(rec);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  private async checkpoint(tasks: readonly ActiveTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const started = this.clock();
    const checkpointId = `${this.workerId}-${started}`;
    await Promise.all(tasks.map((t) => t.task.barrier()));
    // The newest watermark goes out with this checkpoint's output (a revoked task's last word).
    for (const t of tasks) for (const s of t.internalSinks.values()) s.writePendingMark(true);
    // Every sink acknowledged everything written so far (the producer is shared; custom sinks each).
    await Promise.all(tasks.flatMap((t) => [...t.sinks, ...t.sideSinks.values()].map((s) => s.flush())));
    await this.producer.flush();
    const commits = new Map<string, InputOffset[]>();
    await Promise.all(
      tasks.map(async (t) => {
        if (!(await this.o.coordination.validate(t.lease))) {
          // Fenced: someone else holds the task now; our state must not become a checkpoint.
          this.log(`${t.taskId}: lease lost before checkpoint; not writing it`);
          return;
        }
        const offsets = t.inputs.map((i) => ({ topic: i.topic, partition: i.partition, offset: i.nextOffset }));
        const wm = t.task.watermark();
        const m = await this.checkpoints.write(
          {
            taskId: t.taskId,
            stage: t.stage.index,
            partition: t.partition,
            token: t.lease.token,
            sequence: t.sequence++,
            checkpointId,
            offsets,
            watermarkMs: Number.isFinite(wm) ? wm : null,
            sinkSequences: Object.fromEntries([...t.internalSinks].map(([n, s]) => [n, s.sequence])),
            upstreamSeen: Object.fromEntries(t.upstreamSeen),
          },
          t.task.snapshot(),
        );
        t.lastCheckpointDurationMs = this.clock() - started;
        t.lastCheckpointBytes = m.stateBytes;
        t.checkpoints++;
        const l = commits.get(t.group) ?? [];
        l.push(...offsets);
        commits.set(t.group, l);
        void this.checkpoints.prune(t.stage.index, t.partition).catch((e: Error) => this.log(`prune ${t.taskId}: ${e.message}`));
      }),
    );
    for (const [group, offsets] of commits) {
      // Visibility only (weir groups describe, lag tools): restore reads the manifests.
      await this.client.commitOffsets(group, offsets).catch((e: Error) => this.log(`commit offsets of ${group}: ${e.message}`));
    }
  }
}

const EMPTY_HEADERS: RecHeaders = Object.freeze({});

function headTimestamp(i: InputState): number {
  return i.chunks[0]!.timestamps[i.at]!;
}

/** Waits until `cond` holds (tests and the CLI's bounded runs). */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
