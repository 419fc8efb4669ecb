/**
 * The test driver: runs any pipeline in memory, without an agent, like Kafka Streams'
 * TopologyTestDriver. Every stage runs as real tasks (createTask), one per partition; records a
 * stage writes to its repartition topic are serialized with keyBy's serdes, partitioned with
 * Kafka's murmur2 partitioner and fed to the next stage's task for that partition, as the Kafka
 * runtime would. Processing time is a manual clock: advanceTime() moves it and lets idle
 * partitions release the watermark.
 *
 *   const driver = new TestDriver(wordCount, { partitions: { lines: 2 } });
 *   driver.pipe('lines', [{ value: 'a b a', timestamp: 1_000 }]);
 *   driver.advanceTime(15_000);
 *   driver.output('word-counts');    // records written to that sink so far
 *
 * By default each piped record is pushed as its own batch (the watermark advances after every
 * record, the strictest ordering); `{ batch: true }` pushes an array as one batch, as the
 * runtime does with a fetch. Inputs and outputs go through the pipeline's serdes, so a serde that
 * cannot round-trip a value fails the test instead of the deployment.
 */
import { WeirError } from '../../core/errors.js';
import type { KeyedStateStore, PipelineSpec, Rec, RecHeaders, SinkSpec, SinkWriter, SourceSpec, StageSpec, TaskSnapshot } from '../core/contracts.js';
import { serdesFor } from '../define/source.js';
import { canonicalKey } from '../task/canonical-key.js';
import { MemoryTable } from '../task/table.js';
import { watermarkMarkRecord } from '../task/watermark-marks.js';
import { createInspectableTask, type InspectableTask } from '../task/task.js';
import { partitionForKey } from './murmur2.js';

export interface TestRecord<K = unknown, V = unknown> {
  key?: K;
  value: V;
  /** Kafka record timestamp; default: the driver's clock. The source's eventTime may override it. */
  timestamp?: number;
  headers?: RecHeaders;
  /** Default: murmur2 of the serialized key (partition 0 for a null key). */
  partition?: number;
}

export interface TestDriverOptions {
  /** The manual clock's start, ms. Default 0. */
  startTimeMs?: number;
  /** Partitions per input topic; default 1. Topics read together (joins) must have equal counts. */
  partitions?: Readonly<Record<string, number>>;
  /** Round-trip inputs, repartitioned records and outputs through the serdes. Default true. */
  serdes?: boolean;
  /** Keep what sinks receive for output(). Default true; benchmarks turn it off. */
  retainOutput?: boolean;
}

export type DriverSnapshot = Map<string, TaskSnapshot>;

interface StageRun {
  spec: StageSpec;
  tasks: InspectableTask[];
  queues: Rec[][];
}

const EMPTY_HEADERS: RecHeaders = Object.freeze({});

export class TestDriver {
  private clockMs: number;
  private readonly stages: StageRun[] = [];
  private readonly outputs = new Map<string, Rec[]>();
  private readonly sideOutputs = new Map<string, Rec[]>();
  private readonly tables = new Map<string, MemoryTable>();
  private readonly tableTopics = new Map<string, MemoryTable[]>();
  private readonly offsets = new Map<string, number[]>();
  private readonly customWriters: SinkWriter[] = [];
  private readonly serdes: boolean;
  private readonly retain: boolean;
  private started = false;
  private roundRobin = 0;

  constructor(
    readonly pipeline: PipelineSpec,
    private readonly options: TestDriverOptions = {},
  ) {
    this.clockMs = options.startTimeMs ?? 0;
    this.serdes = options.serdes ?? true;
    this.retain = options.retainOutput ?? true;
    if (pipeline.stages.length === 0) throw new WeirError('invalid_argument', `pipeline ${pipeline.name} has no stages`);
    for (const stage of pipeline.stages) {
      for (const t of stage.tables) {
        if (!this.tables.has(t.name)) {
          const view = new MemoryTable();
          this.tables.set(t.name, view);
          const list = this.tableTopics.get(t.topic) ?? [];
          list.push(view);
          this.tableTopics.set(t.topic, list);
        }
      }
    }
    let previousCount = 0;
    for (const stage of pipeline.stages) {
      const count = stage.index === 0 ? this.sourcePartitions(stage.source) : this.repartitionCount(stage, previousCount);
      previousCount = count;
      const run: StageRun = { spec: stage, tasks: [], queues: [] };
      this.stages.push(run);
      for (let p = 0; p < count; p++) run.queues.push([]);
    }
    // Tasks are built after every stage's queues exist: a stage's sinks feed the next one.
    for (const run of this.stages) {
      const count = run.queues.length;
      for (let p = 0; p < count; p++) run.tasks.push(this.buildTask(run.spec, p));
    }
  }

  private sourcePartitions(source: SourceSpec): number {
    const counts = source.topics.map((t) => this.options.partitions?.[t] ?? 1);
    for (const c of counts) if (!(Number.isInteger(c) && c >= 1)) throw new WeirError('invalid_argument', `partitions must be integers >= 1, got ${c}`);
    if (new Set(counts).size > 1) {
      throw new WeirError('invalid_argument', `topics ${source.topics.join(', ')} are read together and must be co-partitioned, but have ${counts.join(', ')} partitions`);
    }
    return counts[0]!;
  }

  private repartitionCount(stage: StageSpec, previousCount: number): number {
    const prev = this.pipeline.stages[stage.index - 1]!;
    const sink = prev.sinks[0];
    return sink?.kind === 'topic' && sink.partitions !== undefined ? sink.partitions : previousCount;
  }

  private nextOffset(topic: string, partition: number): number {
    let perPartition = this.offsets.get(topic);
    if (perPartition === undefined) this.offsets.set(topic, (perPartition = []));
    const o = perPartition[partition] ?? 0;
    perPartition[partition] = o + 1;
    return o;
  }

  private keep(map: Map<string, Rec[]>, name: string, rec: Rec): void {
    let list = map.get(name);
    if (list === undefined) map.set(name, (list = []));
    list.push(rec);
  }

  /** Serializes and re-reads a record the way a topic would hold it. */
  private throughTopic(sink: Extract<SinkSpec, { kind: 'topic' }>, rec: Rec, partitions: number): Rec {
    let key = rec.key;
    let value = rec.value;
    let partition: number;
    if (this.serdes) {
      const kb = sink.key.serialize(key);
      const vb = sink.value.serialize(value);
      partition = kb === null ? this.roundRobin++ % partitions : partitionForKey(kb, partitions);
      key = sink.key.deserialize(kb);
      value = sink.value.deserialize(vb);
    } else {
      partition = rec.key === null || rec.key === undefined ? this.roundRobin++ % partitions : partitionForKey(Buffer.from(canonicalKey(rec.key)), partitions);
    }
    return { key, value, timestamp: rec.timestamp, headers: rec.headers, topic: sink.topic, partition, offset: this.nextOffset(sink.topic, partition) };
  }

  private writerFor(sink: SinkSpec, taskId: string, stage: StageSpec, side: boolean): SinkWriter {
    const next = !side && stage.index + 1 < this.stages.length ? this.stages[stage.index + 1]! : undefined;
    if (next !== undefined && sink.kind === 'topic') {
      const partitions = next.queues.length;
      return {
        name: sink.name,
        write: (rec) => {
          const r = this.throughTopic(sink, rec, partitions);
          next.queues[r.partition]!.push(r);
        },
        // Watermarks travel with the records, to every partition, as in a real repartition topic.
        writeWatermark: (mark) => {
          for (let p = 0; p < partitions; p++) {
            const r = watermarkMarkRecord(mark, sink.topic, p, this.clockMs);
            r.offset = this.nextOffset(sink.topic, p);
            next.queues[p]!.push(r);
          }
        },
        flush: async () => {},
        close: async () => {},
      };
    }
    if (sink.kind === 'topic') {
      return {
        name: sink.name,
        write: (rec) => {
          const r = this.throughTopic(sink, rec, this.options.partitions?.[sink.topic] ?? 1);
          if (this.retain) this.keep(this.outputs, sink.name, r);
        },
        flush: async () => {},
        close: async () => {},
      };
    }
    const user = sink.create({ taskId });
    this.customWriters.push(user);
    return {
      name: sink.name,
      write: (rec) => {
        user.write(rec);
        if (this.retain) this.keep(this.outputs, sink.name, rec);
      },
      flush: () => user.flush(),
      close: () => user.close(),
    };
  }

  private buildTask(stage: StageSpec, partition: number): InspectableTask {
    const taskId = `${this.pipeline.name}/${stage.index}/p${partition}`;
    const sideSinks = new Map<string, SinkWriter>();
    for (const [name, spec] of Object.entries(stage.sideSinks)) sideSinks.set(name, this.writerFor(spec, taskId, stage, true));
    return createInspectableTask({
      pipeline: this.pipeline.name,
      stage,
      partition,
      inputs: stage.source.topics.map((topic) => ({ topic, partition })),
      sinks: stage.sinks.map((s) => this.writerFor(s, taskId, stage, false)),
      sideSinks,
      tables: this.tables,
      clock: () => this.clockMs,
      stageTasks: this.stages[stage.index]!.queues.length,
      onUnboundSideOutput: (name, rec) => {
        if (this.retain) this.keep(this.sideOutputs, name, rec);
      },
    });
  }

  private check(task: InspectableTask): void {
    if (task.failed !== undefined) throw task.failed;
  }

  /** Pushes every queued record of every stage after the first, stage by stage. */
  private drain(fromStage: number): void {
    for (let s = fromStage; s < this.stages.length; s++) {
      const run = this.stages[s]!;
      for (let p = 0; p < run.tasks.length; p++) {
        const q = run.queues[p]!;
        if (q.length === 0) continue;
        run.queues[p] = [];
        const task = run.tasks[p]!;
        task.push(q);
        this.check(task);
      }
    }
  }

  /** Pipes records into an input topic of the first stage. */
  pipe<K = unknown, V = unknown>(topic: string, records: TestRecord<K, V> | readonly TestRecord<K, V>[], options: { batch?: boolean } = {}): this {
    const first = this.stages[0]!;
    const source = first.spec.source;
    if (!source.topics.includes(topic)) {
      if (this.tableTopics.has(topic)) throw new WeirError('invalid_argument', `${topic} is a table topic: use pipeTable()`);
      throw new WeirError('invalid_argument', `pipeline ${this.pipeline.name} does not read topic ${JSON.stringify(topic)} (it reads ${source.topics.join(', ')})`);
    }
    this.started = true;
    const list = Array.isArray(records) ? (records as readonly TestRecord<K, V>[]) : [records as TestRecord<K, V>];
    const partitions = first.tasks.length;
    const { key: keySerde, value: valueSerde } = serdesFor(source, topic);
    const recs: Rec[] = list.map((r) => {
      let key: unknown = r.key ?? null;
      let value: unknown = r.value;
      let partition = r.partition;
      if (this.serdes) {
        const kb = keySerde.serialize(key);
        key = keySerde.deserialize(kb);
        value = valueSerde.deserialize(valueSerde.serialize(value));
        if (partition === undefined) partition = kb === null ? 0 : partitionForKey(kb, partitions);
      } else if (partition === undefined) {
        partition = key === null ? 0 : partitionForKey(Buffer.from(canonicalKey(key)), partitions);
      }
      if (!(Number.isInteger(partition) && partition >= 0 && partition < partitions)) {
        throw new WeirError('invalid_argument', `partition ${partition} of ${topic} does not exist (it has ${partitions})`);
      }
      const rec: Rec = { key, value, timestamp: r.timestamp ?? this.clockMs, headers: r.headers ?? EMPTY_HEADERS, topic, partition, offset: this.nextOffset(topic, partition) };
      if (source.eventTime !== undefined) rec.timestamp = source.eventTime(rec);
      return rec;
    });
    if (options.batch === true) {
      const byPartition: Rec[][] = first.tasks.map(() => []);
      for (const r of recs) byPartition[r.partition]!.push(r);
      for (let p = 0; p < byPartition.length; p++) if (byPartition[p]!.length > 0) this.pushFirst(p, byPartition[p]!);
    } else {
      for (const r of recs) this.pushFirst(r.partition, [r]);
    }
    return this;
  }

  /** Pushes ready-made records into the first stage's task for `partition`, bypassing serdes (benchmarks). */
  pushRecords(partition: number, recs: readonly Rec[]): this {
    this.started = true;
    this.pushFirst(partition, recs);
    return this;
  }

  private pushFirst(partition: number, recs: readonly Rec[]): void {
    const task = this.stages[0]!.tasks[partition]!;
    task.push(recs);
    this.check(task);
    this.drain(1);
  }

  /** Upserts (or, with a null value, deletes) a key of a table topic joined by the pipeline. */
  pipeTable<K = unknown, V = unknown>(topic: string, key: K, value: V | null): this {
    const views = this.tableTopics.get(topic);
    if (views === undefined) throw new WeirError('invalid_argument', `pipeline ${this.pipeline.name} declares no table on topic ${JSON.stringify(topic)}`);
    let k: unknown = key;
    let v: unknown = value;
    if (this.serdes) {
      const spec = this.pipeline.stages.flatMap((s) => s.tables).find((t) => t.topic === topic)!;
      k = spec.key.deserialize(spec.key.serialize(key));
      v = value === null ? null : spec.value.deserialize(spec.value.serialize(value));
    }
    for (const view of views) view.apply(k, v);
    return this;
  }

  /** Moves the manual processing-time clock forward and lets every task see it. */
  advanceTime(ms: number): this {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new WeirError('invalid_argument', `advanceTime needs a finite ms >= 0, got ${ms}`);
    this.clockMs += ms;
    for (let s = 0; s < this.stages.length; s++) {
      this.drain(s);
      for (const task of this.stages[s]!.tasks) {
        task.tick(this.clockMs);
        this.check(task);
      }
    }
    this.drain(0);
    return this;
  }

  now(): number {
    return this.clockMs;
  }

  /**
   * End of input: advances every task's watermark to +Infinity, stage by stage, so every open
   * window fires (a bounded run's final results).
   */
  endOfInput(): this {
    for (let s = 0; s < this.stages.length; s++) {
      this.drain(s);
      for (const task of this.stages[s]!.tasks) {
        task.finish();
        this.check(task);
      }
    }
    return this;
  }

  /** Records a sink received so far (by sink name; a topic sink's name defaults to its topic). */
  output<K = unknown, V = unknown>(sink: string): Rec<K, V>[] {
    return [...((this.outputs.get(sink) ?? []) as Rec<K, V>[])];
  }

  /** Like output(), and forgets them. */
  readOutput<K = unknown, V = unknown>(sink: string): Rec<K, V>[] {
    const out = this.output<K, V>(sink);
    this.outputs.delete(sink);
    return out;
  }

  /** Records of side outputs no sink is bound to (e.g. 'late' when unbound). */
  sideOutput<K = unknown, V = unknown>(name: string): Rec<K, V>[] {
    return [...((this.sideOutputs.get(name) ?? []) as Rec<K, V>[])];
  }

  private task(stage: number, partition: number): InspectableTask {
    const t = this.stages[stage]?.tasks[partition];
    if (t === undefined) throw new WeirError('invalid_argument', `no task for stage ${stage} partition ${partition}`);
    return t;
  }

  /** One task's state store. */
  stateStore<S>(name: string, where: { stage?: number; partition?: number } = {}): KeyedStateStore<S> {
    const t = this.task(where.stage ?? this.stages.length - 1, where.partition ?? 0);
    if (!t.storeNames().includes(name)) throw new WeirError('not_found', `task ${t.taskId} has no state store ${JSON.stringify(name)} (it has: ${t.storeNames().join(', ') || 'none'})`);
    return t.state<S>(name);
  }

  /** Every entry of a store across a stage's partitions (default: the last stage). */
  state<S>(name: string, where: { stage?: number } = {}): [unknown, S][] {
    const run = this.stages[where.stage ?? this.stages.length - 1]!;
    const out: [unknown, S][] = [];
    for (const t of run.tasks) if (t.storeNames().includes(name)) out.push(...t.state<S>(name).entries());
    return out;
  }

  /** State store names of a stage (default: the last). */
  stateStoreNames(stage = this.stages.length - 1): string[] {
    return [...new Set(this.stages[stage]!.tasks.flatMap((t) => t.storeNames()))].sort();
  }

  watermark(stage = 0, partition = 0): number {
    return this.task(stage, partition).watermark();
  }

  /** Every task's snapshot (what a checkpoint would hold), by task id. */
  snapshot(): DriverSnapshot {
    const out: DriverSnapshot = new Map();
    for (const run of this.stages) for (const t of run.tasks) out.set(t.taskId, t.snapshot());
    return out;
  }

  /** Restores tasks from snapshot(); only before the first pipe. */
  restore(snapshot: DriverSnapshot): this {
    if (this.started) throw new WeirError('invalid_argument', 'restore only before the first pipe');
    for (const run of this.stages) for (const t of run.tasks) {
      const s = snapshot.get(t.taskId);
      if (s !== undefined) t.restore(s);
    }
    return this;
  }

  async close(): Promise<void> {
    for (const run of this.stages) for (const t of run.tasks) t.close();
    for (const w of this.customWriters) {
      await w.flush();
      await w.close();
    }
  }
}
