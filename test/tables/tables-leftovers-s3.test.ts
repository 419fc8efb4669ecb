/**
 * Tables on S3 (s3rver through @aws-sdk/client-s3), against a real agent that writes its log
 * there: `weir tables sync` writes the table files to the bucket and merges them (downloading the
 * run into scratch space), and `weir query` answers from the files plus the uncompacted tail with
 * exact counts, sums and max offsets. The files a query downloads are only its topics', they are
 * gone from the scratch folder when it ends, and a --scratch-bytes-max the files do not fit in
 * gets a one-line error and a non-zero exit, downloading nothing. A query on one partition
 * downloads only that partition's files (query-pruning.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Producer } from 'kafkajs';
import { AGENT_CLI, startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { runProcess, type RunResult } from '../helpers/run-process.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { cliEnv } from './tables-helpers.js';

const AWS_ENV = { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
const PARTITIONS = 3;

let s3: RunningS3rver;
let agent: Agent;
let producer: Producer;
/** The CLI children's temp folder: their scratch folders live here, so the test sees what is left. */
let scratchParent: string;
let sumAmount = 0;
let produced = 0;
const lastOffset = new Map<number, number>();

const store = (): string[] => ['--data-dir', agent.dataDir, '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', s3.endpoint];

function weirS3(args: string[]): Promise<RunResult> {
  // NODE_NO_WARNINGS: the AWS SDK warns on Node 20 that later releases need Node 22; stderr is
  // then only what weir writes, which the one-line error check needs.
  return runProcess(process.execPath, { args: [AGENT_CLI, ...args, ...store()], env: { ...cliEnv(), ...AWS_ENV, TMPDIR: scratchParent, NODE_NO_WARNINGS: '1' }, timeoutMs: 120_000 });
}

before(async () => {
  s3 = await startS3rver('weir-tables-s3');
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', s3.endpoint], env: AWS_ENV });
  await createTopics(agent.bootstrap, [
    { topic: 'orders', numPartitions: PARTITIONS },
    { topic: 'small', numPartitions: 1 },
  ]);
  producer = await connectedProducer(agent.bootstrap);
  scratchParent = mkdtempSync(join(tmpdir(), 'weir-s3-scratch-'));
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
  await s3?.stop();
});

async function produce(count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, k) => {
    const i = produced + k;
    sumAmount += i % 13;
    return { key: `k${i}`, value: JSON.stringify({ id: i, amount: i % 13 }), partition: i % PARTITIONS };
  });
  produced += count;
  for (const d of await kafkajsProduce(producer, 'orders', records)) lastOffset.set(d.partition!, Math.max(lastOffset.get(d.partition!) ?? -1, d.offset!));
}

async function queryJson(sql: string, extra: string[] = []): Promise<Record<string, unknown>[]> {
  const r = await weirS3(['query', sql, '--output', 'json', ...extra]);
  assert.equal(r.code, 0, `weir query failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  try {
    const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!);
  } finally {
    client.destroy();
  }
}

/** What the CLI children left in their temp folder (their scratch folders are removed on exit). */
const leftovers = (): string[] => readdirSync(scratchParent);

describe('weir tables + weir query on S3', () => {
  it('sync writes and merges files in the bucket; query counts, sums and max offsets include the tail; scratch is emptied', async () => {
    await produce(3000);
    const sync = await weirS3(['tables', 'sync', 'orders', '--once', '--file-rows-max', '250', '--merge-min-files', '1000']);
    assert.equal(sync.code, 0, sync.stderr);
    const files = (await bucketKeys('tables/orders/')).filter((k) => k.endsWith('.parquet'));
    assert.equal(files.length, 12, `4 files per partition in the bucket: ${files.join(', ')}`);
    assert.deepEqual(leftovers(), []);

    // The tail: records after the sync, only in the log.
    await produce(500);
    const sql = 'SELECT count(*) AS n, sum(amount) AS s, count(DISTINCT (partition, "offset")) AS d FROM orders';
    const [q] = await queryJson(sql);
    assert.deepEqual(q, { n: 3500, s: sumAmount, d: 3500 });
    const maxOffsets = await queryJson('SELECT partition, max("offset") AS m FROM orders GROUP BY partition ORDER BY partition');
    assert.deepEqual(
      maxOffsets,
      Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, m: lastOffset.get(p) })),
    );
    assert.deepEqual(leftovers(), [], 'the downloads and the scratch folder are gone after the query');

    // Merging on S3: the run is downloaded, merged, uploaded, swapped in; same answers after.
    const merge = await weirS3(['tables', 'sync', 'orders', '--once', '--file-rows-max', '250', '--merge-min-files', '3', '--retired-grace-ms', '0']);
    assert.equal(merge.code, 0, merge.stderr);
    const merged = (await bucketKeys('tables/orders/')).filter((k) => k.endsWith('.parquet'));
    assert.ok(merged.length < files.length, `fewer files after merging: ${merged.length}`);
    for (let p = 0; p < PARTITIONS; p++) assert.ok(merged.some((k) => new RegExp(`/${p}-0-\\d+\\.parquet$`).test(k)), `partition ${p} merged from offset 0`);
    const [again] = await queryJson(sql);
    assert.deepEqual(again, { n: 3500, s: sumAmount, d: 3500 });
    assert.deepEqual(leftovers(), []);
  });

  it('a query downloads only its topics\' files, within --scratch-bytes-max; beyond it, one line and exit 1', async () => {
    await kafkajsProduce(producer, 'small', Array.from({ length: 20 }, (_, i) => ({ key: `s${i}`, value: JSON.stringify({ v: i }), partition: 0 })));
    const sync = await weirS3(['tables', 'sync', 'small', '--once']);
    assert.equal(sync.code, 0, sync.stderr);
    const describeBytes = async (topic: string): Promise<number> => (JSON.parse((await weirS3(['tables', 'describe', topic, '--json'])).stdout) as { bytes: number }).bytes;
    const smallBytes = await describeBytes('small');
    const ordersBytes = await describeBytes('orders');
    assert.ok(smallBytes > 0 && ordersBytes > smallBytes);

    // Enough for small's files, not for orders': a query of small downloads only small's.
    const limit = String(smallBytes);
    const [q] = await queryJson('SELECT count(*) AS n, sum(v) AS s FROM small', ['--scratch-bytes-max', limit]);
    assert.deepEqual(q, { n: 20, s: 190 });

    const r = await weirS3(['query', 'SELECT count(*) FROM orders', '--scratch-bytes-max', limit]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^weir: the table files of "orders" need ${ordersBytes} bytes of local scratch space .*--scratch-bytes-max ${smallBytes}`));
    assert.deepEqual(leftovers(), []);

    // A bad value for the flag: a usage error naming it.
    const bad = await weirS3(['query', 'SELECT 1', '--scratch-bytes-max', 'lots']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--scratch-bytes-max/);
  });

  it('a query on one partition downloads only that partition\'s files (pruning, within the scratch bound)', async () => {
    const described = JSON.parse((await weirS3(['tables', 'describe', 'orders', '--json'])).stdout) as { bytes: number; partitions: { partition: number; bytes: number; rows: number }[] };
    const p1 = described.partitions.find((p) => p.partition === 1)!;
    assert.ok(p1.bytes > 0 && p1.bytes < described.bytes);
    const limit = String(p1.bytes);
    // Within the bound: only partition 1's files are downloaded (and the tail of partition 1 read).
    const [q] = await queryJson('SELECT count(*) AS n FROM orders WHERE partition = 1', ['--scratch-bytes-max', limit]);
    const [all] = await queryJson('SELECT count(*) AS n FROM orders WHERE partition + 0 = 1');
    assert.deepEqual(q, all);
    assert.ok((q as { n: number }).n >= p1.rows);
    assert.deepEqual(leftovers(), []);
    // The same question in a form nothing can be pruned from needs every file: over the bound.
    const r = await weirS3(['query', 'SELECT count(*) FROM orders WHERE partition + 0 = 1', '--scratch-bytes-max', limit]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /need \d+ bytes of local scratch space/);
  });
});
