/**
 * Two in-process agents forming a cluster through Redis (RedisMetadataStore for the metadata, one
 * shared MemoryObjectStore standing in for S3): both list both brokers with the same leaders and
 * coordinators, a group's APIs answer only on its coordinator, either agent serves any partition,
 * and a commit on one agent wakes a long-poll fetch parked on the other.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../agent/agent.js';
import { RedisCluster } from '../../agent/cluster/redis-cluster.js';
import { defaultAgentConfig } from '../../agent/config.js';
import { ErrorCode } from '../../agent/error-codes.js';
import { RedisMetadataStore } from '../../core/metadata/redis-metadata-store.js';
import { DescribeCluster, Fetch, FindCoordinator, Heartbeat, Metadata, Produce } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { buildBatchSync } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/raw-client.js';

const server = await startRedisServer({ appendonly: false });
const namespace = `agents-${randomUUID()}`;
const objects = new MemoryObjectStore();
const agents: Agent[] = [];
const clients: RawClient[] = [];

async function startAgent(nodeId: number): Promise<RawClient> {
  const config = defaultAgentConfig({
    host: '127.0.0.1', port: 0, logLevel: 'error', nodeId, lingerMs: 5, metadataStore: 'redis', redisUrl: server.url,
    // Far beyond the test timeout: a long poll that returns was woken, not timed out.
    fetchWaitMaxMs: 600_000, retentionCheckIntervalMs: 0,
  });
  const agent = new Agent(config, { objects, metadata: new RedisMetadataStore({ url: server.url, namespace }) });
  const { host, port } = await agent.start();
  agents.push(agent);
  const c = await RawClient.connect(host, port);
  clients.push(c);
  return c;
}

function fetchBody(topic: string, offset: bigint, maxWaitMs: number) {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

async function produce(c: RawClient, topic: string, partition: number, value: string): Promise<bigint> {
  const records = buildBatchSync({ records: [{ key: null, value }] });
  const res = await c.request(Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  const p = res.responses![0]!.partitionResponses![0]!;
  assert.equal(p.errorCode, ErrorCode.NONE);
  return p.baseOffset!;
}

let a: RawClient;
let b: RawClient;

describe('two agents on Redis', () => {
  before(async () => {
    a = await startAgent(1);
    b = await startAgent(2);
    // Agent 1 registered first and learns of agent 2 from its join message or next heartbeat.
    for (const agent of agents) {
      const { cluster } = agent.context;
      assert.ok(cluster instanceof RedisCluster);
      await cluster.refresh();
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const agent of agents) await agent.stop();
    await server.stop();
  });

  it('both list both brokers, with the same leader for every partition', async () => {
    const metadata = async (c: RawClient) =>
      c.request(Metadata, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'spread' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    // Create the topic through agent 1 with 12 partitions (auto-create makes 1).
    await agents[0]!.context.metadata.createTopic('spread', 12, {});
    const [ma, mb] = [await metadata(a), await metadata(b)];
    for (const m of [ma, mb]) {
      assert.deepEqual(m.brokers!.map((x) => x.nodeId), [1, 2]);
      assert.equal(m.controllerId, 1);
    }
    const leaders = (m: typeof ma) => m.topics![0]!.partitions!.map((p) => p.leaderId);
    assert.equal(leaders(ma).length, 12);
    assert.deepEqual(leaders(mb), leaders(ma));
    assert.deepEqual([...new Set(leaders(ma))].sort(), [1, 2]);
    const dc = await a.request(DescribeCluster, 0, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    assert.deepEqual(dc.brokers!.map((x) => x.brokerId), [1, 2]);
  });

  it('agree on each group\'s coordinator, and only it answers the group\'s requests', async () => {
    for (let g = 0; g < 10; g++) {
      const key = `group-${g}`;
      const find = async (c: RawClient) => (await c.request(FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [key] })).coordinators![0]!;
      const [fa, fb] = [await find(a), await find(b)];
      assert.equal(fa.errorCode, ErrorCode.NONE);
      assert.equal(fa.nodeId, fb.nodeId);
      const [onCoordinator, elsewhere] = fa.nodeId === 1 ? [a, b] : [b, a];
      const hb = (c: RawClient) => c.request(Heartbeat, 4, { groupId: key, generationId: 1, memberId: 'm', groupInstanceId: null });
      assert.equal((await hb(onCoordinator)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      assert.equal((await hb(elsewhere)).errorCode, ErrorCode.NOT_COORDINATOR);
    }
  });

  it('a commit on one agent wakes a long poll on the other, and either agent serves any partition', async () => {
    const first = await produce(a, 'wake', 0, 'first');
    const hw = first + 1n;
    const pending = b.request(Fetch, 12, fetchBody('wake', hw, 300_000));
    await new Promise((r) => setTimeout(r, 200));
    await produce(a, 'wake', 0, 'second');
    const res = await pending;
    const part = res.responses![0]!.partitions![0]!;
    assert.equal(part.errorCode, ErrorCode.NONE);
    assert.equal(part.highWatermark, hw + 1n);
    const batches = scanBatches((part.records as Buffer | null) ?? Buffer.alloc(0));
    assert.equal(batches[0]!.baseOffset, hw);
  });
});
