/**
 * Mirror throughput: `weir mirror` copying a preloaded topic (default 256 MiB of 1 KiB records in
 * 8 partitions) from a source agent into a second agent, in MiB/s of record values.
 *
 * Baseline, same run and same source: a raw kafkajs consume of the whole topic (a consumer group,
 * eachBatch, every message decoded by kafkajs as a consumer gets it, nothing else done with it),
 * which is what the issue measures the mirror against. Target: mirror / kafkajs >= 0.8.
 * A second reference: our own raw read_committed fetch of the same source with the mirror's fetch
 * settings (batches located, not decoded, nothing written): the ceiling of the mirror's read side.
 *
 * Before each pass the source agent is restarted, so every pass starts with its log cache empty;
 * both agents keep their data in RAM (/dev/shm) so the disk does not decide. Timing runs from the
 * start of the consumer / mirror process to the last record read / the target's high watermarks
 * reaching the source's. Every pass also reports the CPU seconds per GiB of each process
 * involved (from /proc), so the reader sees where the cost is: the source agent, the reading
 * client (kafkajs / raw fetch / the mirror process) and, for the mirror, the target agent, which
 * receives, CRC-checks, writes and commits everything again on the same cores.
 *
 * Run: npm run bench -- mirror [--mib 256] [--partitions 8] [--runs 1] [--profile 1]
 *      [--mirror-args '--lanes 4 --fetch-max-bytes 16m']
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { RAM_DIR, WEIR_BIN, cleanup, makeTempDir, startAgent, type RunningAgent } from './lib/agent.js';
import { produce } from './lib/clients.js';
import { cpuSecondsOf } from './lib/process.js';
import { findProfile, formatProfile, makeProfileDir, summarizeProfile } from './lib/profile.js';
import { MiB, fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';
import type { BrokerConnection } from '../core/client/broker-connection.js';
import { FramePool } from '../core/client/frame-pool.js';
import { SourceCluster, openConnection, type FetchWant } from '../connectors/mirror/clusters.js';
import { filterFetched } from '../connectors/mirror/record-filter.js';
import { ListOffsets } from '../core/protocol/generated/index.js';

const TARGET_RATIO = 0.8;
const TOKEN = 'bench-mirror-token-0123456789';
const GiB = 1024 * MiB;

const flags = parseBenchFlags('mirror', {
  mib: { default: 256, description: 'MiB of record values preloaded and then copied' },
  partitions: { default: 8, description: 'partitions of the topic' },
  'record-bytes': { default: 1024, description: 'value size' },
  runs: { default: 1, description: 'rounds of the three passes; the best of each is reported' },
  profile: { default: 0, description: '1: run the mirror process and the target agent under --cpu-prof (last round) and print their hot functions' },
  'mirror-args': { default: '', description: 'extra flags for weir mirror, space separated' },
  'mirror-node-args': { default: '', description: 'node flags for the mirror process (e.g. --trace-gc)' },
  'mirror-log': { default: '', description: 'file to append the mirror process\'s stderr to (with --mirror-args \'--log-level debug\')' },
});

/** Sum of the partitions' latest offsets (-1 if any partition cannot be read yet). */
async function ends(conn: BrokerConnection, topic: string, partitions: number): Promise<number> {
  const res = await conn.send(ListOffsets, await conn.version(ListOffsets, 7), {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 10_000,
    topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })) }],
  });
  const parts = res.topics?.[0]?.partitions ?? [];
  if (parts.length < partitions || parts.some((p) => p.errorCode)) return -1;
  return parts.reduce((n, p) => n + Number(p.offset), 0);
}

async function connect(bootstrap: string): Promise<BrokerConnection> {
  const [host, port] = bootstrap.split(':');
  return openConnection({ host: host!, port: Number(port) }, { clientId: 'bench', timeoutMs: 10_000, responseBytesMax: MiB });
}

/** CPU seconds of this process (the kafkajs consumer and the raw fetch run in it). */
function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Pass {
  seconds: number;
  /** CPU seconds of the reading client (kafkajs / raw fetch in this process, or the mirror process). */
  clientCpu: number;
  sourceCpu: number;
  /** Only for the mirror. */
  targetCpu?: number;
  /** Only for the mirror: spawn to the first records committed on Weir (ready + the first round). */
  firstSeconds?: number;
  /** Only for the mirror: its process's CPU seconds until ready (node start, module loading, connecting). */
  readyCpu?: number;
  /**
   * From the start to ready to copy, before any record is fetched: kafkajs connected and joined
   * its group (GROUP_JOIN); the mirror process started, connected to both sides, topics created
   * on Weir, partitions assigned (its "mirroring ..." log line). What follows is the copy itself.
   */
  readySeconds: number;
}

async function kafkajsConsume(bootstrap: string, topic: string, records: number): Promise<Pass & { valueBytes: number }> {
  const kafka = new Kafka({ clientId: 'bench-mirror-baseline', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `baseline-${Date.now()}`, maxBytes: 64 * MiB, maxBytesPerPartition: 8 * MiB });
  const cpu0 = ownCpuSeconds();
  const t0 = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let valueBytes = 0;
  let readySeconds = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    readySeconds ||= (performance.now() - t0) / 1000;
  });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) valueBytes += m.value?.length ?? 0;
      seen += batch.messages.length;
      if (seen >= records) done();
    },
  });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const clientCpu = ownCpuSeconds() - cpu0;
  await consumer.disconnect();
  return { seconds, clientCpu, sourceCpu: 0, valueBytes, readySeconds };
}

/**
 * Our raw read_committed fetch of the whole topic with the mirror's default fetch settings and
 * concurrency (16 MiB fetches, 4 MiB per partition, 4 loops per broker), batches located and
 * filtered as the mirror does, nothing written: what the mirror's read side can reach at best.
 */
async function rawFetch(bootstrap: string, topic: string, partitions: number, offsetsTotal: number): Promise<Pass> {
  const [host, port] = bootstrap.split(':');
  const cpu0 = ownCpuSeconds();
  const t0 = performance.now();
  // As the mirror reads: frames assembled in reused buffers, handed back once processed.
  const source = new SourceCluster([{ host: host!, port: Number(port) }], { clientId: 'bench-raw-fetch', timeoutMs: 30_000, responseBytesMax: 32 * MiB, framePool: new FramePool(8 * 17 * MiB) });
  try {
    const meta = await source.metadata();
    const leaders = meta.topics.get(topic)?.leaders ?? [];
    const lanes = 4;
    const next = new Array<number>(partitions).fill(0);
    const ends = new Array<number>(partitions).fill(-1);
    let copied = 0;
    const loops: Promise<void>[] = [];
    for (let lane = 0; lane < lanes; lane++) {
      const mine = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % lanes === lane);
      if (mine.length === 0) continue;
      loops.push(
        (async () => {
          for (;;) {
            const wants: FetchWant[] = mine.filter((p) => ends[p] < 0 || next[p]! < ends[p]!).map((p) => ({ topic, partition: p, offset: next[p]! }));
            if (wants.length === 0 || copied >= offsetsTotal) return;
            const fetched = await source.fetch(leaders[wants[0]!.partition]!, wants, { maxWaitMs: 500, maxBytes: 16 * MiB, partitionMaxBytes: 4 * MiB }, lane);
            for (const f of fetched.partitions) {
              if (f.errorCode !== 0) throw new Error(`raw fetch of ${f.topic}-${f.partition}: error ${f.errorCode}`);
              ends[f.partition] = f.lastStableOffset;
              if (f.records === null || f.records.length === 0) continue;
              const r = filterFetched(f.records, f.offset, f.aborted);
              copied += r.nextOffset - next[f.partition]!;
              next[f.partition] = r.nextOffset;
            }
            fetched.release();
          }
        })(),
      );
    }
    await Promise.all(loops);
  } finally {
    source.close();
  }
  return { seconds: (performance.now() - t0) / 1000, clientCpu: ownCpuSeconds() - cpu0, sourceCpu: 0, readySeconds: 0 };
}

async function mirrorCopy(source: string, target: RunningAgent, topic: string, partitions: number, offsetsTotal: number, profDir: string): Promise<Pass> {
  const conn = await connect(target.bootstrap);
  const targetCpu0 = cpuSecondsOf(target.pid) ?? 0;
  const extra = flags['mirror-args'].split(/\s+/).filter((s) => s.length > 0);
  const env = { ...process.env, WEIR_NODE_ARGS: [flags['mirror-node-args'], profDir ? `--cpu-prof --cpu-prof-dir ${profDir}` : ''].join(' ').trim() };
  const t0 = performance.now();
  // Through scripts/weir, as users run it (same malloc tunables as the agents).
  const child = spawn('sh', [WEIR_BIN, 'mirror', '--source-brokers', source, '--bootstrap-server', target.bootstrap, '--mirror-token', TOKEN, '--topics', topic, '--progress', 'false', ...extra], {
    stdio: ['ignore', flags['mirror-log'] ? 'pipe' : 'ignore', 'pipe'],
    env,
  });
  if (flags['mirror-log']) appendFileSync(flags['mirror-log'], `${new Date().toISOString()} bench: spawned the mirror\n`);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (readySeconds === 0 && / info mirror: mirroring /.test(err)) {
      readySeconds = (performance.now() - t0) / 1000;
      readyCpu = cpuSecondsOf(child.pid!) ?? 0;
    }
  });
  if (flags['mirror-log']) for (const out of [child.stdout!, child.stderr!]) out.on('data', (d: Buffer) => appendFileSync(flags['mirror-log'], d));
  const exited = new Promise((r) => child.once('exit', r));
  let readySeconds = 0;
  let readyCpu = 0;
  let firstSeconds: number | undefined;
  let clientCpu = 0;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the mirror exited: ${err.slice(-2000)}`);
      clientCpu = cpuSecondsOf(child.pid!) ?? clientCpu;
      const n = await ends(conn, topic, partitions).catch(() => -1);
      if (n > 0 && firstSeconds === undefined) {
        firstSeconds = (performance.now() - t0) / 1000;
        if (flags['mirror-log']) appendFileSync(flags['mirror-log'], `${new Date().toISOString()} bench: first records on Weir\n`);
      }
      if (n >= offsetsTotal) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const seconds = (performance.now() - t0) / 1000;
    clientCpu = cpuSecondsOf(child.pid!) ?? clientCpu;
    const targetCpu = (cpuSecondsOf(target.pid) ?? 0) - targetCpu0;
    return { seconds, clientCpu, sourceCpu: 0, targetCpu, readySeconds, firstSeconds, readyCpu };
  } finally {
    conn.close();
    child.kill('SIGTERM');
    await exited;
  }
}

/** MiB/s from ready to done: the copy itself, without process start, connecting and joining. */
function copyRate(p: Pass, valueBytes: number): number {
  return valueBytes / MiB / (p.seconds - p.readySeconds);
}

function cpuLine(label: string, p: Pass, gib: number): string {
  const startup = p.readyCpu !== undefined ? ` (${fmt(p.readyCpu, 2)} s of it until ready)` : '';
  const parts = [`source agent ${fmt(p.sourceCpu / gib, 1)}`, `${label} ${fmt(p.clientCpu / gib, 1)}${startup}`];
  if (p.targetCpu !== undefined) parts.push(`target agent ${fmt(p.targetCpu / gib, 1)}`);
  const total = p.sourceCpu + p.clientCpu + (p.targetCpu ?? 0);
  return `         CPU s/GiB: ${parts.join(', ')}; all ${fmt(total / gib, 1)} (${fmt(total / p.seconds, 2)} cores busy on average)`;
}

async function main(): Promise<void> {
  printHeader('mirror', `mirror throughput vs a raw kafkajs consume, ${flags.mib} MiB of ${flags['record-bytes']} B records, ${flags.partitions} partitions, ${flags.runs} round(s)`);
  const topic = 'bench-mirror';
  const records = Math.round((flags.mib * MiB) / flags['record-bytes']);
  const sourceDir = makeTempDir('mirror-source', RAM_DIR);
  const scratch = makeTempDir('mirror-scratch', RAM_DIR);
  const sourceArgs = ['--default-partitions', String(flags.partitions), '--group-initial-rebalance-delay-ms', '0'];
  let source: RunningAgent = await startAgent({ dataDir: sourceDir, extraArgs: sourceArgs });
  const pre = await produce('python', { bootstrap: source.bootstrap, topic, recordBytes: flags['record-bytes'], records, processes: 2, scratchDir: scratch, timeoutMs: 900_000 });
  if (pre.failed !== 0) throw new Error(`preload failed: ${pre.firstError}`);
  const pc = await connect(source.bootstrap);
  const offsetsTotal = await ends(pc, topic, flags.partitions);
  pc.close();
  console.log(`preload  ${records} records (${offsetsTotal} offsets) into ${flags.partitions} partitions`);

  /** Restarts the source (empty log cache) and runs one pass, adding the source's CPU to it. */
  const withFreshSource = async (run: (bootstrap: string) => Promise<Pass>): Promise<Pass> => {
    await source.stop();
    source = await startAgent({ dataDir: sourceDir, extraArgs: sourceArgs });
    const cpu0 = cpuSecondsOf(source.pid) ?? 0;
    const p = await run(source.bootstrap);
    p.sourceCpu = (cpuSecondsOf(source.pid) ?? 0) - cpu0;
    return p;
  };

  let valueBytes = 0;
  const best: { kafkajs?: Pass; raw?: Pass; mirror?: Pass } = {};
  const keepBest = (k: keyof typeof best, p: Pass): void => {
    if (best[k] === undefined || p.seconds < best[k]!.seconds) best[k] = p;
  };
  let profDir = '';
  for (let round = 1; round <= flags.runs; round++) {
    const base = await withFreshSource(async (b) => {
      const r = await kafkajsConsume(b, topic, records);
      valueBytes = r.valueBytes;
      return r;
    });
    const gib = valueBytes / GiB;
    keepBest('kafkajs', base);
    console.log(`[${round}] kafkajs  ${fmt(base.seconds, 2)} s, ${fmt(valueBytes / MiB / base.seconds)} MiB/s (consumer group, eachBatch, messages decoded; ${fmt(base.readySeconds, 2)} s to join, then ${fmt(copyRate(base, valueBytes))} MiB/s)`);
    console.log(cpuLine('kafkajs consumer', base, gib));

    const raw = await withFreshSource((b) => rawFetch(b, topic, flags.partitions, offsetsTotal));
    keepBest('raw', raw);
    console.log(`[${round}] raw read ${fmt(raw.seconds, 2)} s, ${fmt(valueBytes / MiB / raw.seconds)} MiB/s (our read_committed fetch, nothing written: the read side's ceiling)`);
    console.log(cpuLine('raw fetch', raw, gib));

    const targetDir = makeTempDir('mirror-target', RAM_DIR);
    if (flags.profile && round === flags.runs) profDir = makeProfileDir('mirror');
    const target = await startAgent({ dataDir: targetDir, extraArgs: ['--mirror-token', TOKEN], nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', `${profDir}/target`] : [] });
    const m = await withFreshSource((b) => mirrorCopy(b, target, topic, flags.partitions, offsetsTotal, profDir ? `${profDir}/mirror` : ''));
    await target.stop();
    keepBest('mirror', m);
    console.log(`[${round}] mirror   ${fmt(m.seconds, 2)} s, ${fmt(valueBytes / MiB / m.seconds)} MiB/s (source -> Weir, written and committed; ${fmt(m.readySeconds, 2)} s from spawn to ready, then ${fmt(copyRate(m, valueBytes))} MiB/s; first records on Weir at ${fmt(m.firstSeconds ?? 0, 2)} s)`);
    console.log(cpuLine('mirror process', m, gib));
    console.log(`[${round}] ratio    ${fmt(base.seconds / m.seconds, 2)} mirror/kafkajs this round from the start, ${fmt(copyRate(m, valueBytes) / copyRate(base, valueBytes), 2)} from ready`);
  }

  const gib = valueBytes / GiB;
  const rate = (p: Pass): number => valueBytes / MiB / p.seconds;
  const base = best.kafkajs!;
  const raw = best.raw!;
  const m = best.mirror!;
  const ratio = rate(m) / rate(base);
  const copyRatio = copyRate(m, valueBytes) / copyRate(base, valueBytes);
  console.log(`best of ${flags.runs} round(s), each kind of pass on its own (fastest from the start):`);
  console.log(`kafkajs  ${fmt(rate(base))} MiB/s from the start, ${fmt(copyRate(base, valueBytes))} MiB/s from joined`);
  console.log(cpuLine('kafkajs consumer', base, gib));
  console.log(`raw read ${fmt(rate(raw))} MiB/s`);
  console.log(cpuLine('raw fetch', raw, gib));
  console.log(`mirror   ${fmt(rate(m))} MiB/s from spawn, ${fmt(copyRate(m, valueBytes))} MiB/s from ready`);
  console.log(cpuLine('mirror process', m, gib));
  console.log(`ratio    ${fmt(ratio, 2)} mirror/kafkajs from the start (target >= ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? 'OK' : 'BELOW TARGET'}; ${fmt(copyRatio, 2)} from ready; mirror/raw read ${fmt(rate(m) / rate(raw), 2)}`);
  printResult({
    bench: 'mirror',
    mib: flags.mib,
    partitions: flags.partitions,
    runs: flags.runs,
    kafkajsMiBs: Number(fmt(rate(base))),
    rawReadMiBs: Number(fmt(rate(raw))),
    mirrorMiBs: Number(fmt(rate(m))),
    ratio: Number(fmt(ratio, 2)),
    copyRatio: Number(fmt(copyRatio, 2)),
    cpuSecondsPerGiB: {
      kafkajs: { source: Number(fmt(base.sourceCpu / gib)), consumer: Number(fmt(base.clientCpu / gib)) },
      rawRead: { source: Number(fmt(raw.sourceCpu / gib)), client: Number(fmt(raw.clientCpu / gib)) },
      mirror: { source: Number(fmt(m.sourceCpu / gib)), mirror: Number(fmt(m.clientCpu / gib)), target: Number(fmt((m.targetCpu ?? 0) / gib)) },
    },
  });
  await source.stop();
  if (profDir) {
    for (const who of ['mirror', 'target']) {
      const file = findProfile(`${profDir}/${who}`);
      console.log(`--- ${who === 'mirror' ? 'mirror process' : 'target agent'} ---`);
      console.log(file === null ? 'no .cpuprofile written' : formatProfile(summarizeProfile(file), 30));
    }
  }
}

main()
  .catch((e: unknown) => {
    console.error(`bench mirror: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
