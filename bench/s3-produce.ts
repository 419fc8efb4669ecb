/**
 * Produce with the S3 object store: throughput and ack latency of agents sharing one Redis and one
 * s3rver bucket, one agent against two, and the object requests each agent makes, idle and under
 * full load (PUTs per flush: the target is one).
 *
 * Baselines, same run, same s3rver, through the same kind of counting proxy the agents use:
 *  - raw PUT bandwidth: 8 MiB objects put with S3ObjectStore.put (the agent's own S3 client and
 *    retry loop, nothing else), one at a time and --put-concurrency at a time (the agent writes
 *    up to --flushes-in-flight-max = 4 flush objects at once);
 *  - raw PUT latency: objects the size of one linger's worth of records at the latency rate.
 * Each agent's S3 endpoint is its own pass-through counting proxy (bench/lib/counting-proxy.ts)
 * in front of s3rver, so requests are counted per agent; its flushes are counted from its debug
 * log ("flush ...: N bytes ...").
 *
 * s3rver is a Node process writing files: its bandwidth, not S3's, is the ceiling here, which is
 * why the figures are ratios to the raw PUT baseline and not absolutes to compare with AWS.
 *
 * Run: npm run bench -- s3-produce [--mib 256] [--producers 2] [--idle-seconds 10] [--rate 1000]
 */
import { S3ObjectStore } from '../core/storage/s3-object-store.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../test/helpers/s3rver.js';
import { cleanup, makeTempDir, RAM_DIR, startAgent, type RunningAgent } from './lib/agent.js';
import { produce, type ProduceOutcome } from './lib/clients.js';
import { diffCounts, startCountingProxy, type CountingProxy, type RequestCounts } from './lib/counting-proxy.js';
import { cpuSecondsOf, runPython } from './lib/process.js';
import { MiB, fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';
import { formatSummaryMs, summarize, type Summary } from './lib/stats.js';

const flags = parseBenchFlags('s3-produce', {
  mib: { default: 256, description: 'MiB produced per timed throughput run' },
  producers: { default: 2, description: 'producer processes (split evenly across the agents)' },
  partitions: { default: 16, description: 'partitions of each topic' },
  'record-bytes': { default: 1024, description: 'value size' },
  'linger-ms': { default: 250, description: "the agents' --linger-ms for the throughput runs" },
  'put-seconds': { default: 4, description: 'duration of each raw PUT baseline' },
  'put-concurrency': { default: 4, description: 'PUTs in flight in the concurrent raw PUT baseline' },
  'idle-seconds': { default: 10, description: 'seconds of idle request counting' },
  rate: { default: 1000, description: 'records/s of the latency probe' },
  'latency-seconds': { default: 10, description: 'measured seconds of the latency probe' },
  'latency-linger-ms': { default: 10, description: "the latency agent's --linger-ms" },
});

const FLUSH_LINE = /flush \S+: (\d+) bytes, \d+ chunks, (?:register\+)?put ([\d.]+) ms, commit ([\d.]+) ms/g;

interface Agent {
  name: string;
  agent: RunningAgent;
  proxy: CountingProxy;
}

/** The agent's flushes (from its debug log) after output position `from`: count and largest. */
function flushesSince(a: Agent, from: number): { count: number; maxBytes: number } {
  const sizes = [...a.agent.output().slice(from).matchAll(FLUSH_LINE)].map((m) => Number(m[1]));
  return { count: sizes.length, maxBytes: Math.max(0, ...sizes) };
}

function countsLine(c: RequestCounts, seconds: number): string {
  const methods = Object.entries(c.byMethod)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  return `${c.total} requests in ${fmt(seconds, 1)} s = ${fmt(c.total / seconds, 2)}/s (${methods || 'none'})`;
}

/** Puts `bytes`-sized objects, `concurrency` at a time, for `seconds`; returns MiB/s. */
async function rawPutBandwidth(store: S3ObjectStore, bytes: number, concurrency: number, seconds: number): Promise<number> {
  const body = Buffer.alloc(bytes, 7);
  let done = 0;
  let n = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await store.put(`baseline/bw-${concurrency}-${n++}`, body);
        done += bytes;
      }
    }),
  );
  return done / MiB / ((performance.now() - t0) / 1000);
}

async function rawPutLatencies(store: S3ObjectStore, bytes: number, count: number): Promise<Summary> {
  const body = Buffer.alloc(bytes, 7);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await store.put(`baseline/lat-${i}`, body);
    ms.push(performance.now() - t0);
  }
  return summarize(ms);
}

async function main(): Promise<void> {
  printHeader('s3-produce', `produce with the S3 store (s3rver), ${flags['record-bytes']} B records, ${flags.partitions} partitions, acks=all`);
  // The agents (child processes) take their S3 credentials from the environment, as in production.
  process.env['AWS_ACCESS_KEY_ID'] = S3RVER_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3RVER_CREDENTIALS.secretAccessKey;
  process.env['AWS_REGION'] = 'us-east-1';
  const redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
  const s3 = await startS3rver('weir-bench');
  const proxies: CountingProxy[] = [];
  const agents: Agent[] = [];
  try {
    const baselineProxy = await startCountingProxy(s3.port);
    proxies.push(baselineProxy);
    const store = new S3ObjectStore({ bucket: s3.bucket, endpoint: baselineProxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    await rawPutBandwidth(store, 8 * MiB, 1, 1); // warm-up: connections, s3rver's JIT
    const put1 = await rawPutBandwidth(store, 8 * MiB, 1, flags['put-seconds']);
    const putN = await rawPutBandwidth(store, 8 * MiB, flags['put-concurrency'], flags['put-seconds']);
    console.log(`raw PUT baseline (8 MiB, S3ObjectStore.put): ${fmt(put1)} MiB/s one at a time, ${fmt(putN)} MiB/s ${flags['put-concurrency']} at a time`);
    await store.close();

    const start = async (name: string, nodeId: number, linger: number): Promise<Agent> => {
      const proxy = await startCountingProxy(s3.port);
      proxies.push(proxy);
      const agent = await startAgent({
        dataDir: makeTempDir(`s3-${name}`),
        lingerMs: linger,
        extraArgs: [
          '--node-id', String(nodeId), '--default-partitions', String(flags.partitions), '--log-level', 'debug',
          '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', proxy.endpoint,
          '--metadata', 'redis', '--redis-url', redis.url, '--require-durable-metadata',
        ],
      });
      const a = { name, agent, proxy };
      agents.push(a);
      return a;
    };

    const perRecord = flags['record-bytes'];
    const records = Math.round((flags.mib * MiB) / perRecord);
    const job = (bootstrap: string, topic: string, n: number, processes: number) => ({
      bootstrap, topic, recordBytes: perRecord, records: n, processes, scratchDir: RAM_DIR, timeoutMs: 600_000,
    });

    /** Produces `records` split over `targets`, counting each agent's requests and flushes. */
    const measure = async (label: string, targets: Agent[], topic: string) => {
      // Warm-up: creates the topic, connects, warms the agents' hot paths.
      const warm = await Promise.all(targets.map((a) => produce('python', job(a.agent.bootstrap, topic, Math.round((16 * MiB) / perRecord / targets.length), 1))));
      if (warm.some((w) => w.failed !== 0)) throw new Error(`${label}: warm-up failed: ${warm.map((w) => w.firstError).join('; ')}`);
      const before = targets.map((a) => ({ counts: a.proxy.snapshot(), outputAt: a.agent.output().length, cpu: cpuSecondsOf(a.agent.pid) ?? 0 }));
      const perAgent = Math.max(1, Math.floor(flags.producers / targets.length));
      const outcomes: ProduceOutcome[] = await Promise.all(targets.map((a) => produce('python', job(a.agent.bootstrap, topic, Math.round(records / targets.length), perAgent))));
      const failed = outcomes.reduce((n, o) => n + o.failed, 0);
      if (failed !== 0) throw new Error(`${label}: ${failed} records failed: ${outcomes.map((o) => o.firstError).join('; ')}`);
      const bytes = outcomes.reduce((n, o) => n + o.bytes, 0);
      const recs = outcomes.reduce((n, o) => n + o.records, 0);
      // The producers start together; the slowest one's first-record-to-last-ack window is the run's.
      const seconds = Math.max(...outcomes.map((o) => o.seconds));
      const mibS = bytes / MiB / seconds;
      console.log('');
      console.log(`-- ${label}: ${fmt(mibS)} MiB/s, ${fmt(recs / seconds, 0)} records/s (${fmt(bytes / MiB, 0)} MiB in ${fmt(seconds, 2)} s, ${perAgent} producer(s) per agent); ratio to raw PUT (${flags['put-concurrency']} at a time) ${fmt(mibS / putN, 2)}`);
      const per = targets.map((a, i) => {
        const c = diffCounts(a.proxy.snapshot(), before[i]!.counts);
        const { count: flushes, maxBytes } = flushesSince(a, before[i]!.outputAt);
        const cpu = (cpuSecondsOf(a.agent.pid) ?? 0) - before[i]!.cpu;
        const puts = c.byMethod['PUT'] ?? 0;
        // A POST is half of a multipart upload (create + complete): its parts are PUTs too.
        console.log(
          `   ${a.name}: ${countsLine(c, seconds)}; ${flushes} flushes (largest ${fmt(maxBytes / MiB, 1)} MiB); ` +
            `${fmt(puts / Math.max(1, flushes), 2)} PUTs per flush, ${(c.byMethod['POST'] ?? 0) / 2} multipart; cpu ${fmt(cpu, 1)} s`,
        );
        return { agent: a.name, requests: c, requestsPerSec: c.total / seconds, flushes, largestFlushBytes: maxBytes, putsPerFlush: puts / Math.max(1, flushes), cpuS: cpu };
      });
      return { label, mibS, recordsPerSec: recs / seconds, seconds, ratioToRawPut: mibS / putN, perAgent: per };
    };

    const idle = async (targets: Agent[]) => {
      // Let startup and any previous load settle before counting.
      await new Promise((r) => setTimeout(r, 2000));
      const before = targets.map((a) => a.proxy.snapshot());
      await new Promise((r) => setTimeout(r, flags['idle-seconds'] * 1000));
      return targets.map((a, i) => {
        const c = diffCounts(a.proxy.snapshot(), before[i]!);
        console.log(`   idle ${a.name}: ${countsLine(c, flags['idle-seconds'])}`);
        return { agent: a.name, requests: c, requestsPerSec: c.total / flags['idle-seconds'] };
      });
    };

    const a1 = await start('agent-1', 1, flags['linger-ms']);
    console.log(`agents   --linger-ms ${flags['linger-ms']}, Redis ${redis.url} (appendfsync always), s3rver ${s3.endpoint}, one counting proxy per agent`);
    const idleOne = await idle([a1]);
    const one = await measure('one agent', [a1], 'bench-s3-one');
    const a2 = await start('agent-2', 2, flags['linger-ms']);
    const idleTwo = await idle([a1, a2]);
    const two = await measure('two agents, producers split across them', [a1, a2], 'bench-s3-two');
    console.log(`two agents / one agent: ${fmt(two.mibS / one.mibS, 2)}`);
    for (const a of [...agents]) await a.agent.stop();
    agents.length = 0;

    // Latency: a steady rate at a short linger; the floor is one PUT of a linger's worth of records.
    const linger = flags['latency-linger-ms'];
    const objectBytes = Math.max(1024, Math.round((flags.rate * linger * perRecord) / 1000));
    const latencyStore = new S3ObjectStore({ bucket: s3.bucket, endpoint: baselineProxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const putLatency = await rawPutLatencies(latencyStore, objectBytes, 100);
    await latencyStore.close();
    const a3 = await start('agent-latency', 3, linger);
    const probe = await runPython<{ ackMs: number[]; sent: number; acked: number; failed: number; errors: string[] }>(
      'latency.py',
      {
        bootstrap: a3.agent.bootstrap, topic: 'bench-s3-latency', partitions: flags.partitions, rate: flags.rate, seconds: flags['latency-seconds'],
        warmupS: 3, recordBytes: perRecord, consume: false, producerConfig: { 'linger.ms': 0 }, consumerConfig: {},
      },
      { timeoutMs: (flags['latency-seconds'] + 120) * 1000 },
    );
    if (probe.failed > 0 || probe.acked !== probe.sent) throw new Error(`latency: ${probe.failed} failed, ${probe.acked}/${probe.sent} acked: ${probe.errors.join('; ')}`);
    const ack = summarize(probe.ackMs);
    console.log('');
    console.log(`-- ack latency at ${flags.rate} records/s, agent --linger-ms ${linger}`);
    console.log(`   ${'weir ack (produce)'.padEnd(30)} ${formatSummaryMs(ack)}`);
    console.log(`   ${`raw PUT ${fmt(objectBytes / 1024, 0)} KiB (S3ObjectStore)`.padEnd(30)} ${formatSummaryMs(putLatency)}`);
    // The flusher's own split of each flush: the object PUT, then the Redis commit.
    const flushLines = [...a3.agent.output().matchAll(FLUSH_LINE)];
    const flushPut = summarize(flushLines.map((m) => Number(m[2])));
    const flushCommit = summarize(flushLines.map((m) => Number(m[3])));
    console.log(`   ${'agent flushes: put'.padEnd(30)} ${formatSummaryMs(flushPut)}`);
    console.log(`   ${'agent flushes: Redis commit'.padEnd(30)} ${formatSummaryMs(flushCommit)}`);
    console.log(`   p99 - linger ${fmt(ack.p99 - linger)} ms against a raw PUT p99 of ${fmt(putLatency.p99)} ms`);

    printResult({
      bench: 's3-produce',
      rawPutMiBs: { one: put1, concurrent: putN, concurrency: flags['put-concurrency'] },
      idleOne, one, idleTwo, two, twoOverOne: two.mibS / one.mibS,
      latency: { rate: flags.rate, lingerMs: linger, ack, rawPut: { bytes: objectBytes, ...putLatency }, flushPut, flushCommit },
    });
  } finally {
    for (const a of agents) await a.agent.stop();
    for (const p of proxies) await p.close();
    await s3.stop();
    await redis.stop();
  }
}

main()
  .catch((e: unknown) => {
    console.error(`s3-produce bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
