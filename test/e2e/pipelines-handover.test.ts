/**
 * Two `weir run` processes coordinated through a real redis-server split a pipeline's tasks;
 * then one leaves (SIGTERM): the other takes over its tasks with their state, restored from the
 * leaver's final checkpoint. The input's second half lands in windows that the first half
 * opened on the leaver's tasks, so the final counts are right only if the state moved with them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KafkaClient } from '../../core/client/index.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { closingLines, compiledExample, emittedCounts, expectedCounts, produce, readTopic, until, weirRun, wordCountLines } from './pipelines-support.js';

const WINDOW_MS = 60_000;
let agent: Agent;
let redis: RedisServer;
let client: KafkaClient;
let dataDir: string;

before(async () => {
  redis = await startRedisServer({ appendonly: false });
  agent = await startAgent({ lingerMs: 20 });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'handover-test' });
  dataDir = mkdtempSync(join(tmpdir(), 'weir-pipeline-handover-'));
});
after(async () => {
  await client?.close();
  await stopAllAgents();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Everything the pipeline read is checkpointed: committed offsets (written after each checkpoint) reach the end. */
async function caughtUp(): Promise<boolean> {
  for (const topic of ['lines', 'word-count-repartition-1']) {
    if (!(await client.topicExists(topic))) return false;
    const partitions = [0, 1];
    const ends = await client.listOffsets(topic, partitions, 'latest');
    const committed = await client.fetchOffsets('word-count', partitions.map((partition) => ({ topic, partition })));
    if (committed.some((c) => c.offset !== ends.get(c.partition))) return false;
  }
  return true;
}

describe('pipelines: two workers, one leaves', () => {
  it('the survivor takes over the leaver\'s tasks and their state', async () => {
    await client.createTopics([{ name: 'lines', partitions: 2 }]);
    // 2 x 4000 lines, 100 ms apart: about 7 windows; the halves split one window in two.
    const all = wordCountLines(2, 4_000, 100);
    const firstHalf = all.filter((r) => r.timestamp! < all[0]!.timestamp! + 200_000 + 30_000);
    const secondHalf = all.filter((r) => !firstHalf.includes(r));
    await produce(client, 'lines', firstHalf);

    const args = (id: string): string[] => [
      '--brokers', agent.bootstrap, '--data-dir', dataDir, '--redis', redis.url, '--redis-namespace', 'handover',
      '--worker-id', id, '--checkpoint-interval-ms', '300', '--status-interval-ms', '0', '--lease-ttl-ms', '2000',
    ];
    const a = weirRun(compiledExample('word-count'), args('a'));
    await a.waitFor(/running with 1 worker/);
    const b = weirRun(compiledExample('word-count'), args('b'));
    await b.waitFor(/running with 1 worker/);
    await until('both workers to run tasks', () => /\[b-w0\] started/.test(b.output()) && /\[a-w0\] revoked/.test(a.output()), 60_000);
    await until('the first half to be processed and checkpointed', caughtUp, 60_000);
    const bTasks = [...b.output().matchAll(/\[b-w0\] started (\S+)/g)].map((m) => m[1]!);
    assert.ok(bTasks.some((t) => t.startsWith('word-count/1/')), `b ran a counting task: ${bTasks.join(', ')}`);

    assert.equal(await b.stop(), 0);
    assert.match(b.output(), /revoked .* \(checkpointed\)/);
    await until('a to take over b\'s tasks', () => bTasks.every((t) => new RegExp(`\\[a-w0\\] started ${t.replace(/\//g, '\\/')} \\(token \\d+\\) from checkpoint b-w0`).test(a.output())), 60_000);

    await produce(client, 'lines', [...secondHalf, ...closingLines(2)]);
    const expected = expectedCounts(all, WINDOW_MS);
    await until('every window result', async () => {
      const got = emittedCounts(await readTopic(client, 'word-counts'));
      return [...expected.keys()].every((k) => got.has(k));
    }, 90_000);
    assert.equal(await a.stop(), 0);

    const got = emittedCounts(await readTopic(client, 'word-counts'));
    const wrong: string[] = [];
    for (const [k, values] of got) {
      const want = expected.get(k);
      // A clean handover goes through a final checkpoint: nothing is replayed, so no duplicates.
      if (values.length !== 1 || values[0] !== want) wrong.push(`${k}: got ${values.join(',')}, want ${want}`);
    }
    for (const k of expected.keys()) if (!got.has(k)) wrong.push(`${k}: missing`);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} wrong results`);
  });
});
