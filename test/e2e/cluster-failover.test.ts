/**
 * Three agents (one Redis, one bucket); one is killed with -9 while three producers stream to it
 * and the others: librdkafka idempotent (confluent-kafka-python, enable.idempotence=true),
 * kafkajs idempotent, and kafkajs without idempotence, each to its own 3-partition topic and
 * bootstrapped at all three agents. The clients fail over to the survivors (the dead agent drops
 * out of the registry when its key expires, and out of Metadata with it). Consuming afterwards
 * finds every acknowledged record exactly once, in send order, where its delivery report said,
 * for the idempotent producers (their producer state is in Redis, so any agent fences a retry of
 * a batch the dead agent committed), and at least once for the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics } from '../helpers/kafkajs.js';
import { confluentConsume } from '../helpers/py-clients.js';
import { deliveryProblems, indexOfValue, makeRecords, verifyRead } from '../helpers/records.js';
import { kafkajsStream, pyStream, pyValue, type PyStreamResult } from '../helpers/streaming-producers.js';
import { committedCount, liveNodeIds, pollUntil, startWeirCluster, type WeirCluster } from '../helpers/weir-cluster.js';

const PARTITIONS = 3;

let cluster: WeirCluster;

before(async () => {
  cluster = await startWeirCluster({ bucket: 'weir-failover' });
});
after(async () => {
  await cluster?.stop();
});

describe('kill -9 of one of three agents under produce load', () => {
  it('idempotent producers deliver every acknowledged record exactly once, the plain one at least once', async () => {
    const [a1, a2, a3] = cluster.agents as [typeof cluster.agents[0], typeof cluster.agents[0], typeof cluster.agents[0]];
    const brokers = cluster.agents.map((a) => a.bootstrap);
    const topics = { py: 'fo-librdkafka-idem', jsIdem: 'fo-kafkajs-idem', jsPlain: 'fo-kafkajs-plain' };
    await createTopics(a1.bootstrap, Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })));

    const perPartition = 2000;
    const jsCount = 6000;
    const idemSent = makeRecords({ count: jsCount, tag: topics.jsIdem, explicitPartitions: PARTITIONS });
    const plainSent = makeRecords({ count: jsCount, tag: topics.jsPlain, explicitPartitions: PARTITIONS });

    let pyDone = false;
    const py = pyStream({ bootstrap: cluster.bootstrapAll, topic: topics.py, tag: 'py', partitions: PARTITIONS, perPartition, idempotent: true, pauseS: 0.06 }).finally(() => (pyDone = true));
    const jsIdem = kafkajsStream({ brokers, topic: topics.jsIdem, records: idemSent, idempotent: true, chunk: 90 });
    const jsPlain = kafkajsStream({ brokers, topic: topics.jsPlain, records: plainSent, idempotent: false, chunk: 90 });

    // Kill once every stream is well under way (a third of it acknowledged).
    while (!pyDone && ((await committedCount(a1.bootstrap, topics.py)) < (PARTITIONS * perPartition) / 3 || jsIdem.acked() < jsCount / 3 || jsPlain.acked() < jsCount / 3)) {
      await sleep(50);
    }
    const stillStreaming = { py: !pyDone, jsIdem: jsIdem.acked() < jsCount, jsPlain: jsPlain.acked() < jsCount };
    await a2.kill9();
    assert.deepEqual(stillStreaming, { py: true, jsIdem: true, jsPlain: true }, 'every producer was still streaming when the agent was killed');

    // The dead agent leaves the registry (its key's TTL is 5 s): the survivors stop listing it.
    for (const a of [a1, a3]) await pollUntil(() => liveNodeIds(a.bootstrap), (ids) => ids.join() === '1,3', `agent ${a.port} to list only nodes 1 and 3`);

    let pyResult: PyStreamResult;
    let idemResult, plainResult;
    try {
      [pyResult, idemResult, plainResult] = await Promise.all([py, jsIdem.done, jsPlain.done]);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- surviving agents ---\n${a1.output().slice(-3000)}\n${a3.output().slice(-3000)}`);
    }
    const survivors = `${a1.bootstrap},${a3.bootstrap}`;

    // librdkafka, idempotent: everything acknowledged, read once, in order, at the reported offsets.
    assert.deepEqual(pyResult.fatal, []);
    assert.deepEqual(pyResult.failed.slice(0, 5), []);
    assert.equal(pyResult.undelivered, 0);
    assert.equal(pyResult.delivered.length, PARTITIONS * perPartition);
    const pyRead = (await confluentConsume({ bootstrap: survivors, topic: topics.py, timeoutS: 60 })).records;
    const problems: string[] = [];
    const deliveredAt = new Map(pyResult.delivered.map(([part, i, offset]) => [`${part}:${i}`, offset]));
    for (let part = 0; part < PARTITIONS; part++) {
      const values = pyRead.filter((r) => r.partition === part).sort((a, b) => a.offset - b.offset);
      values.forEach((r, position) => {
        if (r.offset !== position) problems.push(`partition ${part}: offset ${r.offset} at position ${position}`);
        if (r.value !== pyValue('py', part, position)) problems.push(`partition ${part} offset ${r.offset}: ${r.value}, want ${pyValue('py', part, position)} (duplicate, loss or reorder)`);
        const reported = deliveredAt.get(`${part}:${position}`);
        if (reported !== r.offset) problems.push(`partition ${part} record ${position}: read at ${r.offset}, delivery report said ${reported}`);
      });
      if (values.length !== perPartition) problems.push(`partition ${part}: ${values.length} records, want ${perPartition}`);
    }
    assert.deepEqual(problems.slice(0, 10), [], 'librdkafka idempotent producer');

    // kafkajs, idempotent: no send failed, and the topic is exactly what was sent, where reported.
    assert.deepEqual(idemResult.sendErrors, []);
    assert.deepEqual(deliveryProblems(idemResult.delivered, jsCount), []);
    const idemRead = (await confluentConsume({ bootstrap: survivors, topic: topics.jsIdem, timeoutS: 60 })).records;
    assert.deepEqual(verifyRead({ sent: idemSent, tag: topics.jsIdem, read: idemRead, partitions: PARTITIONS, delivered: idemResult.delivered }), [], 'kafkajs idempotent producer');

    // kafkajs, not idempotent: every acknowledged record is there (duplicates allowed), nothing else.
    assert.deepEqual(deliveryProblems(plainResult.delivered, jsCount), [], `every chunk acknowledged in the end; send errors: ${plainResult.sendErrors.slice(0, 3).join('; ')}`);
    const plainRead = (await confluentConsume({ bootstrap: survivors, topic: topics.jsPlain, timeoutS: 60 })).records;
    const seen = new Set<number>();
    const strangers: string[] = [];
    for (const r of plainRead) {
      const i = indexOfValue(topics.jsPlain, r.value);
      if (i < 0 || i >= jsCount || plainSent[i]!.value !== r.value || plainSent[i]!.partition !== r.partition) strangers.push(`${r.partition}/${r.offset}: ${r.value?.slice(0, 40)}`);
      else seen.add(i);
    }
    assert.deepEqual(strangers.slice(0, 5), [], 'records that were never sent (or in the wrong partition)');
    const lost = plainSent.map((_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged records lost (plain kafkajs producer)`);
  });
});
