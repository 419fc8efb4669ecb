/**
 * Every compression codec with every client that can produce it, read back by clients with
 * independent decompressors (librdkafka via kcat and confluent, pure Python kafka-python).
 * One topic per codec; each producer writes its own partition, so each partition's offsets
 * must run 0..n-1 and hold exactly that producer's records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompressionTypes } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatProduce } from '../helpers/kcat.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { confluentProduce, kafkaPythonProduce, type DeliveryResult, type ProduceRecord } from '../helpers/py-clients.js';
import { CONSUMERS, readAll } from '../helpers/read-all.js';
import { deliveryProblems, makeRecords, verifyRead, type Header } from '../helpers/records.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
type Codec = (typeof CODECS)[number];
const COUNT = 400;

/** Producer families and the partition each writes in every codec's topic. */
const PRODUCERS = ['kcat', 'confluent-kafka-python', 'kafka-python', 'kafkajs'] as const;
type ProducerName = (typeof PRODUCERS)[number];

/** kafkajs ships only gzip; snappy, lz4 and zstd need codec plugins that are not installed. */
function supports(producer: ProducerName, codec: Codec): boolean {
  return producer !== 'kafkajs' || codec === 'none' || codec === 'gzip';
}

const KAFKAJS_CODEC: Partial<Record<Codec, CompressionTypes>> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };

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

async function produceWith(producer: ProducerName, codec: Codec, topic: string, partition: number, tag: string): Promise<Produced> {
  // Repetitive values so every codec really compresses, several records per batch.
  const sent = makeRecords({ count: COUNT, tag }).map((r) => ({ ...r, partition }));
  switch (producer) {
    case 'kcat': {
      const headers: Header[] = [['codec', codec]];
      await kcatProduce({
        bootstrap: agent.bootstrap,
        topic,
        partition,
        compression: codec,
        records: sent.map((r) => [r.key!, r.value!] as const),
        headers: [['codec', codec]],
        config: { 'linger.ms': '5' },
      });
      return { sent, expectedHeaders: () => headers };
    }
    case 'confluent-kafka-python': {
      const { results } = await confluentProduce({ bootstrap: agent.bootstrap, topic, records: sent, config: { 'compression.type': codec } });
      return { sent, delivered: results };
    }
    case 'kafka-python': {
      const config = codec === 'none' ? {} : { compression_type: codec };
      const { results } = await kafkaPythonProduce({ bootstrap: agent.bootstrap, topic, records: sent, config });
      return { sent, delivered: results };
    }
    case 'kafkajs': {
      const p = await connectedProducer(agent.bootstrap);
      try {
        const delivered = await kafkajsProduce(p, topic, sent, { chunk: 100, compression: KAFKAJS_CODEC[codec]! });
        return { sent, delivered };
      } finally {
        await p.disconnect();
      }
    }
  }
}

for (const codec of CODECS) {
  describe(`compression ${codec}`, () => {
    const topic = `comp-${codec}`;
    const produced = new Map<ProducerName, Produced>();

    before(async () => {
      await createTopics(agent.bootstrap, [{ topic, numPartitions: PRODUCERS.length }]);
    });

    PRODUCERS.forEach((producer, partition) => {
      if (!supports(producer, codec)) return;
      it(`${producer} produces ${COUNT} ${codec} records`, async () => {
        const p = await produceWith(producer, codec, topic, partition, `${topic}-${producer}`);
        if (p.delivered) assert.deepEqual(deliveryProblems(p.delivered, COUNT), []);
        produced.set(producer, p);
      });
    });

    for (const consumer of CONSUMERS) {
      it(`${consumer} reads every producer's ${codec} records back intact`, async () => {
        const read = await readAll(consumer, agent.bootstrap, topic);
        const expected = PRODUCERS.filter((p) => supports(p, codec));
        assert.deepEqual([...produced.keys()].sort(), [...expected].sort(), 'not every producer produced (see the produce tests)');
        for (const [partition, producer] of PRODUCERS.entries()) {
          const p = produced.get(producer);
          const inPartition = read.filter((r) => r.partition === partition);
          if (p === undefined) {
            assert.equal(inPartition.length, 0, `partition ${partition} should be empty`);
            continue;
          }
          const problems = verifyRead({
            sent: p.sent,
            tag: `${topic}-${producer}`,
            read: inPartition,
            partitions: PRODUCERS.length,
            ...(p.delivered ? { delivered: p.delivered } : {}),
            ...(p.expectedHeaders ? { expectedHeaders: p.expectedHeaders } : {}),
          });
          assert.deepEqual(problems, [], `${producer}'s records in partition ${partition}`);
        }
      });
    }
  });
}
