/**
 * Catch-up fetch throughput: preload a topic (default 1 GiB of 1 KiB records in 16 partitions),
 * then read all of it from offset 0 as fast as a librdkafka consumer can, twice:
 *  - cold: the agent restarted (empty log cache) and the data dir's files evicted from the OS
 *    page cache, so every byte comes off the disk;
 *  - warm: the same agent again right after, its cache and the page cache as the cold pass left them.
 *
 * Baseline, same run: reading the agent's object files straight from disk (8 MiB reads, as `cat`
 * does), cold (evicted first) and warm: what a reader with no protocol, no lookup and no copy to a
 * socket could reach on this machine. Target: >= 400 MiB/s.
 *
 * Throughput counts record values only (what the application receives); the object files also
 * hold batch headers and an index, so the baseline moves a few percent more bytes than it is
 * credited with: the comparison favours the baseline slightly.
 *
 * Run: npm run bench -- fetch [--mib 1024] [--driver kcat|python] [--consumers 1] [--profile 1]
 */
import { RAM_DIR, cleanup, makeTempDir, startAgent, type RunningAgent } from './lib/agent.js';
import { consume, parseDriver, produce, type ConsumeOutcome } from './lib/clients.js';
import { evictFromPageCache, listFiles, readFilesBandwidth, totalBytes } from './lib/disk.js';
import { cpuSecondsOf, runPython } from './lib/process.js';
import { findProfile, formatProfile, makeProfileDir, summarizeProfile } from './lib/profile.js';
import { MiB, fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';

const TARGET_MIB_S = 400;

const flags = parseBenchFlags('fetch', {
  mib: { default: 1024, description: 'MiB preloaded and then consumed' },
  driver: { default: 'kcat', description: 'consumer: kcat (-C -e) or python (confluent-kafka consume())' },
  consumers: { default: 1, description: 'consumer processes splitting the partitions (python driver)' },
  partitions: { default: 16, description: 'partitions of the topic' },
  'record-bytes': { default: 1024, description: 'value size' },
  'warm-runs': { default: 2, description: 'warm passes after the cold one (the best is reported)' },
  profile: { default: 0, description: '1: run the consuming agent under --cpu-prof and print its hot functions' },
});

async function main(): Promise<void> {
  printHeader('fetch', `catch-up fetch throughput, ${flags.mib} MiB of ${flags['record-bytes']} B records, ${flags.partitions} partitions`);
  const driver = parseDriver(flags.driver);
  const dataDir = makeTempDir('fetch');
  const scratch = makeTempDir('fetch-scratch', RAM_DIR);
  const topic = 'bench-fetch';
  const records = Math.round((flags.mib * MiB) / flags['record-bytes']);
  const agentArgs = ['--default-partitions', String(flags.partitions)];

  // Preload with the fastest producer setup (see `npm run bench -- loadgen`).
  let agent: RunningAgent = await startAgent({ dataDir, extraArgs: agentArgs });
  console.log(`agent    ${agent.bootstrap} (pid ${agent.pid}), data dir ${dataDir}`);
  const t0 = performance.now();
  const pre = await produce('python', {
    bootstrap: agent.bootstrap,
    topic,
    recordBytes: flags['record-bytes'],
    records,
    processes: 2,
    scratchDir: scratch,
    timeoutMs: 900_000,
  });
  if (pre.failed !== 0) throw new Error(`preload failed: ${pre.firstError}`);
  const check = await runPython<{ total: number }>('offsets.py', { bootstrap: agent.bootstrap, topic }, { timeoutMs: 60_000 });
  if (check.total !== records) throw new Error(`preload: high watermarks sum to ${check.total}, expected ${records}`);
  console.log(`preload  ${records} records, ${fmt(pre.bytes / MiB, 0)} MiB in ${fmt((performance.now() - t0) / 1000)} s`);
  await agent.stop();

  const files = listFiles(dataDir);
  const objectFiles = files.filter((f) => f.endsWith('.wobj'));
  const objectBytes = totalBytes(objectFiles);
  console.log(`objects  ${objectFiles.length} files, ${fmt(objectBytes / MiB, 0)} MiB (${files.length - objectFiles.length} other files in the data dir)`);

  // Cold baseline: the object files straight off the disk.
  await evictFromPageCache(files);
  const diskCold = readFilesBandwidth(objectFiles);
  console.log(`baseline cold read of the object files: ${fmt(diskCold.mibPerSec)} MiB/s`);

  // Cold: a new agent process and nothing of the data dir in the page cache.
  await evictFromPageCache(files);
  const profDir = flags.profile ? makeProfileDir('fetch') : '';
  agent = await startAgent({ dataDir, extraArgs: agentArgs, nodeArgs: flags.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [] });
  const job = { bootstrap: agent.bootstrap, topic, partitions: flags.partitions, records, recordBytes: flags['record-bytes'], processes: flags.consumers, timeoutMs: 900_000 };
  const pass = async (label: string): Promise<{ out: ConsumeOutcome; mibS: number; agentCpu: number }> => {
    const cpu0 = cpuSecondsOf(agent.pid) ?? 0;
    const out = await consume(driver, job);
    const agentCpu = (cpuSecondsOf(agent.pid) ?? 0) - cpu0;
    if (out.errors.length > 0 || out.records !== records) throw new Error(`${label}: got ${out.records} of ${records} records: ${out.errors.join('; ')}`);
    const mibS = out.bytes / MiB / out.seconds;
    console.log(
      `${label.padEnd(5)} weir ${fmt(mibS)} MiB/s, ${fmt(out.records / out.seconds, 0)} records/s (${fmt(out.seconds, 2)} s); ` +
        `cpu: agent ${fmt(agentCpu)} s (${fmt(agentCpu / (out.bytes / 1024 ** 3), 2)} s/GiB), consumer ${fmt(out.clientCpuSeconds)} s`,
    );
    return { out, mibS, agentCpu };
  };
  const cold = await pass('cold');
  const warms = [];
  for (let i = 0; i < flags['warm-runs']; i++) warms.push(await pass(`warm${i + 1}`));
  const warm = warms.reduce((a, b) => (b.mibS > a.mibS ? b : a), warms[0] ?? cold);
  await agent.stop();
  if (flags.profile) {
    const file = findProfile(profDir);
    console.log(file === null ? 'no .cpuprofile written' : formatProfile(summarizeProfile(file)));
  }

  // Warm baseline: the same files, now (mostly) in the page cache.
  const diskWarm = readFilesBandwidth(objectFiles);
  console.log(`baseline warm read of the object files: ${fmt(diskWarm.mibPerSec)} MiB/s`);

  console.log('');
  console.log(`weir cold ${fmt(cold.mibS)} MiB/s vs disk cold read ${fmt(diskCold.mibPerSec)} MiB/s: ratio ${fmt(cold.mibS / diskCold.mibPerSec, 2)}`);
  console.log(`weir warm ${fmt(warm.mibS)} MiB/s vs disk warm read ${fmt(diskWarm.mibPerSec)} MiB/s: ratio ${fmt(warm.mibS / diskWarm.mibPerSec, 2)}`);
  console.log(`target >= ${TARGET_MIB_S} MiB/s: cold ${cold.mibS >= TARGET_MIB_S ? 'MET' : 'MISSED'}, warm ${warm.mibS >= TARGET_MIB_S ? 'MET' : 'MISSED'}`);
  printResult({
    bench: 'fetch',
    driver,
    mib: flags.mib,
    coldMiBs: cold.mibS,
    warmMiBs: warm.mibS,
    diskColdMiBs: diskCold.mibPerSec,
    diskWarmMiBs: diskWarm.mibPerSec,
    agentCpuSecPerGiB: { cold: cold.agentCpu / (cold.out.bytes / 1024 ** 3), warm: warm.agentCpu / (warm.out.bytes / 1024 ** 3) },
    consumerCpuS: { cold: cold.out.clientCpuSeconds, warm: warm.out.clientCpuSeconds },
  });
}

main()
  .catch((e: unknown) => {
    console.error(`fetch bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
