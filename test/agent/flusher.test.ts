/**
 * The write path's flusher, against the real SQLite metadata store and the memory object store.
 * The one wrapper here delays or fails PUTs: slow and failing object stores are faults that
 * cannot be produced on demand any other way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { buildBatchSync } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import type { ObjectBody } from '../../core/storage/object-store.js';
import { LogCache } from '../../agent/read-path/log-cache.js';
import { LogReader } from '../../agent/read-path/log-reader.js';
import { Flusher, type FlusherOptions } from '../../agent/write-path/flusher.js';

class ControlledStore extends MemoryObjectStore {
  delays: number[] = [];
  failNext = false;
  puts = 0;
  override async put(key: string, body: ObjectBody): Promise<void> {
    this.puts++;
    const delay = this.delays.shift() ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('injected PUT failure');
    }
    return super.put(key, body);
  }
}

async function setup(opts: Partial<FlusherOptions> = {}) {
  const objects = new ControlledStore();
  const metadata = new SqliteMetadataStore(':memory:');
  const topic = await metadata.createTopic('t', 2, {});
  const cache = new LogCache(64 * 1024 * 1024);
  const committed: string[] = [];
  const flusher = new Flusher(objects, metadata, cache, {
    agentId: 'test',
    lingerMs: 20,
    flushBytes: 1024 * 1024,
    pendingBytesMax: 8 * 1024 * 1024,
    flushesInFlightMax: 4,
    onCommitted: (parts) => committed.push(...parts.map((p) => `${p.topic}-${p.partition}`)),
    log: () => undefined,
    ...opts,
  });
  const append = (partition: number, n: number, size = 10) => {
    const records = buildBatchSync({ records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(size, i) })) });
    return flusher.append({ topic: 't', topicId: topic.id, partition, records, offsetCount: n, maxTimestamp: Date.now() });
  };
  return { objects, metadata, cache, flusher, append, committed, reader: new LogReader(objects, metadata, cache) };
}

describe('Flusher', () => {
  it('gathers appends of several partitions into one object and assigns contiguous offsets', async () => {
    const { objects, metadata, flusher, append, committed } = await setup();
    const results = await Promise.all([append(0, 3), append(1, 5), append(0, 2), append(1, 1)]);
    assert.equal(objects.puts, 1, 'one object for one linger window');
    assert.deepEqual(results.map((r) => r.baseOffset), [0, 0, 3, 5]);
    assert.deepEqual(await metadata.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 5 });
    assert.deepEqual(await metadata.getPartitionState('t', 1), { logStartOffset: 0, highWatermark: 6 });
    assert.deepEqual(committed.sort(), ['t-0', 't-1']);
    await flusher.close();
  });

  it('flushes at flushBytes without waiting for the linger', async () => {
    const { objects, flusher, append } = await setup({ lingerMs: 60_000, flushBytes: 4096 });
    const r = await append(0, 10, 1000);
    assert.equal(r.baseOffset, 0);
    assert.equal(objects.puts, 1);
    await flusher.close();
  });

  it('commits in flush order even when a later object write finishes first', async () => {
    const { objects, flusher, append, reader, metadata } = await setup({ lingerMs: 60_000, flushBytes: 100 });
    objects.delays = [80, 0, 0];
    const first = append(0, 2, 200); // flush 1, slow PUT
    const second = append(0, 3, 200); // flush 2, fast PUT
    const third = append(0, 1, 200); // flush 3, fast PUT
    const rs = await Promise.all([first, second, third]);
    assert.deepEqual(rs.map((r) => r.baseOffset), [0, 2, 5]);
    const state = await metadata.getPartitionState('t', 0);
    assert.equal(state?.highWatermark, 6);
    // The bytes read back in offset order are the three batches in send order.
    const read = await reader.read('t', 0, 0, 1 << 20, true, 6);
    assert.equal(read.nextOffset, 6);
    await flusher.close();
  });

  it('rejects the appends of a failed PUT as retriable, and later flushes still work', async () => {
    const { objects, flusher, append, metadata } = await setup();
    objects.failNext = true;
    await assert.rejects(append(0, 1), (e: unknown) => isWeirError(e, 'unavailable') && e.retriable);
    assert.equal((await metadata.getPartitionState('t', 0))?.highWatermark, 0, 'nothing committed');
    assert.equal((await append(0, 1)).baseOffset, 0);
    await flusher.close();
  });

  it('bounds the bytes it holds: overLimit while above pendingBytesMax, then onDrain', async () => {
    const { objects, flusher, append } = await setup({ lingerMs: 1, flushBytes: 4096, pendingBytesMax: 8192, flushesInFlightMax: 1 });
    objects.delays = [100];
    let drained = 0;
    flusher.onDrain(() => drained++);
    const pending = [append(0, 5, 1000), append(0, 5, 1000)];
    assert.equal(flusher.overLimit, true, 'about 10 KB held with an 8 KiB bound');
    await Promise.all(pending);
    assert.equal(flusher.overLimit, false);
    assert.ok(drained >= 1, 'drain listeners were told');
    await flusher.close();
  });

  it('close() flushes what is pending, answers it, then refuses new appends', async () => {
    const { flusher, append, metadata } = await setup({ lingerMs: 60_000 });
    const p = append(1, 4);
    await flusher.close();
    assert.equal((await p).baseOffset, 0);
    assert.equal((await metadata.getPartitionState('t', 1))?.highWatermark, 4);
    await assert.rejects(append(1, 1), (e: unknown) => isWeirError(e, 'unavailable'));
  });

  it('fails only the chunk of a topic deleted before the commit', async () => {
    const { flusher, append, metadata } = await setup({ lingerMs: 30 });
    const other = await metadata.createTopic('other', 1, {});
    const records = buildBatchSync({ records: [{ value: 'x' }] });
    const ok = flusher.append({ topic: 'other', topicId: other.id, partition: 0, records, offsetCount: 1, maxTimestamp: 1 });
    const doomed = append(0, 1);
    await metadata.deleteTopic('t');
    await assert.rejects(doomed, (e: unknown) => isWeirError(e, 'not_found'));
    assert.equal((await ok).baseOffset, 0);
    await flusher.close();
  });
});

describe('Flusher under load', () => {
  it('keeps each object near flushBytes when appends pile up behind busy flush slots, and loses nothing', async () => {
    const { objects, flusher, append, metadata } = await setup({ lingerMs: 1, flushBytes: 4096, flushesInFlightMax: 1, pendingBytesMax: 1 << 24 });
    const sizes: number[] = [];
    const put = objects.put.bind(objects);
    objects.put = async (key, body) => {
      sizes.push((body as Buffer[]).reduce((n, b) => n + b.length, 0));
      return put(key, body);
    };
    objects.delays = [50];
    // ~40 KB for two partitions arrives while the first (slow) flush holds the only slot.
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => append(i % 2, 1, 900)));
    assert.equal((await metadata.getPartitionState('t', 0))?.highWatermark, 20);
    assert.equal((await metadata.getPartitionState('t', 1))?.highWatermark, 20);
    // Offsets per partition are 0..19 in append order.
    for (const p of [0, 1]) assert.deepEqual(results.filter((_, i) => i % 2 === p).map((r) => r.baseOffset), Array.from({ length: 20 }, (_, i) => i));
    assert.ok(sizes.length >= 4, `the backlog went out in several objects (${sizes.join(', ')})`);
    // Each object stops at the append that reaches flushBytes (plus its index and footer).
    for (const size of sizes) assert.ok(size < 4096 + 1200, `object of ${size} bytes`);
    await flusher.close();
  });
});
