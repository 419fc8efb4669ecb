/**
 * librdkafka's idempotent producer (confluent-kafka-python, enable.idempotence=true, acks=all)
 * against an agent that is killed with -9 twice while the producer streams to 3 partitions. The
 * producer keeps its producer id across the restarts (same data dir) and retries what was in
 * flight. Before each kill a proxy withholds the agent's responses for a moment, so there surely
 * are batches committed but never acknowledged: their retries must come back as duplicates with
 * the original offsets. Consuming afterwards must find every acknowledged record exactly once, in
 * send order per partition, where its delivery report said.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { startAgent, stopAllAgents } from '../helpers/agent-process.js';
import { HoldingProxy } from '../helpers/holding-proxy.js';
import { connectedAdmin, createTopics } from '../helpers/kafkajs.js';
import { confluentConsume, type ConsumedRecord } from '../helpers/py-clients.js';
import { runPython } from '../helpers/python.js';

after(stopAllAgents);

/**
 * Produces `perPartition` records to each partition, value "<tag>:<partition>:<i>", pausing
 * briefly now and then so the stream outlasts the kills. Reports every delivery.
 */
const STREAMING_PRODUCER = String.raw`
import json, sys, time
from confluent_kafka import Producer

req = json.load(sys.stdin)
client_errors = []
conf = {
    'bootstrap.servers': req['bootstrap'],
    'enable.idempotence': True,
    'acks': 'all',
    'linger.ms': 5,
    # Long enough to ride out the restarts: nothing may time out, everything is retried.
    'message.timeout.ms': 120000,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'retry.backoff.ms': 50,
    'error_cb': lambda err: client_errors.append({'name': err.name(), 'str': err.str(), 'fatal': err.fatal()}),
}
p = Producer(conf)
delivered = []
failed = []

def report(part, i):
    def cb(err, msg):
        if err is not None:
            failed.append([part, i, err.name(), err.str()])
        else:
            delivered.append([part, i, msg.offset()])
    return cb

for i in range(req['perPartition']):
    for part in range(req['partitions']):
        value = '%s:%d:%d' % (req['tag'], part, i)
        while True:
            try:
                p.produce(req['topic'], value=value.encode(), partition=part, on_delivery=report(part, i))
                break
            except BufferError:
                p.poll(0.05)
    p.poll(0)
    if i % 10 == 9:
        time.sleep(0.01)
undelivered = p.flush(150)
sys.stdout.write(json.dumps({'delivered': delivered, 'failed': failed, 'undelivered': undelivered,
                             'fatal': [e for e in client_errors if e['fatal']]}))
`;

interface StreamResult {
  delivered: [number, number, number][];
  failed: [number, number, string, string][];
  undelivered: number;
  fatal: unknown[];
}

/** Records committed to the topic so far: the sum of its high watermarks. */
async function committed(bootstrap: string, topic: string): Promise<number> {
  const admin = await connectedAdmin(bootstrap);
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('librdkafka idempotent producer across kill -9', () => {
  it('every acknowledged record is read exactly once, in order per partition', async () => {
    const topic = 'idem-librdkafka';
    const tag = 'idem';
    const partitions = 3;
    const perPartition = 4000;
    let result!: StreamResult;
    let read!: ConsumedRecord[];
    // The producer only ever talks to the proxy, which follows the agent across restarts.
    const proxy = await HoldingProxy.start(0);
    let agent = await startAgent({ lingerMs: 20, extraArgs: ['--advertised-listener', proxy.address] });
    proxy.target = agent.port;
    try {
      await createTopics(agent.bootstrap, [{ topic, numPartitions: partitions }]);
      let done = false;
      const producing = runPython<StreamResult>(STREAMING_PRODUCER, { bootstrap: proxy.address, topic, tag, partitions, perPartition }, { timeoutMs: 170_000 }).finally(
        () => (done = true),
      );
      let kills = 0;
      for (const threshold of [2000, 7000]) {
        while (!done && (await committed(agent.bootstrap, topic)) < threshold) await sleep(50);
        if (done) break;
        proxy.hold();
        // Long enough for the agent to commit the requests in flight (linger 20 ms); their acks are dropped.
        await sleep(300);
        await agent.kill9();
        proxy.reset();
        kills++;
        agent = await agent.restart();
        proxy.target = agent.port;
      }
      result = await producing;
      assert.equal(kills, 2, 'the stream ended before both kills');
      // Through the proxy too: the agent advertises it.
      read = (await confluentConsume({ bootstrap: proxy.address, topic, timeoutS: 60 })).records;
    } finally {
      await proxy.close();
    }

    assert.deepEqual(result.fatal, []);
    assert.deepEqual(result.failed.slice(0, 5), []);
    assert.equal(result.undelivered, 0);
    assert.equal(result.delivered.length, partitions * perPartition);

    const problems: string[] = [];
    const deliveredAt = new Map(result.delivered.map(([part, i, offset]) => [`${part}:${i}`, offset]));
    for (let part = 0; part < partitions; part++) {
      const values = read.filter((r) => r.partition === part).sort((a, b) => a.offset - b.offset);
      values.forEach((r, position) => {
        if (r.offset !== position) problems.push(`partition ${part}: offset ${r.offset} at position ${position}`);
        const want = `${tag}:${part}:${position}`;
        if (r.value !== want) problems.push(`partition ${part} offset ${r.offset}: ${r.value}, want ${want} (duplicate, loss or reorder)`);
        const reported = deliveredAt.get(`${part}:${position}`);
        if (reported !== r.offset) problems.push(`partition ${part} record ${position}: read at ${r.offset}, delivery report said ${reported}`);
      });
      if (values.length !== perPartition) problems.push(`partition ${part}: ${values.length} records, want ${perPartition}`);
    }
    assert.deepEqual(problems.slice(0, 10), []);

    // The producer went on under the id it got first: the agent handed out exactly one.
    const db = new Database(join(agent.dataDir, 'metadata.sqlite'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM producers').get(), { n: 1 });
    } finally {
      db.close();
    }
  });
});
