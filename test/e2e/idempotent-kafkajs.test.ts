/**
 * kafkajs's idempotent producer (idempotent: true, maxInFlightRequests: 1) against an agent killed
 * with -9 in the middle of its stream. As in the librdkafka test, a proxy withholds the agent's
 * responses just before the kill, so the send in flight is committed but not acknowledged:
 * kafkajs resends it with the same sequence and must get the original offsets back. Every record
 * is then read exactly once, in send order, at the offset its send reported.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { startAgent, stopAllAgents } from '../helpers/agent-process.js';
import { HoldingProxy } from '../helpers/holding-proxy.js';
import { createTopics, kafkaClient, kafkajsProduce } from '../helpers/kafkajs.js';
import type { DeliveryResult } from '../helpers/py-clients.js';
import { readAll } from '../helpers/read-all.js';
import { deliveryProblems, makeRecords, verifyRead } from '../helpers/records.js';

after(stopAllAgents);

describe('kafkajs idempotent producer', () => {
  it('delivers every record exactly once, in order, across a kill -9', async () => {
    const topic = 'idem-kafkajs';
    const proxy = await HoldingProxy.start(0);
    let agent = await startAgent({ lingerMs: 20, extraArgs: ['--advertised-listener', proxy.address] });
    proxy.target = agent.port;
    try {
      await createTopics(agent.bootstrap, [{ topic, numPartitions: 3 }]);
      const sent = makeRecords({ count: 6000, tag: topic, explicitPartitions: 3 });
      // Enough retry budget to outlast the agent's restart on a loaded machine (~25 s): the
      // test is about exactly-once across the restart, not about how fast the agent comes back.
      const producer = kafkaClient(proxy.address, 'weir-e2e', { retries: 15, initialRetryTime: 100, maxRetryTime: 2_000 }).producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const delivered: DeliveryResult[] = [];
      let sending = true;
      // One sender, sends in sequence: the order of the log is the order of `sent`.
      const sender = (async () => {
        try {
          for (let start = 0; start < sent.length; start += 150) {
            delivered.push(...(await kafkajsProduce(producer, topic, sent.slice(start, start + 150), { chunk: 150 })));
          }
        } finally {
          sending = false;
        }
      })();
      while (sending && delivered.length < 2000) await sleep(10);
      assert.ok(sending, 'the stream ended before the kill');
      proxy.hold();
      await sleep(300); // the send in flight commits; its answer is dropped
      await agent.kill9();
      proxy.reset();
      agent = await agent.restart();
      proxy.target = agent.port;
      await sender;
      await producer.disconnect();

      assert.deepEqual(deliveryProblems(delivered, sent.length), []);
      const read = await readAll('kcat', proxy.address, topic);
      assert.deepEqual(verifyRead({ sent, tag: topic, read, partitions: 3, delivered }), []);
    } finally {
      await proxy.close();
    }
  });
});
