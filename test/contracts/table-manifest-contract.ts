/**
 * The behaviour every TableManifestStore backend must share (core/metadata/table-manifest.ts):
 * the exactly-once commit of table files by offset range, merges as atomic swaps, and snapshots.
 * Each backend's test file calls tableManifestContract with a factory for a fresh, empty store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import type { TableFile, TableManifestStore } from '../../core/metadata/table-manifest.js';

export type TableManifestFactory = () => Promise<{ store: TableManifestStore; cleanup: () => Promise<void>; reopen?: () => Promise<TableManifestStore> }>;

export function dataFile(partition: number, first: number, last: number, extra: Partial<TableFile> = {}): TableFile {
  return {
    key: `tables/t/date=2025-01-01/hour=00/${partition}-${first}-${last}.parquet`,
    kind: 'data',
    format: 'parquet',
    partition,
    firstOffset: first,
    lastOffset: last,
    rowCount: last - first + 1,
    sizeBytes: 1000 * (last - first + 1),
    minTimestampMs: 1_700_000_000_000,
    maxTimestampMs: 1_700_000_000_999,
    schema: '{"columns":[]}',
    ...extra,
  };
}

const TOPIC_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const invalid = (e: unknown): boolean => isWeirError(e, 'invalid_argument');

export function tableManifestContract(name: string, make: TableManifestFactory): void {
  const withStore = async (fn: (store: TableManifestStore, reopen?: () => Promise<TableManifestStore>) => Promise<void>): Promise<void> => {
    const { store, cleanup, reopen } = await make();
    try {
      await fn(store, reopen);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`TableManifestStore contract: ${name}`, () => {
    it('has no table until the first commit creates it', () =>
      withStore(async (store) => {
        assert.equal(await store.getTable('t'), null);
        assert.deepEqual(await store.listTables(), []);
        const f = dataFile(0, 0, 9);
        assert.deepEqual(await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 10, files: [f] }), { ok: true });
        const t = (await store.getTable('t'))!;
        assert.equal(t.topicId, TOPIC_ID);
        assert.deepEqual([...t.nextOffsets], [[0, 10]]);
        assert.equal(t.files.length, 1);
        const { seq, committedAtMs, ...rest } = t.files[0]!;
        assert.deepEqual(rest, f);
        assert.ok(seq > 0 && committedAtMs > 0);
        assert.deepEqual(await store.listTables(), ['t']);
      }));

    it('commits a range only from the partition\'s current next offset: a second writer of the same range gets a conflict and changes nothing', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.commitAppend('t', { topicId: TOPIC_ID, partition: 1, fromOffset: 5, nextOffset: 10, files: [dataFile(1, 5, 9)] }), { ok: true });
        // Same range again (a restarted connector racing a zombie): refused.
        assert.deepEqual(await store.commitAppend('t', { topicId: TOPIC_ID, partition: 1, fromOffset: 5, nextOffset: 12, files: [dataFile(1, 5, 11)] }), {
          ok: false,
          reason: 'offset_mismatch',
          nextOffset: 10,
        });
        // A gap is refused too.
        assert.equal((await store.commitAppend('t', { topicId: TOPIC_ID, partition: 1, fromOffset: 11, nextOffset: 12, files: [] })).ok, false);
        assert.deepEqual(await store.commitAppend('t', { topicId: TOPIC_ID, partition: 1, fromOffset: 10, nextOffset: 20, files: [dataFile(1, 10, 19)] }), { ok: true });
        // Partitions are independent.
        assert.deepEqual(await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 3, files: [] }), { ok: true });
        const t = (await store.getTable('t'))!;
        assert.deepEqual([...t.nextOffsets], [[0, 3], [1, 20]]);
        assert.deepEqual(t.files.map((f) => f.key), [dataFile(1, 5, 9).key, dataFile(1, 10, 19).key]);
        assert.ok(t.files[0]!.seq < t.files[1]!.seq);
      }));

    it('only one of many concurrent writers of a range commits', () =>
      withStore(async (store) => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 10 + i, files: [dataFile(0, 0, 9 + i)] })),
        );
        assert.equal(results.filter((r) => r.ok).length, 1);
        const t = (await store.getTable('t'))!;
        assert.equal(t.files.length, 1);
        assert.equal(t.nextOffsets.get(0), t.files[0]!.lastOffset + 1);
      }));

    it('refuses commits from another incarnation of the topic', () =>
      withStore(async (store) => {
        await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 1, files: [] });
        const other = 'aaaaaaaa-0b0a-4908-8706-050403020100';
        assert.deepEqual(await store.commitAppend('t', { topicId: other, partition: 0, fromOffset: 1, nextOffset: 2, files: [] }), {
          ok: false,
          reason: 'topic_id_mismatch',
          topicId: TOPIC_ID,
        });
      }));

    it('keeps a data file and a dead-letter file of one range together', () =>
      withStore(async (store) => {
        const dead: TableFile = { ...dataFile(0, 0, 9), key: 'tables/t/_dead-letter/0-0-9.jsonl', kind: 'dead-letter', format: 'jsonl', rowCount: 1, minTimestampMs: null, maxTimestampMs: null };
        await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 10, files: [dataFile(0, 0, 9, { rowCount: 9 }), dead] });
        const t = (await store.getTable('t'))!;
        assert.deepEqual(t.files.map((f) => [f.kind, f.rowCount, f.minTimestampMs]), [['data', 9, 1_700_000_000_000], ['dead-letter', 1, null]]);
      }));

    it('refuses malformed commits before writing anything', () =>
      withStore(async (store) => {
        await assert.rejects(store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 5, nextOffset: 5, files: [] }), invalid);
        await assert.rejects(store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 5, files: [dataFile(0, 0, 5)] }), invalid);
        await assert.rejects(store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 5, files: [dataFile(1, 0, 4)] }), invalid);
        await assert.rejects(store.commitAppend('bad topic', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 5, files: [] }), invalid);
        await assert.rejects(store.commitAppend('t', { topicId: TOPIC_ID, partition: -1, fromOffset: 0, nextOffset: 5, files: [] }), invalid);
        assert.equal(await store.getTable('t'), null);
      }));

    it('swaps merged files atomically and keeps the old ones as retired until purged', () =>
      withStore(async (store) => {
        for (const [a, b] of [[0, 9], [10, 19], [20, 29]] as const) {
          await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: a, nextOffset: b + 1, files: [dataFile(0, a, b)] });
        }
        const merged = dataFile(0, 0, 19);
        assert.equal(await store.commitMerge('t', { remove: [dataFile(0, 0, 9).key, dataFile(0, 10, 19).key], add: merged }), true);
        let t = (await store.getTable('t'))!;
        assert.deepEqual(t.files.map((f) => f.key).sort(), [merged.key, dataFile(0, 20, 29).key].sort());
        assert.deepEqual(t.retired.map((r) => r.key).sort(), [dataFile(0, 0, 9).key, dataFile(0, 10, 19).key].sort());
        assert.equal(t.nextOffsets.get(0), 30);
        // A second merge of files already swapped out changes nothing.
        assert.equal(await store.commitMerge('t', { remove: [dataFile(0, 0, 9).key, dataFile(0, 20, 29).key], add: dataFile(0, 0, 29) }), false);
        t = (await store.getTable('t'))!;
        assert.equal(t.files.length, 2);
        await store.purgeRetired('t', [dataFile(0, 0, 9).key, 'tables/t/unknown.parquet']);
        t = (await store.getTable('t'))!;
        assert.deepEqual(t.retired.map((r) => r.key), [dataFile(0, 10, 19).key]);
        assert.equal(await store.commitMerge('nothing', { remove: ['x'], add: merged }), false);
      }));

    it('drops a table and returns every file to delete', () =>
      withStore(async (store) => {
        await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 10, files: [dataFile(0, 0, 9)] });
        await store.commitAppend('t', { topicId: TOPIC_ID, partition: 0, fromOffset: 10, nextOffset: 20, files: [dataFile(0, 10, 19)] });
        await store.commitMerge('t', { remove: [dataFile(0, 0, 9).key, dataFile(0, 10, 19).key], add: dataFile(0, 0, 19) });
        await store.commitAppend('u', { topicId: TOPIC_ID, partition: 0, fromOffset: 0, nextOffset: 1, files: [] });
        const keys = await store.dropTable('t');
        assert.deepEqual(keys.sort(), [dataFile(0, 0, 9).key, dataFile(0, 10, 19).key, dataFile(0, 0, 19).key].sort());
        assert.equal(await store.getTable('t'), null);
        assert.deepEqual(await store.listTables(), ['u']);
        // A dropped table starts over, also under a new topic id.
        assert.deepEqual(await store.commitAppend('t', { topicId: 'bbbbbbbb-0b0a-4908-8706-050403020100', partition: 0, fromOffset: 0, nextOffset: 1, files: [] }), { ok: true });
      }));

    it('survives close and reopen', () =>
      withStore(async (store, reopen) => {
        if (reopen === undefined) return;
        await store.commitAppend('t', { topicId: TOPIC_ID, partition: 2, fromOffset: 100, nextOffset: 110, files: [dataFile(2, 100, 109)] });
        await store.close();
        const again = await reopen();
        try {
          const t = (await again.getTable('t'))!;
          assert.equal(t.nextOffsets.get(2), 110);
          assert.equal(t.files[0]!.key, dataFile(2, 100, 109).key);
        } finally {
          await again.close();
        }
      }));
  });
}
