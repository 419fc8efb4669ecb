/**
 * Load generator ceilings: how fast each librdkafka driver can produce into a sink that discards
 * everything and answers at once, and consume from a source that serves pre-built batches
 * (bench/lib/fake-broker.ts). No Weir involved. A Weir benchmark driven by a client cannot show
 * more than that client's ceiling here, so this says which driver the produce and fetch
 * benchmarks use and how much headroom they have.
 *
 * Run: npm run bench -- loadgen [--mib 512] [--partitions 16]
 */
import { RAM_DIR, cleanup, makeTempDir } from './lib/agent.js';
import { consume, produce, type Driver } from './lib/clients.js';
import { startFakeBroker } from './lib/fake-broker.js';
import { cpuSecondsOf } from './lib/process.js';
import { MiB, fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';

const flags = parseBenchFlags('loadgen', {
  mib: { default: 512, description: 'MiB per measurement' },
  partitions: { default: 16, description: 'partitions of the topic' },
  'record-bytes': { default: 1024, description: 'value size' },
  producers: { default: '1,2', description: 'producer process counts to try (python driver)' },
});

async function main(): Promise<void> {
  printHeader('loadgen', `librdkafka driver ceilings against a discard sink / instant source, ${flags['record-bytes']} B records, ${flags.partitions} partitions`);
  const scratch = makeTempDir('loadgen', RAM_DIR);
  const recordBytes = flags['record-bytes'];
  const records = Math.round((flags.mib * MiB) / recordBytes);
  const results: Record<string, unknown>[] = [];

  const produceCases: [Driver, number][] = [
    ...flags.producers.split(',').map((n): [Driver, number] => ['python', Number(n)]),
    ['kcat', 1],
  ];
  for (const [driver, processes] of produceCases) {
    const sink = await startFakeBroker({ partitions: flags.partitions });
    const cpu0 = cpuSecondsOf(process.pid) ?? 0;
    const out = await produce(driver, { bootstrap: sink.bootstrap, topic: 'loadgen', recordBytes, records, processes, scratchDir: scratch, timeoutMs: 600_000 });
    const sinkCpu = (cpuSecondsOf(process.pid) ?? 0) - cpu0;
    const received = sink.producedBytes();
    await sink.close();
    if (out.failed !== 0) throw new Error(`${driver} produce failed: ${out.firstError}`);
    const mibS = out.bytes / MiB / out.seconds;
    console.log(
      `produce ${driver.padEnd(6)} x${processes}: ${fmt(mibS)} MiB/s, ${fmt(out.records / out.seconds, 0)} records/s ` +
        `(cpu: producers ${fmt(out.clientCpuSeconds)} s, sink ${fmt(sinkCpu)} s; sink received ${fmt(received / MiB, 0)} MiB of batches)`,
    );
    results.push({ op: 'produce', driver, processes, mibS, producerCpuS: out.clientCpuSeconds });
  }

  const perPartition = Math.ceil(records / flags.partitions);
  const consumeCases: [Driver, number][] = [
    ['kcat', 1],
    ['python', 1],
    ['python', 2],
  ];
  for (const [driver, processes] of consumeCases) {
    const source = await startFakeBroker({ partitions: flags.partitions, recordBytes, recordsPerPartition: perPartition });
    const total = source.highWatermark * flags.partitions;
    const cpu0 = cpuSecondsOf(process.pid) ?? 0;
    const out = await consume(driver, { bootstrap: source.bootstrap, topic: 'loadgen', partitions: flags.partitions, records: total, recordBytes, processes, timeoutMs: 600_000 });
    const sourceCpu = (cpuSecondsOf(process.pid) ?? 0) - cpu0;
    await source.close();
    if (out.errors.length > 0 || out.records !== total) throw new Error(`${driver} consume: ${out.records} of ${total} records: ${out.errors.join('; ')}`);
    const mibS = out.bytes / MiB / out.seconds;
    console.log(`consume ${driver.padEnd(6)} x${processes}: ${fmt(mibS)} MiB/s, ${fmt(out.records / out.seconds, 0)} records/s (cpu: consumers ${fmt(out.clientCpuSeconds)} s, source ${fmt(sourceCpu)} s)`);
    results.push({ op: 'consume', driver, processes, mibS, consumerCpuS: out.clientCpuSeconds });
  }
  printResult({ bench: 'loadgen', mib: flags.mib, results });
}

main()
  .catch((e: unknown) => {
    console.error(`loadgen bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
