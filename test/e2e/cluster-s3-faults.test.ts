/**
 * One agent of a cluster (Redis metadata, S3 log) whose S3 endpoint misbehaves: a fault proxy in
 * front of s3rver answers ~10% of requests with 503 SlowDown or a connection reset, and a second
 * proxy behind it swallows exactly one request (a timeout on the agent's side). The S3 store's
 * retries must hide all of it: idempotent producers (librdkafka via confluent-kafka-python, and
 * kafkajs) see success or a retriable error, every acknowledged record is read back exactly once
 * at the offset it was acknowledged at, nothing is stored twice, and the agent keeps running.
 *
 * The agent has no flag for its S3 request timeout (30 s by default), so a swallowed request costs
 * 30 s; that is why there is one stall and not 10% of them, and why the volumes are modest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { confluentProduce, type DeliveryResult } from '../helpers/py-clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { readAll } from '../helpers/read-all.js';
import { indexOfValue, makeRecords, type ReadRecord } from '../helpers/records.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const PARTITIONS = 3;
const COUNT = 3000;

let redis: RedisServer;
let s3: RunningS3rver;
/** What the agent talks to: SlowDown and resets on ~10% of requests. */
let flaky: FaultProxy;
/** Between `flaky` and s3rver: swallows one request, so one attempt of the agent times out. */
let staller: FaultProxy;
let agent: Agent;

/**
 * librdkafka's names for errors it retries itself or that leave the outcome unknown (a retry may
 * still succeed): with idempotence, such a record is either in the log once or not at all.
 */
const RETRIABLE_LIBRDKAFKA = new Set(['_MSG_TIMED_OUT', '_TIMED_OUT', '_TRANSPORT', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'KAFKA_STORAGE_ERROR', '_ALL_BROKERS_DOWN']);

/**
 * The exactly-once check: every acknowledged record is read once, at its acknowledged offset;
 * a record whose produce failed (retriably) is read at most once; nothing else is read; offsets
 * are dense from 0 in every partition.
 */
function exactlyOnceProblems(tag: string, delivered: Array<DeliveryResult | null>, read: ReadRecord[]): string[] {
  const problems: string[] = [];
  const timesRead = new Map<number, number>();
  const nextOffset = new Map<number, number>();
  for (const r of read) {
    const expected = nextOffset.get(r.partition) ?? 0;
    if (r.offset !== expected) problems.push(`partition ${r.partition}: offset ${r.offset} read where ${expected} was next`);
    nextOffset.set(r.partition, r.offset + 1);
    const i = indexOfValue(tag, r.value);
    if (i < 0 || i >= delivered.length) {
      problems.push(`partition ${r.partition} offset ${r.offset}: a value never sent: ${String(r.value).slice(0, 40)}`);
      continue;
    }
    timesRead.set(i, (timesRead.get(i) ?? 0) + 1);
    const d = delivered[i];
    if (d && d.error === undefined && (d.partition !== r.partition || d.offset !== r.offset)) {
      problems.push(`record ${i}: acknowledged at ${d.partition}/${d.offset}, read at ${r.partition}/${r.offset}`);
    }
  }
  delivered.forEach((d, i) => {
    const n = timesRead.get(i) ?? 0;
    if (n > 1) problems.push(`record ${i}: read ${n} times`);
    if (d && d.error === undefined && n === 0) problems.push(`record ${i}: acknowledged at ${d.partition}/${d.offset}, never read (silent loss)`);
    if (d === null) problems.push(`record ${i}: no delivery report`);
  });
  return problems.slice(0, 20);
}

describe('an agent whose S3 endpoint fails ~10% of requests', () => {
  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    s3 = await startS3rver('weir-s3-faults');
    staller = await startFaultProxy({
      upstreamPort: s3.port,
      faultRate: 0.2,
      kinds: ['stall'],
      seed: 11,
      // One stall in the whole run, on a flush's PUT (not on a startup request, which would hold
      // the agent's start past the helper's ready timeout): each costs the 30 s request timeout.
      faultIf: (method) => method === 'PUT' && staller.stats.faults.stall === 0,
    });
    // The proxies forward the Host header unchanged, so the agent's SigV4 signatures (made for
    // `flaky`'s address) still verify at s3rver.
    flaky = await startFaultProxy({ upstreamPort: staller.port, faultRate: 0.1, kinds: ['slowdown', 'reset'], seed: 7 });
    agent = await startAgent({
      // Small flushes, so that the records make a few hundred S3 requests and ~10% of them fail.
      lingerMs: 2,
      flushBytes: 16 * 1024,
      extraArgs: ['--node-id', '1', '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', flaky.endpoint, '--metadata', 'redis', '--redis-url', redis.url],
      env: { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
    });
  });
  after(async () => {
    await stopAllAgents();
    await flaky?.close();
    await staller?.close();
    await s3?.stop();
    await redis?.stop();
  });

  it('idempotent confluent-kafka-python and kafkajs producers lose nothing and duplicate nothing; the agent keeps serving', async (t) => {
    const topics = ['faults-librdkafka', 'faults-kafkajs'];
    await createTopics(agent.bootstrap, topics.map((topic) => ({ topic, numPartitions: PARTITIONS })));

    const confluentSent = makeRecords({ count: COUNT, tag: topics[0]!, explicitPartitions: PARTITIONS, headers: () => [] });
    const kafkajsSent = makeRecords({ count: COUNT, tag: topics[1]!, explicitPartitions: PARTITIONS, headers: () => [] });

    const viaConfluent = confluentProduce({
      bootstrap: agent.bootstrap,
      topic: topics[0]!,
      records: confluentSent,
      // A stalled flush holds a produce for the agent's 30 s S3 timeout plus retries.
      config: { 'enable.idempotence': true, 'acks': 'all', 'linger.ms': 0, 'batch.num.messages': 50, 'message.timeout.ms': 75_000, 'request.timeout.ms': 45_000 },
      timeoutS: 80,
    });

    const viaKafkajs = (async (): Promise<Array<DeliveryResult | null>> => {
      const producer = await connectedProducer(agent.bootstrap, { idempotent: true, maxInFlightRequests: 1 });
      const delivered: Array<DeliveryResult | null> = [];
      const CHUNK = 25;
      try {
        for (let start = 0; start < kafkajsSent.length; start += CHUNK) {
          const slice = kafkajsSent.slice(start, start + CHUNK);
          try {
            delivered.push(...(await kafkajsProduce(producer, topics[1]!, slice, { chunk: CHUNK })));
          } catch (e) {
            // Allowed only if kafkajs calls it retriable (the outcome is then unknown, and the
            // read-back check below allows each record at most once).
            const err = e as { name?: string; message?: string; retriable?: boolean };
            assert.equal(err.retriable, true, `kafkajs send failed with a non-retriable error: ${err.name}: ${err.message}`);
            for (let k = 0; k < slice.length; k++) delivered.push({ error: { name: err.name ?? 'Error', str: err.message ?? '' } });
          }
        }
      } finally {
        await producer.disconnect();
      }
      return delivered;
    })();

    const [confluentResult, kafkajsDelivered] = await Promise.all([viaConfluent, viaKafkajs]);
    const confluentDelivered = confluentResult.results;

    const fatal = confluentDelivered.filter((d) => d?.error !== undefined && !RETRIABLE_LIBRDKAFKA.has(d.error.name));
    assert.deepEqual(fatal.slice(0, 5), [], 'confluent-kafka-python: only retriable errors are acceptable');

    for (const [topic, delivered] of [[topics[0]!, confluentDelivered], [topics[1]!, kafkajsDelivered]] as const) {
      const read = await readAll('kcat', agent.bootstrap, topic);
      assert.deepEqual(exactlyOnceProblems(topic, delivered, read), [], topic);
      // Most records must actually get through: retries are meant to hide a 10% fault rate.
      const acked = delivered.filter((d) => d !== null && d.error === undefined).length;
      assert.ok(acked >= COUNT * 0.9, `${topic}: only ${acked} of ${COUNT} acknowledged`);
    }

    // The faults really happened, on the agent's own requests.
    const { faults } = flaky.stats;
    t.diagnostic(`S3 requests ${flaky.stats.requests}, SlowDown ${faults.slowdown}, resets ${faults.reset}, stalls ${staller.stats.faults.stall}`);
    assert.ok(faults.slowdown + faults.reset >= 5, `faults injected: ${JSON.stringify(flaky.stats)}`);
    assert.equal(staller.stats.faults.stall, 1, `stalls injected: ${JSON.stringify(staller.stats)}`);

    assert.equal(agent.isRunning(), true, `agent exited\n${agent.output()}`);
    const client = await RawClient.connect(agent.host, agent.port);
    try {
      const versions = await client.apiVersions();
      assert.ok((versions.apiKeys?.length ?? 0) > 0, 'ApiVersions lists the APIs');
    } finally {
      client.close();
    }
  });
});
