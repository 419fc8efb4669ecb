/**
 * The batching Producer's requests, as a real agent receives them (a TCP proxy in between
 * decodes every Produce request with the generated codec):
 * - no request carries two batches of one partition: the answer has one entry per partition, so
 *   two batches could not be told apart (one batch's error would be read as the other's success,
 *   losing a batch an idempotent broker refused as out of order);
 * - with idempotence, each partition's first sends arrive in sequence order, each batch starting
 *   where the previous one ended (sequences are assigned in partition order and requests written
 *   in the order their batches were taken).
 * And every record lands once, in order.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Fetcher, KafkaClient, Producer } from '../../core/client/index.js';
import { decodeRequestBody, decodeRequestHeader } from '../../core/protocol/frame.js';
import { Produce } from '../../core/protocol/generated/index.js';
import { readBatchHeader } from '../../core/records/batch.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';

interface SeenBatch {
  partition: number;
  baseSequence: number;
  records: number;
}

let agent: Agent;
let proxy: Server;
let proxyPort = 0;
const sockets = new Set<Socket>();
/** Produce requests in arrival order: the batches each carried. */
const requests: SeenBatch[][] = [];

function watchRequests(from: Socket): void {
  let buf = Buffer.alloc(0);
  from.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
      buf = buf.subarray(4 + frame.length);
      const { header, bodyOffset } = decodeRequestHeader(frame);
      if (header.requestApiKey !== Produce.apiKey) continue;
      const body = decodeRequestBody<{ topicData: { name: string; partitionData: { index: number; records: Buffer | null }[] }[] }>(Produce, header.requestApiVersion, frame, bodyOffset);
      const seen: SeenBatch[] = [];
      for (const t of body.topicData) {
        for (const p of t.partitionData) {
          const h = readBatchHeader(p.records!, 0);
          seen.push({ partition: p.index, baseSequence: h.baseSequence, records: h.recordCount });
        }
      }
      requests.push(seen);
    }
  });
}

before(async () => {
  proxy = createServer((client) => {
    const upstream = connect(agent.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    watchRequests(client);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyPort = (proxy.address() as { port: number }).port;
  // Clients are told the proxy's address, so every connection (Produce included) goes through it.
  agent = await startAgent({ lingerMs: 10, autoCreateTopics: false, extraArgs: ['--advertised-listener', `127.0.0.1:${proxyPort}`] });
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => proxy.close(() => r()));
  await stopAllAgents();
});

describe('Producer requests', () => {
  it('one batch per partition per request; idempotent sequences arrive in order; every record once, in order', async () => {
    const client = new KafkaClient({ brokers: [`127.0.0.1:${proxyPort}`], clientId: 'producer-requests' });
    try {
      const partitions = 4;
      await client.createTopics([{ name: 'seq', partitions }]);
      // Small batches and a long linger for none: many sealed batches per partition at once, so
      // every drain has several batches of each partition to send (up to 5 in flight).
      const producer = new Producer(client, { idempotent: true, batchBytesMax: 2048, lingerMs: 1, maxInFlightPerPartition: 5 });
      const perPartition = 5000;
      for (let i = 0; i < perPartition * partitions; i++) {
        if (i % 500 === 0) await producer.writable();
        producer.append('seq', i % partitions, { key: null, value: `v-${i}`, timestamp: 1_700_000_000_000 + i });
      }
      await producer.close();

      assert.ok(requests.length > 1, `several Produce requests (${requests.length})`);
      const multi = requests.filter((r) => r.some((b) => r.filter((x) => x.partition === b.partition).length > 1));
      assert.equal(multi.length, 0, `requests with two batches of one partition: ${JSON.stringify(multi.slice(0, 2))}`);
      const batchesPerRequest = requests.map((r) => r.length);
      assert.ok(Math.max(...batchesPerRequest) > 1, 'requests still carry several partitions');

      for (let p = 0; p < partitions; p++) {
        let next = 0;
        for (const b of requests.flat().filter((x) => x.partition === p)) {
          // A batch sent again (a retry) starts before `next`; a first send starts exactly at it.
          if (b.baseSequence < next) continue;
          assert.equal(b.baseSequence, next, `partition ${p}: a batch starting at ${b.baseSequence} arrived where ${next} was due`);
          next = b.baseSequence + b.records;
        }
        assert.equal(next, perPartition, `partition ${p}: sequences cover every record`);
      }

      const fetcher = new Fetcher(client, { maxWaitMs: 10 });
      for (let p = 0; p < partitions; p++) {
        const values: string[] = [];
        let offset = 0;
        while (values.length < perPartition) {
          const [f] = await fetcher.fetch([{ topic: 'seq', partition: p, offset }]);
          for (const r of f!.records) values.push(r.value!.toString());
          offset = f!.nextOffset;
          if (f!.records.length === 0) break;
        }
        assert.deepEqual(values, Array.from({ length: perPartition }, (_, k) => `v-${k * partitions + p}`), `partition ${p}: every record once, in order`);
      }
    } finally {
      await client.close();
    }
  });
});
