/**
 * The mirror's part of the MetadataStore contract: mirror topics (TopicInfo.mirror,
 * setTopicMirror) and commits at given offsets (CommitChunk.runs), gaps kept, re-sends
 * acknowledged, conflicts refused. Called from metadataStoreContract, so every backend runs it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError, type ErrorKind } from '../../core/errors.js';
import type { CommitChunk, CommitResult, MetadataStore, MirrorState, OffsetRun, TopicInfo } from '../../core/metadata/metadata-store.js';
import { flushObjectKey } from '../../core/storage/paths.js';

const kind = (k: ErrorKind) => (e: unknown): boolean => isWeirError(e, k);
const MIRRORING: MirrorState = { state: 'mirroring', source: 'kafka-prod' };

/** A run of `count` offsets from `base`, `bytes` long (default: 10 bytes per offset). */
function run(base: number, count: number, maxTimestamp = 1000, bytes = count * 10): OffsetRun {
  return { baseOffset: base, offsetCount: count, byteLength: bytes, maxTimestamp };
}

/** A mirror chunk made of runs, laid out from byteStart. */
function mirrorChunk(topic: TopicInfo, partition: number, runs: OffsetRun[], byteStart = 0): CommitChunk {
  return {
    topic: topic.name,
    topicId: topic.id,
    partition,
    offsetCount: runs.reduce((n, r) => n + r.offsetCount, 0),
    maxTimestamp: runs.reduce((m, r) => Math.max(m, r.maxTimestamp), -1),
    byteStart,
    byteLength: runs.reduce((n, r) => n + r.byteLength, 0),
    runs,
  };
}

async function commit(store: MetadataStore, chunks: CommitChunk[]): Promise<{ key: string; results: CommitResult[] }> {
  const key = flushObjectKey('mirror-contract');
  await store.registerPendingObject(key);
  return { key, results: await store.commitFlush(key, 10_000_000, chunks) };
}

function okResult(r: CommitResult | undefined): Extract<CommitResult, { ok: true }> {
  assert.ok(r !== undefined && r.ok, `expected a committed chunk, got ${JSON.stringify(r)}`);
  return r;
}

export function mirrorCommitContract(withStore: (fn: (store: MetadataStore) => Promise<void>) => Promise<void>): void {
  describe('mirror topics', () => {
    it('creates a topic marked as a mirror in one step, promotes it and clears the mark', () =>
      withStore(async (store) => {
        const t = await store.createTopic('mirrored', 2, { 'cleanup.policy': 'compact' }, MIRRORING);
        assert.deepEqual(t.mirror, MIRRORING);
        assert.deepEqual(t.configs, { 'cleanup.policy': 'compact' });
        assert.deepEqual((await store.getTopic('mirrored'))?.mirror, MIRRORING);
        assert.deepEqual((await store.listTopics()).find((x) => x.name === 'mirrored')?.mirror, MIRRORING);
        const plain = await store.createTopic('plain', 1, {});
        assert.equal(plain.mirror, undefined);
        const promoted = await store.setTopicMirror('mirrored', { state: 'promoted', source: 'kafka-prod' });
        assert.deepEqual(promoted.mirror, { state: 'promoted', source: 'kafka-prod' });
        // Config changes leave the mark alone: it is not a config.
        const altered = await store.setTopicConfigs('mirrored', { 'retention.ms': '5' }, 'replace');
        assert.deepEqual(altered.mirror, { state: 'promoted', source: 'kafka-prod' });
        assert.equal((await store.setTopicMirror('mirrored', null)).mirror, undefined);
        assert.equal((await store.getTopic('mirrored'))?.mirror, undefined);
        await assert.rejects(store.setTopicMirror('nope', MIRRORING), kind('not_found'));
        await assert.rejects(store.setTopicMirror('plain', { state: 'other' as 'promoted', source: 'x' }), kind('invalid_argument'));
        await assert.rejects(store.setTopicMirror('plain', { state: 'mirroring', source: '' }), kind('invalid_argument'));
        await assert.rejects(store.createTopic('mirrored', 1, {}, MIRRORING), kind('already_exists'));
      }));
  });

  describe('commit at given offsets (mirror chunks)', () => {
    it('commits runs at their own offsets and keeps the gaps between them', () =>
      withStore(async (store) => {
        const t = await store.createTopic('m', 2, {}, MIRRORING);
        const first = await commit(store, [mirrorChunk(t, 0, [run(0, 10, 100), run(20, 5, 300)], 0), mirrorChunk(t, 1, [run(7, 3)], 150)]);
        const r0 = okResult(first.results[0]);
        assert.equal(r0.baseOffset, 0);
        assert.equal(r0.highWatermark, 25);
        assert.deepEqual(r0.runs, ['appended', 'appended']);
        assert.equal(okResult(first.results[1]).highWatermark, 10);
        const second = await commit(store, [mirrorChunk(t, 0, [run(30, 10, 200)], 40)]);
        assert.equal(okResult(second.results[0]).highWatermark, 40);
        assert.deepEqual(await store.getPartitionState('m', 0), { logStartOffset: 0, highWatermark: 40 });
        assert.deepEqual(await store.getPartitionState('m', 1), { logStartOffset: 0, highWatermark: 10 });

        const entries = await store.readIndex('m', 0, 0, 10);
        assert.deepEqual(
          entries.map((e) => [e.baseOffset, e.lastOffset, e.byteStart, e.byteLength, e.maxTimestamp, e.objectKey]),
          [
            [0, 9, 0, 100, 100, first.key],
            [20, 24, 100, 50, 300, first.key],
            [30, 39, 40, 100, 200, second.key],
          ],
        );
        // A read starting inside a gap starts at the next entry, as Kafka serves compacted logs.
        assert.deepEqual((await store.readIndex('m', 0, 12, 10)).map((e) => e.baseOffset), [20, 30]);
        assert.deepEqual((await store.readIndex('m', 0, 27, 10)).map((e) => e.baseOffset), [30]);
        assert.deepEqual((await store.readIndex('m', 1, 0, 10)).map((e) => [e.baseOffset, e.byteStart]), [[7, 150]]);
      }));

    it('acknowledges a re-sent write without storing it twice, and refuses overlaps that are not re-sends', () =>
      withStore(async (store) => {
        const t = await store.createTopic('m', 1, {}, MIRRORING);
        await commit(store, [mirrorChunk(t, 0, [run(0, 10), run(20, 5)])]);
        // The same batches again (an answer lost after the commit): acknowledged, nothing new.
        const again = await commit(store, [mirrorChunk(t, 0, [run(0, 10), run(20, 5), run(25, 5)])]);
        const r = okResult(again.results[0]);
        assert.deepEqual(r.runs, ['duplicate', 'duplicate', 'appended']);
        assert.equal(r.highWatermark, 30);
        assert.deepEqual((await store.readIndex('m', 0, 0, 10)).map((e) => [e.baseOffset, e.lastOffset]), [[0, 9], [20, 24], [25, 29]]);

        // Straddling the high watermark, or starting or ending in a committed gap: the chunk fails
        // alone and changes nothing.
        const other = await store.createTopic('other', 1, {}, MIRRORING);
        for (const bad of [[run(28, 5)], [run(12, 3)], [run(5, 10)]]) {
          const { results } = await commit(store, [mirrorChunk(t, 0, bad), mirrorChunk(other, 0, [run(0, 1)])]);
          const failed = results[0]!;
          assert.ok(!failed.ok && failed.error === 'offset_conflict', `${JSON.stringify(bad)} conflicts: ${JSON.stringify(failed)}`);
          assert.match(failed.message ?? '', /overlap/);
          assert.equal(results[1]!.ok, true, 'the other chunk of the flush still commits');
        }
        // Chunks of one partition in one flush follow each other; a conflicting one fails alone.
        const { results } = await commit(store, [mirrorChunk(t, 0, [run(30, 2), run(32, 1)])]);
        assert.deepEqual(okResult(results[0]).runs, ['appended', 'appended']);
        const partial = await commit(store, [mirrorChunk(t, 0, [run(40, 2), run(42, 1)]), mirrorChunk(t, 0, [run(20, 5), run(36, 2)])]);
        assert.equal(partial.results[0]!.ok, true);
        const conflict = partial.results[1]!;
        assert.ok(!conflict.ok && conflict.error === 'offset_conflict', JSON.stringify(conflict));
        assert.deepEqual(await store.getPartitionState('m', 0), { logStartOffset: 0, highWatermark: 43 });
        assert.deepEqual((await store.readIndex('m', 0, 33, 10)).map((e) => e.baseOffset), [40, 42]);
      }));

    it('treats runs below the log start as already committed', () =>
      withStore(async (store) => {
        const t = await store.createTopic('m', 1, {}, MIRRORING);
        await commit(store, [mirrorChunk(t, 0, [run(0, 10), run(10, 10)])]);
        assert.equal(await store.deleteRecords('m', 0, 15), 15);
        const { results } = await commit(store, [mirrorChunk(t, 0, [run(0, 10), run(10, 10), run(50, 1)])]);
        assert.deepEqual(okResult(results[0]).runs, ['duplicate', 'duplicate', 'appended']);
        assert.deepEqual(await store.getPartitionState('m', 0), { logStartOffset: 15, highWatermark: 51 });
      }));

    it('refuses mirror writes to ordinary and promoted topics', () =>
      withStore(async (store) => {
        const plain = await store.createTopic('plain', 1, {});
        const m = await store.createTopic('m', 1, {}, MIRRORING);
        await store.setTopicMirror('m', { state: 'promoted', source: MIRRORING.source });
        const { results } = await commit(store, [mirrorChunk(plain, 0, [run(0, 1)]), mirrorChunk(m, 0, [run(0, 1)]), mirrorChunk(m, 3, [run(0, 1)])]);
        assert.deepEqual(results.map((r) => (r.ok ? 'ok' : r.error)), ['not_mirroring', 'not_mirroring', 'unknown_topic_or_partition']);
        assert.deepEqual(await store.getPartitionState('plain', 0), { logStartOffset: 0, highWatermark: 0 });
        assert.deepEqual(await store.getPartitionState('m', 0), { logStartOffset: 0, highWatermark: 0 });
      }));

    it('rejects malformed runs and flushes mixing mirror and ordinary chunks as a whole', () =>
      withStore(async (store) => {
        const t = await store.createTopic('m', 1, {}, MIRRORING);
        const bad: CommitChunk[][] = [
          [mirrorChunk(t, 0, [run(0, 10), run(5, 10)])], // overlapping runs
          [{ ...mirrorChunk(t, 0, [run(0, 10)]), offsetCount: 11 }], // sums disagree
          [{ ...mirrorChunk(t, 0, [run(0, 10)]), runs: [] }],
          [mirrorChunk(t, 0, [run(-1, 2)])],
          [mirrorChunk(t, 0, [run(0, 1)]), { topic: t.name, topicId: t.id, partition: 0, offsetCount: 1, maxTimestamp: 1, byteStart: 0, byteLength: 1 }],
        ];
        for (const chunks of bad) {
          const key = flushObjectKey('mirror-contract');
          await store.registerPendingObject(key);
          await assert.rejects(store.commitFlush(key, 10_000_000, chunks), kind('invalid_argument'));
        }
        assert.deepEqual(await store.getPartitionState('m', 0), { logStartOffset: 0, highWatermark: 0 });
      }));

    it('finds timestamps across gaps', () =>
      withStore(async (store) => {
        const t = await store.createTopic('m', 1, {}, MIRRORING);
        // 40 entries of 3 offsets, 7 offsets apart (gaps of 4), timestamps rising, one outlier.
        const runs = Array.from({ length: 40 }, (_, i) => run(i * 7, 3, i === 25 ? 9000 : 1000 + i * 10));
        await commit(store, [mirrorChunk(t, 0, runs)]);
        for (const [target, base] of [[1000, 0], [1001, 7], [1195, 140], [1245, 175], [1255, 175], [9000, 175], [1395, 175]] as const) {
          assert.equal((await store.findByTimestamp('m', 0, target))?.baseOffset, base, `first entry reaching ${target}`);
        }
        assert.equal(await store.findByTimestamp('m', 0, 9001), null);
        assert.equal((await store.findMaxTimestamp('m', 0))?.baseOffset, 175);
      }));
  });
}
