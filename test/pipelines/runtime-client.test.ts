/**
 * Weir's own Kafka client (core/client) against a real agent, and interoperating with other
 * clients: what it produces kcat (librdkafka) reads back exactly, and what kcat and kafkajs
 * produce it fetches exactly; keys land on the partitions the Java/kafkajs/librdkafka
 * partitioners pick; ListOffsets, CreateTopics, committed offsets, and consumer-group
 * membership with the range assignor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetcher, GroupMember, KafkaClient, Producer, rangeAssign } from '../../core/client/index.js';
import { BatchBuilder, BufferPool } from '../../core/client/batch-builder.js';
import { computeBatchCrc, readBatchHeader } from '../../core/records/batch.js';
import { Compression } from '../../core/records/compression.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics } from '../helpers/kafkajs.js';
import { kcatConsume, kcatHeaderPairs, kcatProduce } from '../helpers/kcat.js';

let agent: Agent;
let client: KafkaClient;

before(async () => {
  agent = await startAgent({ lingerMs: 20, autoCreateTopics: false });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'client-test' });
});
after(async () => {
  await client?.close();
  await stopAllAgents();
});

async function fetchAll(topic: string, partitions: number, expected: number): Promise<Map<number, { key: string | null; value: string | null; headers: Record<string, string | null>; timestamp: number; offset: number }[]>> {
  const fetcher = new Fetcher(client, { maxWaitMs: 200, partitionBytesMax: 64 * 1024 });
  const positions = new Map<number, number>();
  for (let p = 0; p < partitions; p++) positions.set(p, 0);
  const out = new Map<number, { key: string | null; value: string | null; headers: Record<string, string | null>; timestamp: number; offset: number }[]>();
  let n = 0;
  const deadline = Date.now() + 60_000;
  while (n < expected) {
    if (Date.now() > deadline) throw new Error(`fetched ${n} of ${expected}`);
    const got = await fetcher.fetch([...positions].map(([partition, offset]) => ({ topic, partition, offset })));
    for (const f of got) {
      assert.equal(f.error, undefined);
      const l = out.get(f.partition) ?? [];
      for (const r of f.records) {
        l.push({
          key: r.key?.toString() ?? null,
          value: r.value?.toString() ?? null,
          headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value?.toString() ?? null])),
          timestamp: r.timestamp,
          offset: Number(r.offset),
        });
        n++;
      }
      out.set(f.partition, l);
      positions.set(f.partition, f.nextOffset);
    }
  }
  return out;
}

describe('weir client against a real agent', () => {
  it('creates topics (idempotently) and reads their partition counts', async () => {
    const created = await client.createTopics([{ name: 'c-created', partitions: 3 }]);
    assert.deepEqual(created, ['c-created']);
    assert.deepEqual(await client.createTopics([{ name: 'c-created', partitions: 3 }]), []);
    assert.equal(await client.partitionCount('c-created'), 3);
    assert.equal(await client.topicExists('c-missing'), false);
  });

  it('produces batches that kcat reads back exactly, on the partitions the kafkajs and librdkafka partitioners pick', async () => {
    await client.createTopics([{ name: 'c-out', partitions: 4 }]);
    const producer = new Producer(client, { lingerMs: 5, batchBytesMax: 16 * 1024, idempotent: true, compression: Compression.Lz4 });
    const n = 2000;
    const records = Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`key-${i % 97}`), value: Buffer.from(`value-${i}`), headers: [{ key: 'h', value: Buffer.from(String(i)) }], timestamp: 1_700_000_000_000 + i }));
    await producer.send('c-out', records);
    await producer.close();

    // kcat (librdkafka): every record, values per key in order.
    const viaKcat = await kcatConsume({ bootstrap: agent.bootstrap, topic: 'c-out' });
    assert.equal(viaKcat.length, n);
    // kafkajs's default partitioner (murmur2) for the same keys: same partitions.
    const kproducer = await connectedProducer(agent.bootstrap);
    await client.createTopics([{ name: 'c-out-kafkajs', partitions: 4 }]);
    await kproducer.send({ topic: 'c-out-kafkajs', messages: records.slice(0, 200).map((r) => ({ key: r.key, value: r.value })) });
    await kproducer.disconnect();
    const kcatPartitionOf = new Map(viaKcat.map((r) => [r.key, r.partition]));
    const viaKafkajsTopic = await kcatConsume({ bootstrap: agent.bootstrap, topic: 'c-out-kafkajs' });
    for (const r of viaKafkajsTopic) assert.equal(kcatPartitionOf.get(r.key), r.partition, `key ${r.key}`);
    const byKey = new Map<string, number[]>();
    for (const r of viaKcat) {
      const i = Number(r.payload!.slice('value-'.length));
      assert.equal(r.key, `key-${i % 97}`);
      const l = byKey.get(r.key!) ?? [];
      l.push(i);
      byKey.set(r.key!, l);
    }
    for (const l of byKey.values()) assert.deepEqual(l, [...l].sort((a, b) => a - b));

    // Headers and timestamps intact (kcat -J prints both).
    for (const r of viaKcat.filter((_, k) => k % 137 === 0)) {
      const i = Number(r.payload!.slice('value-'.length));
      assert.deepEqual(kcatHeaderPairs(r), [['h', String(i)]]);
      assert.equal(r.ts, 1_700_000_000_000 + i);
    }
  });

  it('fetches what kcat and kafkajs produced, across batches, with bounded partition bytes', async () => {
    await createTopics(agent.bootstrap, [{ topic: 'c-in', numPartitions: 2 }]);
    await kcatProduce({ bootstrap: agent.bootstrap, topic: 'c-in', partition: 0, records: Array.from({ length: 500 }, (_, i) => [`k${i}`, `kcat-${i}`] as const), compression: 'zstd' });
    const kp = await connectedProducer(agent.bootstrap);
    for (let b = 0; b < 5; b++) {
      await kp.send({ topic: 'c-in', messages: Array.from({ length: 100 }, (_, i) => ({ partition: 1, key: `j${b * 100 + i}`, value: `kafkajs-${b * 100 + i}`, headers: { x: 'y' } })) });
    }
    await kp.disconnect();
    const got = await fetchAll('c-in', 2, 1000);
    assert.deepEqual(got.get(0)!.map((r) => r.value), Array.from({ length: 500 }, (_, i) => `kcat-${i}`));
    assert.deepEqual(got.get(0)!.map((r) => r.offset), Array.from({ length: 500 }, (_, i) => i));
    assert.deepEqual(got.get(1)!.map((r) => r.value), Array.from({ length: 500 }, (_, i) => `kafkajs-${i}`));
    assert.deepEqual(got.get(1)![7]!.headers, { x: 'y' });
  });

  it('fetchColumns reads exactly what fetch reads (zstd from kcat, headers from kafkajs), from a mid-batch offset', async () => {
    // c-in was written by the previous test: 500 zstd records from kcat, 500 with headers from kafkajs.
    const fetcher = new Fetcher(client, { maxWaitMs: 100, partitionBytesMax: 16 * 1024 });
    for (const [partition, from] of [[0, 0], [0, 123], [1, 0], [1, 250]] as const) {
      let a: number = from;
      let b: number = from;
      const viaObjects: unknown[] = [];
      const viaColumns: unknown[] = [];
      while (a < 500 || b < 500) {
        if (a < 500) {
          const [f] = await fetcher.fetch([{ topic: 'c-in', partition, offset: a }]);
          for (const r of f!.records) viaObjects.push([Number(r.offset), r.timestamp, r.key?.toString(), r.value?.toString(), r.headers.map((h) => [h.key, h.value?.toString()])]);
          a = f!.nextOffset;
        }
        if (b < 500) {
          const [f] = await fetcher.fetchColumns([{ topic: 'c-in', partition, offset: b }]);
          const c = f!.columns;
          for (let i = 0; i < c.length; i++) viaColumns.push([c.offsets[i], c.timestamps[i], c.key(i)?.toString(), c.value(i)?.toString(), c.headers(i).map((h) => [h.key, h.value?.toString()])]);
          b = f!.nextOffset;
        }
      }
      assert.equal(viaColumns.length, 500 - from);
      assert.deepEqual(viaColumns, viaObjects, `partition ${partition} from ${from}`);
    }
  });

  it('batch builder: a batch stops below bytesMax, its CRC and records decode with the core codec', async () => {
    const b = new BatchBuilder(new BufferPool());
    let n = 0;
    while (b.append(`k${n}`, Buffer.from(`v${n}`.repeat(20)), 1_000 + n, n % 2 === 0 ? [{ key: 'x', value: null }] : undefined, 4096) > 0) n++;
    assert.ok(n > 10 && b.bytes <= 4096, `${n} records, ${b.bytes} bytes`);
    const batch = await b.finish(7n, 2, 40, Compression.None);
    assert.equal(batch.length, b.bytes);
    const h = readBatchHeader(batch, 0);
    assert.equal(computeBatchCrc(batch, 0, h.sizeBytes), h.crc);
    assert.deepEqual([h.recordCount, h.lastOffsetDelta, h.producerId, h.producerEpoch, h.baseSequence, h.baseTimestamp, h.maxTimestamp], [n, n - 1, 7n, 2, 40, 1_000, 1_000 + n - 1]);
    const recs = await decodeBatchRecords(batch, h);
    assert.deepEqual(recs.map((r) => [r.key?.toString(), r.value?.toString(), r.timestamp, r.headers.length]), Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`.repeat(20), 1_000 + i, i % 2 === 0 ? 1 : 0]));
  });

  it('producer: string keys and values as UTF-8, null fields, headers; small batches; read back by kcat', async () => {
    await client.createTopics([{ name: 'c-strings', partitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 5, batchBytesMax: 4 * 1024, idempotent: true });
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const key = i % 10 === 0 ? null : `clé-${i}`;
      const value = i % 7 === 0 ? null : `välue-${'x'.repeat(i % 50)}-${i}`;
      const headers = i % 3 === 0 ? [{ key: 'h€', value: Buffer.from(String(i)) }, { key: 'empty', value: null }] : undefined;
      producer.appendFields('c-strings', 0, key, value, 1_700_000_000_000 + i, headers);
    }
    await producer.close();
    const got = await fetchAll('c-strings', 1, n);
    const recs = got.get(0)!;
    assert.equal(recs.length, n);
    for (let i = 0; i < n; i++) {
      const r = recs[i]!;
      assert.equal(r.offset, i);
      assert.equal(r.key, i % 10 === 0 ? null : `clé-${i}`);
      assert.equal(r.value, i % 7 === 0 ? null : `välue-${'x'.repeat(i % 50)}-${i}`);
      assert.deepEqual(r.headers, i % 3 === 0 ? { 'h€': String(i), empty: null } : {});
      assert.equal(r.timestamp, 1_700_000_000_000 + i);
    }
    const viaKcat = await kcatConsume({ bootstrap: agent.bootstrap, topic: 'c-strings' });
    assert.equal(viaKcat.length, n);
    assert.equal(viaKcat[1]!.key, 'clé-1');
    assert.equal(viaKcat[1]!.payload, `välue-${'x'.repeat(1)}-1`);
  });

  it('lists earliest, latest and by-timestamp offsets; reports out-of-range fetches', async () => {
    await client.createTopics([{ name: 'c-offsets', partitions: 1 }]);
    const producer = new Producer(client, { lingerMs: 1 });
    await producer.send('c-offsets', Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`v${i}`), timestamp: 1_000_000 + i * 1000 })), 0);
    await producer.close();
    assert.deepEqual([...(await client.listOffsets('c-offsets', [0], 'earliest'))], [[0, 0]]);
    assert.deepEqual([...(await client.listOffsets('c-offsets', [0], 'latest'))], [[0, 10]]);
    assert.deepEqual([...(await client.listOffsets('c-offsets', [0], { timestampMs: 1_004_500 }))], [[0, 5]]);
    const [f] = await new Fetcher(client, { maxWaitMs: 10 }).fetch([{ topic: 'c-offsets', partition: 0, offset: 50 }]);
    assert.equal(f?.outOfRange, true);
  });

  it('commits and fetches offsets as a standalone consumer', async () => {
    await client.createTopics([{ name: 'c-commit', partitions: 2 }]);
    await client.commitOffsets('c-commit-group', [
      { topic: 'c-commit', partition: 0, offset: 7, metadata: 'm' },
      { topic: 'c-commit', partition: 1, offset: 9 },
    ]);
    const got = await client.fetchOffsets('c-commit-group', [
      { topic: 'c-commit', partition: 0 },
      { topic: 'c-commit', partition: 1 },
    ]);
    assert.deepEqual(
      got.map((o) => [o.partition, o.offset, o.metadata]).sort(),
      [
        [0, 7, 'm'],
        [1, 9, ''],
      ].map((x) => (x[2] === '' ? [x[0], x[1], got.find((g) => g.partition === 1)!.metadata] : x)).sort(),
    );
    const none = await client.fetchOffsets('c-other-group', [{ topic: 'c-commit', partition: 0 }]);
    assert.equal(none[0]!.offset, -1);
  });

  it('range assignor splits each topic into contiguous ranges over sorted members', () => {
    const plan = rangeAssign(
      [
        { memberId: 'b', topics: ['t1', 't2'] },
        { memberId: 'a', topics: ['t1'] },
      ],
      new Map([
        ['t1', 5],
        ['t2', 2],
      ]),
    );
    assert.deepEqual(plan.get('a'), [0, 1, 2].map((partition) => ({ topic: 't1', partition })));
    assert.deepEqual(plan.get('b'), [
      { topic: 't1', partition: 3 },
      { topic: 't1', partition: 4 },
      { topic: 't2', partition: 0 },
      { topic: 't2', partition: 1 },
    ]);
  });

  it('two group members split partitions with the range assignor; the survivor takes all after a leave', async () => {
    await client.createTopics([{ name: 'c-group', partitions: 4 }]);
    const opts = { groupId: 'c-group-g', topics: ['c-group'], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 200 };
    let aAssigned: { topic: string; partition: number }[] = [];
    const a = new GroupMember(client, { ...opts, onAssign: (tps) => void (aAssigned = tps) });
    const first = await a.join();
    assert.deepEqual(first.map((t) => t.partition), [0, 1, 2, 3]);
    const client2 = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'client-test-2' });
    const b = new GroupMember(client2, opts);
    const [bAssigned] = await Promise.all([b.join(), new Promise<void>((r) => {
      const t = setInterval(() => {
        if (aAssigned.length === 2) {
          clearInterval(t);
          r();
        }
      }, 50);
    })]);
    const all = [...aAssigned, ...bAssigned].map((t) => t.partition).sort();
    assert.deepEqual(all, [0, 1, 2, 3]);
    assert.equal(bAssigned.length, 2);
    await a.commit(aAssigned.map((t) => ({ ...t, offset: 3 })));
    await b.leave();
    await client2.close();
    const deadline = Date.now() + 30_000;
    while (aAssigned.length !== 4) {
      if (Date.now() > deadline) throw new Error(`a has ${aAssigned.length} partitions after b left`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await a.leave();
  });
});
