/**
 * The mirror's write path inside the agent: a bulk request (at least MIRROR_FLUSH_NOW_BYTES) is
 * flushed without waiting for the linger and kept out of the log cache, yet reads back exactly
 * from the object store; a small one (a caught-up mirror's) waits for the linger with every other
 * pending append, many partitions in one object, and is cached for tail reads.
 * Against the real SQLite metadata store, the memory object store and the real LogCache/LogReader;
 * then once through a real agent (WeirMirrorWrite over the wire, with a 60 s linger).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { buildBatchSync } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import type { ObjectBody } from '../../core/storage/object-store.js';
import { LogCache } from '../../agent/read-path/log-cache.js';
import { LogReader } from '../../agent/read-path/log-reader.js';
import { Flusher } from '../../agent/write-path/flusher.js';
import { MIRROR_FLUSH_NOW_BYTES, runsOf } from '../../agent/handlers/weir-mirror-write.js';
import { WeirTarget } from '../../connectors/mirror/clusters.js';
import { startAgent, type Agent } from '../helpers/agent-process.js';
import { TOKEN } from './mirror-helpers.js';

class CountingStore extends MemoryObjectStore {
  puts = 0;
  override async put(key: string, body: ObjectBody): Promise<void> {
    this.puts++;
    return super.put(key, body);
  }
}

/** `count` batches of `perBatch` records of `valueBytes`, at the source's offsets from `base`. */
function sourceBatches(base: number, count: number, perBatch: number, valueBytes: number): Buffer {
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    out.push(buildBatchSync({ baseOffset: BigInt(base + b * perBatch), records: Array.from({ length: perBatch }, (_, i) => ({ key: `k${b}-${i}`, value: Buffer.alloc(valueBytes, (b + i) & 0xff) })) }));
  }
  return Buffer.concat(out);
}

async function setup(lingerMs: number) {
  const objects = new CountingStore();
  const metadata = new SqliteMetadataStore(':memory:');
  const topic = await metadata.createTopic('m', 4, {}, { state: 'mirroring', source: 'src' });
  const cache = new LogCache(256 * 1024 * 1024);
  const flusher = new Flusher(objects, metadata, cache, {
    agentId: 'mirror-test',
    lingerMs,
    flushBytes: 8 * 1024 * 1024,
    pendingBytesMax: 64 * 1024 * 1024,
    flushesInFlightMax: 4,
    onCommitted: () => undefined,
    log: () => undefined,
  });
  const append = (partition: number, records: Buffer, uncached?: boolean) => {
    const r = runsOf(records);
    return flusher.append({ topic: 'm', topicId: topic.id, partition, records, offsetCount: r.offsetCount, maxTimestamp: r.maxTimestamp, runs: r.runs, ...(uncached ? { uncached } : {}) });
  };
  return { objects, metadata, cache, flusher, append, reader: new LogReader(objects, metadata, cache) };
}

describe('mirror write path: flushes and the log cache', () => {
  it('flushNow flushes a pending mirror append without waiting for the linger; uncached appends stay out of the cache and read back from the object store', async () => {
    const { objects, cache, flusher, append, reader } = await setup(600_000);
    const big = sourceBatches(100, 40, 50, 1000); // ~2 MiB at offsets 100..2099
    assert.ok(big.length >= MIRROR_FLUSH_NOW_BYTES);
    const pending = append(0, big, true);
    flusher.flushNow();
    const r = await pending; // with a 10-minute linger, only flushNow can have flushed it
    assert.equal(r.highWatermark, 2100);
    assert.equal(objects.puts, 1);
    assert.equal(cache.sizeBytes, 0, 'a bulk mirror write is not cached');
    const read = await reader.read('m', 0, 100, 64 * 1024 * 1024, true, 2100);
    assert.equal(cache.misses > 0, true, 'the read went to the object store');
    assert.deepEqual(Buffer.concat(read.records), big, 'the batches read back byte for byte, offsets included');
    await flusher.close();
  });

  it('small mirror appends wait for the linger together, many partitions in one object, and are cached', async () => {
    const { objects, cache, flusher, append, reader } = await setup(150);
    const small = [0, 1, 2, 3].map((p) => sourceBatches(10 * p, 2, 5, 100));
    const results = await Promise.all(small.map((records, p) => append(p, records)));
    assert.deepEqual(results.map((r) => r.highWatermark), [10, 20, 30, 40]);
    assert.equal(objects.puts, 1, 'one object for the four partitions');
    assert.equal(cache.sizeBytes, small.reduce((n, b) => n + b.length, 0), 'small mirror writes are cached');
    const missesBefore = cache.misses;
    const read = await reader.read('m', 2, 20, 1024 * 1024, true, 30);
    assert.deepEqual(Buffer.concat(read.records), small[2]);
    assert.equal(cache.misses, missesBefore, 'the tail read was a cache hit');
    await flusher.close();
  });
});

describe('mirror write path through an agent (WeirMirrorWrite, 60 s linger)', () => {
  let agent: Agent;
  let target: WeirTarget;
  before(async () => {
    agent = await startAgent({ extraArgs: ['--mirror-token', TOKEN, '--linger-ms', '60000'] });
    const [host, port] = agent.bootstrap.split(':');
    target = new WeirTarget({ host: host!, port: Number(port) }, TOKEN, { clientId: 'mirror-test', timeoutMs: 30_000, responseBytesMax: 64 * 1024 * 1024 });
  });
  after(async () => {
    target?.close();
    await agent?.stop();
  });

  it('a bulk request is committed at once, every partition of it, records stored as sent', { timeout: 45_000 }, async () => {
    const [created] = await target.mirrorTopics(0, 'src', [{ name: 'bulk', partitions: 2, configs: {} }]);
    assert.equal(created?.errorCode, 0, created?.errorMessage ?? '');
    const a = sourceBatches(0, 12, 50, 1000); // ~600 KB each: together above MIRROR_FLUSH_NOW_BYTES
    const b = sourceBatches(500, 12, 50, 1000);
    assert.ok(a.length + b.length >= MIRROR_FLUSH_NOW_BYTES && a.length < MIRROR_FLUSH_NOW_BYTES);
    // The agent lingers 60 s for producers (and small mirror writes); the test's 45 s timeout
    // fails this if the bulk request waited for it.
    const out = await target.write([
      { topic: 'bulk', topicId: created!.topicId!, partition: 0, records: a },
      { topic: 'bulk', topicId: created!.topicId!, partition: 1, records: b },
    ]);
    assert.deepEqual(
      out.map((o) => [o.partition, o.errorCode, o.highWatermark]),
      [
        [0, 0, 600],
        [1, 0, 1100],
      ],
    );
    const hw = await target.listOffsets([{ topic: 'bulk', partition: 0 }, { topic: 'bulk', partition: 1 }], -1n);
    assert.deepEqual([...hw.values()].sort((x, y) => x - y), [600, 1100]);
  });
});
