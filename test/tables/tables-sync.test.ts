/**
 * Tables end to end, against a real agent: 100 000 JSON records produced with kafkajs over 4
 * partitions, with a schema change halfway (a new field, and an integer field that becomes
 * fractional) and one malformed record; a `weir tables sync --once` killed with -9 at random
 * moments and restarted; `weir query` while the table lags the log, then after the sync; DuckDB
 * and hyparquet reading the files directly.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { Producer } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import type { ProduceRecord } from '../helpers/py-clients.js';
import { duck, manifestFiles, spawnWeir, sqlList, weir } from './tables-helpers.js';

const TOPIC = 'events';
const PARTITIONS = 4;
const RECORDS = 100_000;
const HALF = RECORDS / 2;
const MALFORMED_PARTITION = 2;

let agent: Agent;
let producer: Producer;
/** What was produced: per partition the last offset, and the expected sums. */
const lastOffset = new Map<number, number>();
let sumAmount = 0;
let malformedOffset = -1;

function record(i: number): ProduceRecord {
  const partition = i % PARTITIONS;
  // Second half: a new field (region), and amount gets a fraction (int widens to double).
  const value = i < HALF ? { id: i, amount: i % 1000, user: `u${i % 97}` } : { id: i, amount: (i % 1000) + 0.5, user: `u${i % 97}`, region: `r${i % 5}` };
  sumAmount += value.amount;
  return { key: `k${i}`, value: JSON.stringify(value), partition, headers: i % 1000 === 0 ? [['trace', `t${i}`]] : [] };
}

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
  producer = await connectedProducer(agent.bootstrap);
  const records = Array.from({ length: RECORDS }, (_, i) => record(i));
  const first = await kafkajsProduce(producer, TOPIC, records.slice(0, HALF), { chunk: 2000 });
  const bad = await kafkajsProduce(producer, TOPIC, [{ key: 'bad', value: '{"id": oops', partition: MALFORMED_PARTITION }]);
  malformedOffset = bad[0]!.offset!;
  const second = await kafkajsProduce(producer, TOPIC, records.slice(HALF), { chunk: 2000 });
  for (const d of [...first, ...bad, ...second]) lastOffset.set(d.partition!, Math.max(lastOffset.get(d.partition!) ?? -1, d.offset!));
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
});

const store = (): string[] => ['--data-dir', agent.dataDir];

async function queryJson(sql: string): Promise<Record<string, unknown>[]> {
  const r = await weir(['query', sql, '--output', 'json', ...store()]);
  assert.equal(r.code, 0, `weir query failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

describe('weir tables sync + weir query', () => {
  it('survives kill -9 at random points of a sync, and a query while the table lags sees every record once', async () => {
    // Small files, so a sync commits many ranges and a kill lands between any two steps.
    const args = ['tables', 'sync', TOPIC, '--once', '--target-file-bytes', '256KiB', ...store()];
    for (let k = 0; k < 3; k++) {
      const { child, exited } = spawnWeir(args);
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 1200)));
      child.kill('SIGKILL');
      await exited;
    }
    const partial = await manifestFiles(agent.dataDir, TOPIC);
    const compacted = [...partial.nextOffsets.values()].reduce((n, o) => n + o, 0);
    const total = [...lastOffset.values()].reduce((n, o) => n + o + 1, 0);
    assert.ok(compacted < total, `the table should still lag the log after the kills (compacted ${compacted} of ${total} offsets)`);

    // The table lags: files below the boundary, the log's tail above it; together exactly once.
    const [lagging] = await queryJson(`SELECT count(*) AS n, count(DISTINCT (partition, "offset")) AS d, sum(amount) AS s FROM ${TOPIC}`);
    assert.equal(Number(lagging!.n), RECORDS);
    assert.equal(Number(lagging!.d), RECORDS);
    assert.equal(Number(lagging!.s), sumAmount);

    const done = await weir(args);
    assert.equal(done.code, 0, done.stderr);
    const full = await manifestFiles(agent.dataDir, TOPIC);
    for (const [p, last] of lastOffset) assert.equal(full.nextOffsets.get(p), last + 1, `partition ${p} fully compacted`);
  });

  it('weir query: counts, sums and per-partition max offsets match what was produced', async () => {
    const [totals] = await queryJson(`SELECT count(*) AS n, count(DISTINCT (partition, "offset")) AS d, sum(amount) AS s, count(DISTINCT id) AS ids FROM ${TOPIC}`);
    assert.equal(Number(totals!.n), RECORDS);
    assert.equal(Number(totals!.d), RECORDS);
    assert.equal(Number(totals!.s), sumAmount);
    assert.equal(Number(totals!.ids), RECORDS);
    const perPartition = await queryJson(`SELECT partition, max("offset") AS m FROM ${TOPIC} GROUP BY partition ORDER BY partition`);
    // The malformed record is the last offset of nobody's partition: it sits in the middle of partition 2.
    assert.deepEqual(
      perPartition.map((r) => [Number(r.partition), Number(r.m)]),
      [...lastOffset].sort((a, b) => a[0] - b[0]),
    );
    // The new field is a column; older rows read it as null. amount widened to DOUBLE.
    const [evolution] = await queryJson(
      `SELECT count(region) FILTER (WHERE id < ${HALF}) AS old_with, count(region) FILTER (WHERE id >= ${HALF}) AS new_with, typeof(any_value(amount)) AS t FROM ${TOPIC}`,
    );
    assert.deepEqual(evolution, { old_with: 0, new_with: HALF, t: 'DOUBLE' });
    // Headers and keys are there as the producer sent them.
    const [h] = await queryJson(`SELECT count(*) FILTER (WHERE len(headers) > 0) AS with_headers, any_value(decode("key")) FILTER (WHERE id = 7) AS k FROM ${TOPIC}`);
    assert.deepEqual(h, { with_headers: RECORDS / 1000, k: 'k7' });

    const csv = await weir(['query', `SELECT partition, count(*) AS n FROM ${TOPIC} GROUP BY 1 ORDER BY 1`, '--output', 'csv', ...store()]);
    assert.equal(csv.stdout, `partition,n\r\n0,25000\r\n1,25000\r\n2,25000\r\n3,25000\r\n`);
    const table = await weir(['query', `SELECT count(*) AS n FROM ${TOPIC}`, ...store()]);
    assert.equal(table.stdout, `     n\n100000\n(1 row)\n`);
  });

  it('DuckDB reads the files directly, with the same totals', async () => {
    const { data } = await manifestFiles(agent.dataDir, TOPIC);
    const [row] = await duck(
      `SELECT count(*), count(DISTINCT (partition, "offset")), sum(CAST(amount AS DOUBLE)), count(region) FROM read_parquet(${sqlList(data)}, union_by_name = true)`,
    );
    assert.deepEqual(row!.map(Number), [RECORDS, RECORDS, sumAmount, HALF]);
    const maxes = await duck(`SELECT partition, max("offset") FROM read_parquet(${sqlList(data)}, union_by_name = true) GROUP BY 1 ORDER BY 1`);
    assert.deepEqual(maxes.map((r) => r.map(Number)), [...lastOffset].sort((a, b) => a[0] - b[0]));
  });

  it('hyparquet, an independent reader, reads every file and its rows', async () => {
    const { data } = await manifestFiles(agent.dataDir, TOPIC);
    let rows = 0;
    for (const path of data) {
      const buf = await readFile(path);
      const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      const meta = parquetMetadata(file);
      rows += Number(meta.num_rows);
      const names = meta.schema.map((s) => s.name);
      for (const c of ['partition', 'offset', 'timestamp', 'key', 'headers', 'value', 'id', 'amount']) assert.ok(names.includes(c), `${path} has column ${c}`);
    }
    assert.equal(rows, RECORDS);
    // Values decode the same as DuckDB sees them.
    const buf = await readFile(data[0]!);
    const objs = (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), columns: ['offset', 'id', 'value'], rowEnd: 3, compressors })) as {
      offset: bigint;
      id: bigint;
      value: Uint8Array;
    }[];
    for (const o of objs) assert.equal(BigInt((JSON.parse(Buffer.from(o.value).toString()) as { id: number }).id), o.id);
  });

  it('a malformed record goes to the dead-letter file with its offset; the table keeps the rest', async () => {
    const { deadLetters } = await manifestFiles(agent.dataDir, TOPIC);
    assert.equal(deadLetters.length, 1);
    const lines = (await readFile(deadLetters[0]!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.partition, MALFORMED_PARTITION);
    assert.equal(lines[0]!.offset, malformedOffset);
    assert.equal(Buffer.from(lines[0]!.value as string, 'base64').toString(), '{"id": oops');
    assert.match(String(lines[0]!.error), /malformed JSON/);
    const [around] = await queryJson(`SELECT count(*) AS n FROM ${TOPIC} WHERE partition = ${MALFORMED_PARTITION} AND "offset" IN (${malformedOffset - 1}, ${malformedOffset}, ${malformedOffset + 1})`);
    assert.equal(Number(around!.n), 2);
    const describe = await weir(['tables', 'describe', TOPIC, '--json', ...store()]);
    const d = JSON.parse(describe.stdout) as { rows: number; deadLetters: number; partitions: { lag: number }[] };
    assert.equal(d.rows, RECORDS);
    assert.equal(d.deadLetters, 1);
    assert.ok(d.partitions.every((p) => p.lag === 0));
  });

  it('bad SQL gets DuckDB\'s message and an unknown topic one line, both with a non-zero exit', async () => {
    const bad = await weir(['query', `SELEC count(*) FROM ${TOPIC}`, ...store()]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /syntax error at or near "SELEC"/);
    const unknown = await weir(['query', 'SELECT * FROM nothing_here', ...store()]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'weir: unknown topic "nothing_here"\n');
    const col = await weir(['query', `SELECT no_such_column FROM ${TOPIC}`, ...store()]);
    assert.equal(col.code, 1);
    assert.match(col.stderr, /no_such_column/);
  });
});
