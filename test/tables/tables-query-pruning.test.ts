/**
 * `weir query` skips table files the WHERE clause rules out (connectors/tables/query-pruning.ts):
 * by partition, offset range and timestamp range, from the manifest, before anything is
 * downloaded or read. Against a real agent: two hours of records compacted into many small files
 * by `weir tables sync`, plus an uncompacted tail. Every query is checked three ways:
 * - its answer equals the answer computed from what was produced;
 * - it equals the same query written so that nothing can be pruned (the topic read through a
 *   subquery);
 * - the files read and skipped are as expected. Skipped files must be ones no matching row can be
 *   in, and a query that reads the topic twice prunes nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { SqliteTableManifestStore } from '../../core/metadata/table-manifest-sqlite.js';
import { FsObjectStore } from '../../core/storage/fs-object-store.js';
import { runQuery } from '../../connectors/tables/query-engine.js';
import { openTableContext, type TableContext } from '../../connectors/tables/table-context.js';
import { JsonValueDecoder } from '../../connectors/tables/value-decoder.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import type { ProduceRecord } from '../helpers/py-clients.js';
import { weir } from './tables-helpers.js';

const TOPIC = 'pruned';
const PARTITIONS = 4;
const PER_HOUR = 4000;
const TAIL = 400;
const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
const HOUR = 3_600_000;

interface Produced {
  partition: number;
  offset: number;
  timestamp: number;
  amount: number;
}

let agent: Agent;
let producer: Producer;
let ctx: TableContext;
const produced: Produced[] = [];

async function produceBatch(from: number, count: number, t: number): Promise<void> {
  const records: ProduceRecord[] = [];
  for (let i = from; i < from + count; i++) {
    records.push({ key: `k${i}`, value: JSON.stringify({ id: i, amount: i % 17, pad: 'p'.repeat(40) }), partition: i % PARTITIONS, timestamp: t + i });
  }
  const acks = await kafkajsProduce(producer, TOPIC, records, { chunk: 1000 });
  // kafkajsProduce answers per record, in order: the offsets the agent assigned.
  acks.forEach((a, k) => produced.push({ partition: a.partition!, offset: a.offset!, timestamp: t + from + k, amount: (from + k) % 17 }));
}

before(async () => {
  agent = await startAgent({ lingerMs: 10 });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
  producer = await connectedProducer(agent.bootstrap);
  const sync = async (): Promise<void> => {
    const r = await weir(['tables', 'sync', TOPIC, '--once', '--target-file-bytes', '24KiB', '--data-dir', agent.dataDir]);
    assert.equal(r.code, 0, r.stderr);
  };
  await produceBatch(0, PER_HOUR, T0);
  await sync();
  await produceBatch(PER_HOUR, PER_HOUR, T0 + 2 * HOUR);
  await sync();
  await produceBatch(2 * PER_HOUR, TAIL, T0 + 2 * HOUR);
  ctx = await openTableContext({
    metadata: new SqliteMetadataStore(join(agent.dataDir, 'metadata.sqlite')),
    objects: new FsObjectStore(join(agent.dataDir, 'objects')),
    manifest: new SqliteTableManifestStore(join(agent.dataDir, 'metadata.sqlite')),
    settings: { format: 'parquet', decoder: new JsonValueDecoder(), columnsMax: 1000, compression: 'zstd' },
    objectsRoot: join(agent.dataDir, 'objects'),
    log: () => undefined,
  });
});

after(async () => {
  await ctx?.close();
  await producer?.disconnect();
  await stopAllAgents();
});

async function files(): Promise<{ partition: number; firstOffset: number; lastOffset: number; minTimestampMs: number | null; maxTimestampMs: number | null }[]> {
  return (await ctx.manifest.getTable(TOPIC))!.files.filter((f) => f.kind === 'data');
}

/** count and sum(amount) of the rows `keep` selects, as the query should answer them. */
function expected(keep: (r: Produced) => boolean): { n: number; s: number | null } {
  const rows = produced.filter(keep);
  return { n: rows.length, s: rows.length === 0 ? null : rows.reduce((a, r) => a + r.amount, 0) };
}

async function check(where: string, keep: (r: Produced) => boolean, from = TOPIC): Promise<{ read: number; skipped: number }> {
  const pruned = await runQuery(ctx, `SELECT count(*) AS n, sum(amount) AS s FROM ${from} WHERE ${where}`);
  const whole = await runQuery(ctx, `SELECT count(*) AS n, sum(amount) AS s FROM (SELECT * FROM ${TOPIC}) AS x WHERE ${where.replace(new RegExp(`\\b(p|${TOPIC})\\.`, 'g'), 'x.')}`);
  const want = expected(keep);
  assert.deepEqual(pruned.rows, [[want.n, want.s]], `${where}: the pruned answer`);
  assert.deepEqual(whole.rows, pruned.rows, `${where}: pruned and unpruned answers differ`);
  assert.equal(whole.filesSkipped, 0, 'a subquery read prunes nothing');
  return { read: pruned.filesRead, skipped: pruned.filesSkipped };
}

describe('weir query: table files pruned by the WHERE clause', () => {
  it('by partition: = , IN, comparisons, either side, qualified by name or alias', async () => {
    const all = await files();
    assert.ok(all.length >= 16, `only ${all.length} files`);
    const of = (ps: number[]): number => all.filter((f) => ps.includes((f as { partition: number }).partition)).length;
    let r = await check('partition = 2', (x) => x.partition === 2);
    assert.deepEqual(r, { read: of([2]), skipped: all.length - of([2]) });
    r = await check(`${TOPIC}.partition IN (0, 3)`, (x) => x.partition === 0 || x.partition === 3);
    assert.deepEqual(r, { read: of([0, 3]), skipped: all.length - of([0, 3]) });
    r = await check('1 >= partition', (x) => x.partition <= 1);
    assert.deepEqual(r, { read: of([0, 1]), skipped: all.length - of([0, 1]) });
    r = await check('p.partition = 1 AND amount > 5', (x) => x.partition === 1 && x.amount > 5, `${TOPIC} AS p`);
    assert.deepEqual(r, { read: of([1]), skipped: all.length - of([1]) });
  });

  it('by timestamp and offset, with the uncompacted tail still counted', async () => {
    const all = await files();
    const second = TIMESTAMP(T0 + 2 * HOUR);
    let r = await check(`"timestamp" >= TIMESTAMPTZ '${second}'`, (x) => x.timestamp >= T0 + 2 * HOUR);
    const firstHourFiles = all.filter((f) => f.maxTimestampMs! < T0 + 2 * HOUR).length;
    assert.ok(firstHourFiles > 0);
    assert.equal(r.skipped, firstHourFiles);
    r = await check(`"timestamp" BETWEEN '${TIMESTAMP(T0)}' AND '${TIMESTAMP(T0 + 1000)}'`, (x) => x.timestamp >= T0 && x.timestamp <= T0 + 1000);
    assert.ok(r.skipped > 0 && r.read > 0, JSON.stringify(r));
    r = await check('"offset" < 100 AND partition = 3', (x) => x.offset < 100 && x.partition === 3);
    assert.equal(r.read, all.filter((f) => (f as { partition: number }).partition === 3 && f.firstOffset < 100).length);
  });

  it('a filter nothing matches reads no file and keeps the value columns', async () => {
    const all = await files();
    const r = await check('partition = 99', () => false);
    assert.deepEqual(r, { read: 0, skipped: all.length });
    const contradiction = await check('partition = 1 AND partition = 2', () => false);
    assert.equal(contradiction.read, 0);
  });

  it('prunes nothing when the topic is read twice, or a term is not a plain constant comparison', async () => {
    const join2 = await runQuery(ctx, `SELECT count(*) FROM ${TOPIC} a JOIN ${TOPIC} b USING (partition, "offset") WHERE a.partition = 1`);
    assert.deepEqual(join2.rows, [[expected((x) => x.partition === 1).n]]);
    assert.equal(join2.filesSkipped, 0);
    let r = await check('partition = 1 OR partition = 2', (x) => x.partition === 1 || x.partition === 2);
    assert.equal(r.skipped, 0);
    r = await check('partition + 0 = 1', (x) => x.partition === 1);
    assert.equal(r.skipped, 0);
    r = await check('partition NOT IN (1)', (x) => x.partition !== 1);
    assert.equal(r.skipped, 0);
    r = await check('NOT (partition = 1)', (x) => x.partition !== 1);
    assert.equal(r.skipped, 0);
  });

  it('takes quoted integers as DuckDB casts them', async () => {
    const all = await files();
    const r = await check(`partition = '2'`, (x) => x.partition === 2);
    assert.equal(r.read, all.filter((f) => (f as { partition: number }).partition === 2).length);
  });
});

function TIMESTAMP(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '+00');
}
