/**
 * A librdkafka consumer group (confluent-kafka-python, one member committing synchronously after
 * each poll) keeps consuming from three agents while records stream in, and its coordinator —
 * found with FindCoordinator, rendezvous hashing of the group id over the live agents — is killed
 * with -9. The member re-finds a coordinator among the survivors, rejoins (the new coordinator
 * had no members in memory) and resumes from the offsets committed in Redis: nothing committed
 * before the kill is read again, and every acknowledged record is read (at least once).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FindCoordinator } from '../../core/protocol/generated/index.js';
import type { Agent } from '../helpers/agent-process.js';
import { createTopics } from '../helpers/kafkajs.js';
import { startPyGroupMember } from '../helpers/py-group-member.js';
import { RawClient } from '../helpers/raw-client.js';
import { makeRecords } from '../helpers/records.js';
import { kafkajsStream } from '../helpers/streaming-producers.js';
import { patientKafka, pollUntil, startWeirCluster, type WeirCluster } from '../helpers/weir-cluster.js';

const PARTITIONS = 6;
const COUNT = 6000;

let cluster: WeirCluster;

before(async () => {
  cluster = await startWeirCluster({ bucket: 'weir-group-failover', lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '300'] });
});
after(async () => {
  await cluster?.stop();
});

/** The node id of the group's coordinator, as `agent` answers FindCoordinator v3. */
async function coordinatorOf(agent: Agent, group: string): Promise<number> {
  const c = await RawClient.connect(agent.host, agent.port);
  try {
    const fc = await c.request(FindCoordinator, 3, { key: group, keyType: 0, coordinatorKeys: [] });
    assert.equal(fc.errorCode, 0, `FindCoordinator ${group} via ${agent.port}`);
    return fc.nodeId!;
  } finally {
    c.close();
  }
}

describe('consumer group whose coordinator is killed', () => {
  it('re-finds a coordinator, rejoins, resumes from the committed offsets and reads everything', async () => {
    const topic = 'cgf-orders';
    const group = 'cgf-group';
    const agents = cluster.agents;
    await createTopics(agents[0]!.bootstrap, [{ topic, numPartitions: PARTITIONS }]);

    const coordinatorId = await coordinatorOf(agents[0]!, group);
    for (const a of agents) assert.equal(await coordinatorOf(a, group), coordinatorId, `agent ${a.port} names the same coordinator`);
    const coordinator = agents.find((a) => a.args.join(' ').includes(`--node-id ${coordinatorId} `))!;
    assert.ok(coordinator, `agent with node id ${coordinatorId}`);
    const survivors = agents.filter((a) => a !== coordinator);

    const member = await startPyGroupMember('confluent', { name: 'm', bootstrap: cluster.bootstrapAll, topic, groupId: group });
    try {
      const sent = makeRecords({ count: COUNT, tag: topic, explicitPartitions: PARTITIONS, headers: () => [] });
      const producer = kafkajsStream({ brokers: agents.map((a) => a.bootstrap), topic, records: sent, idempotent: false, chunk: 60, pauseMs: 30 });
      const detail = (): string => `commit errors: ${member.commitErrors().slice(0, 5).join(' | ')}\n${member.log()}`;

      await pollUntil(async () => member.records().length, (n) => n >= COUNT / 4, 'a quarter of the records to be consumed', 60_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${detail()}`);
      });
      // Everything reported so far was committed first.
      const committedBeforeKill = new Map<number, number>();
      for (const r of member.records()) committedBeforeKill.set(r.partition, Math.max(committedBeforeKill.get(r.partition) ?? 0, r.offset + 1));
      const reportedAtKill = member.records().length;
      const producerAtKill = producer.acked();
      await coordinator.kill9();
      assert.ok(producerAtKill < COUNT, 'records were still streaming in when the coordinator was killed');

      // The survivors agree on a new coordinator, one of them. Each learns of the death through
      // its own registry refresh (TTL + one heartbeat), so they may disagree for up to a heartbeat.
      const newCoordinator = await pollUntil(() => coordinatorOf(survivors[0]!, group), (id) => id !== coordinatorId, 'a new coordinator');
      assert.ok(survivors.some((a) => a.args.join(' ').includes(`--node-id ${newCoordinator} `)), 'the new coordinator is a survivor');
      await pollUntil(() => coordinatorOf(survivors[1]!, group), (id) => id === newCoordinator, 'both survivors to name the same coordinator');

      const produced = await producer.done;
      assert.equal(produced.delivered.filter((d) => d.offset !== undefined).length, COUNT, `every record acknowledged; send errors: ${produced.sendErrors.slice(0, 3).join('; ')}`);

      const want = new Set(sent.map((r) => r.value!));
      const got = new Set<string>();
      await pollUntil(
        async () => {
          got.clear();
          for (const r of [...member.records(), ...member.uncommittedRecords()]) got.add(r.value);
          return got.size;
        },
        (n) => n >= want.size,
        'every record to be consumed',
        90_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${detail()}`);
      });
      assert.deepEqual([...want].filter((v) => !got.has(v)).slice(0, 10), [], 'records never consumed');
      assert.deepEqual([...got].filter((v) => !want.has(v)).slice(0, 10), [], 'records that were never produced');
      assert.ok(member.records().length > reportedAtKill, 'records were consumed and committed after the kill');

      // Resumed from the committed offsets: nothing committed before the kill came back after it.
      const reread = member.records().slice(reportedAtKill).filter((r) => r.offset < (committedBeforeKill.get(r.partition) ?? 0));
      assert.deepEqual(reread.slice(0, 10), [], 'records read again although their offsets were committed before the kill');

      // The member rejoined at the new coordinator, which serves the group's offsets.
      const admin = patientKafka(survivors.map((a) => a.bootstrap), 'cgf-admin').admin();
      await admin.connect();
      try {
        const described = await pollUntil(
          async () => (await admin.describeGroups([group])).groups[0]!,
          (g) => g.state === 'Stable' && g.members.length === 1,
          'the group to be Stable with one member at the new coordinator',
        );
        assert.equal(described.protocolType, 'consumer');
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
        await pollUntil(
          async () => (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.map((p) => [p.partition, Number(p.offset)] as const),
          (offsets) => offsets.length === PARTITIONS && offsets.every(([p, o]) => o === ends.get(p)),
          'the committed offsets to reach the end of every partition',
        );
      } finally {
        await admin.disconnect();
      }
    } finally {
      await member.close().catch(() => undefined);
    }
  });
});
