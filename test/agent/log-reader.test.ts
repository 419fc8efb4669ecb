import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { scanBatches } from '../../core/records/batch.js';
import { buildBatchSync, decodeBatchRecords } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { LogCache } from '../../agent/read-path/log-cache.js';
import { LogReader } from '../../agent/read-path/log-reader.js';
import { Flusher } from '../../agent/write-path/flusher.js';

/** Three batches of 4 records each (offsets 0-3, 4-7, 8-11), in two flushes. */
async function setup(cacheBytes: number) {
  const objects = new MemoryObjectStore();
  const metadata = new SqliteMetadataStore(':memory:');
  const topic = await metadata.createTopic('t', 1, {});
  const cache = new LogCache(cacheBytes);
  const flusher = new Flusher(objects, metadata, cache, {
    agentId: 'r', lingerMs: 5, flushBytes: 1 << 20, pendingBytesMax: 1 << 24, flushesInFlightMax: 2, onCommitted: () => undefined, log: () => undefined,
  });
  const batch = (b: number) => buildBatchSync({ records: Array.from({ length: 4 }, (_, i) => ({ key: `k${b}-${i}`, value: Buffer.alloc(100, b) })) });
  const append = (b: number) => flusher.append({ topic: 't', topicId: topic.id, partition: 0, records: batch(b), offsetCount: 4, maxTimestamp: 1 });
  await Promise.all([append(0), append(1)]);
  await append(2);
  await flusher.close();
  const reader = new LogReader(objects, metadata, cache);
  const sizeOfBatch = batch(0).length;
  return { reader, sizeOfBatch };
}

async function offsetsOf(pieces: Buffer[]): Promise<number[]> {
  const out: number[] = [];
  for (const piece of pieces) for (const h of scanBatches(piece)) for (const r of await decodeBatchRecords(piece.subarray(h.position, h.position + h.sizeBytes), { ...h, position: 0 })) out.push(Number(r.offset));
  return out;
}

for (const [label, cacheBytes] of [['cached', 1 << 20], ['uncached (range GETs)', 0]] as const) {
  describe(`LogReader, ${label}`, () => {
    it('returns every batch from offset 0 with committed offsets patched in', async () => {
      const { reader } = await setup(cacheBytes);
      const r = await reader.read('t', 0, 0, 1 << 20, true, 12);
      assert.deepEqual(await offsetsOf(r.records), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      assert.equal(r.nextOffset, 12);
    });

    it('an offset inside a batch returns that whole batch', async () => {
      const { reader } = await setup(cacheBytes);
      const r = await reader.read('t', 0, 6, 1 << 20, true, 12);
      assert.deepEqual(await offsetsOf(r.records), [4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it('stops at whole batches within maxBytes', async () => {
      const { reader, sizeOfBatch } = await setup(cacheBytes);
      const r = await reader.read('t', 0, 0, 2 * sizeOfBatch + 10, true, 12);
      assert.deepEqual(await offsetsOf(r.records), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.equal(r.sizeBytes, 2 * sizeOfBatch);
      assert.equal(r.nextOffset, 8);
    });

    it('returns the first batch even when larger than maxBytes only if allowed (KIP-74)', async () => {
      const { reader } = await setup(cacheBytes);
      const big = await reader.read('t', 0, 4, 10, true, 12);
      assert.deepEqual(await offsetsOf(big.records), [4, 5, 6, 7]);
      const none = await reader.read('t', 0, 4, 10, false, 12);
      assert.equal(none.records.length, 0);
      assert.equal(none.sizeBytes, 0);
    });

    it('never returns batches at or past the high watermark it is given (commits not yet acknowledged)', async () => {
      const { reader } = await setup(cacheBytes);
      const r = await reader.read('t', 0, 0, 1 << 20, true, 8);
      assert.deepEqual(await offsetsOf(r.records), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.equal(r.nextOffset, 8);
    });

    it('reads nothing at the high watermark', async () => {
      const { reader } = await setup(cacheBytes);
      const r = await reader.read('t', 0, 12, 1 << 20, true, 12);
      assert.equal(r.sizeBytes, 0);
      assert.equal(r.nextOffset, 12);
    });
  });
}
