/**
 * Runs pipelines in this process: `workers` PipelineWorkers per pipeline, coordinated in-process
 * (embedded mode: MemoryCoordination) or through Redis (several processes on several machines:
 * RedisCoordination), with the checkpoint store on the fs or S3 object store, an optional
 * Prometheus endpoint, and a one-line status every statusIntervalMs. `weir run` is a thin CLI
 * over this; tests and benchmarks use it directly.
 *
 * Threads (`threads` > 1, Kafka Streams' num.stream.threads): the workers run on that many
 * worker threads instead of this one, so one process uses several cores. Each thread loads
 * `pipelineFile` itself (pipeline-thread.ts) and runs its share of the workers; this thread keeps
 * the one Coordination and the checkpoint store and serves them to the threads over their ports,
 * so threads split tasks exactly as in-thread workers do (same leases, same handover through
 * checkpoints). Metrics and the status line use each thread's figures as of its last sample
 * (every statsIntervalMs).
 */
import type { Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Coordination } from '../../core/coordination/coordination.js';
import { MemoryCoordination } from '../../core/coordination/memory-coordination.js';
import { serveCoordination } from '../../core/coordination/port-coordination.js';
import { WeirError } from '../../core/errors.js';
import { RpcEndpoint } from '../../core/port-rpc.js';
import { serveObjectStore } from '../../core/storage/port-object-store.js';
import { RedisCoordination } from '../../core/coordination/redis-coordination.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import type { PipelineSpec } from '../core/contracts.js';
import { serveMetrics, type MetricsSource, type TaskMetrics } from './metrics.js';
import type { PipelineThreadData, SerializableWorkerOptions, ThreadStats } from './pipeline-thread.js';
import { PipelineWorker, type PipelineWorkerOptions } from './pipeline-worker.js';
import { applyPipelineV8Tuning } from './v8-tuning.js';

export interface PipelineRunnerOptions {
  pipelines: readonly PipelineSpec[];
  brokers: readonly string[];
  objectStore: ObjectStore;
  workers?: number;
  /**
   * Worker threads to run the workers on (default 1: this thread). Above 1 the workers (at least
   * one per thread) are spread over the threads, which needs `pipelineFile`.
   */
  threads?: number;
  /** The module `pipelines` came from (what each thread loads); required with threads > 1. */
  pipelineFile?: string;
  /** How often threads report metrics to this thread (default 1000). */
  statsIntervalMs?: number;
  /** redis://...; unset = embedded (in-process) coordination. */
  redisUrl?: string;
  redisNamespace?: string;
  workerIdPrefix?: string;
  metricsPort?: number;
  metricsHost?: string;
  statusIntervalMs?: number;
  status?: (line: string) => void;
  log?: (line: string) => void;
  worker?: Partial<PipelineWorkerOptions>;
}

/** One worker thread: its port, and its figures as of the last sample. */
class ThreadHandle implements MetricsSource {
  stats: ThreadStats = { taskMetrics: [], totals: [] };
  stopping = false;
  constructor(
    readonly worker: Worker,
    readonly rpc: RpcEndpoint,
    readonly index: number,
  ) {}
  taskMetrics(): TaskMetrics[] {
    return this.stats.taskMetrics;
  }
  async sample(): Promise<ThreadStats> {
    this.stats = await this.rpc.call<ThreadStats>('thread.stats');
    return this.stats;
  }
}

export class PipelineRunner {
  /** The workers running on this thread (none in threads mode: see `threads`). */
  readonly workers: PipelineWorker[] = [];
  private readonly threads: ThreadHandle[] = [];
  private statsTimer: NodeJS.Timeout | null = null;
  private coordination: Coordination | null = null;
  private server: Server | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private lastSample = new Map<string, { in: number; out: number; atMs: number }>();
  private failedPromise: Promise<Error>;
  private failedResolve!: (e: Error) => void;

  constructor(private readonly o: PipelineRunnerOptions) {
    applyPipelineV8Tuning();
    this.failedPromise = new Promise((r) => (this.failedResolve = r));
  }

  /** Resolves with the first worker failure (the CLI exits non-zero on it). */
  get failed(): Promise<Error> {
    return this.failedPromise;
  }

  get metricsPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  async start(): Promise<void> {
    this.coordination = this.o.redisUrl ? new RedisCoordination({ url: this.o.redisUrl, namespace: this.o.redisNamespace ?? 'weir' }) : new MemoryCoordination();
    const threads = this.o.threads ?? 1;
    if (threads > 1) return this.startThreads(threads);
    const n = this.o.workers ?? 1;
    const prefix = this.o.workerIdPrefix ?? `${process.pid}`;
    for (const pipeline of this.o.pipelines) {
      for (let i = 0; i < n; i++) {
        const w = new PipelineWorker({
          ...this.o.worker,
          pipeline,
          brokers: this.o.brokers,
          objectStore: this.o.objectStore,
          coordination: this.coordination,
          workerId: `${prefix}-w${i}`,
          log: this.o.log,
        });
        w.onFailed((e) => this.failedResolve(e));
        this.workers.push(w);
      }
    }
    // Together: each registers before its first assignment, so they split the tasks at once
    // instead of the first taking everything and handing half over a heartbeat later.
    await Promise.all(this.workers.map((w) => w.prepare()));
    await Promise.all(this.workers.map((w) => w.start()));
    await this.startReporting();
  }

  private async startReporting(): Promise<void> {
    if (this.o.metricsPort !== undefined) this.server = await serveMetrics(this.sources(), this.o.metricsPort, this.o.metricsHost);
    if ((this.o.statusIntervalMs ?? 0) > 0 && this.o.status) {
      this.statusTimer = setInterval(() => this.o.status!(this.statusLine()), this.o.statusIntervalMs);
      this.statusTimer.unref();
    }
  }

  private sources(): MetricsSource[] {
    return [...this.workers, ...this.threads];
  }

  private async startThreads(threads: number): Promise<void> {
    const file = this.o.pipelineFile;
    if (file === undefined) throw new WeirError('invalid_argument', 'threads > 1 needs pipelineFile: each thread loads the pipelines from it');
    const { clock, createTask, ...rest } = (this.o.worker ?? {}) as Partial<PipelineWorkerOptions>;
    if (clock !== undefined || createTask !== undefined) throw new WeirError('invalid_argument', 'worker.clock and worker.createTask cannot cross to worker threads: use threads 1');
    // Only plain options cross; the rest is made on the thread (or served from this one).
    const options: SerializableWorkerOptions = { ...rest };
    for (const k of ['pipeline', 'brokers', 'objectStore', 'coordination', 'workerId', 'log'] as const) delete (options as Record<string, unknown>)[k];
    const n = Math.max(this.o.workers ?? 1, threads);
    const prefix = this.o.workerIdPrefix ?? `${process.pid}`;
    const coordination = this.coordination!;
    const ready: Promise<void>[] = [];
    for (let t = 0; t < threads; t++) {
      const workerIds: string[] = [];
      for (let i = t; i < n; i += threads) workerIds.push(`${prefix}-w${i}`);
      const data: PipelineThreadData = {
        file,
        names: this.o.pipelines.map((p) => p.name),
        brokers: [...this.o.brokers],
        workerIds,
        worker: options,
        coordinationKind: coordination.kind,
        objectStoreKind: this.o.objectStore.kind,
      };
      const worker = new Worker(new URL('./pipeline-thread.js', import.meta.url), { workerData: data });
      const rpc = new RpcEndpoint(worker);
      const handle = new ThreadHandle(worker, rpc, t);
      this.threads.push(handle);
      serveCoordination(rpc, coordination);
      serveObjectStore(rpc, this.o.objectStore);
      rpc.handle('runner.log', (line: string) => void this.o.log?.(line));
      rpc.handle('runner.failed', (message: string) => void this.failedResolve(new WeirError('internal', message)));
      ready.push(
        new Promise<void>((resolve, reject) => {
          rpc.handle('runner.ready', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new WeirError('internal', `pipeline thread ${t} exited (code ${code}) before it was ready`)));
        }),
      );
      worker.on('error', (e: Error) => this.failedResolve(new WeirError('internal', `pipeline thread ${t}: ${e.message}`, { cause: e })));
      worker.on('exit', (code) => {
        if (!handle.stopping) this.failedResolve(new WeirError('internal', `pipeline thread ${t} exited (code ${code})`));
      });
    }
    try {
      await Promise.all(ready);
      await Promise.all(this.threads.map((h) => h.rpc.call('thread.prepare')));
      await Promise.all(this.threads.map((h) => h.rpc.call('thread.start')));
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
    const every = this.o.statsIntervalMs ?? 1000;
    this.statsTimer = setInterval(() => void this.sampleThreads().catch(() => {}), every);
    this.statsTimer.unref();
    await this.sampleThreads();
    await this.startReporting();
  }

  private async sampleThreads(): Promise<void> {
    await Promise.all(this.threads.filter((h) => !h.stopping).map((h) => h.sample()));
  }

  /** Records in and out so far, over every worker of every thread (threads sampled now). */
  async totals(): Promise<{ recordsIn: number; recordsOut: number }> {
    await this.sampleThreads();
    let recordsIn = 0;
    let recordsOut = 0;
    for (const w of this.workers) {
      const t = w.totals();
      recordsIn += t.recordsIn;
      recordsOut += t.recordsOut;
    }
    for (const h of this.threads) for (const t of h.stats.totals) (recordsIn += t.recordsIn), (recordsOut += t.recordsOut);
    return { recordsIn, recordsOut };
  }

  /** Every worker's diagnostics (PipelineWorker.diagnostics), threads asked now. */
  async diagnostics(): Promise<Record<string, unknown>[]> {
    const fromThreads = await Promise.all(this.threads.map((h) => h.rpc.call<Record<string, unknown>[]>('thread.diagnostics').catch((e: Error) => [{ thread: h.index, error: e.message }])));
    return [...this.workers.map((w) => w.diagnostics()), ...fromThreads.flat()];
  }

  /** Waits until every worker's output written so far is acknowledged. */
  async flush(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.producer.flush()), ...this.threads.map((h) => h.rpc.call('thread.flush'))]);
  }

  /** Checkpoints every task of every worker now; resolves when done. */
  async checkpointNow(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.checkpointNow()), ...this.threads.map((h) => h.rpc.call('thread.checkpointNow'))]);
  }

  taskMetrics(): TaskMetrics[] {
    return this.sources().flatMap((s) => s.taskMetrics());
  }

  private pipelineTotals(name: string): { recordsIn: number; recordsOut: number }[] {
    return [...this.workers.filter((w) => w.pipelineName === name).map((w) => w.totals()), ...this.threads.flatMap((h) => h.stats.totals.filter((t) => t.pipeline === name))];
  }

  /** One line: per pipeline, tasks, in/s, out/s, lag, worst watermark delay, last checkpoint. */
  statusLine(): string {
    const now = Date.now();
    const parts: string[] = [];
    for (const p of this.o.pipelines) {
      const ms = this.taskMetrics().filter((t) => t.pipeline === p.name);
      const totals = this.pipelineTotals(p.name);
      const tin = totals.reduce((n, t) => n + t.recordsIn, 0);
      const tout = totals.reduce((n, t) => n + t.recordsOut, 0);
      const prev = this.lastSample.get(p.name);
      this.lastSample.set(p.name, { in: tin, out: tout, atMs: now });
      const secs = prev ? Math.max(0.001, (now - prev.atMs) / 1000) : 0;
      const rate = (a: number, b: number | undefined): string => (prev && b !== undefined ? String(Math.round((a - b) / secs)) : '-');
      const lag = ms.reduce((n, t) => n + t.lagRecords, 0);
      const wd = ms.map((t) => t.watermarkDelayMs).filter((x): x is number => x !== null);
      const cp = ms.map((t) => t.lastCheckpointDurationMs).filter((x): x is number => x !== null);
      const cpBytes = ms.reduce((n, t) => n + (t.lastCheckpointBytes ?? 0), 0);
      parts.push(
        `${p.name}: tasks ${ms.length} in/s ${rate(tin, prev?.in)} out/s ${rate(tout, prev?.out)} lag ${lag} wm-delay ${wd.length ? `${Math.max(...wd)}ms` : '-'} checkpoint ${cp.length ? `${Math.max(...cp)}ms ${cpBytes}B` : '-'}`,
      );
    }
    return parts.join(' | ');
  }

  /** Final checkpoints, leases released, everything closed. */
  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    await Promise.all(this.workers.map((w) => w.stop().catch((e: Error) => this.o.log?.(`stop ${w.workerId}: ${e.message}`))));
    await Promise.all(
      this.threads.map(async (h) => {
        // Final checkpoints happen inside the thread, through this thread's coordination and
        // store, so those stay up until every thread is done.
        await h.sample().catch(() => {});
        await h.rpc.call('thread.stop').catch((e: Error) => this.o.log?.(`stop thread ${h.index}: ${e.message}`));
        h.stopping = true;
        await h.worker.terminate();
      }),
    );
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.coordination?.close();
  }
}
