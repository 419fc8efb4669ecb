/**
 * The flusher with idempotent producers' batches, against the real SQLite metadata store: the
 * sequence check runs at commit, so retries get their original offsets whether the original is
 * in the same flush, an earlier pending one, or long committed, and the log holds each batch once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastSequenceOf } from '../../core/metadata/producer-sequence.js';
import { ProducerStateError, type ProducerBatchError } from '../../core/metadata/producer-state-store.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { scanBatches } from '../../core/records/batch.js';
import { buildBatchSync, decodeBatchRecords } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import type { ObjectBody } from '../../core/storage/object-store.js';
import { LogCache } from '../../agent/read-path/log-cache.js';
import { LogReader } from '../../agent/read-path/log-reader.js';
import { Flusher, type FlusherOptions } from '../../agent/write-path/flusher.js';

/** Delays PUTs on demand: the only way to have a later flush's object written first. */
class SlowStore extends MemoryObjectStore {
  delays: number[] = [];
  override async put(key: string, body: ObjectBody): Promise<void> {
    const delay = this.delays.shift() ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return super.put(key, body);
  }
}

async function setup(opts: Partial<FlusherOptions> = {}) {
  const objects = new SlowStore();
  const metadata = new SqliteMetadataStore(':memory:');
  const topic = await metadata.createTopic('t', 2, {});
  const cache = new LogCache(64 * 1024 * 1024);
  const committed: Parameters<FlusherOptions['onCommitted']>[0] = [];
  const flusher = new Flusher(objects, metadata, cache, {
    agentId: 'test',
    lingerMs: 20,
    flushBytes: 1024 * 1024,
    pendingBytesMax: 8 * 1024 * 1024,
    flushesInFlightMax: 4,
    onCommitted: (parts) => committed.push(...parts),
    log: () => undefined,
    ...opts,
  });
  const pad = (v: string, size: number): string => v.padEnd(size, '.');
  /** Appends one batch of `values`; with `producer`, as that idempotent producer's batch at `seq`. */
  const append = (partition: number, values: string[], producer?: { id: number; epoch: number; seq: number }, size = 0) => {
    const records = buildBatchSync({
      records: values.map((v) => ({ value: pad(v, size) })),
      ...(producer ? { producerId: BigInt(producer.id), producerEpoch: producer.epoch, baseSequence: producer.seq } : {}),
    });
    return flusher.append({
      topic: 't',
      topicId: topic.id,
      partition,
      records,
      offsetCount: values.length,
      maxTimestamp: Date.now(),
      ...(producer
        ? { producer: { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq, lastSequence: lastSequenceOf(producer.seq, values.length - 1) } }
        : {}),
    });
  };
  const reader = new LogReader(objects, metadata, cache);
  /** Every record of a partition as [offset, value], read through the agent's read path. */
  const readAll = async (partition: number): Promise<[number, string][]> => {
    const hw = (await metadata.getPartitionState('t', partition))!.highWatermark;
    const read = await reader.read('t', partition, 0, 1 << 20, true, hw);
    const buf = Buffer.concat(read.records);
    const out: [number, string][] = [];
    for (const h of scanBatches(buf)) {
      for (const r of await decodeBatchRecords(buf, h)) out.push([Number(r.offset), r.value!.toString().replace(/\.+$/, '')]);
    }
    return out;
  };
  return { objects, metadata, cache, flusher, append, readAll, committed };
}

const refusedWith = (reason: ProducerBatchError) => (e: unknown): boolean => e instanceof ProducerStateError && e.reason === reason;

describe('Flusher with idempotent producers', () => {
  it('answers retries in the same flush and after the commit with the original offsets; the log holds each batch once', async () => {
    const { metadata, flusher, append, readAll, cache, committed } = await setup();
    const { producerId: id } = await metadata.allocateProducerId();
    const [a, plain, retryA, b] = await Promise.all([
      append(0, ['a0', 'a1'], { id, epoch: 0, seq: 0 }),
      append(0, ['p0']),
      append(0, ['a0', 'a1'], { id, epoch: 0, seq: 0 }),
      append(0, ['b0'], { id, epoch: 0, seq: 2 }),
    ]);
    assert.deepEqual([a, plain, retryA, b].map((r) => [r.baseOffset, r.duplicate !== undefined]), [[0, false], [2, false], [0, true], [3, false]]);
    const retryB = await append(0, ['b0'], { id, epoch: 0, seq: 2 });
    assert.deepEqual([retryB.baseOffset, retryB.duplicate !== undefined], [3, true]);
    assert.equal(committed.filter((c) => c.partition === 0).at(-1)?.highWatermark, 4, 'the high watermark counts appended batches only');

    const missesBefore = cache.misses;
    assert.deepEqual(await readAll(0), [[0, 'a0'], [1, 'a1'], [2, 'p0'], [3, 'b0']]);
    assert.equal(cache.misses, missesBefore, 'the index rows of a chunk split by a duplicate are cached');
    await flusher.close();
  });

  it('answers a retry that reaches a later flush while the original is still being written', async () => {
    const { objects, metadata, flusher, append, readAll } = await setup({ lingerMs: 60_000, flushBytes: 100 });
    const { producerId: id } = await metadata.allocateProducerId();
    objects.delays = [80, 0];
    const original = append(1, ['x'], { id, epoch: 0, seq: 0 }, 200); // flush 1, slow PUT
    const retry = append(1, ['x'], { id, epoch: 0, seq: 0 }, 200); // flush 2, committed after flush 1
    const next = append(1, ['y'], { id, epoch: 0, seq: 1 }, 200); // flush 3
    const [o, r, n] = await Promise.all([original, retry, next]);
    assert.deepEqual([o.baseOffset, o.duplicate], [0, undefined]);
    assert.equal(r.baseOffset, 0);
    assert.ok(r.duplicate);
    assert.equal(n.baseOffset, 1);
    assert.deepEqual(await readAll(1), [[0, 'x'], [1, 'y']]);
    await flusher.close();
  });

  it('refuses gaps, old epochs and unknown ids with ProducerStateError; the rest of the flush commits', async () => {
    const { metadata, flusher, append, readAll } = await setup();
    const { producerId: id } = await metadata.allocateProducerId();
    const { producerId: other } = await metadata.allocateProducerId();
    await append(0, ['a'], { id, epoch: 0, seq: 0 });
    const [gap, plain, first, unknown] = await Promise.allSettled([
      append(0, ['gap'], { id, epoch: 0, seq: 5 }),
      append(0, ['plain']),
      append(0, ['other'], { id: other, epoch: 0, seq: 0 }),
      append(0, ['ghost'], { id: other + 100, epoch: 0, seq: 0 }),
    ]);
    assert.ok(gap.status === 'rejected' && refusedWith('out_of_order_sequence')(gap.reason), String(gap.status === 'rejected' && gap.reason));
    assert.ok(unknown.status === 'rejected' && refusedWith('unknown_producer_id')(unknown.reason));
    assert.deepEqual([plain, first].map((s) => s.status === 'fulfilled' && s.value.baseOffset), [1, 2]);
    // A new epoch starts at 0 and fences the old one.
    assert.equal((await append(0, ['b'], { id, epoch: 1, seq: 0 })).baseOffset, 3);
    await assert.rejects(append(0, ['zombie'], { id, epoch: 0, seq: 1 }), refusedWith('invalid_producer_epoch'));
    assert.deepEqual(await readAll(0), [[0, 'a'], [1, 'plain'], [2, 'other'], [3, 'b']]);
    await flusher.close();
  });
});
