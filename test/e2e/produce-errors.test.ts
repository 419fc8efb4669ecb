/**
 * Produce errors as real clients see them, reported per record and without disturbing the
 * records around them: a batch over the topic's max.message.bytes (MESSAGE_TOO_LARGE, 10), a
 * batch whose CRC does not match (CORRUPT_MESSAGE, 2; needs a raw client, since real clients
 * never send one), and a topic that does not exist while auto-create is off
 * (UNKNOWN_TOPIC_OR_PARTITION, 3).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildBatch } from '../../core/records/records.js';
import { OFFSET_CRC } from '../../core/records/batch.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kafkaErrorTypes } from '../helpers/kafka-errors.js';
import { kcatConsume, kcatProduce, runKcat } from '../helpers/kcat.js';
import { connectedAdmin, connectedProducer, createTopics } from '../helpers/kafkajs.js';
import { confluentProduce, kafkaPythonProduce } from '../helpers/py-clients.js';
import { bigintJson, RawClient, rawProduce } from '../helpers/raw-client.js';

const MESSAGE_TOO_LARGE = 10;
const CORRUPT_MESSAGE = 2;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

let agent: Agent;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
});
after(stopAllAgents);

describe('a batch larger than the topic max.message.bytes', () => {
  const topic = 'err-small';
  const small = (n: number) => ({ key: `k${n}`, value: `small-${n}`, partition: 0 });
  const big = { key: 'big', value: 'x'.repeat(5000), partition: 0 };

  before(async () => {
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] }]);
  });

  it('confluent-kafka-python: MSG_SIZE_TOO_LARGE for that record only', async () => {
    const { results } = await confluentProduce({ bootstrap: agent.bootstrap, topic, records: [small(0), big, small(1)], flushEach: true });
    assert.deepEqual([results[0]?.partition, results[0]?.offset], [0, 0], JSON.stringify(results[0]));
    assert.equal(results[1]?.error?.code, MESSAGE_TOO_LARGE, JSON.stringify(results[1]));
    assert.equal(results[1]?.error?.name, 'MSG_SIZE_TOO_LARGE');
    assert.deepEqual([results[2]?.partition, results[2]?.offset], [0, 1], JSON.stringify(results[2]));
  });

  it('kafka-python: MessageSizeTooLargeError for that record only', async () => {
    const { results } = await kafkaPythonProduce({ bootstrap: agent.bootstrap, topic, records: [small(2), big, small(3)], flushEach: true });
    assert.equal(results[0]?.offset, 2, JSON.stringify(results[0]));
    assert.equal(results[1]?.error?.name, 'MessageSizeTooLargeError', JSON.stringify(results[1]));
    assert.equal(results[2]?.offset, 3, JSON.stringify(results[2]));
  });

  it('raw Produce: error code 10 for the partition', async () => {
    const client = await RawClient.connect(agent.host, agent.port);
    try {
      const batch = await buildBatch({ records: [{ key: 'big', value: 'y'.repeat(5000) }] });
      const r = await rawProduce(client, { topic, partition: 0, batch });
      assert.equal(r.errorCode, MESSAGE_TOO_LARGE, JSON.stringify(r, bigintJson));
    } finally {
      client.close();
    }
  });

  it('only the small records were stored', async () => {
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic });
    assert.deepEqual(
      read.map((r) => [r.offset, r.payload]),
      [[0, 'small-0'], [1, 'small-1'], [2, 'small-2'], [3, 'small-3']],
    );
  });
});

describe('a batch with a bad CRC', () => {
  const topic = 'err-crc';

  before(async () => {
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 1 }]);
  });

  it('is refused with CORRUPT_MESSAGE, and the same connection then produces fine', async () => {
    const client = await RawClient.connect(agent.host, agent.port);
    try {
      const good = await buildBatch({ records: [{ key: 'a', value: 'first' }, { key: 'b', value: 'second' }, { key: 'c', value: 'third' }] });

      const flippedPayload = Buffer.from(good);
      flippedPayload[flippedPayload.length - 3]! ^= 0x01; // inside the last record
      const r1 = await rawProduce(client, { topic, partition: 0, batch: flippedPayload });
      assert.equal(r1.errorCode, CORRUPT_MESSAGE, `payload byte flipped: ${JSON.stringify(r1, bigintJson)}`);

      const flippedCrc = Buffer.from(good);
      flippedCrc[OFFSET_CRC]! ^= 0x80;
      const r2 = await rawProduce(client, { topic, partition: 0, batch: flippedCrc });
      assert.equal(r2.errorCode, CORRUPT_MESSAGE, 'CRC field flipped');

      assert.equal(client.isClosed, false, 'the agent closed the connection after a CORRUPT_MESSAGE');
      const r3 = await rawProduce(client, { topic, partition: 0, batch: good });
      assert.deepEqual([r3.errorCode, r3.baseOffset], [0, 0n], 'the intact batch gets offset 0: the corrupt ones took none');
    } finally {
      client.close();
    }
  });

  it('nothing of the corrupt batches is readable; the agent is still up', async () => {
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic });
    assert.deepEqual(read.map((r) => [r.offset, r.key, r.payload]), [[0, 'a', 'first'], [1, 'b', 'second'], [2, 'c', 'third']]);
    assert.equal(agent.isRunning(), true);
  });
});

describe('auto-create', () => {
  it('on (the default): producing to a new topic creates it', async () => {
    await kcatProduce({ bootstrap: agent.bootstrap, topic: 'err-autocreated', records: [['k', 'v']] });
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic: 'err-autocreated' });
    assert.deepEqual(read.map((r) => r.payload), ['v']);
  });

  describe('off: producing to an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION', () => {
    let strict: Agent;
    const topic = 'err-missing';

    before(async () => {
      strict = await startAgent({ lingerMs: 20, autoCreateTopics: false });
    });

    it('raw Produce: error code 3 for the partition', async () => {
      const client = await RawClient.connect(strict.host, strict.port);
      try {
        const batch = await buildBatch({ records: [{ key: 'k', value: 'v' }] });
        const r = await rawProduce(client, { topic, partition: 0, batch });
        assert.equal(r.errorCode, UNKNOWN_TOPIC_OR_PARTITION);
      } finally {
        client.close();
      }
    });

    it('kafkajs: send() rejects with UNKNOWN_TOPIC_OR_PARTITION', async () => {
      const producer = await connectedProducer(strict.bootstrap, { retry: { retries: 1, initialRetryTime: 100 } });
      try {
        await assert.rejects(producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'v' }] }), (e: unknown) => {
          assert.ok(kafkaErrorTypes(e).includes('UNKNOWN_TOPIC_OR_PARTITION'), `got ${JSON.stringify(kafkaErrorTypes(e))}: ${String(e)}`);
          return true;
        });
      } finally {
        await producer.disconnect();
      }
    });

    it('confluent-kafka-python: the delivery report says the topic is unknown', async () => {
      const { results } = await confluentProduce({
        bootstrap: strict.bootstrap,
        topic,
        records: [{ key: 'k', value: 'v' }],
        // librdkafka waits this long for a "new" topic to appear before failing its records.
        config: { 'topic.metadata.propagation.max.ms': 500, 'message.timeout.ms': 10_000 },
      });
      // librdkafka fails the record with the error Metadata gave for the topic (its name for 3).
      assert.deepEqual(
        [results[0]?.error?.code, results[0]?.error?.name],
        [UNKNOWN_TOPIC_OR_PARTITION, 'UNKNOWN_TOPIC_OR_PART'],
        `delivery report: ${JSON.stringify(results[0])}`,
      );
    });

    it('kcat -L: metadata reports the topic unknown', async () => {
      const r = await runKcat(['-L', '-J', '-b', strict.bootstrap, '-t', topic]);
      assert.equal(r.code, 0, r.stderr);
      const md = JSON.parse(r.stdout) as { topics: Array<{ topic: string; error?: string; partitions: unknown[] }> };
      assert.equal(md.topics.length, 1);
      assert.match(md.topics[0]!.error ?? '', /Unknown topic or partition/i, r.stdout);
    });

    it('none of that created the topic; an explicitly created one works', async () => {
      const admin = await connectedAdmin(strict.bootstrap);
      try {
        assert.ok(!(await admin.listTopics()).includes(topic));
      } finally {
        await admin.disconnect();
      }
      await createTopics(strict.bootstrap, [{ topic: 'err-explicit', numPartitions: 1 }]);
      await kcatProduce({ bootstrap: strict.bootstrap, topic: 'err-explicit', records: [['k', 'v']] });
      const read = await kcatConsume({ bootstrap: strict.bootstrap, topic: 'err-explicit' });
      assert.deepEqual(read.map((r) => r.payload), ['v']);
    });
  });
});
