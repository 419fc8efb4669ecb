/**
 * DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against an in-process agent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../agent/error-codes.js';
import { topicConfigDefs } from '../../agent/topic-configs.js';
import { AlterConfigs, DescribeConfigs, IncrementalAlterConfigs } from '../../core/protocol/generated/index.js';
import type { IncrementalAlterConfigsRequestAlterableConfig } from '../../core/protocol/generated/incremental-alter-configs.js';
import type { RawClient } from '../helpers/raw-client.js';
import { adminFor, errorTypes, rawClientFor, rejection, startTestAgent, type TestAgent } from './admin-harness.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

let t: TestAgent;
let admin: Admin;
let raw: RawClient;

before(async () => {
  t = await startTestAgent({ defaultPartitions: 3, nodeId: 7 });
  admin = await adminFor(t.bootstrap);
  raw = await rawClientFor(t);
});

after(async () => {
  raw?.close();
  await admin?.disconnect();
  await t?.stop();
});

async function createTopic(name: string, configs: Record<string, string> = {}): Promise<void> {
  const created = await admin.createTopics({
    topics: [{ topic: name, numPartitions: 1, configEntries: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
  });
  assert.equal(created, true);
}

/** The topic's configs as DescribeConfigs v4 reports them: name → { value, source }. */
async function configsOf(name: string): Promise<Map<string, { value: string | null; source: number }>> {
  const res = await raw.request(DescribeConfigs, 4, {
    resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const r = res.results![0]!;
  assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
  return new Map(r.configs!.map((c) => [c.name!, { value: c.value!, source: c.configSource! }]));
}

async function incremental(name: string, configs: IncrementalAlterConfigsRequestAlterableConfig[], validateOnly = false) {
  const res = await raw.request(IncrementalAlterConfigs, 1, { resources: [{ resourceType: TOPIC, resourceName: name, configs }], validateOnly });
  return res.responses![0]!;
}

describe('DescribeConfigs', () => {
  it('lists every topic config with its effective value and source (kafkajs)', async () => {
    await createTopic('dc-topic', { 'retention.ms': '1000' });
    const { resources } = await admin.describeConfigs({ resources: [{ type: TOPIC, name: 'dc-topic' }], includeSynonyms: false });
    const entries = resources[0]!.configEntries;
    assert.deepEqual(entries.map((e) => e.configName).sort(), Object.keys(topicConfigDefs).sort());
    const retention = entries.find((e) => e.configName === 'retention.ms')!;
    assert.deepEqual([retention.configValue, retention.isDefault, retention.configSource, retention.readOnly], ['1000', false, 1, false]);
    const cleanup = entries.find((e) => e.configName === 'cleanup.policy')!;
    assert.deepEqual([cleanup.configValue, cleanup.isDefault, cleanup.configSource], ['delete', true, 5]);
    assert.ok(entries.every((e) => e.isSensitive === false));
  });

  it('filters by configuration keys, and reports types, synonyms and no documentation on v4', async () => {
    await createTopic('dc-v4', { 'cleanup.policy': 'compact' });
    const res = await raw.request(DescribeConfigs, 4, {
      resources: [{ resourceType: TOPIC, resourceName: 'dc-v4', configurationKeys: ['cleanup.policy', 'max.message.bytes', 'no.such.key'] }],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    const configs = res.results![0]!.configs!;
    assert.deepEqual(configs.map((c) => c.name), ['cleanup.policy', 'max.message.bytes']);
    const [cleanup, maxBytes] = configs;
    assert.equal(cleanup!.configType, 7); // LIST
    assert.equal(maxBytes!.configType, 3); // INT
    assert.equal(cleanup!.documentation, null);
    assert.deepEqual(
      cleanup!.synonyms!.map((s) => [s.name, s.value, s.source]),
      [
        ['cleanup.policy', 'compact', 1],
        ['log.cleanup.policy', 'delete', 5],
      ],
    );
    assert.deepEqual(maxBytes!.synonyms!.map((s) => [s.name, s.source]), [['message.max.bytes', 5]]);
    // Without includeSynonyms, none.
    const plain = await raw.request(DescribeConfigs, 4, {
      resources: [{ resourceType: TOPIC, resourceName: 'dc-v4', configurationKeys: ['cleanup.policy'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(plain.results![0]!.configs![0]!.synonyms, []);
  });

  it('serves v0 with isDefault', async () => {
    await createTopic('dc-v0', { 'segment.ms': '3600000' });
    const res = await raw.request(DescribeConfigs, 0, {
      resources: [{ resourceType: TOPIC, resourceName: 'dc-v0', configurationKeys: ['segment.ms', 'segment.bytes'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      res.results![0]!.configs!.map((c) => [c.name, c.value, c.isDefault]),
      [
        ['segment.bytes', '1073741824', true],
        ['segment.ms', '3600000', false],
      ],
    );
  });

  it('describes the broker read-only, by node id or as cluster defaults', async () => {
    const { resources } = await admin.describeConfigs({ resources: [{ type: BROKER, name: '7' }], includeSynonyms: false });
    const byName = new Map(resources[0]!.configEntries.map((e) => [e.configName, e]));
    assert.equal(byName.get('num.partitions')!.configValue, '3');
    assert.equal(byName.get('num.partitions')!.configSource, 4); // set by a flag
    assert.equal(byName.get('default.replication.factor')!.configValue, '1');
    assert.equal(byName.get('log.retention.ms')!.configValue, '604800000');
    assert.equal(byName.get('auto.create.topics.enable')!.configValue, 'false');
    assert.ok(byName.has('message.max.bytes') && byName.has('min.insync.replicas'));
    assert.ok(resources[0]!.configEntries.every((e) => e.readOnly));
    const res = await raw.request(DescribeConfigs, 4, {
      resources: [
        { resourceType: BROKER, resourceName: '', configurationKeys: ['broker.id'] },
        { resourceType: BROKER, resourceName: '8', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const [defaults, other] = res.results!;
    assert.deepEqual(defaults!.configs!.map((c) => [c.name, c.value]), [['broker.id', '7']]);
    assert.equal(other!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  it('answers per resource: unknown topic, illegal name, unsupported resource type', async () => {
    await createTopic('dc-ok');
    const res = await raw.request(DescribeConfigs, 3, {
      resources: [
        { resourceType: TOPIC, resourceName: 'dc-missing', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad name', configurationKeys: null },
        { resourceType: 8, resourceName: '7', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'dc-ok', configurationKeys: ['retention.ms'] },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      res.results!.map((r) => [r.resourceName, r.errorCode, r.configs!.length]),
      [
        ['dc-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
        ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION, 0],
        ['7', ErrorCode.INVALID_REQUEST, 0],
        ['dc-ok', ErrorCode.NONE, 1],
      ],
    );
    assert.match(res.results![0]!.errorMessage!, /dc-missing/);
  });
});

describe('AlterConfigs', () => {
  it('replaces the topic configs: keys not sent return to their defaults (kafkajs)', async () => {
    await createTopic('ac-replace', { 'retention.ms': '1000', 'cleanup.policy': 'compact' });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-replace', configEntries: [{ name: 'max.message.bytes', value: '5000' }] }] });
    const configs = await configsOf('ac-replace');
    assert.deepEqual(configs.get('max.message.bytes'), { value: '5000', source: 1 });
    assert.deepEqual(configs.get('retention.ms'), { value: '604800000', source: 5 });
    assert.deepEqual(configs.get('cleanup.policy'), { value: 'delete', source: 5 });
  });

  it('refuses a bad value or an unknown key with INVALID_CONFIG, and changes nothing', async () => {
    await createTopic('ac-bad', { 'retention.ms': '1000' });
    const e = await rejection(() => admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-bad', configEntries: [{ name: 'retention.ms', value: 'forever' }] }] }));
    assert.deepEqual(errorTypes(e), ['INVALID_CONFIG']);
    const res = await raw.request(AlterConfigs, 2, {
      resources: [
        { resourceType: TOPIC, resourceName: 'ac-bad', configs: [{ name: 'retention.ms', value: '5' }, { name: 'retention.weeks', value: '1' }] },
      ],
      validateOnly: false,
    });
    assert.equal(res.responses![0]!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(res.responses![0]!.errorMessage!, /retention\.weeks/);
    assert.deepEqual((await configsOf('ac-bad')).get('retention.ms'), { value: '1000', source: 1 });
  });

  it('changes nothing when validateOnly', async () => {
    await createTopic('ac-validate');
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: TOPIC, name: 'ac-validate', configEntries: [{ name: 'retention.ms', value: '5' }] }] });
    assert.deepEqual((await configsOf('ac-validate')).get('retention.ms'), { value: '604800000', source: 5 });
  });

  it('answers per resource: broker (read-only), unknown topic, null value', async () => {
    await createTopic('ac-null');
    const res = await raw.request(AlterConfigs, 1, {
      resources: [
        { resourceType: BROKER, resourceName: '7', configs: [{ name: 'num.partitions', value: '4' }] },
        { resourceType: TOPIC, resourceName: 'ac-missing', configs: [{ name: 'retention.ms', value: '5' }] },
        { resourceType: TOPIC, resourceName: 'ac-null', configs: [{ name: 'retention.ms', value: null }] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      res.responses!.map((r) => [r.resourceType, r.resourceName, r.errorCode]),
      [
        [BROKER, '7', ErrorCode.POLICY_VIOLATION],
        [TOPIC, 'ac-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [TOPIC, 'ac-null', ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.ok(res.responses!.every((r) => typeof r.errorMessage === 'string' && r.errorMessage.length > 0));
  });
});

describe('IncrementalAlterConfigs', () => {
  it('SETs and DELETEs single keys, leaving the others alone', async () => {
    await createTopic('iac-set', { 'retention.ms': '1000', 'segment.ms': '60000' });
    const r = await incremental('iac-set', [
      { name: 'retention.bytes', configOperation: SET, value: '1048576' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
    ]);
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    const configs = await configsOf('iac-set');
    assert.deepEqual(configs.get('retention.bytes'), { value: '1048576', source: 1 });
    assert.deepEqual(configs.get('retention.ms'), { value: '604800000', source: 5 });
    assert.deepEqual(configs.get('segment.ms'), { value: '60000', source: 1 });
  });

  it('APPENDs to and SUBTRACTs from a list config, starting from its default', async () => {
    await createTopic('iac-list');
    assert.equal((await incremental('iac-list', [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }])).errorCode, ErrorCode.NONE);
    assert.equal((await configsOf('iac-list')).get('cleanup.policy')!.value, 'delete,compact');
    assert.equal((await incremental('iac-list', [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }])).errorCode, ErrorCode.NONE);
    assert.equal((await configsOf('iac-list')).get('cleanup.policy')!.value, 'compact');
  });

  it('refuses APPEND/SUBTRACT on a non-list config, bad values, unknown keys and unknown operations', async () => {
    await createTopic('iac-bad', { 'retention.ms': '1000' });
    const append = await incremental('iac-bad', [{ name: 'retention.ms', configOperation: APPEND, value: '5' }]);
    assert.equal(append.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(append.errorMessage!, /retention\.ms/);
    const subtract = await incremental('iac-bad', [{ name: 'max.message.bytes', configOperation: SUBTRACT, value: '5' }]);
    assert.equal(subtract.errorCode, ErrorCode.INVALID_CONFIG);
    const bad = await incremental('iac-bad', [{ name: 'retention.ms', configOperation: SET, value: '-7' }]);
    assert.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad.errorMessage!, /-7/);
    const unknown = await incremental('iac-bad', [{ name: 'retention.weeks', configOperation: SET, value: '1' }]);
    assert.equal(unknown.errorCode, ErrorCode.INVALID_CONFIG);
    const op = await incremental('iac-bad', [{ name: 'retention.ms', configOperation: 9, value: '1' }]);
    assert.equal(op.errorCode, ErrorCode.INVALID_REQUEST);
    const twice = await incremental('iac-bad', [
      { name: 'retention.ms', configOperation: SET, value: '1' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
    ]);
    assert.equal(twice.errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual((await configsOf('iac-bad')).get('retention.ms'), { value: '1000', source: 1 });
  });

  it('changes nothing when validateOnly, and answers per resource', async () => {
    await createTopic('iac-validate');
    const ok = await incremental('iac-validate', [{ name: 'retention.ms', configOperation: SET, value: '5' }], true);
    assert.equal(ok.errorCode, ErrorCode.NONE);
    assert.deepEqual((await configsOf('iac-validate')).get('retention.ms'), { value: '604800000', source: 5 });
    const res = await raw.request(IncrementalAlterConfigs, 0, {
      resources: [
        { resourceType: BROKER, resourceName: '7', configs: [{ name: 'num.partitions', configOperation: SET, value: '4' }] },
        { resourceType: TOPIC, resourceName: 'iac-missing', configs: [{ name: 'retention.ms', configOperation: SET, value: '5' }] },
        { resourceType: 8, resourceName: '7', configs: [] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      res.responses!.map((r) => r.errorCode),
      [ErrorCode.POLICY_VIOLATION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST],
    );
  });
});
