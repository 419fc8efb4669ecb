/**
 * The table connector's main loop: for each chosen topic, plans the next range of every partition
 * (planner.ts), hands it to the work queue (in-process, or BullMQ in Redis mode), and between
 * rounds merges small files and purges retired ones. `once` compacts everything up to the high
 * watermarks seen at start (a backfill) and returns.
 */
import { WeirError, isWeirError } from '../../core/errors.js';
import { mergeSmallFiles, purgeRetiredFiles } from './merger.js';
import { OrphanSweeper } from './orphans.js';
import { planRange, type PlanSettings } from './planner.js';
import type { TableContext } from './table-context.js';
import type { WorkQueue } from './work-queue.js';

export interface SyncSettings extends PlanSettings {
  topics: string[];
  once: boolean;
  /** How often the loop looks for new data. */
  pollIntervalMs: number;
  mergeMinFiles: number;
  /** How long files replaced by a merge stay readable for queries already running. */
  retiredGraceMs: number;
  /** How long a file written but never committed (a killed sync's) is seen as one before it is deleted. */
  orphanGraceMs: number;
  /**
   * Backfill progress: offsets committed to the table so far of the total to compact (once mode),
   * read from the manifest, so it only counts what is in the table. Called after every round and,
   * while a round runs, every progressIntervalMs (ranges of a round commit one by one).
   */
  onProgress?: (done: number, total: number) => void;
  /** How often progress is read from the manifest during a round (default 250 ms, at least 10). */
  progressIntervalMs?: number;
  signal?: AbortSignal;
}

interface PartitionPlan {
  topic: string;
  topicId: string;
  partition: number;
  next: number;
  hwm: number;
}

export class TableSync {
  private readonly pendingSince = new Map<string, { next: number; sinceMs: number }>();
  private readonly orphans: OrphanSweeper;
  private lastSweepMs = -Infinity;

  constructor(private readonly ctx: TableContext, private readonly queue: WorkQueue, private readonly s: SyncSettings) {
    this.orphans = new OrphanSweeper(ctx, s.orphanGraceMs);
  }

  private async partitions(): Promise<PartitionPlan[]> {
    const out: PartitionPlan[] = [];
    for (const topic of this.s.topics) {
      const info = await this.ctx.metadata.getTopic(topic);
      if (info === null) throw new WeirError('not_found', `unknown topic ${JSON.stringify(topic)}`);
      const state = await this.ctx.manifest.getTable(topic);
      if (state !== null && state.topicId !== info.id) {
        throw new WeirError('conflict', `the table of ${topic} was built from an earlier topic of that name; drop it with weir tables drop ${topic}`, { retriable: false });
      }
      for (let p = 0; p < info.partitions; p++) {
        const ps = await this.ctx.metadata.getPartitionState(topic, p);
        if (ps === null) continue;
        const next = state?.nextOffsets.get(p) ?? ps.logStartOffset;
        out.push({ topic, topicId: info.id, partition: p, next, hwm: ps.highWatermark });
      }
    }
    return out;
  }

  /** One round: plans and submits a range per partition that is due. Returns the ranges submitted. */
  async round(force: boolean, targets?: Map<string, number>): Promise<number> {
    const now = Date.now();
    let submitted = 0;
    for (const p of await this.partitions()) {
      const id = `${p.topic}/${p.partition}`;
      const hwm = targets ? Math.min(p.hwm, targets.get(id) ?? p.hwm) : p.hwm;
      if (p.next >= hwm) {
        this.pendingSince.delete(id);
        continue;
      }
      let since = this.pendingSince.get(id);
      if (since === undefined || since.next !== p.next) {
        since = { next: p.next, sinceMs: since?.next === p.next ? since.sinceMs : now };
        this.pendingSince.set(id, since);
      }
      const range = await planRange(this.ctx.metadata, p.topic, p.partition, p.next, hwm, since.sinceMs, now, this.s, force);
      if (range === null) continue;
      try {
        await this.queue.submit({ topic: p.topic, topicId: p.topicId, partition: p.partition, fromOffset: range.fromOffset, endOffset: range.endOffset });
      } catch (e) {
        // A lane's earlier job failed: let the others finish before the error goes up.
        await this.queue.settle().catch(() => undefined);
        throw e;
      }
      submitted++;
    }
    // Embedded mode runs a round's ranges side by side (work-queue.ts): all done before the next plan.
    await this.queue.settle();
    return submitted;
  }

  /** Merges small files, deletes retired files past their grace, and (at most once a minute) orphans. */
  async maintain(): Promise<void> {
    const now = Date.now();
    // Listing the table folder is the costly part (S3 LIST): not every poll.
    const sweep = now - this.lastSweepMs >= Math.min(60_000, Math.max(this.s.orphanGraceMs / 2, 1000));
    if (sweep) this.lastSweepMs = now;
    for (const topic of this.s.topics) {
      await mergeSmallFiles(this.ctx, topic, this.s);
      await purgeRetiredFiles(this.ctx, topic, this.s.retiredGraceMs, Date.now());
      if (sweep) await this.orphans.sweep(topic, Date.now());
    }
  }

  async run(): Promise<void> {
    if (this.s.once) return this.backfill();
    while (!this.s.signal?.aborted) {
      try {
        await this.round(false);
        await this.maintain();
      } catch (e) {
        if (!isWeirError(e) || !e.retriable) throw e;
        this.ctx.log('warn', `${e.message}; retrying`);
      }
      await sleep(this.s.pollIntervalMs, this.s.signal);
    }
  }

  /** Compacts everything below the high watermarks seen now, then returns. */
  private async backfill(): Promise<void> {
    const start = await this.partitions();
    const targets = new Map(start.map((p) => [`${p.topic}/${p.partition}`, p.hwm]));
    const total = start.reduce((n, p) => n + Math.max(0, p.hwm - p.next), 0);
    const report = this.s.onProgress === undefined ? null : (done: number): void => this.s.onProgress!(Math.min(total, Math.max(0, done)), total);
    for (;;) {
      const now = await this.partitions();
      report?.(doneOffsets(start, (topic, partition) => now.find((p) => p.topic === topic && p.partition === partition)?.next));
      if (now.every((p) => p.next >= (targets.get(`${p.topic}/${p.partition}`) ?? 0))) {
        // A backfill ends with the same upkeep a continuous sync does between rounds.
        await this.maintain();
        break;
      }
      if (this.s.signal?.aborted) return;
      const submitted = await this.withProgress(this.round(true, targets), start, report);
      // In Redis mode the work happens in workers (maybe in other processes): wait for them.
      if (submitted === 0 || !this.queue.inProcess) await sleep(Math.min(this.s.pollIntervalMs, 200), this.s.signal);
    }
  }

  /** Awaits `work`, reporting progress from the manifest every progressIntervalMs meanwhile. */
  private async withProgress<T>(work: Promise<T>, start: PartitionPlan[], report: ((done: number) => void) | null): Promise<T> {
    if (report === null) return work;
    let settled = false;
    const finished = work.then(
      () => (settled = true),
      () => (settled = true),
    );
    const interval = Math.max(10, this.s.progressIntervalMs ?? 250);
    while (!settled) {
      await Promise.race([finished, sleep(interval)]);
      if (settled) break;
      const states = new Map<string, Map<number, number>>();
      for (const topic of new Set(start.map((p) => p.topic))) states.set(topic, (await this.ctx.manifest.getTable(topic))?.nextOffsets ?? new Map());
      if (!settled) report(doneOffsets(start, (topic, partition) => states.get(topic)?.get(partition)));
    }
    return work;
  }
}

/** Offsets compacted since the backfill started: per partition, its next offset now (capped at its target) minus at start. */
function doneOffsets(start: PartitionPlan[], nextNow: (topic: string, partition: number) => number | undefined): number {
  return start.reduce((n, s) => n + Math.max(0, Math.min(nextNow(s.topic, s.partition) ?? s.next, s.hwm) - s.next), 0);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
