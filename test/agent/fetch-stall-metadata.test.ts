/**
 * A Fetch whose metadata lookups never come back (a metadata store that stopped answering): the
 * topic lookup and the partition state are bounded like object reads, so the Fetch answers with
 * KAFKA_STORAGE_ERROR (retriable) at the read bound instead of never, and the next Fetch after
 * the store recovers reads the records. Before the bound, the Fetch held its connection's
 * in-order response queue for as long as the store was stuck.
 *
 * The store wrapper is the one mock: SQLite answers synchronously, so a stuck metadata call can
 * only be made by holding its promise. Records are produced with kafkajs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Agent } from '../../agent/agent.js';
import { defaultAgentConfig } from '../../agent/config.js';
import type { MetadataStore } from '../../core/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { Fetch } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { RawClient } from '../helpers/raw-client.js';

const KAFKA_STORAGE_ERROR = 56;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Methods of the metadata store that, while named here, return a promise that never settles. */
const stalled = new Set<string>();
let stalledCalls = 0;

function stallable(inner: MetadataStore): MetadataStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && stalled.has(prop)) {
          stalledCalls++;
          return new Promise(() => undefined);
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function fetchBody(topic: string, offset: bigint) {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
    forgottenTopicsData: [], rackId: '',
  };
}

function answeredWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('Fetch when the metadata store stops answering', () => {
  let agent: Agent;
  let raw: RawClient;

  before(async () => {
    agent = new Agent(defaultAgentConfig({ host: '127.0.0.1', port: 0, logLevel: 'error', lingerMs: 2, autoCreateTopics: false }), {
      objects: new MemoryObjectStore(),
      metadata: stallable(new SqliteMetadataStore(':memory:')),
    });
    const { host, port } = await agent.start();
    const kafka = new Kafka({ clientId: 'fetch-stall', brokers: [`${host}:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'meta-stall', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'meta-stall', messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    await producer.disconnect();
    raw = await RawClient.connect(host, port);
  });
  after(async () => {
    stalled.clear();
    raw?.close();
    await agent?.stop();
  });

  for (const [what, methods, forget] of [
    ['topic lookup', ['getTopic', 'listTopics'], (a: Agent) => a.context.topics.forget('meta-stall')],
    ['partition state', ['getPartitionState'], (a: Agent) => a.context.partitionStates.invalidate('meta-stall')],
  ] as const) {
    it(`a stuck ${what} fails the partition with KAFKA_STORAGE_ERROR; after recovery the records are read`, async () => {
      // Both are cached for a second: forget them so this Fetch must ask the (stuck) store.
      forget(agent);
      const before = stalledCalls;
      for (const m of methods) stalled.add(m);
      const res = await answeredWithin(raw.request(Fetch, 12, fetchBody('meta-stall', 0n)), 60_000, `Fetch with ${what} stuck`);
      assert.ok(stalledCalls > before, 'the Fetch did reach the stuck store');
      assert.equal(res.responses![0]!.partitions![0]!.errorCode, KAFKA_STORAGE_ERROR);
      stalled.clear();
      const ok = await answeredWithin(raw.request(Fetch, 12, fetchBody('meta-stall', 0n)), 60_000, 'Fetch after the store recovered');
      const p = ok.responses![0]!.partitions![0]!;
      assert.equal(p.errorCode, 0);
      const bytes = Buffer.concat(([] as Buffer[]).concat((p.records as Buffer | Buffer[] | null) ?? []));
      assert.equal(scanBatches(bytes).reduce((n, b) => n + b.lastOffsetDelta + 1, 0), 5);
    });
  }
});
