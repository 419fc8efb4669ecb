/**
 * A read of the log whose object GET never settles (a hung S3 connection, a wedged disk): the
 * read must fail with a retriable error at its deadline instead of waiting forever, and the stuck
 * GET must not poison its byte range: once the store answers again, the next read of the same
 * bytes starts its own GET and returns the records. Before the bound, every later read of those
 * bytes joined the stuck GET (concurrent misses share one), so a partition stopped answering
 * Fetch for good from that offset on.
 *
 * The store wrapper below is the one mock here: a GET that never settles cannot be produced on
 * demand with a real backend (the e2e fetch-stall test does it with s3rver behind a stalling
 * proxy and real clients).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { scanBatches } from '../../core/records/batch.js';
import { buildBatchSync, decodeBatchRecords } from '../../core/records/records.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import type { ByteRange, ObjectBody, ObjectInfo, ObjectStore } from '../../core/storage/object-store.js';
import { LogCache } from '../../agent/read-path/log-cache.js';
import { LogReader } from '../../agent/read-path/log-reader.js';
import { Flusher } from '../../agent/write-path/flusher.js';

/** A memory store whose GETs, while `stalling`, never settle (they are counted). */
class StallingStore implements ObjectStore {
  readonly kind = 'stalling-memory';
  stalling = false;
  stalledGets = 0;
  gets = 0;
  constructor(private readonly inner = new MemoryObjectStore()) {}
  put(key: string, body: ObjectBody): Promise<void> {
    return this.inner.put(key, body);
  }
  get(key: string, range?: ByteRange): Promise<Buffer> {
    this.gets++;
    if (this.stalling) {
      this.stalledGets++;
      return new Promise<Buffer>(() => undefined);
    }
    return this.inner.get(key, range);
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.inner.head(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Two flushes of 4 records each (offsets 0-3, 4-7), with no log cache: every read is a GET. */
async function setup(readTimeoutMs: number) {
  const objects = new StallingStore();
  const metadata = new SqliteMetadataStore(':memory:');
  const topic = await metadata.createTopic('t', 1, {});
  const cache = new LogCache(0);
  const flusher = new Flusher(objects, metadata, cache, {
    agentId: 'r', lingerMs: 1, flushBytes: 1 << 20, pendingBytesMax: 1 << 24, flushesInFlightMax: 1, onCommitted: () => undefined, log: () => undefined,
  });
  const batch = (b: number) => buildBatchSync({ records: Array.from({ length: 4 }, (_, i) => ({ key: `k${b}-${i}`, value: Buffer.alloc(50, b) })) });
  await flusher.append({ topic: 't', topicId: topic.id, partition: 0, records: batch(0), offsetCount: 4, maxTimestamp: 1 });
  await flusher.append({ topic: 't', topicId: topic.id, partition: 0, records: batch(1), offsetCount: 4, maxTimestamp: 1 });
  await flusher.close();
  return { objects, reader: new LogReader(objects, metadata, cache, { readTimeoutMs }) };
}

async function offsetsOf(pieces: Buffer[]): Promise<number[]> {
  const out: number[] = [];
  for (const piece of pieces) for (const h of scanBatches(piece)) for (const r of await decodeBatchRecords(piece.subarray(h.position, h.position + h.sizeBytes), { ...h, position: 0 })) out.push(Number(r.offset));
  return out;
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the read to fail');
}

describe('LogReader with an object GET that never settles', () => {
  it('fails the read with a retriable unavailable error at its deadline', async () => {
    const { objects, reader } = await setup(200);
    objects.stalling = true;
    const e = await rejectionOf(reader.read('t', 0, 0, 1 << 20, true, 8));
    assert.ok(isWeirError(e, 'unavailable'), `expected unavailable, got ${String(e)}`);
    assert.equal(e.retriable, true);
    assert.equal(objects.stalledGets, 1);
  });

  it('a read given an earlier deadline fails at that deadline', async () => {
    const { objects, reader } = await setup(60_000);
    objects.stalling = true;
    // The Fetch handler passes one deadline for its whole pass over the partitions.
    const e = await rejectionOf(reader.read('t', 0, 0, 1 << 20, true, 8, Date.now() + 100));
    assert.ok(isWeirError(e, 'unavailable'), `expected unavailable, got ${String(e)}`);
  });

  it('the stuck GET is not joined by later reads: once the store answers, the same bytes are read', async () => {
    const { objects, reader } = await setup(200);
    objects.stalling = true;
    await rejectionOf(reader.read('t', 0, 0, 1 << 20, true, 8));
    // The stalled GET is still pending (it never settles); the store answers new requests again.
    objects.stalling = false;
    const r = await reader.read('t', 0, 0, 1 << 20, true, 8);
    assert.deepEqual(await offsetsOf(r.records), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(objects.stalledGets, 1);
    assert.equal(reader.inflightReads, 0);
  });

  it('concurrent misses still share one GET, and all of them fail at the deadline while it hangs', async () => {
    const { objects, reader } = await setup(200);
    objects.stalling = true;
    const errors = await Promise.all([0, 1, 2].map(() => rejectionOf(reader.read('t', 0, 0, 1 << 20, true, 8))));
    for (const e of errors) assert.ok(isWeirError(e, 'unavailable'), `expected unavailable, got ${String(e)}`);
    // The first entry's GET is shared by the three reads: one stalled GET, not three.
    assert.equal(objects.stalledGets, 1);
  });

  it('entryBytes (ListOffsets by timestamp) is bounded the same way', async () => {
    const { objects, reader } = await setup(200);
    objects.stalling = true;
    const e = await rejectionOf(reader.entryBytes({ objectKey: 'no-such-object-is-read', byteStart: 0, byteLength: 10, baseOffset: 0, lastOffset: 0, maxTimestamp: 0 }));
    assert.ok(isWeirError(e, 'unavailable'), `expected unavailable, got ${String(e)}`);
  });
});
