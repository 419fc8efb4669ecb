/**
 * What the three window engines (aligned, session, sliding) share: the operator's own view of the
 * watermark, the keyed state store, the timer queue and how results are emitted.
 *
 * Semantics (the Flink model, in Kafka Streams' vocabulary):
 *   - A watermark W says no record with a timestamp < W is expected any more.
 *   - A window [start, end) fires once W >= end: on close, its result is emitted (default), or
 *     with `emit: 'update'` every change is emitted as it happens and nothing more at close.
 *   - Until W >= end + allowedLatenessMs the window is kept; a late record for it updates it and
 *     the updated result is emitted at once (a late firing). After that the window is gone and
 *     a record that would only fall into gone windows is late: it goes to the side output
 *     (`lateOutput`, default 'late'), never silently dropped.
 *   - Lateness is judged against the watermark this operator has processed, not the task's
 *     newest one: results an upstream window emits while the watermark advances are not late
 *     for a window operator downstream of it.
 */
import type { Rec, RecHeaders, TaskContext, WindowResult } from '../../core/contracts.js';
import type { StateStore } from '../../task/state-store.js';
import type { Aggregator } from '../aggregator.js';
import { TimerQueue } from './timer-queue.js';

const NO_HEADERS: RecHeaders = Object.freeze({});

export interface WindowOptions {
  /** How long after a window closes late records still update it. Default 0. */
  allowedLatenessMs?: number;
  /** 'close' (default): one result per window when the watermark passes its end. 'update': every change. */
  emit?: 'close' | 'update';
  /** Side output for records too late for every window they belong to. Default 'late'. */
  lateOutput?: string;
  /** State store name (keep it stable across pipeline changes to keep state). Default window-<n>. */
  name?: string;
  /** Bound on keys held in state. Default 1 000 000. */
  keysMax?: number;
}

export class WindowCore<R extends Rec, A, O, S> {
  wm: number;
  readonly timers = new TimerQueue();
  readonly late: (rec: Rec) => void;
  readonly lateness: number;
  readonly onUpdate: boolean;
  private readonly partition: number;

  constructor(
    ctx: TaskContext,
    readonly store: StateStore<S>,
    readonly agg: Aggregator<R, A, O>,
    options: WindowOptions,
    readonly out: (rec: Rec<unknown, WindowResult<O>>) => void,
  ) {
    this.wm = ctx.watermark();
    this.late = ctx.sideOutput(options.lateOutput ?? 'late');
    this.lateness = options.allowedLatenessMs ?? 0;
    this.onUpdate = options.emit === 'update';
    this.partition = ctx.partition;
  }

  emit(key: unknown, start: number, end: number, acc: A): void {
    this.out({
      key,
      value: { start, end, value: this.agg.result(acc) },
      timestamp: end - 1,
      headers: NO_HEADERS,
      // A window result derives from many records: no single input offset describes it.
      topic: '',
      partition: this.partition,
      offset: -1,
    });
  }

  /** Runs due timers up to the new watermark, in time order. */
  advance(watermarkMs: number, fire: (timeMs: number, ck: string) => void): void {
    if (watermarkMs <= this.wm) return;
    this.wm = watermarkMs;
    for (;;) {
      const due = this.timers.pop(watermarkMs);
      if (due === undefined) return;
      const [t, keys] = due;
      for (const ck of keys) fire(t, ck);
    }
  }
}
