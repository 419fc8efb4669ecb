/**
 * CreateTopics, DeleteTopics and CreatePartitions against an in-process agent: kafkajs admin for
 * what a client does every day, the raw client for the newer versions and the exact error codes
 * and messages (kafkajs drops the messages).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../agent/error-codes.js';
import { CreatePartitions, CreateTopics, DeleteTopics, Metadata } from '../../core/protocol/generated/index.js';
import type { CreateTopicsRequestCreatableTopic } from '../../core/protocol/generated/create-topics.js';
import type { RawClient } from '../helpers/raw-client.js';
import { adminFor, errorTypes, producerFor, rawClientFor, rejection, startTestAgent, type TestAgent } from './admin-harness.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const DEFAULT_PARTITIONS = 2;

let t: TestAgent;
let admin: Admin;
let raw: RawClient;

before(async () => {
  t = await startTestAgent({ defaultPartitions: DEFAULT_PARTITIONS });
  admin = await adminFor(t.bootstrap);
  raw = await rawClientFor(t);
});

after(async () => {
  raw?.close();
  await admin?.disconnect();
  await t?.stop();
});

const topic = (name: string, o: Partial<CreateTopicsRequestCreatableTopic> = {}): CreateTopicsRequestCreatableTopic => ({
  name,
  numPartitions: 1,
  replicationFactor: -1,
  assignments: [],
  configs: [],
  ...o,
});

async function createRaw(version: number, topics: CreateTopicsRequestCreatableTopic[], validateOnly = false) {
  const res = await raw.request(CreateTopics, version, { topics, timeoutMs: 10_000, validateOnly });
  return res.topics!;
}

async function partitionCount(name: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [name] });
  return topics[0]!.partitions.length;
}

describe('CreateTopics', () => {
  it('creates a topic with its partitions and configs (kafkajs)', async () => {
    const created = await admin.createTopics({
      topics: [{ topic: 'ct-basic', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    assert.equal(created, true);
    assert.ok((await admin.listTopics()).includes('ct-basic'));
    assert.equal(await partitionCount('ct-basic'), 3);
    const { resources } = await admin.describeConfigs({ resources: [{ type: 2, name: 'ct-basic', configNames: ['retention.ms'] }], includeSynonyms: false });
    assert.equal(resources[0]!.configEntries[0]!.configValue, '60000');
  });

  it('answers TOPIC_ALREADY_EXISTS for a duplicate create', async () => {
    await admin.createTopics({ topics: [{ topic: 'ct-dup', numPartitions: 1 }] });
    // kafkajs turns "every topic already existed" into false.
    assert.equal(await admin.createTopics({ topics: [{ topic: 'ct-dup', numPartitions: 1 }] }), false);
    const [r] = await createRaw(4, [topic('ct-dup')]);
    assert.equal(r!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.match(r!.errorMessage!, /ct-dup already exists/);
  });

  it('refuses a bad config value and an unknown config with INVALID_CONFIG and a message naming them', async () => {
    const e = await rejection(() => admin.createTopics({ topics: [{ topic: 'ct-badcfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }));
    assert.deepEqual(errorTypes(e), ['INVALID_CONFIG']);
    const [bad, unknown, nul] = await createRaw(4, [
      topic('ct-badcfg', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      topic('ct-unknowncfg', { configs: [{ name: 'retention.weeks', value: '1' }] }),
      topic('ct-nullcfg', { configs: [{ name: 'retention.ms', value: null }] }),
    ]);
    assert.equal(bad!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad!.errorMessage!, /soon.*retention\.ms/);
    assert.equal(unknown!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(unknown!.errorMessage!, /retention\.weeks/);
    assert.equal(nul!.errorCode, ErrorCode.INVALID_CONFIG);
    const names = await admin.listTopics();
    for (const n of ['ct-badcfg', 'ct-unknowncfg', 'ct-nullcfg']) assert.ok(!names.includes(n), `${n} must not exist`);
  });

  it('validates names, partition counts and replication factors', async () => {
    const results = await createRaw(4, [
      topic('bad/name'),
      topic('ct-zero-partitions', { numPartitions: 0 }),
      topic('ct-minus2-partitions', { numPartitions: -2 }),
      topic('ct-zero-rf', { replicationFactor: 0 }),
      topic('ct-minus2-rf', { replicationFactor: -2 }),
      topic('ct-rf3', { replicationFactor: 3 }),
      topic('ct-default-partitions', { numPartitions: -1 }),
    ]);
    assert.deepEqual(
      results.map((r) => [r.name, r.errorCode]),
      [
        ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION],
        ['ct-zero-partitions', ErrorCode.INVALID_PARTITIONS],
        ['ct-minus2-partitions', ErrorCode.INVALID_PARTITIONS],
        ['ct-zero-rf', ErrorCode.INVALID_REPLICATION_FACTOR],
        ['ct-minus2-rf', ErrorCode.INVALID_REPLICATION_FACTOR],
        ['ct-rf3', ErrorCode.NONE],
        ['ct-default-partitions', ErrorCode.NONE],
      ],
    );
    for (const r of results.slice(0, 5)) assert.ok(r.errorMessage, `${r.name} has a message`);
    assert.equal(await partitionCount('ct-default-partitions'), DEFAULT_PARTITIONS);
    // Durability comes from the object store: the agent is the one replica whatever was asked.
    const { topics } = await admin.fetchTopicMetadata({ topics: ['ct-rf3'] });
    assert.equal(topics[0]!.partitions[0]!.replicas.length, 1);
  });

  it('creates nothing when validateOnly, but reports what it would create', async () => {
    await admin.createTopics({ topics: [{ topic: 'ct-validate', numPartitions: 4 }], validateOnly: true, waitForLeaders: false });
    assert.ok(!(await admin.listTopics()).includes('ct-validate'));
    const [r] = await createRaw(7, [topic('ct-validate', { numPartitions: 4, configs: [{ name: 'cleanup.policy', value: 'compact' }] })], true);
    assert.equal(r!.errorCode, ErrorCode.NONE);
    assert.equal(r!.numPartitions, 4);
    assert.equal(r!.topicId, ZERO_UUID);
    assert.equal(r!.configs!.find((c) => c.name === 'cleanup.policy')!.value, 'compact');
    assert.ok(!(await admin.listTopics()).includes('ct-validate'));
    // A bad request is still refused under validateOnly.
    const [bad] = await createRaw(7, [topic('ct-validate', { configs: [{ name: 'retention.ms', value: 'x' }] })], true);
    assert.equal(bad!.errorCode, ErrorCode.INVALID_CONFIG);
  });

  it('v7 returns the topic id, partition count, replication factor and every config with its source', async () => {
    const [r] = await createRaw(7, [topic('ct-v7', { numPartitions: 5, replicationFactor: -1, configs: [{ name: 'max.message.bytes', value: '2000000' }] })]);
    assert.equal(r!.errorCode, ErrorCode.NONE);
    assert.equal(r!.errorMessage, null);
    assert.equal(r!.numPartitions, 5);
    assert.equal(r!.replicationFactor, 1);
    assert.notEqual(r!.topicId, ZERO_UUID);
    const byName = new Map(r!.configs!.map((c) => [c.name, c]));
    assert.deepEqual(
      { value: byName.get('max.message.bytes')!.value, source: byName.get('max.message.bytes')!.configSource },
      { value: '2000000', source: 1 },
    );
    assert.deepEqual({ value: byName.get('retention.ms')!.value, source: byName.get('retention.ms')!.configSource }, { value: '604800000', source: 5 });
    // The id is the one Metadata reports.
    const md = await raw.request(Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: 'ct-v7' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics![0]!.topicId, r!.topicId);
  });

  it('serves v0 (no error message field)', async () => {
    const [ok, dup] = await createRaw(0, [topic('ct-v0', { numPartitions: 2 }), topic('ct-dup')]);
    assert.equal(ok!.errorCode, ErrorCode.NONE);
    assert.equal(dup!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal(await partitionCount('ct-v0'), 2);
  });

  it('takes the partition count from a manual assignment and checks it', async () => {
    const assignments = [0, 1, 2].map((partitionIndex) => ({ partitionIndex, brokerIds: [0] }));
    const [ok, gap, both, empty] = await createRaw(5, [
      topic('ct-assigned', { numPartitions: -1, assignments }),
      topic('ct-assigned-gap', { numPartitions: -1, assignments: [{ partitionIndex: 0, brokerIds: [0] }, { partitionIndex: 2, brokerIds: [0] }] }),
      topic('ct-assigned-both', { numPartitions: 3, assignments }),
      topic('ct-assigned-empty', { numPartitions: -1, assignments: [{ partitionIndex: 0, brokerIds: [] }] }),
    ]);
    assert.equal(ok!.errorCode, ErrorCode.NONE);
    assert.equal(ok!.numPartitions, 3);
    assert.equal(await partitionCount('ct-assigned'), 3);
    assert.equal(gap!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(both!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(empty!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('refuses a topic named twice in one request', async () => {
    const results = await createRaw(4, [topic('ct-twice'), topic('ct-twice')]);
    assert.deepEqual(results.map((r) => [r.name, r.errorCode]), [['ct-twice', ErrorCode.INVALID_REQUEST]]);
    assert.ok(!(await admin.listTopics()).includes('ct-twice'));
  });
});

describe('DeleteTopics', () => {
  it('deletes by name (kafkajs)', async () => {
    await admin.createTopics({ topics: [{ topic: 'dt-name', numPartitions: 1 }] });
    await admin.deleteTopics({ topics: ['dt-name'] });
    assert.ok(!(await admin.listTopics()).includes('dt-name'));
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist', async () => {
    const e = await rejection(() => admin.deleteTopics({ topics: ['dt-missing'] }));
    assert.deepEqual(errorTypes(e), ['UNKNOWN_TOPIC_OR_PARTITION']);
    const res = await raw.request(DeleteTopics, 5, { topics: [], topicNames: ['dt-missing'], timeoutMs: 5000 });
    assert.equal(res.responses![0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.match(res.responses![0]!.errorMessage!, /dt-missing/);
  });

  it('deletes by topic id on v6, and answers UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const [created] = await createRaw(7, [topic('dt-id')]);
    const id = created!.topicId!;
    const res = await raw.request(DeleteTopics, 6, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: '0b9a2a8e-5f3c-4d7e-9a51-2f1f6c0b7d11' },
        { name: 'dt-whatever', topicId: id },
      ],
      topicNames: [],
      timeoutMs: 5000,
    });
    const [ok, unknown, both] = res.responses!;
    assert.deepEqual([ok!.name, ok!.topicId, ok!.errorCode], ['dt-id', id, ErrorCode.NONE]);
    assert.equal(unknown!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
    assert.equal(both!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.ok(!(await admin.listTopics()).includes('dt-id'));
  });

  it('lets a deleted topic be created again, with a new id', async () => {
    const [first] = await createRaw(7, [topic('dt-again')]);
    await admin.deleteTopics({ topics: ['dt-again'] });
    const [second] = await createRaw(7, [topic('dt-again', { numPartitions: 2 })]);
    assert.equal(second!.errorCode, ErrorCode.NONE);
    assert.notEqual(second!.topicId, first!.topicId);
    assert.equal(await partitionCount('dt-again'), 2);
  });
});

describe('CreatePartitions', () => {
  it('grows a topic, and the new partitions take records', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-grow', numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'cp-grow', count: 4 }] });
    assert.equal(await partitionCount('cp-grow'), 4);
    const producer = await producerFor(t.bootstrap);
    try {
      const [r] = await producer.send({ topic: 'cp-grow', messages: [{ value: 'to the new partition', partition: 3 }] });
      assert.equal(r!.errorCode, 0);
      assert.equal(r!.partition, 3);
    } finally {
      await producer.disconnect();
    }
    const offsets = await admin.fetchTopicOffsets('cp-grow');
    assert.equal(offsets.find((o) => o.partition === 3)!.high, '1');
  });

  it('refuses to shrink or keep the count with INVALID_PARTITIONS', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-shrink', numPartitions: 3 }] });
    const e = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-shrink', count: 2 }] }));
    assert.deepEqual(errorTypes(e), ['INVALID_PARTITIONS']);
    const res = await raw.request(CreatePartitions, 3, {
      topics: [
        { name: 'cp-shrink', count: 2, assignments: null },
        { name: 'cp-shrink-same', count: 3, assignments: null },
        { name: 'cp-missing', count: 3, assignments: null },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const [shrink, , missing] = res.results!;
    assert.equal(shrink!.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.match(shrink!.errorMessage!, /3 partitions/);
    assert.equal(missing!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await admin.createTopics({ topics: [{ topic: 'cp-same', numPartitions: 3 }] });
    const same = await raw.request(CreatePartitions, 0, { topics: [{ name: 'cp-same', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
    assert.equal(same.results![0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(await partitionCount('cp-shrink'), 3);
  });

  it('changes nothing when validateOnly', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-validate', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'cp-validate', count: 5 }], validateOnly: true });
    assert.equal(await partitionCount('cp-validate'), 1);
  });

  it('checks a manual assignment has one entry per new partition', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-assign', numPartitions: 1 }] });
    const res = await raw.request(CreatePartitions, 2, {
      topics: [{ name: 'cp-assign', count: 3, assignments: [{ brokerIds: [0] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(res.results![0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const ok = await raw.request(CreatePartitions, 2, {
      topics: [{ name: 'cp-assign', count: 3, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(ok.results![0]!.errorCode, ErrorCode.NONE);
    assert.equal(await partitionCount('cp-assign'), 3);
  });
});
