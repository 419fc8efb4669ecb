/**
 * Event-time watermarks of one task.
 *
 * Each input partition tracks the highest event time seen; its watermark is that minus the
 * source's outOfOrdernessMs (records with a timestamp below the watermark are late). The task's
 * watermark is the minimum over active inputs: an input with no record for idleTimeoutMs of
 * processing time is idle and does not hold the watermark back (a partition that receives
 * nothing must not stall every window). When every input is idle the watermark is the maximum
 * of the inputs' watermarks: all data seen so far is then as complete as it gets. The watermark
 * never moves back. An input that has never had a record counts as active until its idle timeout
 * has passed since the task started, so a slow-starting partition does not see its early
 * records declared late.
 *
 * An input that carries watermark marks (a repartition topic written by tasks that broadcast
 * their watermarks, see WatermarkMark in contracts.ts) takes its watermark from them instead:
 * the minimum over its writers that are not idle, once every writer has reported; it is idle
 * itself when all its writers are.
 */
import { WATERMARK_HEADER, type Rec } from '../core/contracts.js';
import { decodeWatermarkMark } from './watermark-marks.js';

interface Writer {
  w: number;
  idle: boolean;
}

interface Input {
  readonly topic: string;
  readonly partition: number;
  maxEventTimeMs: number;
  lastRecordAtMs: number;
  /** Upstream writers' marks, by task id, once any mark arrived. */
  marks?: Map<string, Writer>;
  writers?: number;
}

export interface WatermarkState {
  watermarkMs: number;
  idle: boolean;
  /** topic, partition, maxEventTimeMs, marks ([task, watermark, idle]), writers */
  inputs: [string, number, number, [string, number, boolean][] | null, number | null][];
}

export class Watermarks {
  private readonly inputs: Input[] = [];
  private last: Input | undefined;
  private current = -Infinity;
  private allIdle = false;

  constructor(
    inputs: readonly { topic: string; partition: number }[],
    private readonly outOfOrdernessMs: number,
    private readonly idleTimeoutMs: number,
    startMs: number,
  ) {
    for (const i of inputs) this.inputs.push({ topic: i.topic, partition: i.partition, maxEventTimeMs: -Infinity, lastRecordAtMs: startMs });
  }

  get watermarkMs(): number {
    return this.current;
  }

  /** Whether every input was idle at the last compute(). */
  get idle(): boolean {
    return this.allIdle;
  }

  private input(topic: string, partition: number, nowMs: number): Input {
    for (const i of this.inputs) if (i.topic === topic && i.partition === partition) return i;
    // A record from an input the runtime did not announce still counts (e.g. a test piping an
    // extra partition); it joins from now on.
    const i: Input = { topic, partition, maxEventTimeMs: -Infinity, lastRecordAtMs: nowMs };
    this.inputs.push(i);
    return i;
  }

  /**
   * Records one input record; hot path, so the last input is cached. Returns false for a
   * watermark mark, which the task must not pass to its operators.
   */
  observe(rec: Rec, nowMs: number): boolean {
    let i = this.last;
    if (i === undefined || i.topic !== rec.topic || i.partition !== rec.partition) {
      i = this.input(rec.topic, rec.partition, nowMs);
      this.last = i;
    }
    i.lastRecordAtMs = nowMs;
    const mark = rec.headers[WATERMARK_HEADER];
    if (mark !== undefined && mark !== null) {
      const m = decodeWatermarkMark(mark);
      if (i.marks === undefined) i.marks = new Map();
      const prev = i.marks.get(m.fromTaskId);
      // A writer's watermark never goes back (a re-delivered old mark after a restart is ignored).
      i.marks.set(m.fromTaskId, { w: prev === undefined ? m.watermarkMs : Math.max(prev.w, m.watermarkMs), idle: m.idle });
      i.writers = m.writers;
      return false;
    }
    if (rec.timestamp > i.maxEventTimeMs) i.maxEventTimeMs = rec.timestamp;
    return true;
  }

  /** An input's watermark and whether it is idle, at nowMs. */
  private of(i: Input, nowMs: number): [number, boolean] {
    const silent = nowMs - i.lastRecordAtMs >= this.idleTimeoutMs;
    if (i.marks === undefined) return [i.maxEventTimeMs - this.outOfOrdernessMs, silent];
    let min = Infinity;
    let max = -Infinity;
    let active = 0;
    for (const wr of i.marks.values()) {
      if (wr.w > max) max = wr.w;
      if (!wr.idle) {
        active++;
        if (wr.w < min) min = wr.w;
      }
    }
    // Writers that have not reported yet hold the input back (they may still send older data).
    if (i.marks.size < (i.writers ?? 0)) return [-Infinity, silent];
    if (active === 0) return [max, true];
    return [min, silent];
  }

  /** Recomputes; returns the new watermark if it advanced, otherwise undefined. */
  compute(nowMs: number): number | undefined {
    let minActive = Infinity;
    let anyActive = false;
    let maxAll = -Infinity;
    for (const i of this.inputs) {
      const [w, idle] = this.of(i, nowMs);
      if (w > maxAll) maxAll = w;
      if (!idle) {
        anyActive = true;
        if (w < minActive) minActive = w;
      }
    }
    this.allIdle = !anyActive;
    const candidate = anyActive ? minActive : maxAll;
    if (candidate > this.current) {
      this.current = candidate;
      return candidate;
    }
    return undefined;
  }

  /** End of a bounded input. */
  finish(): number | undefined {
    if (this.current === Infinity) return undefined;
    this.current = Infinity;
    return Infinity;
  }

  state(): WatermarkState {
    return {
      watermarkMs: this.current,
      idle: this.allIdle,
      inputs: this.inputs.map((i) => [
        i.topic,
        i.partition,
        i.maxEventTimeMs,
        i.marks === undefined ? null : [...i.marks.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, wr]) => [t, wr.w, wr.idle]),
        i.writers ?? null,
      ]),
    };
  }

  restore(s: WatermarkState, nowMs: number): void {
    this.current = s.watermarkMs;
    this.allIdle = s.idle;
    for (const [topic, partition, max, marks, writers] of s.inputs) {
      const i = this.input(topic, partition, nowMs);
      i.maxEventTimeMs = max;
      if (marks !== null) i.marks = new Map(marks.map(([t, w, idle]) => [t, { w, idle }]));
      if (writers !== null) i.writers = writers;
    }
  }
}
