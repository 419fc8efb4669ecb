import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { flushObjectKey } from '../../core/storage/paths.js';
import { RetentionJob } from '../../agent/retention.js';

async function commit(store: SqliteMetadataStore, topic: string, topicId: string, maxTimestamp: number, offsetCount = 10): Promise<void> {
  const key = flushObjectKey('test');
  await store.registerPendingObject(key);
  const [r] = await store.commitFlush(key, 100, [{ topic, topicId, partition: 0, offsetCount, maxTimestamp, byteStart: 0, byteLength: 100 }]);
  assert.ok(r?.ok);
}

describe('RetentionJob', () => {
  it('moves the log start past entries wholly older than retention.ms, and keeps the rest', async () => {
    const store = new SqliteMetadataStore(':memory:');
    const t = await store.createTopic('events', 1, { 'retention.ms': '1000' });
    await commit(store, 'events', t.id, 1_000); // offsets 0-9
    await commit(store, 'events', t.id, 2_000); // 10-19
    await commit(store, 'events', t.id, 5_000); // 20-29
    const job = new RetentionJob(store, 0, () => undefined);
    // now = 4500 → cutoff 3500: the first two entries are expired, the third is not.
    assert.equal(await job.runOnce(4_500), 1);
    assert.deepEqual(await store.getPartitionState('events', 0), { logStartOffset: 20, highWatermark: 30 });
    // Nothing more to do at the same time; running twice is harmless.
    assert.equal(await job.runOnce(4_500), 0);
    // Everything expired → log start = high watermark (empty log, offsets keep counting).
    assert.equal(await job.runOnce(10_000), 1);
    assert.deepEqual(await store.getPartitionState('events', 0), { logStartOffset: 30, highWatermark: 30 });
    await store.close();
  });

  it('leaves compact-only topics and retention.ms=-1 alone', async () => {
    const store = new SqliteMetadataStore(':memory:');
    const a = await store.createTopic('forever', 1, { 'retention.ms': '-1' });
    const b = await store.createTopic('compacted', 1, { 'cleanup.policy': 'compact', 'retention.ms': '1' });
    await commit(store, 'forever', a.id, 1);
    await commit(store, 'compacted', b.id, 1);
    const job = new RetentionJob(store, 0, () => undefined);
    assert.equal(await job.runOnce(1_000_000), 0);
    assert.equal((await store.getPartitionState('forever', 0))?.logStartOffset, 0);
    assert.equal((await store.getPartitionState('compacted', 0))?.logStartOffset, 0);
    await store.close();
  });

  it('applies the default retention.ms (7 days) when the topic sets none', async () => {
    const store = new SqliteMetadataStore(':memory:');
    const t = await store.createTopic('defaults', 1, {});
    await commit(store, 'defaults', t.id, 0);
    const job = new RetentionJob(store, 0, () => undefined);
    assert.equal(await job.runOnce(7 * 24 * 3600 * 1000 - 1), 0);
    assert.equal(await job.runOnce(7 * 24 * 3600 * 1000 + 1), 1);
    await store.close();
  });
});
