/**
 * The librdkafka load generators the benchmarks drive, behind one interface each for producing
 * and consuming, so a benchmark can switch driver with a flag and `npm run bench -- loadgen`
 * can measure every driver's own ceiling against the fake broker.
 *
 * Drivers:
 *  - python: confluent-kafka-python under Debian's /usr/bin/python3 (bench/py/*.py);
 *  - kcat: kcat -P fed from a pre-generated file, kcat -C -e to /dev/null.
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runProcess, runPython } from './process.js';

export type Driver = 'python' | 'kcat';

export function parseDriver(s: string): Driver {
  if (s === 'python' || s === 'kcat') return s;
  throw new Error(`unknown driver ${JSON.stringify(s)} (expected python or kcat)`);
}

export interface ProduceJob {
  bootstrap: string;
  topic: string;
  recordBytes: number;
  records: number;
  /** Parallel producer processes sharing the records (each its own librdkafka instance). */
  processes: number;
  /** librdkafka overrides. */
  config?: Record<string, string | number | boolean>;
  /** Needed by the kcat driver for its input files (best on RAM: see RAM_DIR). */
  scratchDir: string;
  timeoutMs: number;
}

export interface ProduceOutcome {
  records: number;
  bytes: number;
  failed: number;
  /** From the first record handed to a producer to the last acknowledgement, over all processes. */
  seconds: number;
  /** CPU seconds of the producer processes. */
  clientCpuSeconds: number;
  firstError: string | null;
}

interface PyProduceResult {
  sent: number;
  failed: number;
  bytes: number;
  seconds: number;
  start: number;
  end: number;
  enqueueSeconds: number;
  firstError: string | null;
}

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function produce(driver: Driver, job: ProduceJob): Promise<ProduceOutcome> {
  return driver === 'python' ? producePython(job) : produceKcat(job);
}

async function producePython(job: ProduceJob): Promise<ProduceOutcome> {
  const results = await Promise.all(
    split(job.records, job.processes).map((count) =>
      runPython<PyProduceResult>(
        'produce.py',
        { bootstrap: job.bootstrap, topic: job.topic, recordBytes: job.recordBytes, count, config: job.config ?? {}, flushTimeoutS: job.timeoutMs / 1000 },
        { timeoutMs: job.timeoutMs },
      ),
    ),
  );
  const start = Math.min(...results.map((r) => r.start));
  const end = Math.max(...results.map((r) => r.end));
  return {
    records: results.reduce((n, r) => n + r.sent, 0),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    seconds: end - start,
    clientCpuSeconds: results.reduce((n, r) => n + r.cpuSeconds, 0),
    firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
  };
}

/**
 * kcat -P reads one record per line, so values are printable (base64 of random bytes) and the
 * newline is the delimiter. The files are written before the clock starts.
 */
export function writeKcatInput(path: string, recordBytes: number, records: number): void {
  const line = Buffer.concat([Buffer.from(randomBytes(recordBytes).toString('base64').slice(0, recordBytes)), Buffer.from('\n')]);
  const perChunk = Math.max(1, Math.floor((4 * 1024 * 1024) / line.length));
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => line));
  const fd = openSync(path, 'w');
  try {
    let left = records;
    while (left > 0) {
      const n = Math.min(left, perChunk);
      const part = n === perChunk ? chunk : chunk.subarray(0, n * line.length);
      for (let off = 0; off < part.length; ) off += writeSync(fd, part, off);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Tuned against the discard sink (`npm run bench -- loadgen`): a long linger and a deep queue let
 * kcat run ahead of the acks; with these it passed 250 MiB/s where librdkafka's defaults gave
 * ~235 and linger 20 with a 1 GiB queue ~210.
 */
export const KCAT_PRODUCER_DEFAULTS: Record<string, string | number> = {
  acks: 'all',
  'enable.idempotence': 'false',
  'compression.type': 'none',
  'linger.ms': 100,
  // Kafka's (and Weir's) default cap on one record batch is 1 MB.
  'batch.size': 1000000,
  'batch.num.messages': 1000000,
  'message.max.bytes': 16 * 1024 * 1024,
  'queue.buffering.max.kbytes': 2097151,
  'queue.buffering.max.messages': 10000000,
  'socket.send.buffer.bytes': 8 * 1024 * 1024,
};

async function produceKcat(job: ProduceJob): Promise<ProduceOutcome> {
  const counts = split(job.records, job.processes);
  const files = counts.map((count, i) => {
    // Reused across runs of the same size: writing it is not part of what is measured.
    const path = join(job.scratchDir, `kcat-input-${job.recordBytes}-${count}-${i}.txt`);
    if (!existsSync(path)) writeKcatInput(path, job.recordBytes, count);
    return path;
  });
  const conf = { ...KCAT_PRODUCER_DEFAULTS, ...(job.config ?? {}) };
  const xs = Object.entries(conf).flatMap(([k, v]) => ['-X', `${k}=${String(v)}`]);
  const start = performance.now();
  const results = await Promise.all(
    files.map((file) =>
      // kcat exits non-zero if any record failed; -q keeps it from printing per-record errors.
      runProcess('sh', ['-c', 'exec kcat -P -q "$@" < "$WEIR_BENCH_INPUT"', 'kcat', '-b', job.bootstrap, '-t', job.topic, ...xs], {
        timeoutMs: job.timeoutMs,
        env: { ...process.env, WEIR_BENCH_INPUT: file },
      }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  const failedProcs = results.filter((r) => r.code !== 0);
  return {
    records: job.records,
    bytes: job.records * job.recordBytes,
    failed: failedProcs.length > 0 ? -1 : 0,
    seconds,
    clientCpuSeconds: results.reduce((n, r) => n + r.cpuSeconds, 0),
    firstError: failedProcs.length > 0 ? `kcat exited ${failedProcs[0]!.code}: ${failedProcs[0]!.stderr.slice(-500)}` : null,
  };
}

export interface ConsumeJob {
  bootstrap: string;
  topic: string;
  partitions: number;
  /** Records expected; the consumer stops when it has them or at the end of every partition. */
  records: number;
  /** Value size, to turn kcat's record count into bytes. */
  recordBytes: number;
  /** Consumer processes splitting the partitions (python driver only); default 1. */
  processes?: number;
  config?: Record<string, string | number | boolean>;
  timeoutMs: number;
}

export interface ConsumeOutcome {
  records: number;
  bytes: number;
  /** assign() (python) or process start (kcat) to the last record. */
  seconds: number;
  clientCpuSeconds: number;
  errors: string[];
}

export async function consume(driver: Driver, job: ConsumeJob): Promise<ConsumeOutcome> {
  const processes = job.processes ?? 1;
  if (driver === 'python') {
    // Partition p goes to process p % processes; each process stops at end of its partitions.
    const groups = Array.from({ length: processes }, (_, i) => Array.from({ length: job.partitions }, (_, p) => p).filter((p) => p % processes === i));
    const rs = await Promise.all(
      groups.map((partitions) =>
        runPython<{ records: number; bytes: number; start: number; end: number; errors: string[] }>(
          'consume.py',
          { bootstrap: job.bootstrap, topic: job.topic, partitions, count: processes === 1 ? job.records : 0, timeoutS: job.timeoutMs / 1000 - 5, config: job.config ?? {} },
          { timeoutMs: job.timeoutMs },
        ),
      ),
    );
    return {
      records: rs.reduce((n, r) => n + r.records, 0),
      bytes: rs.reduce((n, r) => n + r.bytes, 0),
      seconds: Math.max(...rs.map((r) => r.end)) - Math.min(...rs.map((r) => r.start)),
      clientCpuSeconds: rs.reduce((n, r) => n + r.cpuSeconds, 0),
      errors: rs.flatMap((r) => r.errors),
    };
  }
  if (processes !== 1) throw new Error('the kcat consumer driver runs one process (kcat -C cannot take a partition subset)');
  // librdkafka's default fetch sizes: bigger ones measured slower here (fresh buffers, page faults).
  const xs = Object.entries({ 'fetch.wait.max.ms': 100, ...(job.config ?? {}) }).flatMap(([k, v]) => ['-X', `${k}=${String(v)}`]);
  // Printing only the partition number per record ('%p\n') keeps kcat's output tiny while
  // still letting us count the records it received; -c stops it once it has them all and -e at
  // the end of every partition (so a short topic cannot hang it).
  const r = await runProcess('kcat', ['-C', '-q', '-e', '-o', 'beginning', '-c', String(job.records), '-f', '%p\\n', '-b', job.bootstrap, '-t', job.topic, ...xs], {
    timeoutMs: job.timeoutMs,
  });
  let records = 0;
  for (let i = r.stdout.indexOf('\n'); i !== -1; i = r.stdout.indexOf('\n', i + 1)) records++;
  const errors = r.code === 0 ? [] : [`kcat exited ${r.code}: ${r.stderr.slice(-500)}`];
  return { records, bytes: records * job.recordBytes, seconds: r.seconds, clientCpuSeconds: r.cpuSeconds, errors };
}
