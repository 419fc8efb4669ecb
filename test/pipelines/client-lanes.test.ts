/**
 * A broker answers each connection's requests in order, so on one shared connection a Fetch
 * long-polling an idle partition holds back every Produce answer queued behind it. Weir's client
 * puts fetches, produces and everything else on separate connections to the same broker
 * (KafkaClient's lanes). What is asserted is order, not speed: with a long poll of 20 s pending,
 * a produce, its acknowledgement, a metadata refresh and a second fetcher's own long poll all
 * complete while the first long poll is still unanswered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetcher, KafkaClient, Producer } from '../../core/client/index.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';

let agent: Agent;
let client: KafkaClient;

before(async () => {
  agent = await startAgent({ lingerMs: 5, autoCreateTopics: false });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'lanes-test' });
  await client.createTopics([{ name: 'lanes-idle', partitions: 1 }, { name: 'lanes-busy', partitions: 1 }, { name: 'lanes-other', partitions: 1 }]);
});
after(async () => {
  await client?.close();
  await stopAllAgents();
});

describe('client connection lanes', () => {
  it('answers produces, metadata and another fetcher while a long poll is pending', async () => {
    const longPollMs = 20_000;
    const fetcher = new Fetcher(client, { maxWaitMs: longPollMs });
    let pollSettled = false;
    // An idle partition: the agent holds this Fetch for the whole long poll.
    const poll = fetcher.fetch([{ topic: 'lanes-idle', partition: 0, offset: 0 }]).finally(() => (pollSettled = true));
    // Let the Fetch reach the agent before anything else is sent.
    await new Promise((r) => setTimeout(r, 200));

    const producer = new Producer(client, { lingerMs: 0, idempotent: true });
    producer.append('lanes-busy', 0, { key: Buffer.from('k'), value: Buffer.from('v'), timestamp: Date.now() });
    await producer.flush();
    assert.equal(pollSettled, false, 'the produce was acknowledged only after the long poll ended');

    await client.refreshMetadata();
    assert.equal(pollSettled, false, 'metadata waited for the long poll');

    // A second fetcher on its own lane: its long poll is answered at once, since data is there.
    const other = new Fetcher(client, { maxWaitMs: longPollMs, lane: 'fetch-other' });
    const got = await other.fetch([{ topic: 'lanes-busy', partition: 0, offset: 0 }]);
    assert.deepEqual(got.map((f) => f.records.map((r) => r.value?.toString())), [['v']]);
    assert.equal(pollSettled, false, 'the second fetcher waited for the first one');
    await producer.close();

    // The long poll itself still completes normally: a record on its partition wakes it.
    const late = new Producer(client, { lingerMs: 0 });
    late.append('lanes-idle', 0, { key: null, value: Buffer.from('wake'), timestamp: Date.now() });
    await late.close();
    const woken = await poll;
    assert.deepEqual(woken.map((f) => f.records.map((r) => r.value?.toString())), [['wake']]);
  });
});
