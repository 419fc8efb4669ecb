/**
 * Redis mode: an agent on a Redis metadata store, and two `weir tables sync --once` processes
 * sharing the work as BullMQ jobs (one per topic-partition range). Both take jobs, the manifest
 * in Redis commits each range once, and `weir query` (which finds the stores with the same
 * flags) counts every record exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { RedisTableManifestStore } from '../../core/metadata/table-manifest-redis.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { spawnWeir, weir } from './tables-helpers.js';

const TOPIC = 'clicks';
const RECORDS = 20_000;
let redis: RedisServer;
let agent: Agent;
let producer: Producer;

before(async () => {
  redis = await startRedisServer();
  agent = await startAgent({ lingerMs: 20, extraArgs: ['--metadata', 'redis', '--redis-url', redis.url] });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: 4 }]);
  producer = await connectedProducer(agent.bootstrap);
  await kafkajsProduce(
    producer,
    TOPIC,
    Array.from({ length: RECORDS }, (_, i) => ({ key: null, value: JSON.stringify({ n: i, page: `/p${i % 13}` }), partition: i % 4 })),
    { chunk: 500 },
  );
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
  await redis?.stop();
});

it('two sync processes share the ranges as BullMQ jobs; every record lands in the table once', async () => {
  const store = ['--metadata', 'redis', '--redis-url', redis.url, '--data-dir', agent.dataDir];
  // Small files: many range jobs, so both workers get some.
  const args = ['tables', 'sync', TOPIC, '--once', '--target-file-bytes', '16KiB', ...store];
  const a = spawnWeir(args);
  const b = spawnWeir(args);
  const [ra, rb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const committed = (s: string): number => Number(/committed (\d+) ranges/.exec(s)?.[1] ?? -1);
  assert.ok(committed(ra.stderr) > 0 && committed(rb.stderr) > 0, `both processes committed ranges:\n${ra.stderr}\n${rb.stderr}`);

  const manifest = new RedisTableManifestStore({ url: redis.url });
  try {
    const t = (await manifest.getTable(TOPIC))!;
    assert.equal(t.files.reduce((n, f) => n + f.rowCount, 0), RECORDS);
    assert.equal(t.files.length, committed(ra.stderr) + committed(rb.stderr));
    assert.deepEqual([...t.nextOffsets.values()], [5000, 5000, 5000, 5000]);
  } finally {
    await manifest.close();
  }
  const q = await weir(['query', `SELECT count(*) AS n, count(DISTINCT n) AS d, sum(n) AS s FROM ${TOPIC}`, '--output', 'json', ...store]);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(JSON.parse(q.stdout), [{ n: RECORDS, d: RECORDS, s: (RECORDS * (RECORDS - 1)) / 2 }]);
});
