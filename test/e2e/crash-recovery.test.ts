/**
 * Durability across agent restarts on the same data dir. An acknowledgement (acks=all) is a
 * promise that the record survives: after kill -9 every acknowledged record must be readable,
 * exactly once. A SIGTERM is a graceful stop: records already received are flushed and
 * acknowledged before exit, so what was acknowledged is exactly what is readable afterwards.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { Produce } from '../../core/protocol/generated/index.js';
import { buildBatch } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { confluentProduce, type ProduceRecord } from '../helpers/py-clients.js';
import { readAll } from '../helpers/read-all.js';
import { deliveryProblems, indexOfValue, makeRecords, verifyRead, type ReadRecord } from '../helpers/records.js';
import { RawClient, rawProduce } from '../helpers/raw-client.js';

after(stopAllAgents);

/**
 * Checks a topic read after a crash against what was sent and what was acknowledged:
 * every acknowledged record present, no record twice, nothing that was never sent, and each
 * partition's offsets 0..n-1 (a crash must not leave holes). Returns the problems found.
 */
function crashProblems(o: { tag: string; sent: ProduceRecord[]; acked: Set<number>; read: ReadRecord[]; exact: boolean }): string[] {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  const perPartition = new Map<number, number>();
  for (const r of o.read) {
    const expectOffset = perPartition.get(r.partition) ?? 0;
    if (r.offset !== expectOffset) problems.push(`partition ${r.partition}: offset ${r.offset} where ${expectOffset} was expected`);
    perPartition.set(r.partition, r.offset + 1);
    const i = indexOfValue(o.tag, r.value);
    if (i < 0 || i >= o.sent.length) {
      problems.push(`${r.partition}/${r.offset}: ${JSON.stringify(r.value)} was never sent`);
      continue;
    }
    const at = `${r.partition}/${r.offset}`;
    if (seen.has(i)) problems.push(`record ${i} duplicated at ${seen.get(i)} and ${at}`);
    seen.set(i, at);
    const want = o.sent[i]!;
    if (r.key !== want.key || JSON.stringify(r.headers) !== JSON.stringify(want.headers ?? [])) problems.push(`record ${i} at ${at}: key or headers differ`);
    if (o.exact && !o.acked.has(i)) problems.push(`record ${i} at ${at} is readable but was never acknowledged`);
  }
  const lost = [...o.acked].filter((i) => !seen.has(i));
  if (lost.length > 0) problems.push(`${lost.length} acknowledged records lost, e.g. ${lost.slice(0, 5).join(', ')}`);
  return problems.slice(0, 20);
}

describe('kill -9', () => {
  it('right after the acks: every acknowledged record is readable after restart, none twice', async () => {
    let agent = await startAgent({ lingerMs: 20 });
    await createTopics(agent.bootstrap, [
      { topic: 'crash-confluent', numPartitions: 3 },
      { topic: 'crash-kafkajs', numPartitions: 3 },
    ]);
    const confluentSent = makeRecords({ count: 3000, tag: 'crash-confluent', explicitPartitions: 3 });
    const kafkajsSent = makeRecords({ count: 3000, tag: 'crash-kafkajs', explicitPartitions: 3 });
    const producer = await connectedProducer(agent.bootstrap);
    // Two producers at once, so flushes carry both topics.
    const [confluent, kafkajs] = await Promise.all([
      confluentProduce({ bootstrap: agent.bootstrap, topic: 'crash-confluent', records: confluentSent }),
      kafkajsProduce(producer, 'crash-kafkajs', kafkajsSent, { chunk: 250 }).finally(() => producer.disconnect()),
    ]);
    await agent.kill9();
    assert.deepEqual(deliveryProblems(confluent.results, confluentSent.length), []);
    assert.deepEqual(deliveryProblems(kafkajs, kafkajsSent.length), []);

    agent = await agent.restart();
    for (const [topic, sent, delivered] of [
      ['crash-confluent', confluentSent, confluent.results],
      ['crash-kafkajs', kafkajsSent, kafkajs],
    ] as const) {
      const read = await readAll('kcat', agent.bootstrap, topic);
      assert.deepEqual(verifyRead({ sent, tag: topic, read, partitions: 3, delivered }), [], topic);
    }
  });

  it('in the middle of a produce stream: acknowledged records survive, nothing is duplicated or torn', async () => {
    let agent = await startAgent({ lingerMs: 20 });
    const topic = 'crash-midstream';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 2 }]);
    const sent = makeRecords({ count: 20_000, tag: topic, explicitPartitions: 2 });
    // No retries: a retried send after the crash could legitimately duplicate records.
    const producer = await connectedProducer(agent.bootstrap, { retry: { retries: 0 } });
    const acked = new Set<number>();
    const chunk = 200;
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (!killed && next < sent.length) {
        const start = next;
        next += chunk;
        try {
          await kafkajsProduce(producer, topic, sent.slice(start, start + chunk), { chunk });
          for (let i = start; i < Math.min(start + chunk, sent.length); i++) acked.add(i);
        } catch {
          return; // the agent is gone
        }
      }
    };
    const workers = [worker(), worker(), worker()];
    // Kill once a good part of the stream is acknowledged, with sends still in flight.
    while (acked.size < 4000 && next < sent.length) await sleep(5);
    await agent.kill9();
    killed = true;
    await Promise.all(workers);
    await producer.disconnect().catch(() => {});
    assert.ok(acked.size >= 4000, `only ${acked.size} records acknowledged before the kill`);

    agent = await agent.restart();
    const read = await readAll('kcat', agent.bootstrap, topic);
    assert.deepEqual(crashProblems({ tag: topic, sent, acked, read, exact: false }), []);
    // A send's records for one partition are one batch: they survive or vanish together.
    const readIndexes = new Set(read.map((r) => indexOfValue(topic, r.value)));
    for (let start = 0; start < sent.length; start += chunk) {
      for (const partition of [0, 1]) {
        const batch = sent.map((_, i) => i).filter((i) => i >= start && i < start + chunk && sent[i]!.partition === partition);
        const present = batch.filter((i) => readIndexes.has(i)).length;
        assert.ok(present === 0 || present === batch.length, `batch of records ${start}.. for partition ${partition} is torn: ${present} of ${batch.length} readable`);
      }
    }
  });
});

describe('SIGTERM', () => {
  it('flushes a request received before the signal and acknowledges it before exiting', async () => {
    // The longest linger the agent allows (60 s) and a flush size never reached: within this
    // test, only the shutdown flushes.
    let agent = await startAgent({ lingerMs: 60_000, flushBytes: 512 * 1024 * 1024 });
    const topic = 'term-pending';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 1 }]);
    const client = await RawClient.connect(agent.host, agent.port);
    const probe = await RawClient.connect(agent.host, agent.port);
    try {
      const batch = await buildBatch({ records: [{ key: 'k', value: 'pending-1' }, { key: 'k', value: 'pending-2' }] });
      const version = await client.negotiate(Produce, 8);
      let sent!: () => void;
      const written = new Promise<void>((resolve) => (sent = resolve));
      const response = rawProduce(client, { topic, partition: 0, batch, version, sent });
      await written;
      // A round trip on another connection after the produce bytes reached the kernel: by the
      // time it returns, the agent's event loop has read the produce request too.
      await probe.apiVersions();

      const stopping = agent.stop();
      const r = await response;
      assert.deepEqual([r.errorCode, r.baseOffset], [0, 0n], 'the pending produce was acknowledged at offset 0');
      const exit = await stopping;
      assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM\n${agent.output()}`);
    } finally {
      client.close();
      probe.close();
    }

    agent = await agent.restart();
    const read = await readAll('kcat', agent.bootstrap, topic);
    assert.deepEqual(read.map((r) => [r.offset, r.value]), [[0, 'pending-1'], [1, 'pending-2']]);
  });

  it('during a produce stream: what was acknowledged is exactly what is readable after restart', async () => {
    // The default linger (250 ms) keeps records pending in the agent most of the time.
    let agent = await startAgent();
    const topic = 'term-stream';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 2 }]);
    const sent = makeRecords({ count: 20_000, tag: topic, explicitPartitions: 2 });
    const producer: Producer = await connectedProducer(agent.bootstrap, { retry: { retries: 0 } });
    const acked = new Set<number>();
    const chunk = 100;
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < sent.length) {
        const start = next;
        next += chunk;
        try {
          await kafkajsProduce(producer, topic, sent.slice(start, start + chunk), { chunk });
          for (let i = start; i < Math.min(start + chunk, sent.length); i++) acked.add(i);
        } catch {
          failed++;
          return;
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    while (acked.size < 2000 && next < sent.length) await sleep(5);
    const exit = await agent.stop();
    await Promise.all(workers);
    await producer.disconnect().catch(() => {});
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM\n${agent.output()}`);
    assert.ok(acked.size >= 2000, `only ${acked.size} records acknowledged`);
    assert.ok(failed > 0 || next >= sent.length, 'the stream neither failed nor finished');

    agent = await agent.restart();
    const read = await readAll('kcat', agent.bootstrap, topic);
    assert.deepEqual(crashProblems({ tag: topic, sent, acked, read, exact: true }), []);
    assert.equal(read.length, acked.size);
  });
});
