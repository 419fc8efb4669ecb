/**
 * The behaviour every MetadataStore backend must share. Each backend's test file calls
 * metadataStoreContract with a factory; a fresh, empty store is made for every test.
 * Persistence across close/reopen is backend-specific and tested by each backend itself.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWeirError, type ErrorKind } from '../../core/errors.js';
import type { CommitChunk, CommitResult, MetadataStore, TopicInfo } from '../../core/metadata/metadata-store.js';
import { flushObjectKey } from '../../core/storage/paths.js';
import { mirrorCommitContract } from './mirror-commit-contract.js';

export type MetadataStoreFactory = () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const kind = (k: ErrorKind) => (e: unknown): boolean => isWeirError(e, k);

/** One chunk of `topic`'s partition; the byte range defaults to something plausible. */
export function chunk(topic: TopicInfo, partition: number, offsetCount: number, maxTimestamp = 1000, byteStart = 0, byteLength = 100): CommitChunk {
  return { topic: topic.name, topicId: topic.id, partition, offsetCount, maxTimestamp, byteStart, byteLength };
}

/** Registers a fresh object and commits the chunks in it, as the agent's flusher does. */
export async function commit(store: MetadataStore, chunks: CommitChunk[], objectSizeBytes = 1_000_000): Promise<{ key: string; results: CommitResult[] }> {
  const key = flushObjectKey('contract');
  await store.registerPendingObject(key);
  return { key, results: await store.commitFlush(key, objectSizeBytes, chunks) };
}

function baseOffsets(results: CommitResult[]): (number | string)[] {
  return results.map((r) => (r.ok ? r.baseOffset : r.error));
}

export function metadataStoreContract(name: string, make: MetadataStoreFactory): void {
  const withStore = async (fn: (store: MetadataStore) => Promise<void>): Promise<void> => {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`MetadataStore contract: ${name}`, () => {
    describe('cluster', () => {
      it('has a stable Kafka-style cluster id', () =>
        withStore(async (store) => {
          const id = await store.clusterId();
          assert.match(id, /^[A-Za-z0-9_-]{22}$/);
          assert.equal(await store.clusterId(), id);
        }));
    });

    describe('topics', () => {
      it('creates, gets and lists topics', () =>
        withStore(async (store) => {
          const before = Date.now();
          const t = await store.createTopic('orders', 3, { 'retention.ms': '1000' });
          assert.equal(t.name, 'orders');
          assert.match(t.id, uuidPattern);
          assert.equal(t.partitions, 3);
          assert.deepEqual(t.configs, { 'retention.ms': '1000' });
          assert.ok(t.createdAtMs >= before - 1000 && t.createdAtMs <= Date.now() + 1000);
          assert.deepEqual(await store.getTopic('orders'), t);
          await store.createTopic('a-first', 1, {});
          assert.deepEqual((await store.listTopics()).map((x) => x.name), ['a-first', 'orders']);
          assert.equal(await store.getTopic('nope'), null);
          for (let p = 0; p < 3; p++) assert.deepEqual(await store.getPartitionState('orders', p), { logStartOffset: 0, highWatermark: 0 });
          assert.equal(await store.getPartitionState('orders', 3), null);
          assert.equal(await store.getPartitionState('orders', -1), null);
          assert.equal(await store.getPartitionState('nope', 0), null);
        }));

      it('rejects duplicate names, bad names and bad partition counts', () =>
        withStore(async (store) => {
          await store.createTopic('dup', 1, {});
          await assert.rejects(store.createTopic('dup', 2, {}), kind('already_exists'));
          for (const bad of ['', '.', '..', 'a/b', 'has space', 'ünï', 'x'.repeat(250), 'semi;colon']) {
            await assert.rejects(store.createTopic(bad, 1, {}), kind('invalid_argument'), JSON.stringify(bad));
          }
          for (const partitions of [0, -1, 1.5, Number.NaN]) {
            await assert.rejects(store.createTopic('p', partitions, {}), kind('invalid_argument'), String(partitions));
          }
          assert.equal(await store.getTopic('p'), null);
          for (const good of ['x'.repeat(249), 'a.b_c-D9', '...', '_']) await store.createTopic(good, 1, {});
          assert.equal((await store.listTopics()).length, 5);
        }));

      it('returns copies: mutating inputs or results does not change the store', () =>
        withStore(async (store) => {
          const configs: Record<string, string> = { a: '1' };
          const t = await store.createTopic('t', 1, configs);
          configs['a'] = 'changed';
          t.configs['b'] = '2';
          assert.deepEqual((await store.getTopic('t'))!.configs, { a: '1' });
        }));

      it('deletes topics; a re-created topic gets a new id and an empty log', () =>
        withStore(async (store) => {
          const old = await store.createTopic('t', 2, { x: 'y' });
          await commit(store, [chunk(old, 0, 5)]);
          await store.deleteTopic('t');
          assert.equal(await store.getTopic('t'), null);
          assert.deepEqual(await store.listTopics(), []);
          assert.equal(await store.getPartitionState('t', 0), null);
          await assert.rejects(store.deleteTopic('t'), kind('not_found'));
          await assert.rejects(store.readIndex('t', 0, 0, 10), kind('not_found'));
          const fresh = await store.createTopic('t', 1, {});
          assert.notEqual(fresh.id, old.id);
          assert.deepEqual(fresh.configs, {});
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 0 });
          assert.deepEqual(await store.readIndex('t', 0, 0, 10), []);
          const { results } = await commit(store, [chunk(fresh, 0, 3)]);
          assert.deepEqual(baseOffsets(results), [0]);
        }));

      it('replaces and incrementally alters configs', () =>
        withStore(async (store) => {
          await store.createTopic('t', 1, { a: '1', b: '2' });
          let t = await store.setTopicConfigs('t', { c: '3', a: null }, 'replace');
          assert.deepEqual(t.configs, { c: '3' });
          t = await store.setTopicConfigs('t', { d: '4', c: null, nope: null }, 'incremental');
          assert.deepEqual(t.configs, { d: '4' });
          t = await store.setTopicConfigs('t', { d: '5', e: '6' }, 'incremental');
          assert.deepEqual(t.configs, { d: '5', e: '6' });
          assert.deepEqual((await store.getTopic('t'))!.configs, { d: '5', e: '6' });
          t = await store.setTopicConfigs('t', {}, 'replace');
          assert.deepEqual(t.configs, {});
          assert.equal(t.partitions, 1);
          await assert.rejects(store.setTopicConfigs('nope', { a: '1' }, 'incremental'), kind('not_found'));
        }));

      it('grows partitions, never shrinks', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 2, {});
          const grown = await store.createPartitions('t', 5);
          assert.equal(grown.partitions, 5);
          assert.equal(grown.id, t.id);
          assert.equal((await store.getTopic('t'))!.partitions, 5);
          assert.deepEqual(await store.getPartitionState('t', 4), { logStartOffset: 0, highWatermark: 0 });
          await assert.rejects(store.createPartitions('t', 5), kind('invalid_argument'));
          await assert.rejects(store.createPartitions('t', 3), kind('invalid_argument'));
          await assert.rejects(store.createPartitions('t', 0), kind('invalid_argument'));
          await assert.rejects(store.createPartitions('nope', 3), kind('not_found'));
          const { results } = await commit(store, [chunk(grown, 4, 2)]);
          assert.deepEqual(baseOffsets(results), [0]);
        }));
    });

    describe('commitFlush', () => {
      it('assigns contiguous offsets per partition across commits and chunks', () =>
        withStore(async (store) => {
          const a = await store.createTopic('a', 2, {});
          const b = await store.createTopic('b', 1, {});
          const first = await commit(store, [chunk(a, 0, 3), chunk(b, 0, 10), chunk(a, 1, 1)]);
          assert.deepEqual(first.results, [
            { ok: true, topic: 'a', partition: 0, baseOffset: 0, logStartOffset: 0 },
            { ok: true, topic: 'b', partition: 0, baseOffset: 0, logStartOffset: 0 },
            { ok: true, topic: 'a', partition: 1, baseOffset: 0, logStartOffset: 0 },
          ]);
          // Several chunks for one partition in one flush take consecutive offsets in order.
          const second = await commit(store, [chunk(a, 0, 2, 1000, 0, 10), chunk(b, 0, 1), chunk(a, 0, 4, 1000, 10, 20), chunk(a, 0, 1, 1000, 30, 5)]);
          assert.deepEqual(baseOffsets(second.results), [3, 10, 5, 9]);
          assert.deepEqual(await store.getPartitionState('a', 0), { logStartOffset: 0, highWatermark: 10 });
          assert.deepEqual(await store.getPartitionState('a', 1), { logStartOffset: 0, highWatermark: 1 });
          assert.deepEqual(await store.getPartitionState('b', 0), { logStartOffset: 0, highWatermark: 11 });
          const index = await store.readIndex('a', 0, 0, 100);
          assert.deepEqual(index, [
            { baseOffset: 0, lastOffset: 2, maxTimestamp: 1000, objectKey: first.key, byteStart: 0, byteLength: 100 },
            { baseOffset: 3, lastOffset: 4, maxTimestamp: 1000, objectKey: second.key, byteStart: 0, byteLength: 10 },
            { baseOffset: 5, lastOffset: 8, maxTimestamp: 1000, objectKey: second.key, byteStart: 10, byteLength: 20 },
            { baseOffset: 9, lastOffset: 9, maxTimestamp: 1000, objectKey: second.key, byteStart: 30, byteLength: 5 },
          ]);
        }));

      it('fails only the chunks whose topic or partition is gone; the others commit', () =>
        withStore(async (store) => {
          const stale = await store.createTopic('t', 2, {});
          const other = await store.createTopic('other', 1, {});
          await store.deleteTopic('t');
          const fresh = await store.createTopic('t', 1, {});
          const { results } = await commit(store, [
            chunk(stale, 0, 5), // deleted and re-created: stale id
            chunk(other, 0, 2),
            chunk(fresh, 0, 3),
            chunk(fresh, 1, 1), // beyond the partition count
            { ...chunk(other, 0, 1), topic: 'ghost' }, // no such topic
            chunk(other, 0, 4),
            chunk(stale, 0, 7),
          ]);
          assert.deepEqual(baseOffsets(results), [
            'unknown_topic_or_partition',
            0,
            0,
            'unknown_topic_or_partition',
            'unknown_topic_or_partition',
            2,
            'unknown_topic_or_partition',
          ]);
          assert.deepEqual(results[0], { ok: false, topic: 't', partition: 0, error: 'unknown_topic_or_partition' });
          assert.deepEqual(results[4], { ok: false, topic: 'ghost', partition: 0, error: 'unknown_topic_or_partition' });
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 3 });
          assert.deepEqual(await store.getPartitionState('other', 0), { logStartOffset: 0, highWatermark: 6 });
          assert.deepEqual((await store.readIndex('t', 0, 0, 10)).map((e) => [e.baseOffset, e.lastOffset]), [[0, 2]]);
        }));

      it('commits a flush in which every chunk fails', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { results } = await commit(store, [chunk(t, 5, 1), { ...chunk(t, 0, 1), topicId: randomUUID() }]);
          assert.deepEqual(baseOffsets(results), ['unknown_topic_or_partition', 'unknown_topic_or_partition']);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 0 });
        }));

      it('commits only pending objects: registered, and not yet committed', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          await assert.rejects(store.commitFlush(flushObjectKey('x'), 100, [chunk(t, 0, 1)]), kind('not_found'));
          const key = flushObjectKey('x');
          await store.registerPendingObject(key);
          await store.registerPendingObject(key); // idempotent while pending
          assert.deepEqual(baseOffsets(await store.commitFlush(key, 100, [chunk(t, 0, 1)])), [0]);
          await assert.rejects(store.commitFlush(key, 100, [chunk(t, 0, 1)]), kind('already_exists'));
          await assert.rejects(store.registerPendingObject(key), kind('already_exists'));
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 1 });
        }));

      it('rejects a malformed flush as a whole, committing nothing', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const key = flushObjectKey('x');
          await store.registerPendingObject(key);
          for (const bad of [
            chunk(t, 0, 0),
            chunk(t, 0, -1),
            chunk(t, 0, 1.5),
            chunk(t, 0, 1, 1000, -1, 10),
            chunk(t, 0, 1, 1000, 0, -1),
            chunk(t, 0, 1, 1000, 90, 20), // ends past the object's 100 bytes
            chunk(t, -1, 1),
            chunk(t, 0, 1, 1.5),
          ]) {
            await assert.rejects(store.commitFlush(key, 100, [chunk(t, 0, 1), bad]), kind('invalid_argument'), JSON.stringify(bad));
          }
          await assert.rejects(store.commitFlush(key, -1, []), kind('invalid_argument'));
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 0 });
          // The object is still pending and can be committed properly.
          assert.deepEqual(baseOffsets(await store.commitFlush(key, 100, [chunk(t, 0, 1)])), [0]);
        }));

      it('keeps offsets disjoint under concurrent commits', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 2, {});
          const flushes = await Promise.all(Array.from({ length: 25 }, (_, i) => commit(store, [chunk(t, 0, i + 1), chunk(t, 1, 1)])));
          const ranges = flushes
            .map((f, i) => {
              const r = f.results[0]!;
              assert.ok(r.ok);
              return [r.baseOffset, r.baseOffset + i];
            })
            .sort((x, y) => x[0]! - y[0]!);
          let next = 0;
          for (const [base, last] of ranges) {
            assert.equal(base, next);
            next = last! + 1;
          }
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: next });
          assert.deepEqual(await store.getPartitionState('t', 1), { logStartOffset: 0, highWatermark: 25 });
        }));
    });

    describe('readIndex', () => {
      /** Ten entries of 10 offsets each: [0..9], [10..19], ... [90..99]. */
      const tenEntries = async (store: MetadataStore): Promise<TopicInfo> => {
        const t = await store.createTopic('t', 1, {});
        for (let i = 0; i < 10; i++) await commit(store, [chunk(t, 0, 10, 1000 + i, i * 10, 10)]);
        return t;
      };

      it('returns the entry holding fromOffset, then the following ones, up to maxEntries', () =>
        withStore(async (store) => {
          await tenEntries(store);
          const bases = async (from: number, max: number): Promise<number[]> => (await store.readIndex('t', 0, from, max)).map((e) => e.baseOffset);
          assert.deepEqual(await bases(0, 3), [0, 10, 20]);
          assert.deepEqual(await bases(15, 2), [10, 20]);
          assert.deepEqual(await bases(19, 1), [10]);
          assert.deepEqual(await bases(20, 1), [20]);
          assert.deepEqual(await bases(95, 10), [90]);
          assert.deepEqual(await bases(99, 10), [90]);
          assert.deepEqual(await bases(100, 10), []);
          assert.deepEqual(await bases(5000, 10), []);
          assert.deepEqual(await bases(55, 0), []);
          assert.deepEqual(await bases(0, 1000), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
          const [entry] = await store.readIndex('t', 0, 42, 1);
          assert.deepEqual({ ...entry, objectKey: typeof entry!.objectKey }, {
            baseOffset: 40,
            lastOffset: 49,
            maxTimestamp: 1004,
            objectKey: 'string',
            byteStart: 40,
            byteLength: 10,
          });
        }));

      it('rejects unknown partitions and malformed arguments', () =>
        withStore(async (store) => {
          await tenEntries(store);
          await assert.rejects(store.readIndex('t', 1, 0, 10), kind('not_found'));
          await assert.rejects(store.readIndex('nope', 0, 0, 10), kind('not_found'));
          await assert.rejects(store.readIndex('t', 0, -1, 10), kind('invalid_argument'));
          await assert.rejects(store.readIndex('t', 0, 0, -1), kind('invalid_argument'));
        }));
    });

    describe('timestamps', () => {
      /** Entries' max timestamps, one entry of 2 offsets each, in offset order. */
      const withTimestamps = async (store: MetadataStore, timestamps: number[]): Promise<void> => {
        const t = await store.createTopic('t', 1, {});
        for (const ts of timestamps) await commit(store, [chunk(t, 0, 2, ts)]);
      };
      const base = async (p: Promise<{ baseOffset: number } | null>): Promise<number | null> => (await p)?.baseOffset ?? null;

      it('finds the first entry in offset order whose max timestamp reaches the target', () =>
        withStore(async (store) => {
          await withTimestamps(store, [100, 300, 200, 300, 500, 400]);
          const find = (ts: number): Promise<number | null> => base(store.findByTimestamp('t', 0, ts));
          assert.equal(await find(0), 0);
          assert.equal(await find(100), 0);
          assert.equal(await find(101), 2);
          assert.equal(await find(200), 2); // not the later entry whose max is exactly 200
          assert.equal(await find(300), 2);
          assert.equal(await find(301), 8);
          assert.equal(await find(450), 8);
          assert.equal(await find(500), 8);
          assert.equal(await find(501), null);
          const entry = await store.findByTimestamp('t', 0, 250);
          assert.equal(entry!.maxTimestamp, 300);
          assert.equal(entry!.lastOffset, 3);
        }));

      it('finds the entry with the largest timestamp, the earliest on ties', () =>
        withStore(async (store) => {
          await withTimestamps(store, [100, 700, 200, 700, 500]);
          const entry = await store.findMaxTimestamp('t', 0);
          assert.equal(entry!.baseOffset, 2);
          assert.equal(entry!.maxTimestamp, 700);
        }));

      it('finds nothing in an empty partition and rejects unknown partitions', () =>
        withStore(async (store) => {
          await store.createTopic('t', 1, {});
          assert.equal(await store.findByTimestamp('t', 0, 0), null);
          assert.equal(await store.findMaxTimestamp('t', 0), null);
          await assert.rejects(store.findByTimestamp('t', 1, 0), kind('not_found'));
          await assert.rejects(store.findMaxTimestamp('nope', 0), kind('not_found'));
        }));

      it('ignores entries removed by deleteRecords, even ones holding larger timestamps', () =>
        withStore(async (store) => {
          // Offsets: [0,1]=900 [2,3]=100 [4,5]=300 [6,7]=200 [8,9]=300
          await withTimestamps(store, [900, 100, 300, 200, 300]);
          assert.equal(await base(store.findByTimestamp('t', 0, 250)), 0);
          assert.equal(await base(store.findMaxTimestamp('t', 0)), 0);
          await store.deleteRecords('t', 0, 3); // drops [0,1]; [2,3] straddles the new log start
          assert.equal(await base(store.findByTimestamp('t', 0, 50)), 2);
          assert.equal(await base(store.findByTimestamp('t', 0, 250)), 4);
          assert.equal(await base(store.findByTimestamp('t', 0, 301)), null);
          assert.equal(await base(store.findByTimestamp('t', 0, 900)), null);
          const max = await store.findMaxTimestamp('t', 0);
          assert.equal(max!.baseOffset, 4);
          assert.equal(max!.maxTimestamp, 300);
          await store.deleteRecords('t', 0, 10);
          assert.equal(await store.findByTimestamp('t', 0, 0), null);
          assert.equal(await store.findMaxTimestamp('t', 0), null);
        }));
    });

    describe('deleteRecords', () => {
      it('moves the log start forward only, and drops index entries wholly below it', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 2, {});
          for (let i = 0; i < 5; i++) await commit(store, [chunk(t, 0, 10)]); // [0..9] ... [40..49]
          assert.equal(await store.deleteRecords('t', 0, 15), 15);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 15, highWatermark: 50 });
          // The straddling entry stays; reads from before the log start begin with it.
          assert.deepEqual((await store.readIndex('t', 0, 0, 10)).map((e) => e.baseOffset), [10, 20, 30, 40]);
          assert.deepEqual((await store.readIndex('t', 0, 12, 1)).map((e) => e.baseOffset), [10]);
          assert.equal(await store.deleteRecords('t', 0, 5), 15); // never back
          assert.equal(await store.deleteRecords('t', 0, 15), 15);
          assert.equal(await store.deleteRecords('t', 0, 20), 20);
          assert.deepEqual((await store.readIndex('t', 0, 0, 10)).map((e) => e.baseOffset), [20, 30, 40]);
          await assert.rejects(store.deleteRecords('t', 0, 51), kind('offset_out_of_range'));
          await assert.rejects(store.deleteRecords('t', 0, -1), kind('invalid_argument'));
          await assert.rejects(store.deleteRecords('t', 2, 0), kind('not_found'));
          await assert.rejects(store.deleteRecords('nope', 0, 0), kind('not_found'));
          assert.equal(await store.deleteRecords('t', 1, 0), 0); // empty partition, offset 0 = high watermark
          // Up to the high watermark: the partition's index empties, and new commits continue after it.
          assert.equal(await store.deleteRecords('t', 0, 50), 50);
          assert.deepEqual(await store.readIndex('t', 0, 0, 10), []);
          const { results } = await commit(store, [chunk(t, 0, 3)]);
          assert.deepEqual(results, [{ ok: true, topic: 't', partition: 0, baseOffset: 50, logStartOffset: 50 }]);
          assert.deepEqual((await store.readIndex('t', 0, 0, 10)).map((e) => e.baseOffset), [50]);
          assert.deepEqual(await store.getPartitionState('t', 1), { logStartOffset: 0, highWatermark: 0 });
        }));
    });

    // Mirror topics and commits at given offsets (connectors/mirror/).
    mirrorCommitContract(withStore);

    describe('lifecycle', () => {
      it('closes idempotently and fails calls after close', async () => {
        const { store, cleanup } = await make();
        try {
          await store.createTopic('t', 1, {});
          await store.close();
          await store.close();
          await assert.rejects(store.getTopic('t'), (e) => isWeirError(e));
        } finally {
          await cleanup();
        }
      });
    });
  });
}
