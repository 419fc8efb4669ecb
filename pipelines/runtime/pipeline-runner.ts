/**
 * Runs pipelines in this process: `workers` PipelineWorkers per pipeline, coordinated in-process
 * (embedded mode: MemoryCoordination) or through Redis (several processes on several machines:
 * RedisCoordination), with the checkpoint store on the fs or S3 object store, an optional
 * Prometheus endpoint, and a one-line status every statusIntervalMs. `weir run` is a thin CLI
 * over this; tests and benchmarks use it directly.
 */
import type { Server } from 'node:http';
import type { Coordination } from '../../core/coordination/coordination.js';
import { MemoryCoordination } from '../../core/coordination/memory-coordination.js';
import { RedisCoordination } from '../../core/coordination/redis-coordination.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import type { PipelineSpec } from '../core/contracts.js';
import { serveMetrics, type TaskMetrics } from './metrics.js';
import { PipelineWorker, type PipelineWorkerOptions } from './pipeline-worker.js';
import { applyPipelineV8Tuning } from './v8-tuning.js';

export interface PipelineRunnerOptions {
  pipelines: readonly PipelineSpec[];
  brokers: readonly string[];
  objectStore: ObjectStore;
  workers?: number;
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

export class PipelineRunner {
  readonly workers: PipelineWorker[] = [];
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
    if (this.o.metricsPort !== undefined) this.server = await serveMetrics(this.workers, this.o.metricsPort, this.o.metricsHost);
    if ((this.o.statusIntervalMs ?? 0) > 0 && this.o.status) {
      this.statusTimer = setInterval(() => this.o.status!(this.statusLine()), this.o.statusIntervalMs);
      this.statusTimer.unref();
    }
  }

  taskMetrics(): TaskMetrics[] {
    return this.workers.flatMap((w) => w.taskMetrics());
  }

  /** One line: per pipeline, tasks, in/s, out/s, lag, worst watermark delay, last checkpoint. */
  statusLine(): string {
    const now = Date.now();
    const parts: string[] = [];
    for (const p of this.o.pipelines) {
      const ms = this.taskMetrics().filter((t) => t.pipeline === p.name);
      const totals = this.workers.filter((w) => w.pipelineName === p.name).map((w) => w.totals());
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
    await Promise.all(this.workers.map((w) => w.stop().catch((e: Error) => this.o.log?.(`stop ${w.workerId}: ${e.message}`))));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await this.coordination?.close();
  }
}
