/**
 * Topic to topic through a real agent: a map/filter pipeline (`weir run`'s runtime, in this
 * process) against the best hand-written kafkajs consume-transform-produce loop (eachBatch,
 * one batched send per fetched batch, offsets resolved and committed per batch), in the same
 * run, over the same input records. Target: the pipeline at >= 5x the loop.
 *
 * The pipeline runs twice: on --threads worker threads (default 2, this machine's cores; what
 * `weir run --threads 2` does), which the target is judged on, and on one thread (the main
 * thread, as `weir run` without --threads), printed beside it. Both ratios and every side's CPU
 * seconds are printed, so per-core efficiency stays visible. docs/decisions.md says why.
 *
 * Input: --records JSON events (~90 B) in --partitions partitions, preloaded with Weir's client.
 * Transform (both sides): parse JSON, keep events whose amount is even (about half), emit
 * { user, cents, day } re-serialized as JSON, keyed by the input key. Each side reads from the
 * earliest offset with its own consumer group and writes its own output topic with acks=all;
 * a side is done when it has consumed every input record and every output record is
 * acknowledged (the loop: its last send resolved; the pipeline: its sinks' flush). Each clock
 * starts when the first input records arrive (group join and connection setup excluded on both
 * sides). Figures are input records per second of wall time, and the benchmark process's CPU
 * seconds for each.
 *
 * Also measured, same run: the same loop hand-written on Weir's own client (core/client), which
 * isolates the client choice (kafkajs vs Weir's codec) from the pipeline runtime's own cost.
 *
 * Run: npm run bench -- pipeline-topic [--records 1000000] [--partitions 4] [--linger-ms 5]
 *   [--threads 2] [--sides kafkajs,weir-loop,pipeline-1,pipeline] [--profile out.cpuprofile]
 * --sides runs a subset (a ratio is printed only when kafkajs and that pipeline side both ran);
 * --profile writes a V8 CPU profile of the single-thread pipeline phase (Chrome DevTools).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { Fetcher, KafkaClient, Producer } from '../core/client/index.js';
import { MemoryObjectStore } from '../core/storage/memory-object-store.js';
import { PipelineRunner } from '../pipelines/runtime/pipeline-runner.js';
import { applyPipelineV8Tuning } from '../pipelines/runtime/v8-tuning.js';
import { cleanup, makeTempDir, startAgent } from './lib/agent.js';
import { cpuSecondsOf } from './lib/process.js';
import { keep, singleThread, threaded, transform, type Event, type Out } from './pipelines/map-filter.js';
import { fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';

const TARGET_RATIO = 5;

const flags = parseBenchFlags('pipeline-topic', {
  records: { default: 1_000_000, description: 'input records' },
  partitions: { default: 4, description: 'partitions of the input and output topics' },
  'linger-ms': { default: 5, description: 'agent --linger-ms (how long the agent batches produces before a flush)' },
  threads: { default: 2, description: 'worker threads of the (threaded) pipeline side' },
  sides: { default: 'kafkajs,weir-loop,pipeline-1,pipeline', description: 'which sides to run, comma-separated' },
  profile: { default: '', description: 'write a CPU profile of the pipeline phase to this file' },
});
// The pipeline runtime's V8 settings (pipelines/runtime/v8-tuning.ts) for the whole process, so
// every side runs under the same flags (WEIR_V8_PRETENURING=1 keeps V8's default, to compare).
applyPipelineV8Tuning();
const SIDES = new Set(flags.sides.split(',').map((x) => x.trim()));
for (const x of SIDES) if (!['kafkajs', 'weir-loop', 'pipeline-1', 'pipeline'].includes(x)) {
  console.error(`pipeline-topic: invalid value ${JSON.stringify(x)} for --sides: expected kafkajs, weir-loop, pipeline-1, pipeline`);
  process.exit(2);
}

async function preload(client: KafkaClient, topic: string, n: number, partitions: number): Promise<number> {
  const p = new Producer(client, { lingerMs: 5, batchBytesMax: 512 * 1024 });
  let kept = 0;
  for (let i = 0; i < n; i++) {
    // Record i goes to partition i % partitions; the amount comes from the record's place within
    // its partition, so every partition keeps about half its records. (It was (i * 7) % 1000,
    // whose parity is i's: with 4 partitions, partitions 0 and 2 kept everything and 1 and 3
    // nothing, which gave one pipeline thread all the output.)
    const e: Event = { id: i, user: `user-${i % 10_000}`, amount: (Math.floor(i / partitions) * 7) % 1000, ts: 1_700_000_000_000 + i, tags: ['web', i % 3 === 0 ? 'mobile' : 'desktop'] };
    if (keep(e)) kept++;
    if (i % 1000 === 0) await p.writable();
    p.append(topic, i % partitions, { key: Buffer.from(e.user), value: Buffer.from(JSON.stringify(e)), timestamp: e.ts });
  }
  await p.close();
  return kept;
}

async function endOffsetsSum(client: KafkaClient, topic: string, partitions: number): Promise<number> {
  const ends = await client.listOffsets(topic, Array.from({ length: partitions }, (_, i) => i), 'latest');
  return [...ends.values()].reduce((a, b) => a + b, 0);
}

async function runKafkajsLoop(bootstrap: string, n: number): Promise<{ seconds: number; cpuSeconds: number; sent: number }> {
  const kafka = new Kafka({ clientId: 'bench-loop', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({
    groupId: 'bench-loop',
    // kafkajs's own defaults (10 MiB per fetch, 1 MiB per partition): larger fetches made it
    // slower here, its decoder copying growing buffers.
    maxWaitTimeInMs: 100,
    sessionTimeout: 30_000,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: 'bench-in', fromBeginning: true });
  let consumed = 0;
  let sent = 0;
  // The clock starts at the first batch: group join (the agent's initial rebalance delay) and
  // connection setup are not throughput, and the pipeline's clock starts the same way.
  let cpu0 = process.cpuUsage();
  let t0 = 0;
  await new Promise<void>((resolve, reject) => {
    // kafkajs stops a consumer whose retries ran out; without this the benchmark would just end.
    consumer.on(consumer.events.CRASH, (e) => reject(new Error(`kafkajs consumer crashed: ${String(e.payload.error)}`)));
    consumer
      .run({
        partitionsConsumedConcurrently: flags.partitions,
        eachBatchAutoResolve: false,
        autoCommitInterval: 1000,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          if (!isRunning() || isStale()) return;
          if (t0 === 0) {
            t0 = performance.now();
            cpu0 = process.cpuUsage();
          }
          const messages: { key: Buffer | null; value: string; timestamp: string }[] = [];
          for (const m of batch.messages) {
            const e = JSON.parse(m.value!.toString()) as Event;
            if (keep(e)) messages.push({ key: m.key, value: JSON.stringify(transform(e)), timestamp: m.timestamp });
          }
          if (messages.length > 0) await producer.send({ topic: 'bench-out-loop', acks: -1, compression: CompressionTypes.None, messages });
          sent += messages.length;
          resolveOffset(batch.lastOffset());
          await commitOffsetsIfNecessary();
          await heartbeat();
          consumed += batch.messages.length;
          if (consumed >= n) resolve();
        },
      })
      .catch(reject);
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  await consumer.disconnect();
  await producer.disconnect();
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, sent };
}

/**
 * The same loop on Weir's own client (Fetcher + batching Producer, offsets committed per round):
 * the client choice in isolation, without the pipeline runtime around it.
 */
async function runWeirClientLoop(bootstrap: string, n: number, partitions: number): Promise<{ seconds: number; cpuSeconds: number; sent: number }> {
  const client = new KafkaClient({ brokers: [bootstrap], clientId: 'bench-weir-loop' });
  const fetcher = new Fetcher(client, { maxWaitMs: 100, partitionBytesMax: 4 * 1024 * 1024 });
  const producer = new Producer(client, { lingerMs: 5 });
  const positions = new Map(Array.from({ length: partitions }, (_, p) => [p, 0]));
  let consumed = 0;
  let sent = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  while (consumed < n) {
    const got = await fetcher.fetch([...positions].map(([partition, offset]) => ({ topic: 'bench-in', partition, offset })));
    if (t0 === 0 && got.some((f) => f.records.length > 0)) {
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    }
    for (const f of got) {
      for (const r of f.records) {
        const e = JSON.parse(r.value!.toString()) as Event;
        if (keep(e)) {
          producer.append('bench-out-weir-loop', producer.partitionFor(r.key, partitions), { key: r.key, value: Buffer.from(JSON.stringify(transform(e))), timestamp: r.timestamp });
          sent++;
        }
      }
      consumed += f.records.length;
      positions.set(f.partition, f.nextOffset);
    }
    await producer.flush();
    await client.commitOffsets('bench-weir-loop', [...positions].map(([partition, offset]) => ({ topic: 'bench-in', partition, offset })));
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  await producer.close();
  await client.close();
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, sent };
}

async function runPipeline(bootstrap: string, n: number, threads: number): Promise<{ seconds: number; cpuSeconds: number; sent: number }> {
  const spec = threads > 1 ? threaded : singleThread;
  const runner = new PipelineRunner({
    pipelines: [spec],
    pipelineFile: new URL('./pipelines/map-filter.js', import.meta.url).pathname,
    threads,
    brokers: [bootstrap],
    objectStore: new MemoryObjectStore(),
    workers: 1,
    statsIntervalMs: 1000,
    // The workers' own log lines (task starts, fetch and coordination errors): rare, and what a
    // failed or stalled run needs to be understood.
    log: (line) => console.error(`${new Date().toISOString()} ${line}`),
    // The runtime's own producer settings (PIPELINE_LINGER_MS_DEFAULT), as `weir run` uses them.
    worker: { checkpointIntervalMs: 10_000 },
  });
  let failed: Error | null = null;
  void runner.failed.then((e) => (failed = e));
  await runner.start();
  // In threads mode every totals() call asks each thread for its counts (a message round trip),
  // so the wait below polls every 5 ms as it does for one thread.
  while ((await runner.totals()).recordsIn === 0) {
    if (failed) throw failed;
    await new Promise((r) => setTimeout(r, threads > 1 ? 5 : 0));
  }
  let session: Session | null = null;
  if (flags.profile !== '' && threads === 1) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let progress = 0;
  let progressAt = performance.now();
  for (;;) {
    if (failed) throw failed;
    const got = (await runner.totals()).recordsIn;
    if (got >= n) break;
    const now = performance.now();
    if (got > progress) {
      progress = got;
      progressAt = now;
    } else if (now - progressAt > 60_000) {
      throw new Error(`pipeline stalled at ${progress} of ${n} records: ${runner.statusLine()} tasks ${JSON.stringify(runner.taskMetrics())} workers ${JSON.stringify(await runner.diagnostics())}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await runner.flush();
  const seconds = (performance.now() - t0) / 1000;
  // process.cpuUsage() covers every thread of the process.
  const c = process.cpuUsage(cpu0);
  const sent = (await runner.totals()).recordsOut;
  if (session !== null) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(flags.profile, JSON.stringify(profile));
    session.disconnect();
  }
  await runner.stop();
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, sent };
}

/** A sample of the pipeline's output must be the transformed events, keyed by user. */
async function checkPipelineOutput(client: KafkaClient, topic: string): Promise<void> {
  const sample = await new Fetcher(client, { maxWaitMs: 10 }).fetch([{ topic, partition: 0, offset: 0, maxBytes: 64 * 1024 }]);
  const recs = sample[0]?.records ?? [];
  if (recs.length === 0) throw new Error('pipeline output is empty');
  for (const r of recs.slice(0, 100)) {
    const o = JSON.parse(r.value!.toString()) as Out;
    if (typeof o.cents !== 'number' || o.cents % 200 !== 0 || o.user !== r.key?.toString()) throw new Error(`pipeline output is not the transformed events: ${r.key?.toString()} ${r.value?.toString()}`);
  }
}

async function main(): Promise<void> {
  const n = flags.records;
  printHeader('pipeline-topic', `map/filter topic to topic, ${n} records, ${flags.partitions} partitions: Weir pipeline vs kafkajs eachBatch loop`);
  const dataDir = makeTempDir('pipeline-topic');
  const agent = await startAgent({ dataDir, lingerMs: flags['linger-ms'], extraArgs: ['--auto-create-topics', 'false'] });
  console.log(`agent    ${agent.bootstrap} (pid ${agent.pid}), --linger-ms ${flags['linger-ms']}`);
  const client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'bench-admin' });
  try {
    await client.createTopics(['bench-in', 'bench-out-loop', 'bench-out-weir-loop', 'bench-out-pipeline-1', 'bench-out-pipeline'].map((name) => ({ name, partitions: flags.partitions })));
    const tp = performance.now();
    const kept = await preload(client, 'bench-in', n, flags.partitions);
    console.log(`preload  ${n} records in ${fmt((performance.now() - tp) / 1000, 1)} s (${kept} pass the filter)`);

    const none = { seconds: NaN, cpuSeconds: NaN, sent: 0 };
    let agentCpu = cpuSecondsOf(agent.pid) ?? 0;
    const agentDelta = (): number => {
      const now = cpuSecondsOf(agent.pid) ?? 0;
      const d = now - agentCpu;
      agentCpu = now;
      return d;
    };
    let loop = none;
    if (SIDES.has('kafkajs')) {
      loop = await runKafkajsLoop(agent.bootstrap, n);
      const agentS = agentDelta();
      const loopOut = await endOffsetsSum(client, 'bench-out-loop', flags.partitions);
      console.log(`kafkajs  eachBatch loop: ${fmt(loop.seconds, 2)} s, ${fmt(n / loop.seconds / 1000, 1)} k records/s in, ${loopOut} out, bench CPU ${fmt(loop.cpuSeconds, 1)} s, agent CPU ${fmt(agentS, 1)} s`);
      if (loopOut < kept) throw new Error(`kafkajs loop output short: ${loopOut}, expected ${kept}`);
    }
    let weirLoop = none;
    if (SIDES.has('weir-loop')) {
      weirLoop = await runWeirClientLoop(agent.bootstrap, n, flags.partitions);
      console.log(`weir     client loop (Fetcher + Producer): ${fmt(weirLoop.seconds, 2)} s, ${fmt(n / weirLoop.seconds / 1000, 1)} k records/s in, ${weirLoop.sent} out, bench CPU ${fmt(weirLoop.cpuSeconds, 1)} s, agent CPU ${fmt(agentDelta(), 1)} s`);
    }
    const runSide = async (side: string, threads: number, topic: string): Promise<typeof none> => {
      if (!SIDES.has(side)) return none;
      const r = await runPipeline(agent.bootstrap, n, threads);
      const agentS = agentDelta();
      const out = await endOffsetsSum(client, topic, flags.partitions);
      console.log(`pipeline weir run runtime, ${threads} thread(s): ${fmt(r.seconds, 2)} s, ${fmt(n / r.seconds / 1000, 1)} k records/s in, ${out} out, bench CPU ${fmt(r.cpuSeconds, 1)} s, agent CPU ${fmt(agentS, 1)} s`);
      if (out < kept) throw new Error(`pipeline output short: ${out}, expected ${kept}`);
      await checkPipelineOutput(client, topic);
      return r;
    };
    const pipe1 = await runSide('pipeline-1', 1, 'bench-out-pipeline-1');
    const pipe = await runSide('pipeline', flags.threads, 'bench-out-pipeline');
    if (!SIDES.has('kafkajs')) return;
    if (SIDES.has('pipeline-1')) console.log(`ratio    pipeline on 1 thread / kafkajs loop = ${fmt(loop.seconds / pipe1.seconds, 2)}x; per CPU second ${fmt(loop.cpuSeconds / pipe1.cpuSeconds, 2)}x`);
    if (!SIDES.has('pipeline')) return;
    const ratio = loop.seconds / pipe.seconds;
    console.log(`ratio    pipeline on ${flags.threads} threads / kafkajs loop = ${fmt(ratio, 2)}x (target >= ${TARGET_RATIO}x): ${ratio >= TARGET_RATIO ? 'MET' : 'NOT MET'}; per CPU second ${fmt(loop.cpuSeconds / pipe.cpuSeconds, 2)}x`);
    printResult({
      bench: 'pipeline-topic',
      records: n,
      partitions: flags.partitions,
      threads: flags.threads,
      loopRecordsPerSec: Math.round(n / loop.seconds),
      pipelineRecordsPerSec: Math.round(n / pipe.seconds),
      ratio: Number(ratio.toFixed(2)),
      singleThreadPipelineRecordsPerSec: Math.round(n / pipe1.seconds),
      singleThreadRatio: Number((loop.seconds / pipe1.seconds).toFixed(2)),
      weirClientLoopRecordsPerSec: Math.round(n / weirLoop.seconds),
      loopCpuSeconds: Number(loop.cpuSeconds.toFixed(2)),
      weirClientLoopCpuSeconds: Number(weirLoop.cpuSeconds.toFixed(2)),
      singleThreadPipelineCpuSeconds: Number(pipe1.cpuSeconds.toFixed(2)),
      pipelineCpuSeconds: Number(pipe.cpuSeconds.toFixed(2)),
    });
  } finally {
    await client.close();
    await agent.stop();
    await cleanup();
  }
}

main().catch(async (e: unknown) => {
  console.error(e);
  await cleanup();
  process.exit(1);
});
