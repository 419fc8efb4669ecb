/**
 * Topic administration through kafkajs's admin client: create (including validateOnly and the
 * error cases), list, metadata, create partitions, describe configs, delete, and re-create
 * under the same name (which must not resurrect the old topic's records).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Admin } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';
import { connectedAdmin } from '../helpers/kafkajs.js';
import { kafkaErrorTypes } from '../helpers/kafka-errors.js';

// kafkajs is CommonJS and Node's static analysis of it misses these two: take them off the default export.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

let agent: Agent;
let admin: Admin;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  admin = await connectedAdmin(agent.bootstrap);
});
after(async () => {
  await admin?.disconnect();
  await stopAllAgents();
});

async function assertRejectsWith(p: Promise<unknown>, type: string, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const types = kafkaErrorTypes(e);
    assert.ok(types.includes(type), `${what}: expected ${type}, got ${JSON.stringify(types)} (${String(e)})`);
    return true;
  });
}

async function nodeId(): Promise<number> {
  const cluster = await admin.describeCluster();
  return cluster.brokers[0]!.nodeId;
}

describe('admin', () => {
  it('describeCluster: one broker, at the address the agent listens on, which is the controller', async () => {
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    const [broker] = cluster.brokers;
    assert.equal(broker!.host, '127.0.0.1');
    assert.equal(broker!.port, agent.port);
    assert.equal(cluster.controller, broker!.nodeId);
  });

  it('createTopics with validateOnly creates nothing', async () => {
    const ok = await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'adm-validate-only', numPartitions: 2 }] });
    assert.equal(ok, true);
    assert.ok(!(await admin.listTopics()).includes('adm-validate-only'));
  });

  it('createTopics creates topics, listTopics lists them, a second create reports they exist', async () => {
    const created = await admin.createTopics({
      topics: [
        { topic: 'adm-a', numPartitions: 3 },
        { topic: 'adm-b', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    assert.equal(created, true);
    const topics = await admin.listTopics();
    assert.ok(topics.includes('adm-a') && topics.includes('adm-b'), `listTopics: ${JSON.stringify(topics)}`);
    // kafkajs resolves false when every topic already existed (TOPIC_ALREADY_EXISTS).
    assert.equal(await admin.createTopics({ topics: [{ topic: 'adm-a', numPartitions: 3 }] }), false);
  });

  it('createTopics without a partition count uses the default (at least 1)', async () => {
    assert.equal(await admin.createTopics({ topics: [{ topic: 'adm-default-partitions' }] }), true);
    const md = await admin.fetchTopicMetadata({ topics: ['adm-default-partitions'] });
    assert.ok(md.topics[0]!.partitions.length >= 1);
  });

  it('createTopics rejects a zero partition count and an invalid name', async () => {
    await assertRejectsWith(
      admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'adm-zero', numPartitions: 0 }] }),
      'INVALID_PARTITIONS',
      'numPartitions 0',
    );
    await assertRejectsWith(
      admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'bad name!', numPartitions: 1 }] }),
      'INVALID_TOPIC_EXCEPTION',
      'topic name "bad name!"',
    );
    const topics = await admin.listTopics();
    assert.ok(!topics.includes('adm-zero') && !topics.includes('bad name!'));
  });

  it('fetchTopicMetadata: every partition, led by the one broker', async () => {
    const leader = await nodeId();
    const md = await admin.fetchTopicMetadata({ topics: ['adm-a'] });
    assert.equal(md.topics.length, 1);
    assert.equal(md.topics[0]!.name, 'adm-a');
    const parts = [...md.topics[0]!.partitions].sort((x, y) => x.partitionId - y.partitionId);
    assert.deepEqual(
      parts.map((p) => ({ id: p.partitionId, err: p.partitionErrorCode, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      [0, 1, 2].map((id) => ({ id, err: 0, leader, replicas: [leader], isr: [leader] })),
    );
  });

  it('describeConfigs: Kafka defaults, and a topic override marked as such', async () => {
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: 'adm-a' },
        { type: ConfigResourceTypes.TOPIC, name: 'adm-b' },
      ],
    });
    const byName = new Map(res.resources.map((r) => [r.resourceName, r]));
    for (const name of ['adm-a', 'adm-b']) {
      assert.equal(byName.get(name)?.errorCode, 0, `describeConfigs ${name}: ${JSON.stringify(byName.get(name))}`);
    }
    const entry = (topic: string, config: string) => {
      const e = byName.get(topic)!.configEntries.find((c) => c.configName === config);
      assert.ok(e, `${topic} has no ${config} entry`);
      return { value: e.configValue, isDefault: e.isDefault, source: e.configSource };
    };
    const dflt = (value: string) => ({ value, isDefault: true, source: ConfigSource.DEFAULT_CONFIG });
    assert.deepEqual(entry('adm-a', 'retention.ms'), dflt('604800000'));
    assert.deepEqual(entry('adm-a', 'cleanup.policy'), dflt('delete'));
    assert.deepEqual(entry('adm-a', 'max.message.bytes'), dflt('1048588'));
    assert.deepEqual(entry('adm-b', 'retention.ms'), { value: '3600000', isDefault: false, source: ConfigSource.TOPIC_CONFIG });
    assert.deepEqual(entry('adm-b', 'cleanup.policy'), dflt('delete'));
  });

  it('describeConfigs with configNames returns only those', async () => {
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'adm-a', configNames: ['retention.ms', 'cleanup.policy'] }],
    });
    assert.deepEqual(res.resources[0]!.configEntries.map((c) => c.configName).sort(), ['cleanup.policy', 'retention.ms']);
  });

  it('createPartitions grows a topic, and the new partitions take records', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 5 }] });
    const md = await admin.fetchTopicMetadata({ topics: ['adm-a'] });
    assert.deepEqual(md.topics[0]!.partitions.map((p) => p.partitionId).sort(), [0, 1, 2, 3, 4]);
    await kcatProduce({ bootstrap: agent.bootstrap, topic: 'adm-a', partition: 4, records: [['k', 'in-new-partition']] });
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic: 'adm-a', partition: 4 });
    assert.deepEqual(read.map((r) => [r.partition, r.offset, r.key, r.payload]), [[4, 0, 'k', 'in-new-partition']]);
  });

  it('createPartitions refuses to shrink a topic', async () => {
    await assertRejectsWith(admin.createPartitions({ topicPartitions: [{ topic: 'adm-a', count: 2 }] }), 'INVALID_PARTITIONS', 'shrink 5 → 2');
    const md = await admin.fetchTopicMetadata({ topics: ['adm-a'] });
    assert.equal(md.topics[0]!.partitions.length, 5);
  });

  it('deleteTopics removes topics; deleting again reports them unknown', async () => {
    await admin.deleteTopics({ topics: ['adm-a', 'adm-b'] });
    const topics = await admin.listTopics();
    assert.ok(!topics.includes('adm-a') && !topics.includes('adm-b'), `listTopics after delete: ${JSON.stringify(topics)}`);
    await assertRejectsWith(admin.deleteTopics({ topics: ['adm-a'] }), 'UNKNOWN_TOPIC_OR_PARTITION', 'second delete of adm-a');
  });

  it('a topic deleted and re-created under the same name starts empty', async () => {
    const topic = 'adm-recreate';
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), true);
    await kcatProduce({ bootstrap: agent.bootstrap, topic, records: [['k', 'old-1'], ['k', 'old-2'], ['k', 'old-3']] });
    assert.equal((await kcatConsume({ bootstrap: agent.bootstrap, topic })).length, 3);

    await admin.deleteTopics({ topics: [topic] });
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), true);
    assert.deepEqual(await kcatConsume({ bootstrap: agent.bootstrap, topic }), []);

    await kcatProduce({ bootstrap: agent.bootstrap, topic, records: [['k', 'new-1']] });
    const read = await kcatConsume({ bootstrap: agent.bootstrap, topic });
    assert.deepEqual(read.map((r) => [r.offset, r.payload]), [[0, 'new-1']]);
  });
});
