/**
 * Produce and end-to-end latency. A modest steady rate (default 1000 records/s of 1 KiB, 16
 * partitions, acks=all), at the agent's --linger-ms 250 (the default) and 10. A librdkafka
 * producer (linger.ms=0) and consumer (assign(), long-poll fetches) in one Python process share a
 * monotonic clock, so ack latency (send to acknowledgement) and end-to-end latency (send to
 * receipt by the consumer) are measured without clock skew.
 *
 * An agent holds every produce for up to --linger-ms by design, so the figure that says how well
 * the write path does is p99 minus linger: the flush (object write + fsync + SQLite commit) and
 * everything around it. Target: p99 - linger <= 25 ms.
 *
 * Baselines, same run:
 *  - client floor: the same producer at the same rate against a sink that answers Produce at
 *    once (bench/lib/fake-broker.ts): librdkafka + Python + loopback TCP, no broker work at all;
 *  - disk floor: one durable put of an object the size of one linger's worth of records, done
 *    as the fs object store does it (write temp, fsync, rename, fsync dir), in the data dir.
 * Ack p99 cannot beat linger + disk floor + client floor; the gap above that is the agent's own.
 * The agent runs with --log-level debug so its per-flush put and commit times can be summarised
 * too: they split that gap into the flush itself and everything else (queueing, loop stalls).
 *
 * Run: npm run bench -- latency [--rate 1000] [--seconds 15] [--lingers 250,10]
 */
import { cleanup, makeTempDir, startAgent } from './lib/agent.js';
import { durablePutLatenciesMs } from './lib/disk.js';
import { startFakeBroker } from './lib/fake-broker.js';
import { cpuSecondsOf, runPython } from './lib/process.js';
import { findProfile, formatProfile, makeProfileDir, summarizeProfile } from './lib/profile.js';
import { fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';
import { formatSummaryMs, summarize, type Summary } from './lib/stats.js';

const TARGET_P99_OVER_LINGER_MS = 25;

const flags = parseBenchFlags('latency', {
  rate: { default: 1000, description: 'records per second' },
  seconds: { default: 15, description: 'measured seconds per linger setting (after warm-up)' },
  'warmup-seconds': { default: 3, description: 'seconds sent before measuring starts' },
  lingers: { default: '250,10', description: "comma-separated agent --linger-ms values" },
  partitions: { default: 16, description: 'partitions of the topic' },
  'record-bytes': { default: 1024, description: 'value size' },
  'fetch-wait-max-ms': { default: 500, description: "the consumer's fetch.wait.max.ms (librdkafka default 500)" },
  'producer-linger-ms': { default: 0, description: "the producer's linger.ms (0: the client adds no delay of its own)" },
  'agent-args': { default: '', description: 'extra agent flags, space-separated (e.g. "--in-flight-per-connection-max 4096")' },
  profile: { default: 0, description: '1: run the agent under --cpu-prof and print its hot functions' },
});

interface ProbeResult {
  ackMs: number[];
  e2eMs: number[];
  sent: number;
  acked: number;
  consumed: number;
  failed: number;
  lateSends: number;
  errors: string[];
}

function probe(bootstrap: string, topic: string, consume: boolean): Promise<ProbeResult & { cpuSeconds: number }> {
  const seconds = flags.seconds;
  return runPython<ProbeResult>(
    'latency.py',
    {
      bootstrap,
      topic,
      partitions: flags.partitions,
      rate: flags.rate,
      seconds,
      warmupS: flags['warmup-seconds'],
      recordBytes: flags['record-bytes'],
      consume,
      producerConfig: { 'linger.ms': flags['producer-linger-ms'] },
      consumerConfig: { 'fetch.wait.max.ms': flags['fetch-wait-max-ms'] },
    },
    { timeoutMs: (seconds + flags['warmup-seconds'] + 120) * 1000 },
  );
}

function line(label: string, s: Summary): string {
  return `${label.padEnd(28)} ${formatSummaryMs(s)}`;
}

/**
 * The flusher's debug line per flush ("flush <key>: N bytes, C chunks, register+put X ms, commit Y ms"),
 * summarised: where a produce's time after linger goes. Best effort: null if the agent logs none.
 */
function flushTimings(output: string): { count: number; bytes: Summary; put: Summary; commit: Summary } | null {
  const re = /flush \S+: (\d+) bytes, \d+ chunks, (?:register\+)?put ([\d.]+) ms, commit ([\d.]+) ms/g;
  const bytes: number[] = [];
  const put: number[] = [];
  const commit: number[] = [];
  for (const m of output.matchAll(re)) {
    bytes.push(Number(m[1]));
    put.push(Number(m[2]));
    commit.push(Number(m[3]));
  }
  if (bytes.length === 0) return null;
  return { count: bytes.length, bytes: summarize(bytes), put: summarize(put), commit: summarize(commit) };
}

async function main(): Promise<void> {
  printHeader('latency', `ack and end-to-end latency at ${flags.rate} records/s of ${flags['record-bytes']} B, ${flags.partitions} partitions, acks=all`);
  const lingers = flags.lingers.split(',').map((s) => Number(s.trim()));
  if (lingers.some((l) => !Number.isInteger(l) || l < 0)) throw new Error(`--lingers: expected integers, got ${flags.lingers}`);

  // Client floor: the same probe against a sink that does no work.
  const sink = await startFakeBroker({ partitions: flags.partitions });
  const floor = await probe(sink.bootstrap, 'bench-latency-sink', false);
  await sink.close();
  const floorAck = summarize(floor.ackMs);
  console.log(line('client floor (sink) ack', floorAck));

  const results: Record<string, unknown>[] = [];
  for (const linger of lingers) {
    const dataDir = makeTempDir(`latency-${linger}`);
    // Disk floor: one linger's worth of records as one durable object, in this data dir.
    const objectBytes = Math.max(1024, Math.round((flags.rate * linger * flags['record-bytes']) / 1000));
    const put = summarize(durablePutLatenciesMs(dataDir, objectBytes, 50));
    const profDir = flags.profile ? makeProfileDir(`latency-${linger}`) : '';
    const agent = await startAgent({
      dataDir,
      lingerMs: linger,
      // debug: the flusher logs each flush's put and commit times, summarised below.
      extraArgs: ['--default-partitions', String(flags.partitions), '--log-level', 'debug', ...flags['agent-args'].split(' ').filter((a) => a !== '')],
      nodeArgs: flags.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
    });
    const cpu0 = cpuSecondsOf(agent.pid) ?? 0;
    const r = await probe(agent.bootstrap, `bench-latency-${linger}`, true);
    const agentCpu = (cpuSecondsOf(agent.pid) ?? 0) - cpu0;
    await agent.stop();
    if (r.failed > 0 || r.acked !== r.sent) throw new Error(`linger ${linger}: ${r.failed} failed, ${r.acked}/${r.sent} acked: ${r.errors.join('; ')}`);
    if (r.consumed < r.acked) console.log(`WARNING: consumer got ${r.consumed} of ${r.acked} acknowledged records`);
    const ack = summarize(r.ackMs);
    const e2e = summarize(r.e2eMs);
    console.log('');
    console.log(`-- agent --linger-ms ${linger} (${r.sent} records, ${r.lateSends} sent >5 ms late; agent cpu ${fmt(agentCpu)} s)`);
    console.log(line('weir ack (produce)', ack));
    console.log(line('weir end-to-end', e2e));
    console.log(line(`disk floor: put ${Math.round(objectBytes / 1024)} KiB`, put));
    console.log(
      `p99 - linger: ack ${fmt(ack.p99 - linger)} ms, end-to-end ${fmt(e2e.p99 - linger)} ms ` +
        `(floor: disk p99 ${fmt(put.p99)} + client p99 ${fmt(floorAck.p99)} = ${fmt(put.p99 + floorAck.p99)} ms); ` +
        `target <= ${TARGET_P99_OVER_LINGER_MS} ms: ack ${ack.p99 - linger <= TARGET_P99_OVER_LINGER_MS ? 'MET' : 'MISSED'}, ` +
        `end-to-end ${e2e.p99 - linger <= TARGET_P99_OVER_LINGER_MS ? 'MET' : 'MISSED'}`,
    );
    const flushes = flushTimings(agent.output());
    if (flushes !== null) {
      console.log(line(`agent flushes: put`, flushes.put));
      console.log(line(`agent flushes: commit`, flushes.commit));
      console.log(`agent flushes: ${flushes.count} (${fmt(flushes.count / (flags.seconds + flags['warmup-seconds']), 0)}/s), median ${fmt(flushes.bytes.p50 / 1024)} KiB`);
    }
    if (flags.profile) {
      const file = findProfile(profDir);
      console.log(file === null ? 'no .cpuprofile written' : formatProfile(summarizeProfile(file), 15));
    }
    results.push({ lingerMs: linger, ack, e2e, diskPut: put, flushes, ackP99OverLinger: ack.p99 - linger, e2eP99OverLinger: e2e.p99 - linger, agentCpuS: agentCpu });
  }
  printResult({ bench: 'latency', rate: flags.rate, clientFloorAck: floorAck, results });
}

main()
  .catch((e: unknown) => {
    console.error(`latency bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
