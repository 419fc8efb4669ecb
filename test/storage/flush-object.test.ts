import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import {
  FLUSH_OBJECT_FOOTER_SIZE,
  decodeFlushObjectFooter,
  decodeFlushObjectIndex,
  encodeFlushObject,
  type FlushChunk,
} from '../../core/storage/flush-object.js';

function sampleChunks(): FlushChunk[] {
  const a = randomUUID();
  const b = randomUUID();
  return [
    { topicId: a, topic: 'orders', partition: 0, batches: [randomBytes(100), randomBytes(61)] },
    { topicId: b, topic: 'clicks.v2', partition: 7, batches: [randomBytes(3)] },
    // A second chunk for an earlier partition: allowed, it gets its own placement.
    { topicId: a, topic: 'orders', partition: 0, batches: [randomBytes(40)] },
    { topicId: b, topic: 'clicks.v2', partition: 2147483647, batches: [] },
    { topicId: a, topic: 'orders', partition: 3, batches: [randomBytes(1), randomBytes(2), randomBytes(3)] },
  ];
}

describe('flush object format', () => {
  it('places each chunk contiguously, byte-for-byte, in input order', () => {
    const chunks = sampleChunks();
    const { body, placements } = encodeFlushObject(chunks);
    assert.equal(placements.length, chunks.length);
    let expectedStart = 0;
    chunks.forEach((chunk, i) => {
      const p = placements[i]!;
      assert.equal(p.topic, chunk.topic);
      assert.equal(p.partition, chunk.partition);
      assert.equal(p.byteStart, expectedStart);
      assert.ok(body.subarray(p.byteStart, p.byteStart + p.byteLength).equals(Buffer.concat(chunk.batches)));
      expectedStart += p.byteLength;
    });
  });

  it('round-trips its index from the whole body', () => {
    const chunks = sampleChunks();
    const { body, placements } = encodeFlushObject(chunks);
    const index = decodeFlushObjectIndex(body, body.length);
    assert.equal(index.formatVersion, 1);
    assert.equal(index.indexOffset, placements.at(-1)!.byteStart + placements.at(-1)!.byteLength);
    assert.equal(index.objectSizeBytes, body.length);
    assert.deepEqual(
      index.entries,
      chunks.map((c, i) => ({ topicId: c.topicId, topic: c.topic, partition: c.partition, byteStart: placements[i]!.byteStart, byteLength: placements[i]!.byteLength })),
    );
  });

  it('decodes from a tail: footer first, then exactly the index', () => {
    const { body } = encodeFlushObject(sampleChunks());
    const footer = decodeFlushObjectFooter(body.subarray(body.length - FLUSH_OBJECT_FOOTER_SIZE));
    assert.equal(footer.objectSizeBytes, body.length);
    const tail = body.subarray(footer.indexOffset);
    assert.deepEqual(decodeFlushObjectIndex(tail), decodeFlushObjectIndex(body));
    // A tail that stops short of the index asks for more rather than calling the object corrupt.
    assert.throws(() => decodeFlushObjectIndex(body.subarray(footer.indexOffset + 1)), (e) => isWeirError(e, 'invalid_argument'));
  });

  it('encodes an empty flush and non-ASCII topic names', () => {
    const empty = encodeFlushObject([]);
    assert.equal(empty.body.length, 4 + FLUSH_OBJECT_FOOTER_SIZE);
    assert.deepEqual(decodeFlushObjectIndex(empty.body).entries, []);
    const id = randomUUID();
    const { body } = encodeFlushObject([{ topicId: id, topic: 'tëst-☃', partition: 1, batches: [Buffer.from('x')] }]);
    assert.equal(decodeFlushObjectIndex(body).entries[0]!.topic, 'tëst-☃');
  });

  it('copies the batch bytes: the body does not alias the inputs', () => {
    const batch = Buffer.from('batch bytes');
    const { body, placements } = encodeFlushObject([{ topicId: randomUUID(), topic: 't', partition: 0, batches: [batch] }]);
    batch.fill(0);
    assert.equal(body.toString('utf8', placements[0]!.byteStart, placements[0]!.byteLength), 'batch bytes');
  });

  it('detects corruption of the index and of every footer field', () => {
    const { body } = encodeFlushObject(sampleChunks());
    const footerStart = body.length - FLUSH_OBJECT_FOOTER_SIZE;
    const indexOffset = decodeFlushObjectFooter(body).indexOffset;
    const flip = (pos: number): Buffer => {
      const copy = Buffer.from(body);
      copy[pos]! ^= 0x01;
      return copy;
    };
    // Any bit in the index or in the checksummed footer fields (offset, length, flags).
    for (const pos of [indexOffset, indexOffset + 10, footerStart - 1, footerStart + 7, footerStart + 14, footerStart + 16]) {
      assert.throws(() => decodeFlushObjectIndex(flip(pos)), (e) => isWeirError(e, 'corrupt') || isWeirError(e, 'invalid_argument'), `byte ${pos}`);
    }
    assert.throws(() => decodeFlushObjectIndex(flip(body.length - 1)), (e) => isWeirError(e, 'corrupt')); // magic
    assert.throws(() => decodeFlushObjectIndex(flip(footerStart + 13)), (e) => isWeirError(e, 'unsupported')); // version
    assert.throws(() => decodeFlushObjectIndex(body.subarray(0, 10)), (e) => isWeirError(e, 'corrupt'));
    assert.throws(() => decodeFlushObjectIndex(body, body.length + 1), (e) => isWeirError(e, 'corrupt'));
    // The data section is the batches' business (they carry CRC-32C): flipping it does not matter here.
    assert.doesNotThrow(() => decodeFlushObjectIndex(flip(0)));
  });

  it('rejects malformed chunks', () => {
    const ok = { topicId: randomUUID(), topic: 't', partition: 0, batches: [] };
    for (const bad of [
      { ...ok, topicId: 'not-a-uuid' },
      { ...ok, topicId: ok.topicId.toUpperCase() },
      { ...ok, partition: -1 },
      { ...ok, partition: 1.5 },
      { ...ok, partition: 2 ** 31 },
      { ...ok, topic: 'x'.repeat(70_000) },
    ]) {
      assert.throws(() => encodeFlushObject([bad]), (e) => isWeirError(e, 'invalid_argument'));
    }
  });

  it('encodes a flush of 1000 chunks and indexes every one', () => {
    const id = randomUUID();
    const chunks: FlushChunk[] = Array.from({ length: 1000 }, (_, i) => ({
      topicId: id,
      topic: `topic-${i % 50}`,
      partition: i,
      batches: [randomBytes(8000)],
    }));
    const { body } = encodeFlushObject(chunks);
    const entries = decodeFlushObjectIndex(body).entries;
    assert.equal(entries.length, 1000);
    assert.deepEqual(entries.map((e) => e.partition), chunks.map((c) => c.partition));
  });
});
