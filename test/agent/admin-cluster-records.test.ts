/**
 * DescribeCluster, DeleteRecords, and ApiVersions advertising the admin APIs, against an
 * in-process agent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../agent/error-codes.js';
import { ApiVersions, DeleteRecords, DescribeCluster, Metadata } from '../../core/protocol/generated/index.js';
import type { RawClient } from '../helpers/raw-client.js';
import { adminFor, errorTypes, producerFor, rawClientFor, rejection, startTestAgent, type TestAgent } from './admin-harness.js';

let t: TestAgent;
let admin: Admin;
let raw: RawClient;

before(async () => {
  t = await startTestAgent({ nodeId: 3 });
  admin = await adminFor(t.bootstrap);
  raw = await rawClientFor(t);
});

after(async () => {
  raw?.close();
  await admin?.disconnect();
  await t?.stop();
});

/** Creates the topic and produces `count` records to partition 0. */
async function topicWithRecords(topic: string, count: number): Promise<void> {
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);
  const producer = await producerFor(t.bootstrap);
  try {
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `record ${i}`, partition: 0 })) });
  } finally {
    await producer.disconnect();
  }
}

async function watermarks(topic: string, partition = 0): Promise<{ low: string; high: string }> {
  const o = (await admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition)!;
  return { low: o.low, high: o.high };
}

describe('DescribeCluster', () => {
  for (const version of [0, 1]) {
    it(`v${version} lists this agent as the only broker and the controller`, async () => {
      const res = await raw.request(DescribeCluster, version, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      const md = await raw.request(Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.clusterId, md.clusterId);
      assert.equal(res.controllerId, 3);
      assert.deepEqual(res.brokers!.map((b) => [b.brokerId, b.host, b.port, b.rack]), [[3, t.host, t.port, null]]);
      assert.equal(res.clusterAuthorizedOperations, -2147483648);
    });
  }

  it('reports authorized operations when asked, and refuses an unknown endpoint type', async () => {
    const withOps = await raw.request(DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    assert.ok(withOps.clusterAuthorizedOperations! > 0);
    const bad = await raw.request(DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 9 });
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST);
    assert.ok(bad.errorMessage);
  });
});

describe('DeleteRecords', () => {
  it('moves the log start offset, and -1 means the high watermark (kafkajs)', async () => {
    await topicWithRecords('dr-basic', 10);
    assert.deepEqual(await watermarks('dr-basic'), { low: '0', high: '10' });
    await admin.deleteTopicRecords({ topic: 'dr-basic', partitions: [{ partition: 0, offset: '4' }] });
    assert.deepEqual(await watermarks('dr-basic'), { low: '4', high: '10' });
    // An offset at or before the log start changes nothing.
    await admin.deleteTopicRecords({ topic: 'dr-basic', partitions: [{ partition: 0, offset: '2' }] });
    assert.deepEqual(await watermarks('dr-basic'), { low: '4', high: '10' });
    await admin.deleteTopicRecords({ topic: 'dr-basic', partitions: [{ partition: 0, offset: '-1' }] });
    assert.deepEqual(await watermarks('dr-basic'), { low: '10', high: '10' });
  });

  it('answers OFFSET_OUT_OF_RANGE beyond the high watermark and deletes nothing', async () => {
    await topicWithRecords('dr-beyond', 5);
    // Also loads the topic into kafkajs's metadata, which deleteTopicRecords needs to find the leader.
    assert.deepEqual(await watermarks('dr-beyond'), { low: '0', high: '5' });
    const e = await rejection(() => admin.deleteTopicRecords({ topic: 'dr-beyond', partitions: [{ partition: 0, offset: '6' }] }));
    assert.deepEqual(errorTypes(e), ['OFFSET_OUT_OF_RANGE']);
    assert.deepEqual(await watermarks('dr-beyond'), { low: '0', high: '5' });
  });

  it('returns the new low watermark per partition on v2, with per-partition errors', async () => {
    await topicWithRecords('dr-v2', 6);
    const res = await raw.request(DeleteRecords, 2, {
      topics: [
        {
          name: 'dr-v2',
          partitions: [
            { partitionIndex: 0, offset: 3n },
            { partitionIndex: 1, offset: 0n },
            { partitionIndex: 2, offset: 0n },
          ],
        },
        { name: 'dr-missing', partitions: [{ partitionIndex: 0, offset: 0n }] },
      ],
      timeoutMs: 5000,
    });
    const [known, missing] = res.topics!;
    assert.deepEqual(
      known!.partitions!.map((p) => [p.partitionIndex, p.lowWatermark, p.errorCode]),
      [
        [0, 3n, ErrorCode.NONE],
        [1, 0n, ErrorCode.NONE],
        [2, -1n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.equal(missing!.partitions![0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const v0 = await raw.request(DeleteRecords, 0, { topics: [{ name: 'dr-v2', partitions: [{ partitionIndex: 0, offset: -2n }, { partitionIndex: 0, offset: 2n ** 62n }] }], timeoutMs: 5000 });
    assert.deepEqual(v0.topics![0]!.partitions!.map((p) => p.errorCode), [ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.OFFSET_OUT_OF_RANGE]);
    assert.deepEqual(await watermarks('dr-v2'), { low: '3', high: '6' });
  });
});

describe('ApiVersions', () => {
  it('advertises every admin API with the versions served', async () => {
    const res = await raw.request(ApiVersions, 3, { clientSoftwareName: 'weir-test', clientSoftwareVersion: '0' });
    const byKey = new Map(res.apiKeys!.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    const expected: Array<[string, number, number, number]> = [
      ['CreateTopics', 19, 0, 7],
      ['DeleteTopics', 20, 0, 6],
      ['DeleteRecords', 21, 0, 2],
      ['DescribeConfigs', 32, 0, 4],
      ['AlterConfigs', 33, 0, 2],
      ['CreatePartitions', 37, 0, 3],
      ['IncrementalAlterConfigs', 44, 0, 1],
      ['DescribeCluster', 60, 0, 1],
    ];
    for (const [name, key, min, max] of expected) assert.deepEqual(byKey.get(key), [min, max], name);
  });
});
