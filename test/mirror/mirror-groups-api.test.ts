/**
 * The mirror's consumer group offset sync (a kafkajs consumer switched from the source to Weir
 * reads the next record, no duplicates) and who may use the mirror's write API: only a client
 * with the agent's mirror token, only into mirror topics being mirrored, never on an agent
 * without a token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerConnection } from '../../core/client/broker-connection.js';
import { WeirMirrorTopics, WeirMirrorWrite } from '../../core/protocol/generated/index.js';
import { buildBatchSync } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedAdmin, connectedProducer, createTopics, kafkaClient } from '../helpers/kafkajs.js';
import { connect, offsets, startMirror, stopMirror, TOKEN, waitFor, type MirrorProcess } from './mirror-helpers.js';

const CLUSTER_AUTHORIZATION_FAILED = 31;
const POLICY_VIOLATION = 44;

let source: Agent;
let weir: Agent;
let tokenless: Agent;
let mirror: MirrorProcess | null = null;
const conns: BrokerConnection[] = [];

describe('mirror: group offsets and the write API', { timeout: 120_000 }, () => {
  before(async () => {
    [source, weir, tokenless] = await Promise.all([
      startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '0'] }),
      startAgent({ lingerMs: 5, extraArgs: ['--mirror-token', TOKEN, '--group-initial-rebalance-delay-ms', '0'] }),
      startAgent({ lingerMs: 5 }),
    ]);
  });

  after(async () => {
    if (mirror) await stopMirror(mirror, 'SIGKILL');
    for (const c of conns) c.close();
    await stopAllAgents();
  });

  it('syncs a group\'s offsets; a kafkajs consumer switched from the source to Weir reads the next record, no duplicates', async () => {
    await createTopics(source.bootstrap, [{ topic: 'orders', numPartitions: 2 }]);
    const producer = await connectedProducer(source.bootstrap);
    await producer.send({ topic: 'orders', messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % 2, key: `o${i}`, value: `order-${i}` })) });

    // The group consumes part of the topic on the source and commits.
    const seenOnSource: string[] = [];
    const consumer = kafkaClient(source.bootstrap).consumer({ groupId: 'billing', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (seenOnSource.length >= 25) return;
        seenOnSource.push(message.value!.toString());
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    const sourceAdmin = await connectedAdmin(source.bootstrap);
    // -1: nothing committed on that partition (yet).
    const committedNow = async (): Promise<number[]> => (await sourceAdmin.fetchOffsets({ groupId: 'billing', topics: ['orders'] }))[0]!.partitions.map((p) => Number(p.offset));
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + Math.max(0, b), 0);
    await waitFor('the source consumer to read and commit 25 records', async () => seenOnSource.length >= 25 && sum(await committedNow()) === 25, 30_000, 50);
    await consumer.stop();
    await consumer.disconnect();
    const committed = await committedNow();
    await sourceAdmin.disconnect();
    assert.equal(sum(committed), 25);

    mirror = startMirror(['--source-brokers', source.bootstrap, '--bootstrap-server', weir.bootstrap, '--topics', 'orders', '--groups', 'bill.*', '--group-sync-interval-ms', '300', '--discovery-interval-ms', '300', '--log-level', 'debug']);
    const weirAdmin = await connectedAdmin(weir.bootstrap);
    try {
      await waitFor('the group offsets to reach Weir', async () => {
        const got = await weirAdmin.fetchOffsets({ groupId: 'billing', topics: ['orders'] }).catch(() => []);
        return JSON.stringify(got[0]?.partitions.map((p) => Number(p.offset))) === JSON.stringify(committed);
      }, 30_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${mirror!.output().slice(-3000)}`);
      });
      await waitFor('the topic to be copied', async () => JSON.stringify(await offsets(await conn(weir), 'orders', 2, -1n)) === JSON.stringify([30, 30]), 30_000, 100);
    } finally {
      await weirAdmin.disconnect();
    }
    // More records arrive at the source after the switch point and are mirrored too.
    await producer.send({ topic: 'orders', messages: Array.from({ length: 4 }, (_, i) => ({ partition: i % 2, key: `n${i}`, value: `order-new-${i}` })) });
    await producer.disconnect();
    await waitFor('the new records to be copied', async () => JSON.stringify(await offsets(await conn(weir), 'orders', 2, -1n)) === JSON.stringify([32, 32]), 30_000, 100);

    // The same group, now on Weir: it starts exactly where it stopped on the source.
    const seenOnWeir: { partition: number; offset: number; value: string }[] = [];
    const switched = kafkaClient(weir.bootstrap).consumer({ groupId: 'billing', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await switched.connect();
    await switched.subscribe({ topics: ['orders'], fromBeginning: true });
    await switched.run({ eachMessage: async ({ partition, message }) => void seenOnWeir.push({ partition, offset: Number(message.offset), value: message.value!.toString() }) });
    try {
      await waitFor('the switched consumer to read the rest', () => seenOnWeir.length >= 64 - 25, 30_000, 50);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await switched.stop();
      await switched.disconnect();
    }
    for (const p of [0, 1]) {
      const first = seenOnWeir.find((r) => r.partition === p)!;
      // A partition without a commit starts from the beginning (fromBeginning), as on the source.
      assert.equal(first.offset, Math.max(0, committed[p]!), `partition ${p}: the first record read on Weir is the committed offset`);
    }
    const values = seenOnWeir.map((r) => r.value);
    assert.equal(new Set(values).size, values.length, 'no record twice on Weir');
    assert.equal(values.filter((v) => seenOnSource.includes(v)).length, 0, 'nothing read on the source is read again on Weir');
    assert.equal(values.length + seenOnSource.length, 64, 'every record exactly once across the switch');

    // The group is Weir's now: the mirror no longer overwrites its offsets (it has members or
    // newer commits there); the source group's old offsets stay behind.
    const again = await connectedAdmin(weir.bootstrap);
    const now = (await again.fetchOffsets({ groupId: 'billing', topics: ['orders'] }))[0]!.partitions.map((p) => Number(p.offset));
    await again.disconnect();
    assert.deepEqual(now, [32, 32]);
  });

  it('refuses the mirror write API without the agent\'s token, on an agent without one, and into non-mirror topics', async () => {
    const batch = buildBatchSync({ baseOffset: 0n, records: [{ key: 'k', value: 'v' }] });
    await createTopics(weir.bootstrap, [{ topic: 'ordinary', numPartitions: 1 }]);
    const c = await conn(weir);
    const plain = await c.send(WeirMirrorTopics, 0, { token: TOKEN, topics: [{ name: 'ordinary', action: 2, sourceCluster: '', numPartitions: 0, configs: [] }] });
    const ordinaryId = plain.topics![0]!.topicId!;
    assert.equal(plain.topics![0]!.mirrorState, 0);

    for (const token of ['', 'wrong-token-but-long-enough']) {
      const w = await c.send(WeirMirrorWrite, 0, { token, topics: [{ name: 'ordinary', topicId: ordinaryId, partitions: [{ partitionIndex: 0, records: batch }] }] });
      assert.equal(w.topics?.[0]?.partitions?.[0]?.errorCode, CLUSTER_AUTHORIZATION_FAILED);
      assert.match(w.topics?.[0]?.partitions?.[0]?.errorMessage ?? '', /wrong mirror token/);
      const t = await c.send(WeirMirrorTopics, 0, { token, topics: [{ name: 'stolen', action: 0, sourceCluster: 'x', numPartitions: 1, configs: [] }] });
      assert.equal(t.topics?.[0]?.errorCode, CLUSTER_AUTHORIZATION_FAILED);
    }
    // With the token, but into an ordinary topic: refused, nothing written.
    const w = await c.send(WeirMirrorWrite, 0, { token: TOKEN, topics: [{ name: 'ordinary', topicId: ordinaryId, partitions: [{ partitionIndex: 0, records: batch }] }] });
    assert.equal(w.topics?.[0]?.partitions?.[0]?.errorCode, POLICY_VIOLATION);
    assert.match(w.topics?.[0]?.partitions?.[0]?.errorMessage ?? '', /not a mirror topic/);
    // The mirror never adopts an ordinary topic of the same name.
    const adopt = await c.send(WeirMirrorTopics, 0, { token: TOKEN, topics: [{ name: 'ordinary', action: 0, sourceCluster: 'x', numPartitions: 1, configs: [] }] });
    assert.equal(adopt.topics?.[0]?.errorCode, 36);
    assert.deepEqual(await offsets(c, 'ordinary', 1, -1n), [0]);
    // An agent started without --mirror-token refuses every mirror write.
    const t = await conn(tokenless);
    const refused = await t.send(WeirMirrorWrite, 0, { token: TOKEN, topics: [{ name: 'x', topicId: ordinaryId, partitions: [{ partitionIndex: 0, records: batch }] }] });
    assert.equal(refused.topics?.[0]?.partitions?.[0]?.errorCode, CLUSTER_AUTHORIZATION_FAILED);
    assert.match(refused.topics?.[0]?.partitions?.[0]?.errorMessage ?? '', /--mirror-token/);
    // Ordinary clients still see the APIs in ApiVersions and keep working (kafkajs produce).
    const producer = await connectedProducer(tokenless.bootstrap);
    const [r] = await producer.send({ topic: 'plain', messages: [{ value: 'still fine' }] });
    assert.equal(r!.errorCode, 0);
    await producer.disconnect();
  });
});

async function conn(agent: Agent): Promise<BrokerConnection> {
  const c = await connect(agent.bootstrap);
  conns.push(c);
  return c;
}
