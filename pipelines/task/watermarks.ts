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
 */
import type { Rec } from '../core/contracts.js';

interface Input {
  readonly topic: string;
  readonly partition: number;
  maxEventTimeMs: number;
  lastRecordAtMs: number;
}

export interface WatermarkState {
  watermarkMs: number;
  inputs: [string, number, number][]; // topic, partition, maxEventTimeMs
}

export class Watermarks {
  private readonly inputs: Input[] = [];
  private last: Input | undefined;
  private current = -Infinity;

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

  private input(topic: string, partition: number, nowMs: number): Input {
    for (const i of this.inputs) if (i.topic === topic && i.partition === partition) return i;
    // A record from an input the runtime did not announce still counts (e.g. a test piping an
    // extra partition); it joins from now on.
    const i: Input = { topic, partition, maxEventTimeMs: -Infinity, lastRecordAtMs: nowMs };
    this.inputs.push(i);
    return i;
  }

  /** Records one input record; hot path, so the last input is cached. */
  observe(rec: Rec, nowMs: number): void {
    let i = this.last;
    if (i === undefined || i.topic !== rec.topic || i.partition !== rec.partition) {
      i = this.input(rec.topic, rec.partition, nowMs);
      this.last = i;
    }
    if (rec.timestamp > i.maxEventTimeMs) i.maxEventTimeMs = rec.timestamp;
    i.lastRecordAtMs = nowMs;
  }

  /** Recomputes; returns the new watermark if it advanced, otherwise undefined. */
  compute(nowMs: number): number | undefined {
    let minActive = Infinity;
    let anyActive = false;
    let maxAll = -Infinity;
    for (const i of this.inputs) {
      const w = i.maxEventTimeMs - this.outOfOrdernessMs;
      if (w > maxAll) maxAll = w;
      if (nowMs - i.lastRecordAtMs < this.idleTimeoutMs) {
        anyActive = true;
        if (w < minActive) minActive = w;
      }
    }
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
    return { watermarkMs: this.current, inputs: this.inputs.map((i) => [i.topic, i.partition, i.maxEventTimeMs]) };
  }

  restore(s: WatermarkState, nowMs: number): void {
    this.current = s.watermarkMs;
    for (const [topic, partition, max] of s.inputs) {
      const i = this.input(topic, partition, nowMs);
      i.maxEventTimeMs = max;
    }
  }
}
