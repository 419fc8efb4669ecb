/**
 * Where range jobs run. Embedded mode runs each job in this process as it is planned. Redis mode
 * puts it on a BullMQ queue (one job per topic-partition range); workers in any number of
 * `weir tables sync` processes take them. The job id is the range's start (topic, partition,
 * from offset), so the several planners that see the same pending range add it once; and two
 * workers that end up with the same range anyway (a stalled job handed out again) cannot both
 * commit it: the manifest's commit refuses the second (range-compactor.ts).
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { compactRange, type RangeJob, type RangeOutcome } from './range-compactor.js';
import type { TableContext } from './table-context.js';

export interface WorkQueue {
  /** Embedded: runs the job now. Redis: enqueues it (a no-op if that range is already queued or running). */
  submit(job: RangeJob): Promise<void>;
  /** Ranges this process committed, and rows in them. */
  readonly stats: { ranges: number; rows: number; conflicts: number };
  /** True when the work submitted is done once settle() resolves. */
  readonly inProcess: boolean;
  /** Embedded: waits for every job submitted so far (throws the first failure). Redis: nothing to wait for here. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs jobs in this process, up to one per lane connection at once (ctx.laneConnections, 2 by
 * default). Why two: a range's time is about half JavaScript on the main thread (log read, record
 * scan, appender) and half DuckDB on a worker thread (inference, json_transform, Parquet write);
 * with DuckDB at 1 thread, a second range in flight scans its log while the first one's DuckDB
 * statements run, using the machine's second core. Ranges of different partitions only: the
 * sync loop submits at most one range per partition per round and settles before the next.
 */
export class InProcessQueue implements WorkQueue {
  readonly stats = { ranges: 0, rows: 0, conflicts: 0 };
  readonly inProcess = true;
  private readonly free: TableContext[];
  private readonly running = new Set<Promise<void>>();
  private failure: unknown = null;
  constructor(
    ctx: TableContext,
    private readonly onRows?: (n: number) => void,
    private readonly onOutcome?: (o: RangeOutcome) => void,
  ) {
    this.free = ctx.laneConnections.map((duck) => ({ ...ctx, duck }));
  }
  /** Starts the job on a free lane; waits first while every lane is busy. */
  async submit(job: RangeJob): Promise<void> {
    while (this.free.length === 0) await Promise.race(this.running);
    this.throwFailure();
    const lane = this.free.pop()!;
    const run = (async () => {
      try {
        const o = await compactRange(lane, job, this.onRows);
        count(this.stats, o);
        this.onOutcome?.(o);
      } catch (e) {
        this.failure ??= e;
      } finally {
        this.free.push(lane);
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }
  async settle(): Promise<void> {
    await Promise.all(this.running);
    this.throwFailure();
  }
  private throwFailure(): void {
    if (this.failure === null) return;
    const e = this.failure;
    this.failure = null;
    throw e;
  }
  async close(): Promise<void> {
    await Promise.allSettled(this.running);
  }
}

function count(stats: WorkQueue['stats'], o: RangeOutcome): void {
  if (o.committed) {
    stats.ranges++;
    stats.rows += o.rows;
  } else stats.conflicts++;
}

export function redisConnection(url: string): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's workers block on Redis; it requires unbounded retries on its connections.
    maxRetriesPerRequest: null,
  };
}

export const TABLE_QUEUE = 'weir-tables';

export class BullMQQueue implements WorkQueue {
  readonly stats = { ranges: 0, rows: 0, conflicts: 0 };
  readonly inProcess = false;
  private readonly queue: Queue;
  private readonly worker: Worker;

  constructor(ctx: TableContext, redisUrl: string, prefix: string, opts: { concurrency?: number; lockDurationMs?: number; onRows?: (n: number) => void } = {}) {
    const connection = redisConnection(redisUrl);
    this.queue = new Queue(TABLE_QUEUE, { connection, prefix });
    this.worker = new Worker(
      TABLE_QUEUE,
      async (job) => {
        const outcome = await compactRange(ctx, job.data as RangeJob, opts.onRows);
        count(this.stats, outcome);
        return outcome.committed;
      },
      // A job whose worker died is handed out again after its lock expires (lockDurationMs).
      { connection, prefix, concurrency: opts.concurrency ?? 1, lockDuration: opts.lockDurationMs ?? 30_000 },
    );
    this.worker.on('failed', (job, err) => ctx.log('warn', `range job ${job?.id ?? '?'} failed: ${err.message}`));
  }

  async settle(): Promise<void> {}

  async submit(job: RangeJob): Promise<void> {
    // BullMQ ids may not contain ':'; topic names cannot contain '~'.
    await this.queue.add('range', job, { jobId: `r~${job.topic}~${job.partition}~${job.fromOffset}`, removeOnComplete: true, removeOnFail: true });
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
