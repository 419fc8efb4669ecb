/**
 * A Fetch whose object read never comes back. The agent's log is in S3 (s3rver) behind a proxy
 * that, while armed, reads a GET and never answers it; the agent runs with no log cache (every
 * Fetch reads S3) and with an S3 request timeout of 10 minutes, the longest an operator may set,
 * so the S3 client's own timeout does not rescue the read within the test.
 *
 * Before reads were bounded, such a Fetch never answered: the consumer got nothing, every later
 * response on its connection (heartbeats, commits) queued behind it in request order, and every
 * new Fetch of those bytes (kcat's retry on a fresh connection included) joined the stuck GET,
 * so the partition stopped answering Fetch from that offset on while Metadata was still answered.
 * Now the partition fails with KAFKA_STORAGE_ERROR (retriable) at the read bound, the connection
 * keeps answering in order, and the client's retry starts a fresh GET and gets the records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Fetch, Metadata } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';
import { RawClient } from '../helpers/raw-client.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const KAFKA_STORAGE_ERROR = 56;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

let s3: RunningS3rver | undefined;
let proxy: FaultProxy | undefined;
let agent: Agent;
/** While set, the proxy swallows GetObject requests (the SDK marks them x-id=GetObject; listings are not). */
let armed = false;
const clients: RawClient[] = [];

function fetchBody(topic: string, offset: bigint, maxWaitMs: number) {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

/** Rejects if `p` has not settled after ms: a hang fails the test with a message instead of eating the runner's timeout. */
function answeredWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

async function waitForStalledGet(count: number): Promise<void> {
  while (proxy!.stats.faults.stall < count) await new Promise((r) => setTimeout(r, 20));
}

async function produceLines(topic: string, n: number): Promise<void> {
  await kcatProduce({ bootstrap: agent.bootstrap, topic, partition: 0, records: Array.from({ length: n }, (_, i) => [`k${i}`, `value-${i}`] as const) });
}

describe('Fetch when an object read never settles (S3 behind a stalling proxy)', () => {
  before(async () => {
    s3 = await startS3rver('weir-fetch-stall');
    proxy = await startFaultProxy({ upstreamPort: s3.port, faultRate: 1, kinds: ['stall'], faultIf: (method, url) => armed && method === 'GET' && url.includes('x-id=GetObject') });
    agent = await startAgent({
      lingerMs: 2,
      autoCreateTopics: true,
      extraArgs: [
        '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', proxy.endpoint,
        '--s3-request-timeout-ms', '600000', '--s3-max-attempts', '1',
        // Nothing cached: every Fetch reads its bytes from S3.
        '--cache-bytes-max', '0',
      ],
      env: { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await stopAllAgents();
    await proxy?.close();
    await s3?.stop();
  });

  it('kcat reading from offset 0 gets every record once the store answers again', async () => {
    await produceLines('stall-kcat', 200);
    armed = true;
    const consumed = kcatConsume({ bootstrap: agent.bootstrap, topic: 'stall-kcat', partition: 0, offset: 'beginning', timeoutMs: 100_000 });
    // kcat's first Fetch is now waiting on a GET that will never be answered.
    await waitForStalledGet(1);
    armed = false;
    const records = await consumed;
    assert.deepEqual(records.map((r) => r.offset), Array.from({ length: 200 }, (_, i) => i));
    assert.deepEqual(records.map((r) => r.payload), Array.from({ length: 200 }, (_, i) => `value-${i}`));
    assert.equal(proxy!.stats.faults.stall, 1);
  });

  it('a kafkajs group consumer starting on a stuck read gets every record once the store answers again', async () => {
    await produceLines('stall-kafkajs', 100);
    const stalledBefore = proxy!.stats.faults.stall;
    armed = true;
    const kafka = new Kafka({ clientId: 'fetch-stall', brokers: [agent.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'fetch-stall-kafkajs', maxWaitTimeInMs: 500 });
    const values: string[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'stall-kafkajs', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString());
          if (values.length === 100) done();
        },
      });
      await waitForStalledGet(stalledBefore + 1);
      armed = false;
      await answeredWithin(all, 90_000, 'kafkajs consumer after a stuck read');
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => `value-${i}`));
  });

  it('the stuck Fetch answers KAFKA_STORAGE_ERROR, the request behind it on the connection is answered after it, and a retry reads the records', async () => {
    await produceLines('stall-raw', 10);
    const c = await RawClient.connect(agent.host, agent.port);
    clients.push(c);
    const stalledBefore = proxy!.stats.faults.stall;
    armed = true;
    // Pipelined on one connection: responses must come in request order (RawClient checks the
    // correlation ids), so the Metadata answer can only arrive after the Fetch's.
    const fetched = c.request(Fetch, 12, fetchBody('stall-raw', 0n, 0));
    const metadata = c.request(Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: 'stall-raw' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    // If the Fetch never answers, the connection is closed at the end: that rejection is the failure already reported.
    metadata.catch(() => undefined);
    await waitForStalledGet(stalledBefore + 1);
    armed = false;
    const res = await answeredWithin(fetched, 60_000, 'Fetch waiting on a stalled object read');
    const p = res.responses![0]!.partitions![0]!;
    assert.equal(p.errorCode, KAFKA_STORAGE_ERROR);
    const md = await answeredWithin(metadata, 5_000, 'Metadata queued behind the Fetch');
    assert.equal(md.topics![0]!.errorCode, 0);
    // The retry must not join the GET that is still stuck: it reads the records.
    const retry = await answeredWithin(c.request(Fetch, 12, fetchBody('stall-raw', 0n, 0)), 60_000, 'Fetch retried after the store recovered');
    const q = retry.responses![0]!.partitions![0]!;
    assert.equal(q.errorCode, 0);
    const bytes = Buffer.concat(([] as Buffer[]).concat((q.records as Buffer | Buffer[] | null) ?? []));
    const batches = scanBatches(bytes);
    assert.equal(batches.reduce((n, b) => n + b.lastOffsetDelta + 1, 0), 10);
    assert.equal(Number(batches[0]!.baseOffset), 0);
  });
});
