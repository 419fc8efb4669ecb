/**
 * Nexmark: queries q0-q5, q7, q8 through real pipeline tasks in process, with an in-process
 * generator and a blackhole sink, as Flink's Nexmark suite runs them.
 *
 *   npm run bench -- nexmark            every query, each in its own process
 *   npm run bench -- nexmark q5         one query
 *   npm run bench -- nexmark q5 --events 5000000
 *
 * Figure: events per second per core used = events / (user + system CPU seconds of the whole
 * process, from process.cpuUsage(): generator, operators, repartition serdes, GC). Printed beside
 * Flink 1.13's published per-core figures, with the ratio. Every stage runs as real tasks
 * (createTask) through the test driver's in-memory repartitioning, which serializes records
 * with the keyBy serdes and partitions them with murmur2, as a repartition topic would. Each
 * query first runs a warm-up of --warmup events (not counted) so the figure is steady state.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { customSink, TestDriver, type Rec } from '../pipelines/index.js';
import { NEXMARK_QUERIES, NexmarkGenerator, eventTime, nexmarkQuery, type NexmarkEvent, type NexmarkQuery } from '../pipelines/nexmark/index.js';
import { fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';

/** Flink 1.13 Nexmark, events/s per core (from the flink-nexmark README's results table). */
const FLINK_PER_CORE: Record<NexmarkQuery, number> = { q0: 155_000, q1: 158_000, q2: 175_000, q3: 152_000, q4: 34_000, q5: 22_000, q7: 12_000, q8: 146_000 };

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
const flagArgs = args.filter((a) => !positional.includes(a));
const flags = parseBenchFlags(
  'nexmark',
  {
    events: { default: 2_000_000, description: 'events per query (counted)' },
    warmup: { default: 200_000, description: 'events run first and not counted' },
    batch: { default: 1_000, description: 'records per task push (a fetch)' },
    rate: { default: 10_000_000, description: 'generator event-time rate, events/s (Flink suite: 10M)' },
  },
  flagArgs,
);

for (const q of positional) {
  if (!(NEXMARK_QUERIES as readonly string[]).includes(q)) {
    console.error(`nexmark: unknown query ${JSON.stringify(q)}; known: ${NEXMARK_QUERIES.join(', ')}`);
    process.exit(2);
  }
}

interface Outcome {
  query: NexmarkQuery;
  events: number;
  outputs: number;
  cpuS: number;
  wallS: number;
  perCore: number;
}

/** Runs `events` events of one query; returns the figures. */
function run(query: NexmarkQuery, events: number, firstEventId: number): Outcome {
  let outputs = 0;
  const blackhole = customSink('blackhole', () => ({
    name: 'blackhole',
    write: () => {
      outputs++;
    },
    flush: async () => {},
    close: async () => {},
  }));
  const p = nexmarkQuery(query, { sink: blackhole });
  const driver = new TestDriver(p, { retainOutput: false });
  const gen = new NexmarkGenerator({ eventsPerSecond: flags.rate, firstEventId });
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  let offset = 0;
  const batch = flags.batch;
  while (offset < events) {
    const n = Math.min(batch, events - offset);
    const recs: Rec[] = new Array<Rec>(n);
    for (let i = 0; i < n; i++) {
      const value: NexmarkEvent = gen.next();
      recs[i] = { key: null, value, timestamp: eventTime(value), headers: {}, topic: 'nexmark', partition: 0, offset: offset + i };
    }
    driver.pushRecords(0, recs);
    offset += n;
  }
  driver.endOfInput();
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { query, events, outputs, cpuS, wallS, perCore: events / cpuS };
}

/** The generator alone, measured in the same process: the floor under every query. */
function generatorOnly(events: number): number {
  const gen = new NexmarkGenerator({ eventsPerSecond: flags.rate });
  const cpu0 = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < events; i++) sink += eventTime(gen.next());
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) console.log('');
  return events / ((cpu.user + cpu.system) / 1e6);
}

function line(o: Outcome): string {
  const flink = FLINK_PER_CORE[o.query];
  const ratio = o.perCore / flink;
  return `${o.query.padEnd(4)} ${fmt(o.perCore / 1000, 0).padStart(8)}k/s/core   flink 1.13 ${fmt(flink / 1000, 0).padStart(4)}k   ratio ${fmt(ratio, 2).padStart(6)}x ${ratio >= 2 ? '(>= 2x target)' : '(BELOW 2x target)'}   ${o.events} events, ${o.outputs} results, cpu ${fmt(o.cpuS, 2)} s, wall ${fmt(o.wallS, 2)} s`;
}

if (positional.length === 1) {
  const query = positional[0] as NexmarkQuery;
  if (flags.warmup > 0) run(query, flags.warmup, 0);
  const o = run(query, flags.events, flags.warmup);
  console.log(line(o));
  printResult({ bench: 'nexmark', ...o, flinkPerCore: FLINK_PER_CORE[query], ratio: o.perCore / FLINK_PER_CORE[query] });
} else {
  printHeader('nexmark', 'Nexmark queries in process, events/s per core vs Flink 1.13');
  const gen = generatorOnly(Math.min(flags.events, 1_000_000));
  console.log(`generator alone: ${fmt(gen / 1000, 0)}k events/s/core (measured in this run; included in every query's figure)`);
  const queries = positional.length > 0 ? (positional as NexmarkQuery[]) : NEXMARK_QUERIES;
  const self = fileURLToPath(import.meta.url);
  let failed = false;
  for (const q of queries) {
    // One process per query: its CPU time and heap are its own.
    const child = spawnSync(process.execPath, [self, q, ...flagArgs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const out = child.stdout ?? '';
    for (const l of out.split('\n')) if (l.length > 0 && !l.startsWith('RESULT ')) console.log(l);
    const result = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status !== 0 || result === undefined) {
      console.log(`${q}: FAILED (exit ${child.status})`);
      failed = true;
    } else console.log(result);
  }
  if (failed) process.exit(1);
}
