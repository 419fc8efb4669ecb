/**
 * Three agents sharing one Redis (metadata, registry) and one S3 bucket (s3rver): they act as one
 * Kafka cluster. Clients bootstrap from any agent; what is produced through one agent is read
 * back, complete and in order, through the others — by real clients, and by raw Fetch requests
 * sent to one specific agent (any agent serves any partition).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetch } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatProduce } from '../helpers/kcat.js';
import { connectedAdmin, connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { RawClient } from '../helpers/raw-client.js';
import { readAll } from '../helpers/read-all.js';
import { deliveryProblems, makeRecords, verifyRead } from '../helpers/records.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const PARTITIONS = 3;
const COUNT = 3000;

let redis: RedisServer;
let s3: RunningS3rver;
const agents: Agent[] = [];

async function valuesViaRawFetch(agent: Agent, topic: string): Promise<Map<number, string[]>> {
  const client = await RawClient.connect(agent.host, agent.port);
  const out = new Map<number, string[]>();
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      const values: string[] = [];
      let offset = 0n;
      for (;;) {
        const res = await client.request(Fetch, 12, {
          clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20,
          isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
          topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 4 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
        });
        const part = res.responses![0]!.partitions![0]!;
        assert.equal(part.errorCode, 0, `fetch ${topic}-${p} at ${offset} via agent ${agent.port}`);
        const records = (part.records as Buffer | null) ?? Buffer.alloc(0);
        if (records.length === 0) break;
        for (const h of scanBatches(records)) {
          for (const r of await decodeBatchRecords(records.subarray(h.position, h.position + h.sizeBytes), { ...h, position: 0 })) {
            if (r.offset >= offset) values.push(r.value?.toString() ?? '');
          }
          offset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
        }
        if (offset >= part.highWatermark!) break;
      }
      out.set(p, values);
    }
  } finally {
    client.close();
  }
  return out;
}

describe('three agents, one Redis, one bucket', () => {
  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    s3 = await startS3rver('weir-cluster');
    for (let i = 1; i <= 3; i++) {
      agents.push(
        await startAgent({
          lingerMs: 20,
          extraArgs: ['--node-id', String(i), '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', s3.endpoint, '--metadata', 'redis', '--redis-url', redis.url, '--require-durable-metadata'],
          env: { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
        }),
      );
    }
  });
  after(async () => {
    await stopAllAgents();
    await s3?.stop();
    await redis?.stop();
  });

  it('every agent lists all three agents as brokers', async () => {
    for (const a of agents) {
      const admin = await connectedAdmin(a.bootstrap);
      try {
        const cluster = await admin.describeCluster();
        assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      } finally {
        await admin.disconnect();
      }
    }
  });

  it('kafkajs produces through agent 1; raw fetches through agents 2 and 3 and kcat bootstrapped at agent 3 read it all, in order', async () => {
    const topic = 'orders';
    await createTopics(agents[0]!.bootstrap, [{ topic, numPartitions: PARTITIONS }]);
    const sent = makeRecords({ count: COUNT, tag: topic, explicitPartitions: PARTITIONS });
    const producer = await connectedProducer(agents[0]!.bootstrap);
    let delivered;
    try {
      delivered = await kafkajsProduce(producer, topic, sent);
    } finally {
      await producer.disconnect();
    }
    assert.deepEqual(deliveryProblems(delivered, COUNT), []);
    const want = new Map<number, string[]>();
    sent.forEach((r) => want.set(r.partition!, [...(want.get(r.partition!) ?? []), r.value!]));
    for (const a of [agents[1]!, agents[2]!]) assert.deepEqual(await valuesViaRawFetch(a, topic), want);
    const read = await readAll('kcat', agents[2]!.bootstrap, topic);
    assert.deepEqual(verifyRead({ sent, tag: topic, read, partitions: PARTITIONS, delivered }), []);
  });

  it('librdkafka (kcat) produces bootstrapped at agent 3; confluent-kafka and kafka-python bootstrapped at agents 1 and 2 read it all', async () => {
    const topic = 'events';
    await createTopics(agents[2]!.bootstrap, [{ topic, numPartitions: PARTITIONS }]);
    // Key-hashed by librdkafka: verifyRead checks every key landed in one partition.
    const sent = makeRecords({ count: COUNT, tag: topic, headers: () => [] });
    await kcatProduce({ bootstrap: agents[2]!.bootstrap, topic, records: sent.map((r) => [r.key!, r.value!] as const), config: { 'linger.ms': '5' } });
    for (const [consumer, agent] of [['confluent-kafka-python', agents[0]!], ['kafka-python', agents[1]!]] as const) {
      const read = await readAll(consumer, agent.bootstrap, topic);
      assert.deepEqual(verifyRead({ sent, tag: topic, read, partitions: PARTITIONS, expectedHeaders: () => [] }), [], consumer);
    }
  });

  it('refuses a Redis that could lose acknowledged writes under --require-durable-metadata, in one line', async () => {
    const lossy = await startRedisServer({ appendonly: false });
    try {
      await assert.rejects(
        startAgent({ extraArgs: ['--metadata', 'redis', '--redis-url', lossy.url, '--require-durable-metadata'], readyTimeoutMs: 15_000 }),
        (e: unknown) => /appendfsync|appendonly|lose acknowledged writes/.test(String((e as Error).message)),
      );
    } finally {
      await lossy.stop();
    }
  });
});
