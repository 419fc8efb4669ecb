/**
 * librdkafka consumer groups (confluent-kafka-python) against one agent, with the eager
 * assignors (range, roundrobin) and the cooperative one (cooperative-sticky, where members rejoin
 * with the partitions they own and only moved partitions are revoked): two members split six
 * partitions, one leaves and the other takes over, and after an agent restart a new member
 * resumes exactly at the committed offsets (test/helpers/group-scenario.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { committedOffsets, runHandoffAndRestart } from '../helpers/group-scenario.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { startPyGroupMember } from '../helpers/py-group-member.js';
import { runPython } from '../helpers/python.js';

/** A standalone consumer: assign() (no group membership), consume, commit, read the commit back. */
const ASSIGN_AND_COMMIT = String.raw`
import json, sys
from confluent_kafka import Consumer, TopicPartition
req = json.load(sys.stdin)
c = Consumer({'bootstrap.servers': req['bootstrap'], 'group.id': req['groupId'], 'enable.auto.commit': False,
              'auto.offset.reset': 'earliest'})
c.assign([TopicPartition(req['topic'], 0, 0)])
got = []
while len(got) < req['count']:
    m = c.poll(10)
    if m is None:
        raise TimeoutError('no record within 10 s after %d' % len(got))
    if m.error() is None:
        got.append(m.offset())
c.commit(offsets=[TopicPartition(req['topic'], 0, got[-1] + 1)], asynchronous=False)
committed = c.committed([TopicPartition(req['topic'], 0)], timeout=10)
c.close()
print(json.dumps({'consumed': got, 'committed': committed[0].offset}))
`;

let agent: Agent;

before(async () => {
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '300'] });
});
after(stopAllAgents);

describe('librdkafka consumer group', () => {
  for (const strategy of ['range', 'roundrobin', 'cooperative-sticky']) {
    it(`${strategy}: splits, hands over, and resumes after a restart with nothing lost or duplicated`, async () => {
      agent = await runHandoffAndRestart({
        agent,
        topic: `cg-librdkafka-${strategy}`,
        groupId: `librdkafka-${strategy}`,
        protocol: strategy,
        cooperative: strategy === 'cooperative-sticky',
        start: (o) => startPyGroupMember('confluent', { ...o, config: { 'partition.assignment.strategy': strategy } }),
      });
    });
  }

  it('a static member (group.instance.id) that restarts gets its partitions back without a rebalance', async () => {
    const topic = 'cg-librdkafka-static';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 6 }]);
    const member = (name: string, instance: string) =>
      startPyGroupMember('confluent', { name, bootstrap: agent.bootstrap, topic, groupId: 'librdkafka-static', config: { 'group.instance.id': instance } });
    const [a, b] = await Promise.all([member('a', 'static-a'), member('b', 'static-b')]);
    const members = [a, b];
    try {
      await a.waitFor(() => a.assignment().length === 3 && b.assignment().length === 3, 'a and b to split the partitions 3/3');
      const before = b.assignment();
      // A static member leaves no LeaveGroup behind: the group keeps its place until its session times out.
      await b.close();
      const b2 = await member('b2', 'static-b');
      members.push(b2);
      await b2.waitFor(() => b2.assignment().length === 3, 'the restarted static member to be assigned');
      assert.deepEqual(b2.assignment(), before, 'the same partitions as before the restart');
      assert.deepEqual(a.assignmentHistory().filter((x) => x.length > 0).length, 1, `a was never reassigned: ${JSON.stringify(a.assignmentHistory())}`);
    } finally {
      await Promise.allSettled(members.map((m) => m.close()));
    }
  });

  it('a standalone consumer (assign, no membership) commits with generation -1 ("simple" commits)', async () => {
    await createTopics(agent.bootstrap, [{ topic: 'cg-librdkafka-assign', numPartitions: 1 }]);
    const producer = await connectedProducer(agent.bootstrap);
    try {
      await kafkajsProduce(producer, 'cg-librdkafka-assign', Array.from({ length: 5 }, (_, i) => ({ key: null, value: `r${i}`, partition: 0 })));
    } finally {
      await producer.disconnect();
    }
    const r = await runPython<{ consumed: number[]; committed: number }>(ASSIGN_AND_COMMIT, { bootstrap: agent.bootstrap, groupId: 'librdkafka-standalone', topic: 'cg-librdkafka-assign', count: 5 });
    assert.deepEqual(r, { consumed: [0, 1, 2, 3, 4], committed: 5 });
    assert.deepEqual((await committedOffsets(agent.bootstrap, 'librdkafka-standalone', 'cg-librdkafka-assign')).slice(0, 1), [5]);
  });
});
