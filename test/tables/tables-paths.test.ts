/**
 * The table connector's other paths, against a real agent: a continuous `weir tables sync` that
 * flushes a quiet topic after --max-latency-ms; small files merged end to end (same totals, fewer
 * files, old files deleted); files written but never committed (a killed sync's) deleted after
 * their grace, committed and in-flight ones kept; --format arrow read back with apache-arrow and
 * through weir query; Avro values with a given schema; weir tables drop.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { duck, manifestFiles, spawnWeir, sqlList, weir } from './tables-helpers.js';

let agent: Agent;
let producer: Producer;
const store = (): string[] => ['--data-dir', agent.dataDir];

before(async () => {
  agent = await startAgent({ lingerMs: 5 });
  await createTopics(agent.bootstrap, [
    { topic: 'quiet', numPartitions: 1 },
    { topic: 'merging', numPartitions: 1 },
    { topic: 'arrowt', numPartitions: 2 },
    { topic: 'avrot', numPartitions: 1 },
  ]);
  producer = await connectedProducer(agent.bootstrap);
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
});

async function produceJson(topic: string, from: number, count: number, partitions = 1): Promise<void> {
  const records = Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { key: `k${i}`, value: JSON.stringify({ n: i, amount: i % 7 }), partition: i % partitions };
  });
  await kafkajsProduce(producer, topic, records);
}

async function queryJson(sql: string, extra: string[] = []): Promise<Record<string, unknown>[]> {
  const r = await weir(['query', sql, '--output', 'json', ...store(), ...extra]);
  assert.equal(r.code, 0, `weir query failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('weir tables: continuous sync, merges, orphans, arrow, avro, drop', () => {
  it('a continuous sync flushes a quiet topic after --max-latency-ms, far below the target size', async () => {
    await produceJson('quiet', 0, 20);
    const { child, exited } = spawnWeir(['tables', 'sync', 'quiet', '--max-latency-ms', '300', '--poll-interval-ms', '50', ...store()]);
    try {
      await waitFor('the first file', async () => (await manifestFiles(agent.dataDir, 'quiet')).nextOffsets.get(0) === 20);
      const first = await manifestFiles(agent.dataDir, 'quiet');
      assert.equal(first.data.length, 1);
      // 20 small records: nowhere near the 128 MiB target; only the latency made this file.
      assert.ok(readFileSync(first.data[0]!).length < 64 * 1024);
      // Still running: more records later make a second file on their own.
      await produceJson('quiet', 20, 5);
      await waitFor('the second file', async () => (await manifestFiles(agent.dataDir, 'quiet')).nextOffsets.get(0) === 25);
      assert.equal((await manifestFiles(agent.dataDir, 'quiet')).data.length, 2);
    } finally {
      child.kill('SIGTERM');
    }
    const exit = await exited;
    assert.equal(exit.code, 0, exit.stderr);
    const [row] = await queryJson('SELECT count(*) AS n, sum(n) AS s FROM quiet');
    assert.deepEqual([Number(row!.n), Number(row!.s)], [25, (24 * 25) / 2]);
  });

  it('merges small files: same totals, fewer files, the old files deleted', async () => {
    for (let round = 0; round < 4; round++) {
      await produceJson('merging', round * 50, 50);
      const r = await weir(['tables', 'sync', 'merging', '--once', '--merge-min-files', '100', ...store()]);
      assert.equal(r.code, 0, r.stderr);
    }
    const before = await manifestFiles(agent.dataDir, 'merging');
    assert.equal(before.data.length, 4);
    const [totalsBefore] = await queryJson('SELECT count(*) AS n, sum(n) AS s, sum(amount) AS a, count(DISTINCT "offset") AS d FROM merging');

    const r = await weir(['tables', 'sync', 'merging', '--once', '--merge-min-files', '3', '--retired-grace-ms', '0', ...store()]);
    assert.equal(r.code, 0, r.stderr);
    const afterMerge = await manifestFiles(agent.dataDir, 'merging');
    assert.equal(afterMerge.data.length, 1);
    assert.match(afterMerge.data[0]!, /\/0-0-199\.parquet$/);
    for (const old of before.data) assert.equal(existsSync(old), false, `${old} deleted after the grace`);
    const [totalsAfter] = await queryJson('SELECT count(*) AS n, sum(n) AS s, sum(amount) AS a, count(DISTINCT "offset") AS d FROM merging');
    assert.deepEqual(totalsAfter, totalsBefore);
    assert.equal(Number(totalsAfter!.n), 200);
    const [direct] = await duck(`SELECT count(*), min("offset"), max("offset") FROM read_parquet(${sqlList(afterMerge.data)})`);
    assert.deepEqual(direct!.map(Number), [0 + 200, 0, 199]);
  });

  it('deletes a file written but never committed after its grace, never a committed or in-flight one', async () => {
    const { data } = await manifestFiles(agent.dataDir, 'merging');
    const committed = data[0]!;
    const dir = dirname(committed);
    // A killed sync's leftovers: a range below the committed next offset (200) that a later
    // range superseded, and one starting at it (a commit that may still be in flight).
    const orphan = join(dir, '0-0-49.parquet');
    const inFlight = join(dir, '0-200-260.parquet');
    copyFileSync(committed, orphan);
    copyFileSync(committed, inFlight);

    const withGrace = await weir(['tables', 'sync', 'merging', '--once', ...store()]);
    assert.equal(withGrace.code, 0, withGrace.stderr);
    assert.equal(existsSync(orphan), true, 'kept during its grace');

    const noGrace = await weir(['tables', 'sync', 'merging', '--once', '--orphan-grace-ms', '0', ...store()]);
    assert.equal(noGrace.code, 0, noGrace.stderr);
    assert.equal(existsSync(orphan), false, 'the orphan is deleted');
    assert.equal(existsSync(committed), true, 'the committed file stays');
    assert.equal(existsSync(inFlight), true, 'a file at the next offset may be a commit in flight: kept');
    const [row] = await queryJson('SELECT count(*) AS n FROM merging');
    assert.equal(Number(row!.n), 200);
  });

  it('--format arrow writes Arrow IPC files that apache-arrow and weir query read; weir tables drop removes them', async () => {
    await produceJson('arrowt', 0, 100, 2);
    const r = await weir(['tables', 'sync', 'arrowt', '--once', '--format', 'arrow', ...store()]);
    assert.equal(r.code, 0, r.stderr);
    const { data } = await manifestFiles(agent.dataDir, 'arrowt');
    assert.equal(data.length, 2);
    let rows = 0;
    let sumN = 0;
    for (const path of data) {
      assert.match(path, /\.arrow$/);
      const table = tableFromIPC(readFileSync(path));
      const names = table.schema.fields.map((f) => f.name);
      for (const c of ['partition', 'offset', 'timestamp', 'key', 'headers', 'value', 'n', 'amount']) assert.ok(names.includes(c), `${path} has ${c}`);
      rows += table.numRows;
      for (const v of table.getChild('n')!.toArray() as BigInt64Array) sumN += Number(v);
    }
    assert.equal(rows, 100);
    assert.equal(sumN, (99 * 100) / 2);
    const [q] = await queryJson('SELECT count(*) AS n, sum(n) AS s, count(DISTINCT (partition, "offset")) AS d FROM arrowt');
    assert.deepEqual([Number(q!.n), Number(q!.s), Number(q!.d)], [100, 4950, 100]);

    const drop = await weir(['tables', 'drop', 'arrowt', ...store()]);
    assert.equal(drop.code, 0, drop.stderr);
    assert.match(drop.stdout, /dropped the table of arrowt \(2 files\)/);
    for (const path of data) assert.equal(existsSync(path), false, `${path} deleted`);
    const list = await weir(['tables', 'list', '--json', ...store()]);
    assert.ok(!(JSON.parse(list.stdout) as { topic: string }[]).some((t) => t.topic === 'arrowt'));
    // The topic stays: a query reads it all from the log.
    const [again] = await queryJson('SELECT count(*) AS n FROM arrowt');
    assert.equal(Number(again!.n), 100);
  });

  it('Avro values with a given schema become columns; an undecodable one is a dead letter', async () => {
    const schema = {
      type: 'record',
      name: 'Order',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'item', type: 'string' },
        { name: 'price', type: 'double' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    };
    const type = avro.Type.forSchema(schema as avro.Schema);
    const framed = (o: object): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), type.toBuffer(o)]);
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `o${i}`, value: framed({ id: i, item: `item-${i % 3}`, price: i + 0.25, note: i % 10 === 0 ? 'gift' : null }) }));
    messages.push({ key: 'bad', value: Buffer.from('not avro at all') });
    await producer.send({ topic: 'avrot', messages });
    const dir = mkdtempSync(join(tmpdir(), 'weir-avro-'));
    const schemaPath = join(dir, 'order.avsc');
    writeFileSync(schemaPath, JSON.stringify(schema));
    const avroFlags = ['--value-format', 'avro', '--avro-schema', schemaPath];

    const r = await weir(['tables', 'sync', 'avrot', '--once', ...avroFlags, ...store()]);
    assert.equal(r.code, 0, r.stderr);
    const [q] = await queryJson('SELECT count(*) AS n, sum(price) AS p, count(note) AS notes, count(DISTINCT item) AS items, typeof(any_value(id)) AS t FROM avrot', avroFlags);
    assert.deepEqual(q, { n: 30, p: (29 * 30) / 2 + 30 * 0.25, notes: 3, items: 3, t: 'BIGINT' });
    const d = JSON.parse((await weir(['tables', 'describe', 'avrot', '--json', ...store()])).stdout) as { rows: number; deadLetters: number };
    assert.deepEqual([d.rows, d.deadLetters], [30, 1]);
    const { data } = await manifestFiles(agent.dataDir, 'avrot');
    const [direct] = await duck(`SELECT count(*), sum(price) FROM read_parquet(${sqlList(data)})`);
    assert.deepEqual(direct!.map(Number), [30, (29 * 30) / 2 + 30 * 0.25]);
  });
});
