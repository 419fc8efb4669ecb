/**
 * Shared by the pipelines end-to-end tests: running `weir run` as a real child process (so
 * kill -9 is a real crash), producing inputs and reading outputs with Weir's client, and the
 * word-count workload with its expected results computed independently of the pipeline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Fetcher, KafkaClient, Producer, type ProducedRecord } from '../../core/client/index.js';
import { AGENT_CLI } from '../helpers/agent-process.js';
import { repoRoot } from '../helpers/repo-root.js';

/** The compiled example or pipeline file under dist/. */
export function compiledExample(name: string): string {
  const beside = fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
  return existsSync(beside) ? beside : join(repoRoot(import.meta.url), 'dist', 'examples', `${name}.js`);
}

export interface RunProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once a line matching re has been printed. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill9(): Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function weirRun(file: string, args: readonly string[]): RunProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEIR_')));
  const child = spawn(process.execPath, [AGENT_CLI, 'run', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: inherited });
  live.add(child);
  let all = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (all += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (all += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    live.delete(child);
    resolve(code);
  }));
  return {
    child,
    exited,
    output: () => all,
    async waitFor(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = all.split('\n').find((l) => re.test(l));
        if (m !== undefined) return m;
        if (child.exitCode !== null) throw new Error(`weir run exited (${child.exitCode}) before printing ${re}\n${all}`);
        if (Date.now() > deadline) throw new Error(`weir run did not print ${re} within ${timeoutMs} ms\n${all}`);
        await sleep(50);
      }
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(timeoutMs = 60_000) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function produce(client: KafkaClient, topic: string, records: readonly (ProducedRecord & { partition: number })[]): Promise<void> {
  const p = new Producer(client, { lingerMs: 2, batchBytesMax: 256 * 1024 });
  for (const r of records) {
    await p.writable();
    p.append(topic, r.partition, r);
  }
  await p.close();
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Every record of the topic up to its current end offsets. */
export async function readTopic(client: KafkaClient, topic: string): Promise<ReadRecord[]> {
  const partitions = (await client.topic(topic, true)).partitions.map((p) => p.partition);
  const ends = await client.listOffsets(topic, partitions, 'latest');
  const at = new Map(partitions.map((p) => [p, 0]));
  const fetcher = new Fetcher(client, { maxWaitMs: 50 });
  const out: ReadRecord[] = [];
  for (;;) {
    const pending = partitions.filter((p) => at.get(p)! < ends.get(p)!);
    if (pending.length === 0) return out;
    for (const f of await fetcher.fetch(pending.map((partition) => ({ topic, partition, offset: at.get(partition)! })))) {
      for (const r of f.records) {
        if (Number(r.offset) >= ends.get(f.partition)!) continue;
        out.push({ partition: f.partition, offset: Number(r.offset), key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
      }
      at.set(f.partition, Math.min(ends.get(f.partition)!, f.nextOffset));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The word-count workload (examples/word-count.ts: one-minute tumbling windows, 5 s disorder)

export const WC_BASE_MS = 1_700_000_000_000;
const VOCABULARY = Array.from({ length: 40 }, (_, i) => `word${i}`);

/** Deterministic lines: per partition, event time advancing stepMs per line. */
export function wordCountLines(partitions: number, linesPerPartition: number, stepMs: number, from = 0): (ProducedRecord & { partition: number })[] {
  const out: (ProducedRecord & { partition: number })[] = [];
  for (let i = from; i < from + linesPerPartition; i++) {
    for (let p = 0; p < partitions; p++) {
      let x = (i * 7919 + p * 104729) >>> 0;
      const words: string[] = [];
      for (let w = 0; w < 4; w++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        words.push(VOCABULARY[x % VOCABULARY.length]!);
      }
      out.push({ partition: p, key: Buffer.from(`line-${p}-${i}`), value: Buffer.from(words.join(' ')), timestamp: WC_BASE_MS + i * stepMs });
    }
  }
  return out;
}

/**
 * Lines far in the future, one per input partition, whose words reach every repartition
 * partition: they move every task's watermark past every real window, so all of them close.
 */
export function closingLines(partitions: number): (ProducedRecord & { partition: number })[] {
  const words = Array.from({ length: 64 }, (_, i) => `zzclose${i}`).join(' ');
  return Array.from({ length: partitions }, (_, p) => ({ partition: p, key: Buffer.from(`close-${p}`), value: Buffer.from(words), timestamp: WC_BASE_MS + 1_000_000_000 }));
}

/** "word@windowStart" -> count, for the given lines (the closing lines' own windows never close). */
export function expectedCounts(lines: readonly ProducedRecord[], windowMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const start = Math.floor(l.timestamp! / windowMs) * windowMs;
    for (const w of l.value!.toString().split(' ')) {
      if (w.startsWith('zzclose')) continue;
      const k = `${w}@${start}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * The word-count results in the output topic as "word@windowStart" -> every value emitted for
 * it (more than one only for an at-least-once duplicate).
 */
export function emittedCounts(records: readonly ReadRecord[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    const v = JSON.parse(r.value!) as { start: number; end: number; value: number };
    const k = `${r.key}@${v.start}`;
    const l = out.get(k) ?? [];
    l.push(v.value);
    out.set(k, l);
  }
  return out;
}

export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 90_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Compares emitted window results with the expected ones: every expected key present, every
 * emitted value equal to the expected one (re-emissions included). `wrong` lists what is not;
 * `duplicates` counts re-emissions (at-least-once output permits identical ones).
 */
export function compareResults(got: Map<string, number[]>, expected: Map<string, number>): { wrong: string[]; duplicates: number } {
  const wrong: string[] = [];
  let duplicates = 0;
  for (const [k, values] of got) {
    const want = expected.get(k);
    if (want === undefined) wrong.push(`${k}: unexpected ${values.join(',')}`);
    else if (values.some((v) => v !== want)) wrong.push(`${k}: got ${values.join(',')}, want ${want}`);
    duplicates += values.length - 1;
  }
  for (const k of expected.keys()) if (!got.has(k)) wrong.push(`${k}: missing`);
  return { wrong, duplicates };
}
