/**
 * The task runner: one stage x one partition (see the execution model in contracts.ts).
 *
 * The stage's operator chain is subscribed once, at construction, with this task's context as
 * the current context. push() feeds records synchronously into the chain through a bare
 * Subscriber (no Subject: one fewer indirection per record on the hot path), then advances the
 * watermark once per batch, which makes window operators fire. Errors anywhere in the chain,
 * in a sink's write(), in a watermark listener or in tracked async work fail the task: the
 * chain is unsubscribed and the error is published on `errors` (replayed to late subscribers).
 */
import { Observable, ReplaySubject, type Subscriber, type Subscription } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type {
  CreateTask,
  KeyedStateStore,
  Rec,
  SinkWriter,
  StateOptions,
  TableView,
  Task,
  TaskContext,
  TaskOptions,
  TaskSnapshot,
  WatermarkMark,
} from '../core/contracts.js';
import { withContext } from './current-context.js';
import { decodeValue, encodeValue } from './state-codec.js';
import { StateStore } from './state-store.js';
import { Watermarks, type WatermarkState } from './watermarks.js';

/** Snapshot entry holding the task's watermark state; store names starting "__weir." are reserved. */
export const WATERMARK_SNAPSHOT_KEY = '__weir.watermarks';
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

function asError(e: unknown): Error {
  return e instanceof Error ? e : new WeirError('internal', `non-Error thrown: ${String(e)}`);
}

class PipelineTask implements Task, TaskContext {
  readonly taskId: string;
  readonly pipeline: string;
  readonly partition: number;
  readonly errors = new ReplaySubject<Error>(1);

  private readonly watermarks: Watermarks;
  private readonly listeners: ((watermarkMs: number) => void)[] = [];
  private readonly stores = new Map<string, StateStore<unknown>>();
  private readonly pendingRestore = new Map<string, Buffer>();
  private readonly tracked = new Set<Promise<unknown>>();
  private readonly sideWriters = new Map<string, (rec: Rec) => void>();
  private input: Subscriber<Rec> | undefined;
  private subscription: Subscription | undefined;
  private failure: Error | undefined;
  private closed = false;
  private pushed = false;
  private readonly markSinks: readonly SinkWriter[];
  private sentWatermark = -Infinity;
  private sentIdle = false;

  constructor(private readonly options: TaskOptions) {
    const { stage, partition, pipeline } = options;
    this.pipeline = pipeline;
    this.partition = partition;
    this.taskId = `${pipeline}/${stage.index}/p${partition}`;
    const source = stage.source;
    this.watermarks = new Watermarks(
      options.inputs,
      source.outOfOrdernessMs ?? 0,
      source.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      options.clock(),
    );
    const input = new Observable<Rec>((subscriber) => {
      this.input = subscriber;
    });
    const next = this.sinkWriter(options.sinks);
    this.markSinks = options.sinks.filter((s) => typeof s.writeWatermark === 'function');
    withContext(this, () => {
      this.subscription = stage.transform(input).subscribe({
        next,
        error: (e: unknown) => this.fail(e),
      });
    });
    // An error while subscribing (an operator misused outside its constraints) is already failed.
  }

  /** One function writing to every main sink, with the common one-sink case unrolled. */
  private sinkWriter(sinks: readonly SinkWriter[]): (rec: Rec) => void {
    // Errors thrown by the final observer's next are not routed to `error` by RxJS (they are
    // reported asynchronously as unhandled), so sink failures are caught here.
    if (sinks.length === 1) {
      const s = sinks[0]!;
      return (rec) => {
        try {
          s.write(rec);
        } catch (e) {
          this.fail(e);
        }
      };
    }
    return (rec) => {
      try {
        for (const s of sinks) s.write(rec);
      } catch (e) {
        this.fail(e);
      }
    };
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    const err = asError(e);
    this.failure = err;
    this.subscription?.unsubscribe();
    this.input = undefined;
    this.errors.next(err);
  }

  /** The task's failure, if any (the test driver rethrows it). */
  get failed(): Error | undefined {
    return this.failure;
  }

  // ---- Task ----

  push(recs: readonly Rec[]): void {
    if (this.closed) throw new WeirError('invalid_argument', `task ${this.taskId}: push after close`);
    if (this.failure !== undefined) throw this.failure;
    this.pushed = true;
    const now = this.options.clock();
    const wm = this.watermarks;
    for (let i = 0; i < recs.length; i++) {
      const rec = recs[i]!;
      let data: boolean;
      try {
        data = wm.observe(rec, now);
      } catch (e) {
        this.fail(e);
        return;
      }
      if (!data) continue; // a watermark mark from the previous stage
      const input = this.input;
      if (input === undefined) return; // failed mid-batch; the error is on `errors`
      input.next(rec);
    }
    this.advance(this.watermarks.compute(now));
  }

  tick(nowMs: number): void {
    if (this.closed || this.failure !== undefined) return;
    this.advance(this.watermarks.compute(nowMs));
  }

  private advance(watermarkMs: number | undefined): void {
    if (watermarkMs !== undefined) {
      for (const l of this.listeners) {
        if (this.failure !== undefined) return;
        try {
          withContext(this, () => l(watermarkMs));
        } catch (e) {
          this.fail(e);
        }
      }
    }
    // After the listeners: what windows emitted for this watermark precedes the mark downstream.
    this.broadcastWatermark();
  }

  /** Sends the watermark through repartition sinks when it advanced or idleness changed. */
  private broadcastWatermark(): void {
    const writers = this.options.stageTasks;
    if (writers === undefined || this.markSinks.length === 0 || this.failure !== undefined) return;
    const w = this.watermarks.watermarkMs;
    const idle = this.watermarks.idle;
    if (w === this.sentWatermark && idle === this.sentIdle) return;
    this.sentWatermark = w;
    this.sentIdle = idle;
    const mark: WatermarkMark = { fromTaskId: this.taskId, writers, watermarkMs: w, idle };
    for (const s of this.markSinks) {
      try {
        s.writeWatermark!(mark);
      } catch (e) {
        this.fail(e);
        return;
      }
    }
  }

  async barrier(): Promise<void> {
    while (this.tracked.size > 0 && this.failure === undefined) {
      await Promise.allSettled([...this.tracked]);
    }
    if (this.failure !== undefined) throw this.failure;
  }

  snapshot(): TaskSnapshot {
    const snap: TaskSnapshot = new Map();
    snap.set(WATERMARK_SNAPSHOT_KEY, encodeValue(this.watermarks.state()));
    for (const [name, store] of this.stores) snap.set(name, store.snapshot());
    // State restored for a store no operator has asked for yet must survive the next checkpoint.
    for (const [name, bytes] of this.pendingRestore) if (!snap.has(name)) snap.set(name, bytes);
    return snap;
  }

  restore(snapshot: TaskSnapshot): void {
    if (this.pushed) throw new WeirError('invalid_argument', `task ${this.taskId}: restore after the first push`);
    const now = this.options.clock();
    const wm = snapshot.get(WATERMARK_SNAPSHOT_KEY);
    // The watermark first: operators rebuilding their timers on restore read it.
    if (wm !== undefined) this.watermarks.restore(decodeValue(wm) as WatermarkState, now);
    for (const [name, bytes] of snapshot) {
      if (name === WATERMARK_SNAPSHOT_KEY) continue;
      const store = this.stores.get(name);
      if (store !== undefined) {
        try {
          withContext(this, () => store.restore(bytes));
        } catch (e) {
          this.fail(e);
          throw e;
        }
      } else this.pendingRestore.set(name, bytes);
    }
  }

  finish(): void {
    if (this.closed || this.failure !== undefined) return;
    this.advance(this.watermarks.finish());
    this.input?.complete();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    this.input = undefined;
  }

  watermark(): number {
    return this.watermarks.watermarkMs;
  }

  // ---- TaskContext ----

  onWatermark(listener: (watermarkMs: number) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  now(): number {
    return this.options.clock();
  }

  state<S>(name: string, options?: StateOptions): KeyedStateStore<S> {
    if (name.startsWith('__weir.')) throw new WeirError('invalid_argument', `state store name ${JSON.stringify(name)}: the "__weir." prefix is reserved`);
    let store = this.stores.get(name);
    if (store === undefined) {
      store = new StateStore<unknown>(name, this.taskId, options);
      this.stores.set(name, store);
      const pending = this.pendingRestore.get(name);
      if (pending !== undefined) {
        this.pendingRestore.delete(name);
        store.restore(pending);
      }
    }
    return store as StateStore<S>;
  }

  /** The stores, for the test driver's state inspection. */
  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  sideOutput(name: string): (rec: Rec) => void {
    let w = this.sideWriters.get(name);
    if (w === undefined) {
      const sink = this.options.sideSinks.get(name);
      const unbound = this.options.onUnboundSideOutput;
      w = sink !== undefined ? (rec) => sink.write(rec) : unbound !== undefined ? (rec) => unbound(name, rec) : () => {};
      this.sideWriters.set(name, w);
    }
    return w;
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.tracked.add(work);
    work.then(
      () => this.tracked.delete(work),
      (e: unknown) => {
        this.tracked.delete(work);
        this.fail(e);
      },
    );
    return work;
  }

  table<V>(name: string): TableView<V> {
    const t = this.options.tables.get(name);
    if (t === undefined) {
      const declared = [...this.options.tables.keys()];
      throw new WeirError('not_found', `task ${this.taskId}: no table named ${JSON.stringify(name)} (declared: ${declared.length ? declared.join(', ') : 'none'})`);
    }
    return t as TableView<V>;
  }
}

/** Builds one task (CreateTask in contracts.ts). */
export const createTask: CreateTask = (options) => new PipelineTask(options);

/** The test driver's view of a task: state inspection and failure, beyond the Task contract. */
export interface InspectableTask extends Task {
  readonly failed: Error | undefined;
  storeNames(): string[];
  state<S>(name: string): KeyedStateStore<S>;
}

export function createInspectableTask(options: TaskOptions): InspectableTask {
  return new PipelineTask(options);
}
