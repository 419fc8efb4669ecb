/**
 * Three agents share one Redis (AOF, appendfsync always); Redis is killed with -9 and restarted
 * while two producers stream through all three agents: librdkafka idempotent
 * (confluent-kafka-python) and kafkajs without idempotence. While Redis is down the agents answer
 * with retriable errors and the clients retry; nothing acknowledged is lost. The idempotent
 * producer's records are read exactly once, in order, at their reported offsets (its producer
 * state survived in the AOF); the plain producer's at least once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics } from '../helpers/kafkajs.js';
import { confluentConsume } from '../helpers/py-clients.js';
import { deliveryProblems, indexOfValue, makeRecords } from '../helpers/records.js';
import { kafkajsStream, pyStream, pyValue } from '../helpers/streaming-producers.js';
import { committedCount, startWeirCluster, type WeirCluster } from '../helpers/weir-cluster.js';

const PARTITIONS = 3;

let cluster: WeirCluster;

before(async () => {
  cluster = await startWeirCluster({ bucket: 'weir-redis-restart' });
});
after(async () => {
  await cluster?.stop();
});

describe('Redis restart under produce load', () => {
  it('loses nothing acknowledged; the idempotent producer writes each record once', async () => {
    const a1 = cluster.agents[0]!;
    const brokers = cluster.agents.map((a) => a.bootstrap);
    const topics = { py: 'rr-librdkafka-idem', js: 'rr-kafkajs-plain' };
    await createTopics(a1.bootstrap, Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })));

    const perPartition = 2000;
    const jsCount = 6000;
    const jsSent = makeRecords({ count: jsCount, tag: topics.js, explicitPartitions: PARTITIONS });
    let pyDone = false;
    const py = pyStream({ bootstrap: cluster.bootstrapAll, topic: topics.py, tag: 'py', partitions: PARTITIONS, perPartition, idempotent: true, pauseS: 0.06 }).finally(() => (pyDone = true));
    const js = kafkajsStream({ brokers, topic: topics.js, records: jsSent, idempotent: false, chunk: 90 });

    while (!pyDone && ((await committedCount(a1.bootstrap, topics.py)) < (PARTITIONS * perPartition) / 3 || js.acked() < jsCount / 3)) await sleep(50);
    const stillStreaming = { py: !pyDone, js: js.acked() < jsCount };
    await cluster.redis.restart({ kill: true });
    assert.deepEqual(stillStreaming, { py: true, js: true }, 'both producers were still streaming when Redis was killed');

    const [pyResult, jsResult] = await Promise.all([py, js.done]);
    const agentsAlive = cluster.agents.map((a) => a.isRunning());
    assert.deepEqual(agentsAlive, [true, true, true], 'every agent survived the Redis restart');

    assert.deepEqual(pyResult.fatal, []);
    assert.deepEqual(pyResult.failed.slice(0, 5), []);
    assert.equal(pyResult.undelivered, 0);
    assert.equal(pyResult.delivered.length, PARTITIONS * perPartition);
    const pyRead = (await confluentConsume({ bootstrap: cluster.bootstrapAll, topic: topics.py, timeoutS: 60 })).records;
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

    assert.deepEqual(deliveryProblems(jsResult.delivered, jsCount), [], `every chunk acknowledged in the end; send errors: ${jsResult.sendErrors.slice(0, 3).join('; ')}`);
    const jsRead = (await confluentConsume({ bootstrap: cluster.bootstrapAll, topic: topics.js, timeoutS: 60 })).records;
    const seen = new Set<number>();
    const strangers: string[] = [];
    for (const r of jsRead) {
      const i = indexOfValue(topics.js, r.value);
      if (i < 0 || i >= jsCount || jsSent[i]!.value !== r.value || jsSent[i]!.partition !== r.partition) strangers.push(`${r.partition}/${r.offset}: ${r.value?.slice(0, 40)}`);
      else seen.add(i);
    }
    assert.deepEqual(strangers.slice(0, 5), [], 'records that were never sent (or in the wrong partition)');
    const lost = jsSent.map((_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged records lost (plain kafkajs producer)`);
  });
});
