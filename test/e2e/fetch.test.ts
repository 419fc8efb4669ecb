/**
 * Fetch behaviours no client library exposes directly, over Weir's own codec: long polls woken
 * by commits, topic ids (v13+), byte limits and out-of-range offsets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetch, Metadata, Produce } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { buildBatchSync } from '../../core/records/records.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { RawClient } from '../helpers/raw-client.js';

let agent: Agent;
const clients: RawClient[] = [];

async function client(): Promise<RawClient> {
  const c = await RawClient.connect(agent.host, agent.port);
  clients.push(c);
  return c;
}

async function produce(c: RawClient, topic: string, values: string[]): Promise<bigint> {
  const records = buildBatchSync({ records: values.map((v) => ({ key: null, value: v })) });
  const res = await c.request(Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  const p = res.responses![0]!.partitionResponses![0]!;
  assert.equal(p.errorCode, 0);
  return p.baseOffset!;
}

function fetchBody(topic: string, offset: bigint, maxWaitMs: number, partitionMaxBytes = 1 << 20, topicId = '00000000-0000-0000-0000-000000000000') {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

function recordsOf(res: { responses?: { partitions?: { records?: unknown }[] }[] }): Buffer {
  return (res.responses![0]!.partitions![0]!.records as Buffer | null) ?? Buffer.alloc(0);
}

describe('Fetch', () => {
  before(async () => {
    agent = await startAgent({ lingerMs: 10 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await stopAllAgents();
  });

  it('a long poll at the high watermark is woken by a commit and returns the new record', async () => {
    const a = await client();
    const b = await client();
    const hw = (await produce(b, 'poll', ['first'])) + 1n;
    // 60 s max wait: had the commit not woken it, the test would hit its own timeout, not pass.
    const pending = a.request(Fetch, 12, fetchBody('poll', hw, 60_000));
    await new Promise((r) => setTimeout(r, 200));
    await produce(b, 'poll', ['second']);
    const res = await pending;
    const part = res.responses![0]!.partitions![0]!;
    assert.equal(part.errorCode, 0);
    assert.equal(part.highWatermark, hw + 1n);
    const batches = scanBatches(recordsOf(res));
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.baseOffset, hw);
  });

  it('a long poll with nothing to read returns empty after max wait', async () => {
    const a = await client();
    const hw = (await produce(a, 'idle', ['x'])) + 1n;
    const res = await a.request(Fetch, 12, fetchBody('idle', hw, 300));
    assert.equal(res.responses![0]!.partitions![0]!.errorCode, 0);
    assert.equal(recordsOf(res).length, 0);
  });

  it('serves v13+ by topic id, and answers UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const a = await client();
    await produce(a, 'by-id', ['a', 'b']);
    const md = await a.request(Metadata, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'by-id' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false, includeClusterAuthorizedOperations: false });
    const topicId = md.topics![0]!.topicId!;
    const res = await a.request(Fetch, 16, fetchBody('', 0n, 0, 1 << 20, topicId));
    assert.equal(res.responses![0]!.topicId, topicId);
    assert.equal(scanBatches(recordsOf(res))[0]!.recordCount, 2);
    const unknown = await a.request(Fetch, 16, fetchBody('', 0n, 0, 1 << 20, '11111111-2222-4333-8444-555555555555'));
    assert.equal(unknown.responses![0]!.partitions![0]!.errorCode, 100);
  });

  it('answers OFFSET_OUT_OF_RANGE beyond the high watermark, with the watermarks', async () => {
    const a = await client();
    await produce(a, 'range', ['a']);
    const res = await a.request(Fetch, 12, fetchBody('range', 5n, 0));
    const p = res.responses![0]!.partitions![0]!;
    assert.equal(p.errorCode, 1);
    assert.equal(p.highWatermark, 1n);
    assert.equal(p.logStartOffset, 0n);
  });

  it('honours partitionMaxBytes at batch granularity but always returns the first batch', async () => {
    const a = await client();
    for (let i = 0; i < 3; i++) await produce(a, 'limits', [`v${i}`.repeat(100)]);
    const one = await a.request(Fetch, 12, fetchBody('limits', 0n, 0, 10));
    assert.equal(scanBatches(recordsOf(one)).length, 1, 'first batch even though larger than 10 bytes');
    const all = await a.request(Fetch, 12, fetchBody('limits', 0n, 0, 1 << 20));
    assert.equal(scanBatches(recordsOf(all)).length, 3);
  });
});
