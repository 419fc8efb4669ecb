/**
 * The entry of one worker thread of `weir run --threads N` (PipelineRunner, threads mode).
 *
 * A thread loads the pipeline file itself (functions cannot cross threads; each thread gets its
 * own module instances, so a pipeline's operators and this thread's runtime share one ambient
 * task context, as on the main thread), then runs its share of the process's PipelineWorkers.
 * What must stay one per process is served by the main thread over the worker port
 * (core/port-rpc.ts): the Coordination (so threads split tasks through the same in-process
 * registry and leases, or the same Redis connection) and the checkpoint ObjectStore (a memory
 * store stays one store). Everything per record (fetch, decode, the user's operators, produce)
 * runs here, on this thread's core.
 *
 * Calls the main thread serves: runner.ready(), runner.log(line), runner.failed(message).
 * Calls this thread serves: thread.prepare(), thread.start(), thread.stats(), thread.flush(),
 * thread.totals(), thread.diagnostics(), thread.checkpointNow(), thread.stop().
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PortCoordination } from '../../core/coordination/port-coordination.js';
import { RpcEndpoint, type RpcPort } from '../../core/port-rpc.js';
import { PortObjectStore } from '../../core/storage/port-object-store.js';
import { loadPipelineFile } from './load-pipeline-file.js';
import type { TaskMetrics } from './metrics.js';
import { PipelineWorker, type PipelineWorkerOptions } from './pipeline-worker.js';
import { applyPipelineV8Tuning } from './v8-tuning.js';

/** What the runner hands a thread (structured-cloneable only). */
export interface PipelineThreadData {
  file: string;
  /** Pipelines of the file to run. */
  names: string[];
  brokers: string[];
  /** One PipelineWorker per pipeline per id. */
  workerIds: string[];
  worker: SerializableWorkerOptions;
  coordinationKind: string;
  objectStoreKind: string;
}

export type SerializableWorkerOptions = Omit<Partial<PipelineWorkerOptions>, 'pipeline' | 'brokers' | 'objectStore' | 'coordination' | 'workerId' | 'log' | 'clock' | 'createTask'>;

export interface ThreadStats {
  taskMetrics: TaskMetrics[];
  totals: { pipeline: string; recordsIn: number; recordsOut: number }[];
}

async function main(): Promise<void> {
  const data = workerData as PipelineThreadData;
  applyPipelineV8Tuning();
  const rpc = new RpcEndpoint(parentPort as unknown as RpcPort);
  const log = (line: string): void => void rpc.call('runner.log', line).catch(() => {});
  const coordination = new PortCoordination(rpc, data.coordinationKind);
  const objectStore = new PortObjectStore(rpc, data.objectStoreKind);
  const pipelines = (await loadPipelineFile(data.file)).filter((p) => data.names.includes(p.name));
  const workers: PipelineWorker[] = [];
  for (const pipeline of pipelines) {
    for (const workerId of data.workerIds) {
      const w = new PipelineWorker({ ...data.worker, pipeline, brokers: data.brokers, objectStore, coordination, workerId, log });
      w.onFailed((e) => void rpc.call('runner.failed', `${workerId}: ${e.message}`).catch(() => {}));
      workers.push(w);
    }
  }
  rpc.handle('thread.prepare', async () => void (await Promise.all(workers.map((w) => w.prepare()))));
  rpc.handle('thread.start', async () => void (await Promise.all(workers.map((w) => w.start()))));
  const totals = (): ThreadStats['totals'] => workers.map((w) => ({ pipeline: w.pipelineName, ...w.totals() }));
  rpc.handle('thread.stats', (): ThreadStats => ({ taskMetrics: workers.flatMap((w) => w.taskMetrics()), totals: totals() }));
  rpc.handle('thread.totals', totals);
  rpc.handle('thread.diagnostics', () => workers.map((w) => w.diagnostics()));
  rpc.handle('thread.flush', async () => void (await Promise.all(workers.map((w) => w.producer.flush()))));
  rpc.handle('thread.checkpointNow', async () => void (await Promise.all(workers.map((w) => w.checkpointNow()))));
  rpc.handle('thread.stop', async () => {
    const errors: string[] = [];
    await Promise.all(workers.map((w) => w.stop().catch((e: Error) => errors.push(`stop ${w.workerId}: ${e.message}`))));
    for (const e of errors) log(e);
  });
  await rpc.call('runner.ready');
}

main().catch((e: Error) => {
  // Surfaces as the Worker's 'error' event on the main thread, which fails the runner.
  throw e;
});
