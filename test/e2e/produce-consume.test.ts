/**
 * Every producer family against every consumer family: 10 000 keyed records with headers across
 * 3 partitions, read back whole by kcat, kafka-python and confluent-kafka-python (none of them
 * in a consumer group). What is read must be exactly what was acknowledged: same partition and
 * offset as the producer was told, per-partition send order, offsets 0..n-1, keys, values, headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatProduce } from '../helpers/kcat.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { confluentProduce, kafkaPythonProduce, type DeliveryResult, type ProduceRecord } from '../helpers/py-clients.js';
import { CONSUMERS, readAll } from '../helpers/read-all.js';
import { deliveryProblems, makeRecords, verifyRead, type Header } from '../helpers/records.js';

const COUNT = 10_000;
const PARTITIONS = 3;

let agent: Agent;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
});
after(stopAllAgents);

interface Produced {
  sent: ProduceRecord[];
  delivered?: Array<DeliveryResult | null>;
  expectedHeaders?: (i: number) => Header[];
}

/**
 * One producer family: the first test produces (and checks the acks), then each consumer family
 * reads the topic back. The consumer tests need the first one's records, so they fail with
 * "nothing was produced" rather than passing vacuously if it failed.
 */
function producerSuite(name: string, topic: string, produce: () => Promise<Produced>): void {
  describe(`${name} producer`, () => {
    let produced: Produced | undefined;
    const tag = topic;

    it(`produces ${COUNT} keyed records with headers to ${PARTITIONS} partitions, acks=all`, async () => {
      await createTopics(agent.bootstrap, [{ topic, numPartitions: PARTITIONS }]);
      const p = await produce();
      assert.equal(p.sent.length, COUNT);
      if (p.delivered) assert.deepEqual(deliveryProblems(p.delivered, COUNT), []);
      produced = p;
    });

    for (const consumer of CONSUMERS) {
      it(`${consumer} reads back every record, in order, at contiguous offsets from 0`, async () => {
        assert.ok(produced, 'nothing was produced (the produce test failed)');
        const read = await readAll(consumer, agent.bootstrap, topic);
        const problems = verifyRead({
          sent: produced.sent,
          tag,
          read,
          partitions: PARTITIONS,
          ...(produced.delivered ? { delivered: produced.delivered } : {}),
          ...(produced.expectedHeaders ? { expectedHeaders: produced.expectedHeaders } : {}),
        });
        assert.deepEqual(problems, []);
      });
    }
  });
}

producerSuite('kafkajs (explicit partitions)', 'pc-kafkajs', async () => {
  const sent = makeRecords({ count: COUNT, tag: 'pc-kafkajs', explicitPartitions: PARTITIONS });
  const producer = await connectedProducer(agent.bootstrap);
  try {
    const delivered = await kafkajsProduce(producer, 'pc-kafkajs', sent, { chunk: 1000 });
    return { sent, delivered };
  } finally {
    await producer.disconnect();
  }
});

producerSuite('kcat (key-hashed)', 'pc-kcat', async () => {
  const sent = makeRecords({ count: COUNT, tag: 'pc-kcat' });
  // kcat cannot vary headers per record: every record carries the same ones.
  const headers: Header[] = [
    ['src', 'kcat'],
    ['tag', 'pc-kcat'],
    ['src', 'repeated-name'],
  ];
  await kcatProduce({
    bootstrap: agent.bootstrap,
    topic: 'pc-kcat',
    records: sent.map((r) => [r.key!, r.value!] as const),
    headers: headers.map(([k, v]) => [k, v!] as const),
    config: { 'linger.ms': '5' },
  });
  return { sent, expectedHeaders: () => headers };
});

producerSuite('confluent-kafka-python (explicit partitions)', 'pc-confluent', async () => {
  const sent = makeRecords({ count: COUNT, tag: 'pc-confluent', explicitPartitions: PARTITIONS });
  const { results, undelivered } = await confluentProduce({ bootstrap: agent.bootstrap, topic: 'pc-confluent', records: sent });
  assert.equal(undelivered, 0, 'confluent flush left records undelivered');
  return { sent, delivered: results };
});

producerSuite('kafka-python (key-hashed)', 'pc-kafka-python', async () => {
  const sent = makeRecords({ count: COUNT, tag: 'pc-kafka-python' });
  const { results } = await kafkaPythonProduce({ bootstrap: agent.bootstrap, topic: 'pc-kafka-python', records: sent });
  return { sent, delivered: results };
});

describe('null and empty keys, values and header values', () => {
  it('round-trip distinctly through confluent → kcat, kafka-python and confluent', async () => {
    const topic = 'pc-nulls';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 1 }]);
    const sent: ProduceRecord[] = [
      { key: null, value: 'null-key', partition: 0 },
      { key: '', value: 'empty-key', partition: 0 },
      { key: 'null-value', value: null, partition: 0 },
      { key: 'empty-value', value: '', partition: 0 },
      { key: 'unicode', value: 'héllo wörld ✓ 日本', partition: 0, headers: [['ü', 'ñ'], ['null-header', null], ['empty-header', '']] },
    ];
    const { results } = await confluentProduce({ bootstrap: agent.bootstrap, topic, records: sent });
    assert.deepEqual(deliveryProblems(results, sent.length), []);
    for (const consumer of CONSUMERS) {
      const read = await readAll(consumer, agent.bootstrap, topic);
      assert.deepEqual(
        read.map((r) => ({ offset: r.offset, key: r.key, value: r.value, headers: r.headers })),
        sent.map((s, i) => ({ offset: i, key: s.key, value: s.value, headers: s.headers ?? [] })),
        `as read by ${consumer}`,
      );
    }
  });
});
