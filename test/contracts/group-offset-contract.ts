/**
 * The behaviour every GroupOffsetStore backend must share (committed offsets of consumer groups).
 * It runs against a whole MetadataStore because offsets belong to topics: a backend's test file
 * calls groupOffsetContract with the same kind of factory as metadataStoreContract. Persistence
 * across close/reopen is backend-specific and tested by each backend itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import type { OffsetCommitEntry } from '../../core/metadata/group-offset-store.js';
import type { MetadataStore } from '../../core/metadata/metadata-store.js';
import type { MetadataStoreFactory } from './metadata-store-contract.js';

/** A commit entry with the fields a test does not care about filled in. */
export function entry(topic: string, partition: number, offset: number, extra: Partial<OffsetCommitEntry> = {}): OffsetCommitEntry {
  return { topic, partition, offset, leaderEpoch: -1, metadata: null, commitTimestampMs: 1_700_000_000_000, ...extra };
}

const invalidArgument = (e: unknown): boolean => isWeirError(e, 'invalid_argument');

export function groupOffsetContract(name: string, make: MetadataStoreFactory): void {
  const withStore = async (fn: (store: MetadataStore) => Promise<void>): Promise<void> => {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`GroupOffsetStore contract: ${name}`, () => {
    it('stores offsets with their leader epoch, metadata and timestamp, and returns them as committed', () =>
      withStore(async (store) => {
        await store.createTopic('orders', 3, {});
        const a = entry('orders', 0, 42, { leaderEpoch: 7, metadata: 'consumer-1 ✓', commitTimestampMs: 1_700_000_000_123 });
        const b = entry('orders', 2, 0, { metadata: '' });
        assert.deepEqual(await store.commitOffsets('g', [a, b]), ['ok', 'ok']);
        assert.deepEqual(await store.fetchOffsets('g', null), [a, b]);
        assert.deepEqual(await store.fetchOffsets('g', [{ topic: 'orders', partition: 2 }]), [b]);
        // Null metadata stays null, the empty string stays empty: clients can tell them apart.
        assert.equal((await store.fetchOffsets('g', [{ topic: 'orders', partition: 0 }]))[0]!.metadata, 'consumer-1 ✓');
      }));

    it('replaces a partition\'s earlier commit, also backwards, and the last entry of one commit wins', () =>
      withStore(async (store) => {
        await store.createTopic('t', 1, {});
        await store.commitOffsets('g', [entry('t', 0, 100, { metadata: 'first' })]);
        await store.commitOffsets('g', [entry('t', 0, 5, { metadata: 'second' })]);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => [o.offset, o.metadata]), [[5, 'second']]);
        await store.commitOffsets('g', [entry('t', 0, 7), entry('t', 0, 9)]);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => o.offset), [9]);
      }));

    it('leaves out partitions without a commit or that do not exist, and sorts by topic then partition', () =>
      withStore(async (store) => {
        await store.createTopic('b-topic', 3, {});
        await store.createTopic('a-topic', 2, {});
        await store.commitOffsets('g', [entry('b-topic', 2, 1), entry('a-topic', 1, 2), entry('b-topic', 0, 3)]);
        const got = await store.fetchOffsets('g', [
          { topic: 'b-topic', partition: 2 },
          { topic: 'b-topic', partition: 1 }, // no commit
          { topic: 'nope', partition: 0 }, // no topic
          { topic: 'a-topic', partition: 9 }, // no partition
          { topic: 'a-topic', partition: 1 },
          { topic: 'b-topic', partition: 2 }, // asked twice, returned once
        ]);
        assert.deepEqual(got.map((o) => [o.topic, o.partition, o.offset]), [['a-topic', 1, 2], ['b-topic', 2, 1]]);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => `${o.topic}-${o.partition}`), ['a-topic-1', 'b-topic-0', 'b-topic-2']);
        assert.deepEqual(await store.fetchOffsets('g', []), []);
        assert.deepEqual(await store.fetchOffsets('other', null), []);
      }));

    it('refuses entries of unknown topics or partitions one by one and commits the rest', () =>
      withStore(async (store) => {
        await store.createTopic('t', 2, {});
        const results = await store.commitOffsets('g', [entry('t', 0, 1), entry('missing', 0, 1), entry('t', 2, 1), entry('t', 1, 4)]);
        assert.deepEqual(results, ['ok', 'unknown_topic_or_partition', 'unknown_topic_or_partition', 'ok']);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => [o.partition, o.offset]), [[0, 1], [1, 4]]);
      }));

    it('refuses a malformed entry by failing the whole commit', () =>
      withStore(async (store) => {
        await store.createTopic('t', 2, {});
        await assert.rejects(store.commitOffsets('g', [entry('t', 0, 1), entry('t', 1, 1.5)]), invalidArgument);
        await assert.rejects(store.commitOffsets('g', [entry('t', 0, 1), entry('t', -1, 1)]), invalidArgument);
        await assert.rejects(store.commitOffsets('g', [entry('t', 0, 1, { leaderEpoch: -2 })]), invalidArgument);
        await assert.rejects(store.commitOffsets('g', [entry('t', 0, 1, { commitTimestampMs: Number.NaN })]), invalidArgument);
        assert.deepEqual(await store.fetchOffsets('g', null), []);
        assert.deepEqual(await store.commitOffsets('g', []), []);
        assert.deepEqual(await store.listGroupsWithOffsets(), []);
      }));

    it('keeps groups apart, the empty group id included', () =>
      withStore(async (store) => {
        await store.createTopic('t', 1, {});
        await store.commitOffsets('g1', [entry('t', 0, 1)]);
        await store.commitOffsets('g2', [entry('t', 0, 2)]);
        await store.commitOffsets('', [entry('t', 0, 3)]);
        assert.deepEqual(await store.listGroupsWithOffsets(), ['', 'g1', 'g2']);
        for (const [g, offset] of [['g1', 1], ['g2', 2], ['', 3]] as const) {
          assert.deepEqual((await store.fetchOffsets(g, null)).map((o) => o.offset), [offset]);
        }
      }));

    it('deletes single partitions\' offsets and whole groups', () =>
      withStore(async (store) => {
        await store.createTopic('t', 3, {});
        await store.commitOffsets('g', [entry('t', 0, 1), entry('t', 1, 1), entry('t', 2, 1)]);
        await store.commitOffsets('h', [entry('t', 0, 9)]);
        assert.equal(await store.deleteOffsets('g', [{ topic: 't', partition: 1 }, { topic: 't', partition: 1 }, { topic: 'nope', partition: 0 }]), 1);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => o.partition), [0, 2]);
        assert.equal(await store.deleteOffsets('g', []), 0);
        assert.equal(await store.deleteGroup('g'), true);
        assert.equal(await store.deleteGroup('g'), false);
        assert.deepEqual(await store.fetchOffsets('g', null), []);
        assert.deepEqual(await store.listGroupsWithOffsets(), ['h']);
        // A group whose last offset is deleted is gone too.
        assert.equal(await store.deleteOffsets('h', [{ topic: 't', partition: 0 }]), 1);
        assert.deepEqual(await store.listGroupsWithOffsets(), []);
      }));

    it('deletes a topic\'s offsets with the topic, so a re-created topic of the same name starts with none', () =>
      withStore(async (store) => {
        await store.createTopic('gone', 2, {});
        await store.createTopic('kept', 1, {});
        await store.commitOffsets('g', [entry('gone', 0, 10), entry('gone', 1, 20), entry('kept', 0, 30)]);
        await store.commitOffsets('only-gone', [entry('gone', 0, 5)]);
        await store.deleteTopic('gone');
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => `${o.topic}-${o.partition}@${o.offset}`), ['kept-0@30']);
        assert.deepEqual(await store.listGroupsWithOffsets(), ['g']);
        await store.createTopic('gone', 2, {});
        assert.deepEqual(await store.fetchOffsets('g', [{ topic: 'gone', partition: 0 }]), []);
        assert.deepEqual(await store.fetchOffsets('only-gone', null), []);
      }));

    it('keeps offsets of partitions a topic grows to, and offsets below the log start', () =>
      withStore(async (store) => {
        await store.createTopic('t', 1, {});
        assert.deepEqual(await store.commitOffsets('g', [entry('t', 1, 1)]), ['unknown_topic_or_partition']);
        await store.createPartitions('t', 2);
        assert.deepEqual(await store.commitOffsets('g', [entry('t', 1, 1), entry('t', 0, 0)]), ['ok', 'ok']);
        await store.deleteRecords('t', 0, 0);
        assert.deepEqual((await store.fetchOffsets('g', null)).map((o) => o.offset), [0, 1]);
      }));

    it('rejects a group id or partition list of the wrong type', () =>
      withStore(async (store) => {
        await assert.rejects(store.fetchOffsets(42 as unknown as string, null), invalidArgument);
        await assert.rejects(store.fetchOffsets('g', [{ topic: 't', partition: -1 }]), invalidArgument);
        await assert.rejects(store.deleteOffsets('g', null as unknown as []), invalidArgument);
      }));
  });
}
