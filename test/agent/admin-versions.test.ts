/**
 * Every version each admin handler advertises, once: a request at that version is answered, the
 * answer decodes at that version, and it says what the agent did. The behaviour tests in the other
 * admin-*.test.ts files pick one or two versions each; this catches a field a version lacks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { handlerRegistry } from '../../agent/handlers/index.js';
import { ErrorCode } from '../../agent/error-codes.js';
import {
  AlterConfigs,
  CreatePartitions,
  CreateTopics,
  DeleteRecords,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  IncrementalAlterConfigs,
  Metadata,
} from '../../core/protocol/generated/index.js';
import type { ApiSpec } from '../../core/protocol/types.js';
import type { RawClient } from '../helpers/raw-client.js';
import { rawClientFor, startTestAgent, type TestAgent } from './admin-harness.js';

let t: TestAgent;
let raw: RawClient;

before(async () => {
  t = await startTestAgent();
  raw = await rawClientFor(t);
});

after(async () => {
  raw?.close();
  await t?.stop();
});

function versionsOf(api: ApiSpec): number[] {
  const h = handlerRegistry.get(api.apiKey);
  assert.ok(h, `${api.name} is registered`);
  return Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i);
}

async function create(name: string, numPartitions = 1): Promise<void> {
  const res = await raw.request(CreateTopics, 4, {
    topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(res.topics![0]!.errorCode, ErrorCode.NONE);
}

async function partitions(name: string): Promise<number | null> {
  const res = await raw.request(Metadata, 9, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  const topic = res.topics![0]!;
  return topic.errorCode === ErrorCode.NONE ? topic.partitions!.length : null;
}

describe('every advertised admin version', () => {
  for (const v of versionsOf(CreateTopics)) {
    it(`CreateTopics v${v}`, async () => {
      const res = await raw.request(CreateTopics, v, {
        topics: [{ name: `vs-ct-${v}`, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      assert.equal(res.topics![0]!.errorCode, ErrorCode.NONE);
      assert.equal(await partitions(`vs-ct-${v}`), 2);
    });
  }

  for (const v of versionsOf(DeleteTopics)) {
    it(`DeleteTopics v${v}`, async () => {
      await create(`vs-dt-${v}`);
      const res = await raw.request(DeleteTopics, v, {
        topics: v >= 6 ? [{ name: `vs-dt-${v}`, topicId: '00000000-0000-0000-0000-000000000000' }] : [],
        topicNames: v >= 6 ? [] : [`vs-dt-${v}`],
        timeoutMs: 5000,
      });
      assert.deepEqual(res.responses!.map((r) => [r.name, r.errorCode]), [[`vs-dt-${v}`, ErrorCode.NONE]]);
      assert.equal(await partitions(`vs-dt-${v}`), null);
    });
  }

  for (const v of versionsOf(CreatePartitions)) {
    it(`CreatePartitions v${v}`, async () => {
      await create(`vs-cp-${v}`);
      const res = await raw.request(CreatePartitions, v, { topics: [{ name: `vs-cp-${v}`, count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
      assert.equal(res.results![0]!.errorCode, ErrorCode.NONE);
      assert.equal(await partitions(`vs-cp-${v}`), 3);
    });
  }

  for (const v of versionsOf(DescribeConfigs)) {
    it(`DescribeConfigs v${v}`, async () => {
      await create(`vs-dc-${v}`);
      const res = await raw.request(DescribeConfigs, v, {
        resources: [{ resourceType: 2, resourceName: `vs-dc-${v}`, configurationKeys: ['retention.ms'] }],
        includeSynonyms: true,
        includeDocumentation: false,
      });
      const r = res.results![0]!;
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.deepEqual(r.configs!.map((c) => [c.name, c.value]), [['retention.ms', '604800000']]);
    });
  }

  for (const v of versionsOf(AlterConfigs)) {
    it(`AlterConfigs v${v}`, async () => {
      await create(`vs-ac-${v}`);
      const res = await raw.request(AlterConfigs, v, {
        resources: [{ resourceType: 2, resourceName: `vs-ac-${v}`, configs: [{ name: 'retention.ms', value: '5000' }] }],
        validateOnly: false,
      });
      assert.equal(res.responses![0]!.errorCode, ErrorCode.NONE);
    });
  }

  for (const v of versionsOf(IncrementalAlterConfigs)) {
    it(`IncrementalAlterConfigs v${v}`, async () => {
      await create(`vs-iac-${v}`);
      const res = await raw.request(IncrementalAlterConfigs, v, {
        resources: [{ resourceType: 2, resourceName: `vs-iac-${v}`, configs: [{ name: 'retention.ms', configOperation: 0, value: '5000' }] }],
        validateOnly: false,
      });
      assert.equal(res.responses![0]!.errorCode, ErrorCode.NONE);
    });
  }

  for (const v of versionsOf(DescribeCluster)) {
    it(`DescribeCluster v${v}`, async () => {
      const res = await raw.request(DescribeCluster, v, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.equal(res.brokers!.length, 1);
    });
  }

  for (const v of versionsOf(DeleteRecords)) {
    it(`DeleteRecords v${v}`, async () => {
      await create(`vs-dr-${v}`);
      const res = await raw.request(DeleteRecords, v, { topics: [{ name: `vs-dr-${v}`, partitions: [{ partitionIndex: 0, offset: -1n }] }], timeoutMs: 5000 });
      assert.deepEqual(
        res.topics![0]!.partitions!.map((p) => [p.lowWatermark, p.errorCode]),
        [[0n, ErrorCode.NONE]],
      );
    });
  }
});
