/**
 * Merging small Arrow IPC table files (issue 6 leftovers), against a real agent: a table synced
 * with --format arrow in several small files, with a schema change between files (an integer
 * field that becomes fractional, one that becomes a string, a new field), merges into one file per
 * partition with the same layout; every row (partition, offset, key, value and the value columns)
 * reads the same before and after, through `weir query` and through apache-arrow. Crash safety:
 * a merged object left by a merge killed before its commit is overwritten and committed by the
 * next merge, and a sync killed with -9 at random moments while merging never loses or doubles a row.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import type { Producer } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { manifestFiles, spawnWeir, weir } from './tables-helpers.js';

let agent: Agent;
let producer: Producer;
const store = (): string[] => ['--data-dir', agent.dataDir];
const ROUNDS = 4;
const PER_ROUND = 60;
const PARTITIONS = 2;

before(async () => {
  agent = await startAgent({ lingerMs: 5 });
  await createTopics(agent.bootstrap, [
    { topic: 'arrowmerge', numPartitions: PARTITIONS },
    { topic: 'arrowcrash', numPartitions: 1 },
  ]);
  producer = await connectedProducer(agent.bootstrap);
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
});

/** Round r's records: amount an integer in rounds 0-1, fractional after; tag a number, then a string; region from round 2. */
function roundRecords(r: number): { key: string; value: string; partition: number }[] {
  return Array.from({ length: PER_ROUND }, (_, k) => {
    const i = r * PER_ROUND + k;
    const value: Record<string, unknown> = { n: i, amount: r < 2 ? i % 7 : (i % 7) + 0.5, tag: r < 1 ? i % 3 : `t${i % 3}` };
    if (r >= 2) value.region = `r${i % 4}`;
    return { key: `k${i}`, value: JSON.stringify(value), partition: i % PARTITIONS };
  });
}

async function queryJson(sql: string): Promise<Record<string, unknown>[]> {
  const r = await weir(['query', sql, '--output', 'json', ...store()]);
  assert.equal(r.code, 0, `weir query failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

const ALL_ROWS = `SELECT partition, "offset", decode("key") AS k, decode("value") AS v, n, amount, tag, region, typeof(amount) AS ta, typeof(tag) AS tt FROM arrowmerge ORDER BY partition, "offset"`;

describe('weir tables: Arrow IPC files merge like Parquet ones', () => {
  it('several small Arrow files merge into one per partition: same rows, offsets and values via weir query and apache-arrow', async () => {
    for (let r = 0; r < ROUNDS; r++) {
      await kafkajsProduce(producer, 'arrowmerge', roundRecords(r));
      const s = await weir(['tables', 'sync', 'arrowmerge', '--once', '--format', 'arrow', '--merge-min-files', '100', ...store()]);
      assert.equal(s.code, 0, s.stderr);
    }
    const before = await manifestFiles(agent.dataDir, 'arrowmerge');
    assert.equal(before.data.length, ROUNDS * PARTITIONS);
    for (const p of before.data) assert.match(p, /\.arrow$/);
    const rowsBefore = await queryJson(ALL_ROWS);
    assert.equal(rowsBefore.length, ROUNDS * PER_ROUND);
    // The schema change is there before the merge: amount read as DOUBLE, tag as VARCHAR, region null in old rows.
    assert.ok(rowsBefore.every((r) => r.ta === 'DOUBLE' && r.tt === 'VARCHAR'));
    assert.equal(rowsBefore.filter((r) => r.region === null).length, 2 * PER_ROUND);

    const m = await weir(['tables', 'sync', 'arrowmerge', '--once', '--format', 'arrow', '--merge-min-files', '3', '--retired-grace-ms', '0', ...store()]);
    assert.equal(m.code, 0, m.stderr);
    const merged = await manifestFiles(agent.dataDir, 'arrowmerge');
    assert.equal(merged.data.length, PARTITIONS, 'one file per partition after the merge');
    const perPartition = (ROUNDS * PER_ROUND) / PARTITIONS;
    for (let p = 0; p < PARTITIONS; p++) {
      const file = merged.data.find((f) => new RegExp(`/hour=\\d\\d/${p}-0-${perPartition - 1}\\.arrow$`).test(f));
      assert.ok(file, `partition ${p}'s merged file is named by its offset range: ${merged.data.join(', ')}`);
      assert.match(file, /\/tables\/arrowmerge\/date=\d{4}-\d\d-\d\d\/hour=\d\d\//);
    }
    for (const old of before.data) assert.equal(existsSync(old), false, `${old} deleted after the grace`);
    assert.deepEqual(merged.nextOffsets, before.nextOffsets);

    // The query path: every row and value as before.
    assert.deepEqual(await queryJson(ALL_ROWS), rowsBefore);

    // apache-arrow reads the merged files: the same rows, offsets in order with no gap, merged types.
    const fromFiles: Record<string, unknown>[] = [];
    for (const path of merged.data) {
      const table = tableFromIPC(readFileSync(path));
      const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
      assert.equal(types.amount, 'Float64');
      assert.equal(types.tag, 'Utf8');
      assert.equal(types.region, 'Utf8');
      assert.equal(types.n, 'Int64');
      const offsets = Array.from(table.getChild('offset')!.toArray() as BigInt64Array, Number);
      assert.deepEqual([...offsets], Array.from({ length: perPartition }, (_, i) => i));
      for (let i = 0; i < table.numRows; i++) {
        const row = table.get(i)!.toJSON() as Record<string, unknown>;
        fromFiles.push({
          partition: row.partition,
          offset: Number(row.offset),
          k: Buffer.from(row.key as Uint8Array).toString(),
          v: Buffer.from(row.value as Uint8Array).toString(),
          n: Number(row.n),
          amount: row.amount,
          tag: row.tag,
          region: row.region,
        });
      }
    }
    fromFiles.sort((a, b) => (a.partition as number) - (b.partition as number) || (a.offset as number) - (b.offset as number));
    assert.deepEqual(
      fromFiles,
      rowsBefore.map(({ ta: _ta, tt: _tt, ...r }) => r),
    );
    // And the values are what was produced.
    const produced = Array.from({ length: ROUNDS }, (_, r) => roundRecords(r)).flat();
    const byKey = new Map(produced.map((p) => [p.key, p.value]));
    for (const r of fromFiles) assert.equal(r.v, byKey.get(r.k as string));

    // The manifest's row count and the list/describe figures follow the merge.
    const d = JSON.parse((await weir(['tables', 'describe', 'arrowmerge', '--json', ...store()])).stdout) as { files: number; rows: number };
    assert.deepEqual([d.files, d.rows], [PARTITIONS, ROUNDS * PER_ROUND]);
  });

  it('a merged object left by a merge killed before its commit is overwritten and committed; kill -9 during merges loses and doubles nothing', async () => {
    const rounds = 9;
    let expectedSum = 0;
    for (let r = 0; r < rounds; r++) {
      const records = Array.from({ length: 40 }, (_, k) => ({ key: `c${r * 40 + k}`, value: JSON.stringify({ n: r * 40 + k }), partition: 0 }));
      for (const rec of records) expectedSum += (JSON.parse(rec.value) as { n: number }).n;
      await kafkajsProduce(producer, 'arrowcrash', records);
      const s = await weir(['tables', 'sync', 'arrowcrash', '--once', '--format', 'arrow', '--merge-min-files', '1000', ...store()]);
      assert.equal(s.code, 0, s.stderr);
    }
    const total = rounds * 40;
    const first = await manifestFiles(agent.dataDir, 'arrowcrash');
    assert.equal(first.data.length, rounds);
    // A target size that makes runs of three files: 0-119, 120-239, 240-359.
    const sizes = first.data.map((p) => statSync(p).size);
    const target = String(Math.floor((sizes[0]! + sizes[1]! + sizes[2]!) * 1.05));

    // A merge killed between its PUT and its commit: the object of the first three files' merge is
    // there (here: garbage, as if torn), the manifest still lists the three small files.
    const dir = dirname(first.data[0]!);
    const stale = join(dir, '0-0-119.arrow');
    mkdirSync(dir, { recursive: true });
    writeFileSync(stale, 'not an arrow file');
    const [beforeMerge] = await queryJson('SELECT count(*) AS n, sum(n) AS s FROM arrowcrash');
    assert.deepEqual([Number(beforeMerge!.n), Number(beforeMerge!.s)], [total, expectedSum]);

    // kill -9 at random moments of syncs that merge (runs of 3 files), then one that finishes.
    for (let attempt = 0; attempt < 4; attempt++) {
      const { child, exited } = spawnWeir(['tables', 'sync', 'arrowcrash', '--once', '--format', 'arrow', '--merge-min-files', '3', '--target-file-bytes', target, '--retired-grace-ms', '0', ...store()]);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 1200)));
      child.kill('SIGKILL');
      await exited;
      const [q] = await queryJson('SELECT count(*) AS n, sum(n) AS s, count(DISTINCT "offset") AS d FROM arrowcrash');
      assert.deepEqual([Number(q!.n), Number(q!.s), Number(q!.d)], [total, expectedSum, total], `after kill ${attempt}`);
    }
    const done = await weir(['tables', 'sync', 'arrowcrash', '--once', '--format', 'arrow', '--merge-min-files', '3', '--target-file-bytes', target, '--retired-grace-ms', '0', '--orphan-grace-ms', '0', ...store()]);
    assert.equal(done.code, 0, done.stderr);
    const final = await manifestFiles(agent.dataDir, 'arrowcrash');
    assert.equal(final.data.length, 3, `runs of three files merged: ${final.data.join(', ')}`);
    let rows = 0;
    let sum = 0;
    const seen = new Set<number>();
    for (const path of final.data) {
      const table = tableFromIPC(readFileSync(path));
      rows += table.numRows;
      for (const v of table.getChild('n')!.toArray() as BigInt64Array) sum += Number(v);
      for (const o of table.getChild('offset')!.toArray() as BigInt64Array) seen.add(Number(o));
    }
    assert.deepEqual([rows, sum, seen.size], [total, expectedSum, total]);
    // The torn object was replaced by the real merge of its run, and no stray file remains.
    assert.ok(final.data.includes(stale), 'the merge of 0-119 committed under its key');
    assert.equal(tableFromIPC(readFileSync(stale)).numRows, 120);
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.arrow')).map((f) => join(dir, f)).sort();
    assert.deepEqual(onDisk, [...final.data].sort());
    const [q] = await queryJson('SELECT count(*) AS n, sum(n) AS s, count(DISTINCT "offset") AS d FROM arrowcrash');
    assert.deepEqual([Number(q!.n), Number(q!.s), Number(q!.d)], [total, expectedSum, total]);
  });
});
