/**
 * Mirror throughput: `weir mirror` copying a preloaded topic (default 256 MiB of 1 KiB records in
 * 8 partitions) from a source agent into a second agent, in MiB/s of record values.
 *
 * Baseline, same run and same source: a raw kafkajs consume of the whole topic (a consumer group,
 * eachBatch, nothing done with the records), which is what the issue measures the mirror against.
 * Target: mirror / kafkajs >= 0.8. Before each pass the source agent is restarted, so both start
 * with its log cache empty; both agents keep their data in RAM (/dev/shm) so the disk does not
 * decide. Timing runs from the start of the consumer / mirror process to the last record read /
 * the target's high watermarks reaching the source's.
 *
 * Run: npm run bench -- mirror [--mib 256] [--partitions 8]
 */
import { spawn } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { RAM_DIR, AGENT_CLI, cleanup, makeTempDir, startAgent, type RunningAgent } from './lib/agent.js';
import { produce } from './lib/clients.js';
import { MiB, fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';
import { KafkaConnection } from '../connectors/mirror/kafka-connection.js';
import { ListOffsets } from '../core/protocol/generated/index.js';

const TARGET_RATIO = 0.8;
const TOKEN = 'bench-mirror-token-0123456789';

const flags = parseBenchFlags('mirror', {
  mib: { default: 256, description: 'MiB of record values preloaded and then copied' },
  partitions: { default: 8, description: 'partitions of the topic' },
  'record-bytes': { default: 1024, description: 'value size' },
});

async function ends(bootstrap: string, topic: string, partitions: number): Promise<number> {
  const [host, port] = bootstrap.split(':');
  const conn = await KafkaConnection.open({ host: host!, port: Number(port), clientId: 'bench', timeoutMs: 10_000, responseBytesMax: MiB });
  try {
    const res = await conn.request(ListOffsets, conn.version(ListOffsets, 7), {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 10_000,
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 })) }],
    });
    return (res.topics?.[0]?.partitions ?? []).reduce((n, p) => n + (p.errorCode ? 0 : Number(p.offset)), 0);
  } catch {
    return 0;
  } finally {
    conn.close();
  }
}

async function kafkajsConsume(bootstrap: string, topic: string, records: number): Promise<{ seconds: number; valueBytes: number }> {
  const kafka = new Kafka({ clientId: 'bench-mirror-baseline', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `baseline-${Date.now()}`, maxBytes: 64 * MiB, maxBytesPerPartition: 8 * MiB });
  const t0 = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let valueBytes = 0;
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
  await consumer.disconnect();
  return { seconds, valueBytes };
}

async function mirrorCopy(source: string, target: string, topic: string, partitions: number, offsetsTotal: number): Promise<{ seconds: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [AGENT_CLI, 'mirror', '--source-brokers', source, '--bootstrap-server', target, '--mirror-token', TOKEN, '--topics', topic, '--progress', 'false'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the mirror exited: ${err.slice(-2000)}`);
      if ((await ends(target, topic, partitions)) >= offsetsTotal) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  printHeader('mirror', `mirror throughput vs a raw kafkajs consume, ${flags.mib} MiB of ${flags['record-bytes']} B records, ${flags.partitions} partitions`);
  const topic = 'bench-mirror';
  const records = Math.round((flags.mib * MiB) / flags['record-bytes']);
  const sourceDir = makeTempDir('mirror-source', RAM_DIR);
  const targetDir = makeTempDir('mirror-target', RAM_DIR);
  const scratch = makeTempDir('mirror-scratch', RAM_DIR);
  const sourceArgs = ['--default-partitions', String(flags.partitions), '--group-initial-rebalance-delay-ms', '0'];
  let source: RunningAgent = await startAgent({ dataDir: sourceDir, extraArgs: sourceArgs });
  const pre = await produce('python', { bootstrap: source.bootstrap, topic, recordBytes: flags['record-bytes'], records, processes: 2, scratchDir: scratch, timeoutMs: 900_000 });
  if (pre.failed !== 0) throw new Error(`preload failed: ${pre.firstError}`);
  const offsetsTotal = await ends(source.bootstrap, topic, flags.partitions);
  console.log(`preload  ${records} records (${offsetsTotal} offsets) into ${flags.partitions} partitions`);

  // Baseline: raw kafkajs consume, the source's log cache empty.
  await source.stop();
  source = await startAgent({ dataDir: sourceDir, extraArgs: sourceArgs });
  const base = await kafkajsConsume(source.bootstrap, topic, records);
  const baseMiBs = base.valueBytes / MiB / base.seconds;
  console.log(`kafkajs  ${fmt(base.seconds, 2)} s, ${fmt(baseMiBs)} MiB/s (raw consume, eachBatch)`);

  // The mirror, the source's log cache empty again.
  await source.stop();
  source = await startAgent({ dataDir: sourceDir, extraArgs: sourceArgs });
  const target = await startAgent({ dataDir: targetDir, extraArgs: ['--mirror-token', TOKEN] });
  const m = await mirrorCopy(source.bootstrap, target.bootstrap, topic, flags.partitions, offsetsTotal);
  const mirrorMiBs = base.valueBytes / MiB / m.seconds;
  const ratio = mirrorMiBs / baseMiBs;
  console.log(`mirror   ${fmt(m.seconds, 2)} s, ${fmt(mirrorMiBs)} MiB/s (source -> Weir, written and committed)`);
  console.log(`ratio    ${fmt(ratio, 2)} (target >= ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? 'OK' : 'BELOW TARGET'}`);
  printResult({ bench: 'mirror', mib: flags.mib, partitions: flags.partitions, kafkajsMiBs: Number(fmt(baseMiBs)), mirrorMiBs: Number(fmt(mirrorMiBs)), ratio: Number(fmt(ratio, 2)) });
  await Promise.all([source.stop(), target.stop()]);
}

main()
  .catch((e: unknown) => {
    console.error(`bench mirror: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
