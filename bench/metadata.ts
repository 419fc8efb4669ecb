/**
 * SQLite metadata store costs: CPU per commit of a 1000-chunk flush (the largest flush the agent
 * makes at full load), and CPU per index lookup on a partition of 20 000 and of 200 000 entries,
 * which shows whether lookups stay O(log n). Baselines, measured in the same run: a bare
 * better-sqlite3 transaction inserting the same 1000 rows, and the lookup on the 10x smaller
 * partition.
 * Run: npm run bench -- metadata
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CommitChunk, TopicInfo } from '../core/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../core/metadata/sqlite-metadata-store.js';
import { flushObjectKey } from '../core/storage/paths.js';
import { fmt, parseBenchFlags, printHeader, printResult } from './lib/report.js';

const flags = parseBenchFlags('metadata', {
  commits: { default: 60, description: 'flush commits measured per store' },
  lookups: { default: 2000, description: 'lookups measured per partition size' },
});

const chunk = (t: TopicInfo, partition: number, offsetCount: number, maxTimestamp: number, byteStart: number, byteLength: number): CommitChunk => ({
  topic: t.name,
  topicId: t.id,
  partition,
  offsetCount,
  maxTimestamp,
  byteStart,
  byteLength,
});

const cpuMs = (started: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function commitCost(path: string): Promise<number> {
  const store = new SqliteMetadataStore(path);
  try {
    const topics = await Promise.all(Array.from({ length: 50 }, (_, i) => store.createTopic(`topic-${i}`, 20, {})));
    const chunks = topics.flatMap((t) => Array.from({ length: 20 }, (_, p) => chunk(t, p, 10, Date.now(), p * 100, 100)));
    const samples: number[] = [];
    for (let i = 0; i < flags.commits; i++) {
      const key = flushObjectKey('bench');
      await store.registerPendingObject(key);
      const started = process.cpuUsage();
      await store.commitFlush(key, 10_000_000, chunks);
      samples.push(cpuMs(started));
    }
    return median(samples);
  } finally {
    await store.close();
  }
}

/** The floor: one transaction inserting 1000 index rows and updating 1000 partition rows, nothing else. */
function bareInsertCost(): number {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE idx (topic TEXT, p INT, base INT, last INT, ts INT, k TEXT, s INT, l INT, PRIMARY KEY (topic, p, base)) WITHOUT ROWID');
  db.exec('CREATE TABLE parts (topic TEXT, p INT, hw INT, PRIMARY KEY (topic, p)) WITHOUT ROWID');
  const ins = db.prepare('INSERT INTO idx VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const upd = db.prepare('INSERT INTO parts VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET hw = hw + 10');
  const samples: number[] = [];
  for (let i = 0; i < flags.commits; i++) {
    const started = process.cpuUsage();
    db.transaction(() => {
      for (let c = 0; c < 1000; c++) {
        const topic = `topic-${c % 50}`;
        ins.run(topic, c, i * 10, i * 10 + 9, Date.now(), 'key', c * 100, 100);
        upd.run(topic, c, 10);
      }
    })();
    samples.push(cpuMs(started));
  }
  db.close();
  return median(samples);
}

async function lookupCost(entries: number): Promise<{ readIndexUs: number; byTimestampUs: number; maxTimestampUs: number }> {
  const store = new SqliteMetadataStore(':memory:');
  try {
    const t = await store.createTopic('t', 1, {});
    for (let f = 0; f < entries / 100; f++) {
      const key = flushObjectKey('bench');
      await store.registerPendingObject(key);
      await store.commitFlush(key, 1_000_000, Array.from({ length: 100 }, (_, i) => chunk(t, 0, 5, (f * 100 + i) * 10, 0, 10)));
    }
    const per = async (fn: (i: number) => Promise<unknown>): Promise<number> => {
      const started = process.cpuUsage();
      for (let i = 0; i < flags.lookups; i++) await fn(i);
      return (cpuMs(started) * 1000) / flags.lookups;
    };
    const lastOffset = entries * 5;
    return {
      readIndexUs: await per((i) => store.readIndex('t', 0, (i * 7919) % lastOffset, 10)),
      byTimestampUs: await per((i) => store.findByTimestamp('t', 0, ((i * 7919) % entries) * 10)),
      maxTimestampUs: await per(() => store.findMaxTimestamp('t', 0)),
    };
  } finally {
    await store.close();
  }
}

printHeader('metadata', 'SQLite metadata store: commit CPU and lookup CPU vs partition length');
const dir = await mkdtemp(join(tmpdir(), 'weir-bench-metadata-'));
try {
  const memoryMs = await commitCost(':memory:');
  const fileMs = await commitCost(join(dir, 'metadata.sqlite'));
  const bareMs = bareInsertCost();
  console.log(`commitFlush, 1000 chunks: memory ${fmt(memoryMs, 2)} ms CPU, file ${fmt(fileMs, 2)} ms CPU (median of ${flags.commits})`);
  console.log(`baseline: bare better-sqlite3 transaction of the same 1000 rows: ${fmt(bareMs, 2)} ms CPU  (store/bare ${fmt(fileMs / bareMs, 2)}x)`);
  const small = await lookupCost(20_000);
  const large = await lookupCost(200_000);
  for (const k of ['readIndexUs', 'byTimestampUs', 'maxTimestampUs'] as const) {
    console.log(`${k.replace('Us', '').padEnd(14)} 20k entries ${fmt(small[k], 1)} µs, 200k entries ${fmt(large[k], 1)} µs (x${fmt(large[k] / small[k], 2)} for 10x the entries)`);
  }
  printResult({ commitMemoryMs: memoryMs, commitFileMs: fileMs, bareMs, small, large });
} finally {
  await rm(dir, { recursive: true, force: true });
}
