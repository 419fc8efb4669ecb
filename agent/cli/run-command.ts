/**
 * `weir run <file.ts|.js>`: runs the pipelines a file exports (pipelines/runtime/pipeline-runner.ts).
 *
 *   weir run examples/word-count.ts --brokers 127.0.0.1:9092 --workers 2
 *   weir run examples/word-count.ts --threads 2        # the workers on 2 threads: 2 cores
 *   weir run app.js --redis redis://10.0.0.5:6379 --object-store s3 --s3-bucket ckpt   # one per machine
 *
 * Without --redis the workers coordinate in-process (embedded mode); with it, every process
 * running the same pipeline against the same Redis namespace splits its tasks with the others.
 * Checkpoints go to --data-dir (fs) or an S3 bucket. SIGINT/SIGTERM: final checkpoint, leases
 * released, exit 0. A failed pipeline prints one line and exits 1.
 */
import { FsObjectStore } from '../../core/storage/fs-object-store.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { S3ObjectStore } from '../../core/storage/s3-object-store.js';
import { loadPipelineFile } from '../../pipelines/runtime/load-pipeline-file.js';
import { PipelineRunner } from '../../pipelines/runtime/pipeline-runner.js';
import { PIPELINE_LINGER_MS_DEFAULT } from '../../pipelines/runtime/pipeline-worker.js';
import { flagsHelp, parseFlags, UsageError, type FlagDef } from './flags.js';

const flags: Record<string, FlagDef> = {
  brokers: { type: 'list', default: ['127.0.0.1:9092'], description: 'bootstrap brokers, host:port[,host:port...]' },
  workers: { type: 'int', default: 1, min: 1, max: 256, description: 'workers in this process (each runs a share of the tasks)' },
  threads: { type: 'int', default: 1, min: 1, max: 64, description: 'worker threads the workers run on, to use several cores (at least one worker per thread)' },
  redis: { type: 'string', default: '', description: 'redis://host:port to coordinate with workers in other processes; empty = in-process only' },
  'redis-namespace': { type: 'string', default: 'weir', description: 'Redis key namespace (as the agents\')' },
  'worker-id': { type: 'string', default: '', description: 'prefix of this process\'s worker ids (default: host-pid)' },
  pipeline: { type: 'list', default: [], description: 'run only these of the file\'s pipelines (default: all)' },
  'object-store': { type: 'string', default: 'fs', oneOf: ['fs', 's3'], description: 'where checkpoints go' },
  'data-dir': { type: 'string', default: './weir-pipelines', description: 'checkpoint folder for --object-store fs' },
  's3-bucket': { type: 'string', default: '', description: 'bucket for --object-store s3' },
  's3-endpoint': { type: 'string', default: '', description: 'S3-compatible endpoint URL (empty: AWS)' },
  's3-region': { type: 'string', default: '', description: 'S3 region' },
  's3-prefix': { type: 'string', default: '', description: 'key prefix inside the bucket' },
  'checkpoint-interval-ms': { type: 'int', default: 10_000, min: 100, max: 3_600_000, description: 'how often every task checkpoints' },
  'partition-buffer-bytes': { type: 'bytes', default: 4 * 1024 * 1024, min: 64 * 1024, max: 1024 ** 3, description: 'fetch buffer bound per input partition' },
  'buffer-bytes': { type: 'bytes', default: 64 * 1024 * 1024, min: 1024 * 1024, max: 16 * 1024 ** 3, description: 'fetch buffer bound per worker' },
  'linger-ms': { type: 'int', default: PIPELINE_LINGER_MS_DEFAULT, min: 0, max: 60_000, description: "producer linger for output topics (Kafka Streams' default; lower it for latency)" },
  'lease-ttl-ms': { type: 'int', default: 10_000, min: 1_000, max: 600_000, description: 'how long a dead worker keeps its tasks before others take them' },
  'metrics-port': { type: 'int', default: -1, min: -1, max: 65535, description: 'serve Prometheus metrics on this port (0: any free port; -1: off)' },
  'metrics-host': { type: 'string', default: '0.0.0.0', description: 'interface for --metrics-port' },
  'status-interval-ms': { type: 'int', default: 5_000, min: 0, max: 3_600_000, description: 'one status line every so often (0: off)' },
  help: { type: 'bool', env: false, description: 'show this help' },
};

const usage = `usage: weir run <file.ts|file.js> [flags]

Runs the pipelines the file exports. .ts files are compiled on the fly with esbuild.

flags:
${flagsHelp(flags)}`;

export async function runCommand(argv: string[]): Promise<number> {
  const { flags: f, positionals } = parseFlags(argv, flags);
  if (f.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'weir run needs a pipeline file (try weir run --help)' : `weir run takes one file, got ${positionals.join(' ')}`);
  const brokers = f.brokers as string[];
  for (const b of brokers) if (!/^[^:\s]+:\d{1,5}$/.test(b)) throw new UsageError(`invalid value ${JSON.stringify(b)} for --brokers: expected host:port`);
  const redisUrl = f.redis as string;
  if (redisUrl !== '' && !/^rediss?:\/\//.test(redisUrl)) throw new UsageError(`invalid value ${JSON.stringify(redisUrl)} for --redis: expected redis://host:port`);
  let objectStore: ObjectStore;
  if (f['object-store'] === 's3') {
    if (f['s3-bucket'] === '') throw new UsageError('--object-store s3 needs --s3-bucket');
    objectStore = new S3ObjectStore({
      bucket: f['s3-bucket'] as string,
      endpoint: (f['s3-endpoint'] as string) || undefined,
      region: (f['s3-region'] as string) || undefined,
      forcePathStyle: (f['s3-endpoint'] as string) !== '',
      prefix: (f['s3-prefix'] as string) || undefined,
    });
  } else {
    objectStore = new FsObjectStore(f['data-dir'] as string);
  }

  let pipelines = await loadPipelineFile(positionals[0]!);
  const only = f.pipeline as string[];
  if (only.length > 0) {
    const missing = only.filter((n) => !pipelines.some((p) => p.name === n));
    if (missing.length > 0) throw new UsageError(`invalid value ${JSON.stringify(missing[0])} for --pipeline: the file exports ${pipelines.map((p) => p.name).join(', ')}`);
    pipelines = pipelines.filter((p) => only.includes(p.name));
  }

  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const runner = new PipelineRunner({
    pipelines,
    brokers,
    objectStore,
    workers: f.workers as number,
    threads: f.threads as number,
    pipelineFile: positionals[0]!,
    redisUrl: redisUrl || undefined,
    redisNamespace: f['redis-namespace'] as string,
    workerIdPrefix: (f['worker-id'] as string) || undefined,
    metricsPort: (f['metrics-port'] as number) >= 0 ? (f['metrics-port'] as number) : undefined,
    metricsHost: f['metrics-host'] as string,
    statusIntervalMs: f['status-interval-ms'] as number,
    status: (line) => void process.stdout.write(`${line}\n`),
    log,
    worker: {
      checkpointIntervalMs: f['checkpoint-interval-ms'] as number,
      partitionBufferBytesMax: f['partition-buffer-bytes'] as number,
      bufferBytesMax: f['buffer-bytes'] as number,
      leaseTtlMs: f['lease-ttl-ms'] as number,
      heartbeatIntervalMs: Math.max(100, Math.floor((f['lease-ttl-ms'] as number) / 5)),
      producer: { lingerMs: f['linger-ms'] as number },
    },
  });
  await runner.start();
  const names = pipelines.map((p) => p.name).join(', ');
  const threads = f.threads as number;
  const workers = Math.max(f.workers as number, threads);
  process.stdout.write(
    `weir run: ${names} running with ${workers} worker(s)${threads > 1 ? ` on ${threads} threads` : ''}${redisUrl ? ` via ${redisUrl}` : ' (embedded)'}${runner.metricsPort !== null ? `; metrics on :${runner.metricsPort}/metrics` : ''}\n`,
  );
  const outcome = await new Promise<{ signal: string } | { error: Error }>((resolve) => {
    process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
    process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
    void runner.failed.then((error) => resolve({ error }));
  });
  if ('error' in outcome) {
    process.stderr.write(`weir run: ${outcome.error.message}\n`);
    await runner.stop().catch(() => {});
    await objectStore.close();
    return 1;
  }
  await runner.stop();
  await objectStore.close();
  process.stdout.write(`weir run: stopped (${outcome.signal}); final checkpoint written\n`);
  return 0;
}
