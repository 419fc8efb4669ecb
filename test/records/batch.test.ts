import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeirError, type ErrorKind } from '../../core/errors.js';
import {
  computeBatchCrc,
  OFFSET_CRC,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  scanBatches,
  setLogAppendTime,
} from '../../core/records/batch.js';
import { Compression } from '../../core/records/compression.js';
import { crc32c } from '../../core/records/crc32c.js';
import { buildBatch, buildBatchSync, decodeBatchRecords } from '../../core/records/records.js';

const kind = (k: ErrorKind, re?: RegExp) => (e: unknown) => isWeirError(e, k) && (re === undefined || re.test(e.message));

function fixCrc(buf: Buffer, position = 0): void {
  const size = buf.readInt32BE(position + 8) + 12;
  buf.writeUInt32BE(computeBatchCrc(buf, position, size), position + OFFSET_CRC);
}

function sample(n = 3, baseOffset = 0n): Buffer {
  return buildBatchSync({
    baseOffset,
    records: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `value ${i}`, timestamp: 1_700_000_000_000 + i })),
  });
}

/** A magic v0 or v1 message set entry (pre-0.11 format), as an old client would send. */
function legacyMessage(magic: 0 | 1): Buffer {
  const value = Buffer.from('legacy');
  const body = Buffer.alloc(1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let p = 0;
  body.writeInt8(magic, p++);
  body.writeInt8(0, p++);
  if (magic === 1) {
    body.writeBigInt64BE(1_700_000_000_000n, p);
    p += 8;
  }
  body.writeInt32BE(-1, p);
  p += 4;
  body.writeInt32BE(value.length, p);
  value.copy(body, p + 4);
  const out = Buffer.alloc(12 + 4 + body.length);
  out.writeBigInt64BE(0n, 0);
  out.writeInt32BE(4 + body.length, 8);
  out.writeUInt32BE(0, 12); // CRC-32 (not C); irrelevant, rejected before
  body.copy(out, 16);
  return out;
}

test('scanBatches reads every header field of a built batch', async () => {
  const buf = await buildBatch({
    baseOffset: 42n,
    partitionLeaderEpoch: 7,
    producerId: 123456789012n,
    producerEpoch: 3,
    baseSequence: 1000,
    isTransactional: true,
    compression: Compression.Gzip,
    records: [
      { value: 'a', timestamp: 1_700_000_000_500 },
      { value: 'b', timestamp: 1_700_000_000_100 },
      { value: 'c', timestamp: 1_700_000_000_900 },
    ],
  });
  const [h, ...rest] = scanBatches(buf);
  assert.equal(rest.length, 0);
  assert.ok(h);
  assert.equal(h.position, 0);
  assert.equal(h.baseOffset, 42n);
  assert.equal(h.sizeBytes, buf.length);
  assert.equal(h.batchLength, buf.length - 12);
  assert.equal(h.partitionLeaderEpoch, 7);
  assert.equal(h.magic, 2);
  assert.equal(h.crc, crc32c(buf, 21));
  assert.equal(h.compression, Compression.Gzip);
  assert.equal(h.attributes, 0x10 | Compression.Gzip);
  assert.equal(h.timestampType, 'create');
  assert.equal(h.isTransactional, true);
  assert.equal(h.isControl, false);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, 1_700_000_000_500);
  assert.equal(h.maxTimestamp, 1_700_000_000_900);
  assert.equal(h.producerId, 123456789012n);
  assert.equal(h.producerEpoch, 3);
  assert.equal(h.baseSequence, 1000);
  assert.equal(h.recordCount, 3);
});

test('buildBatch defaults match a plain (non-idempotent) producer', () => {
  const [h] = scanBatches(sample(1));
  assert.ok(h);
  assert.equal(h.producerId, -1n);
  assert.equal(h.producerEpoch, -1);
  assert.equal(h.baseSequence, -1);
  assert.equal(h.partitionLeaderEpoch, -1);
  assert.equal(h.attributes, 0);
});

test('scanBatches walks several concatenated batches and reports their positions', async () => {
  const a = sample(2, 0n);
  const b = await buildBatch({ records: [{ value: 'x' }], compression: Compression.Lz4 });
  const c = sample(5, 100n);
  const all = Buffer.concat([a, b, c]);
  const hs = scanBatches(all);
  assert.deepEqual(
    hs.map((h) => [h.position, h.sizeBytes, h.recordCount]),
    [
      [0, a.length, 2],
      [a.length, b.length, 1],
      [a.length + b.length, c.length, 5],
    ],
  );
  const recs = await decodeBatchRecords(all, hs[2]!);
  assert.deepEqual(recs.map((r) => r.offset), [100n, 101n, 102n, 103n, 104n]);
});

test('an empty blob scans to no batches', () => {
  assert.deepEqual(scanBatches(Buffer.alloc(0)), []);
});

test('CRC mismatch is corrupt; verifyCrc:false skips the check', () => {
  const buf = sample();
  buf[buf.length - 1]! ^= 0x01;
  assert.throws(() => scanBatches(buf), kind('corrupt', /CRC/));
  assert.equal(scanBatches(buf, { verifyCrc: false }).length, 1);
  // A flipped header field covered by the CRC is caught too.
  const hdr = sample();
  hdr[30]! ^= 0x40; // inside baseTimestamp
  assert.throws(() => scanBatches(hdr), kind('corrupt', /CRC/));
});

test('magic 0 and 1 are unsupported (message names the magic); other magics are corrupt', () => {
  assert.throws(() => scanBatches(legacyMessage(0)), kind('unsupported', /magic 0/));
  assert.throws(() => scanBatches(legacyMessage(1)), kind('unsupported', /magic 1/));
  // ... also when the legacy message follows a valid batch
  assert.throws(() => scanBatches(Buffer.concat([sample(), legacyMessage(1)])), kind('unsupported', /magic 1/));
  const m3 = sample();
  m3.writeInt8(3, 16);
  assert.throws(() => scanBatches(m3), kind('corrupt', /magic 3/));
  const mneg = sample();
  mneg.writeInt8(-1, 16);
  assert.throws(() => scanBatches(mneg), kind('corrupt', /magic -1/));
});

test('truncated batches and trailing partial batches are corrupt', () => {
  const buf = sample();
  assert.throws(() => scanBatches(buf.subarray(0, buf.length - 1)), kind('corrupt', /truncated/));
  assert.throws(() => scanBatches(buf.subarray(0, 40)), kind('corrupt', /truncated/));
  assert.throws(() => scanBatches(buf.subarray(0, 10)), kind('corrupt', /truncated/));
  const two = Buffer.concat([buf, sample()]);
  for (const extra of [1, 5, 16, 17, 30, 61, 70]) {
    assert.throws(() => scanBatches(two.subarray(0, buf.length + extra)), kind('corrupt', /truncated/), `+${extra}`);
  }
  assert.throws(() => scanBatches(Buffer.concat([buf, Buffer.alloc(3)])), kind('corrupt'));
});

test('impossible batch lengths, negative record counts and unknown codecs are corrupt', () => {
  const short = sample();
  short.writeInt32BE(20, 8);
  assert.throws(() => scanBatches(short), kind('corrupt', /length/));
  const negLen = sample();
  negLen.writeInt32BE(-1, 8);
  assert.throws(() => scanBatches(negLen), kind('corrupt', /length/));
  const negCount = sample();
  negCount.writeInt32BE(-3, 57);
  fixCrc(negCount);
  assert.throws(() => scanBatches(negCount), kind('corrupt', /count/));
  const codec = sample();
  codec.writeInt16BE(6, 21);
  fixCrc(codec);
  assert.throws(() => scanBatches(codec), kind('corrupt', /codec 6/));
});

test('lastOffsetDelta must equal recordCount - 1 for producer input (invalid_argument)', () => {
  const buf = sample(3);
  buf.writeInt32BE(5, 23);
  fixCrc(buf);
  assert.throws(() => scanBatches(buf), kind('invalid_argument', /lastOffsetDelta 5/));
  // Compacted data may have gaps: accepted when asked for.
  assert.equal(scanBatches(buf, { allowCompacted: true })[0]!.lastOffsetDelta, 5);
  const fewer = sample(3);
  fewer.writeInt32BE(1, 23);
  fixCrc(fewer);
  assert.throws(() => scanBatches(fewer), kind('invalid_argument'));
  assert.throws(() => scanBatches(fewer, { allowCompacted: true }), kind('invalid_argument'));
});

test('empty batches are rejected from producers but allowed as compaction leftovers', () => {
  const empty = buildBatchSync({ records: [], lastOffsetDelta: 4 });
  assert.throws(() => scanBatches(empty), kind('invalid_argument'));
  const [h] = scanBatches(empty, { allowCompacted: true });
  assert.equal(h!.recordCount, 0);
  assert.equal(h!.lastOffsetDelta, 4);
});

test('patchBaseOffset and patchPartitionLeaderEpoch keep the CRC valid', async () => {
  const a = sample(2);
  const b = await buildBatch({ records: [{ value: 'z' }, { value: 'y' }], compression: Compression.Zstd });
  const all = Buffer.concat([a, b]);
  const [ha, hb] = scanBatches(all);
  patchBaseOffset(all, ha!.position, 1000n);
  patchBaseOffset(all, hb!.position, 1002n);
  patchPartitionLeaderEpoch(all, hb!.position, 9);
  const [pa, pb] = scanBatches(all); // verifies CRCs
  assert.equal(pa!.baseOffset, 1000n);
  assert.equal(pb!.baseOffset, 1002n);
  assert.equal(pb!.partitionLeaderEpoch, 9);
  assert.equal(pb!.crc, hb!.crc);
  assert.deepEqual((await decodeBatchRecords(all, pb!)).map((r) => r.offset), [1002n, 1003n]);
});

test('setLogAppendTime sets the type bit and maxTimestamp, recomputes the CRC, and decoders use it', async () => {
  const a = sample(3);
  const b = await buildBatch({ records: [{ value: 'q', timestamp: 5 }], compression: Compression.Snappy });
  const all = Buffer.concat([a, b]);
  const [, hb] = scanBatches(all);
  setLogAppendTime(all, hb!.position, 1_800_000_000_000);
  const [pa, pb] = scanBatches(all);
  assert.equal(pa!.timestampType, 'create');
  assert.equal(pb!.timestampType, 'log-append');
  assert.equal(pb!.maxTimestamp, 1_800_000_000_000);
  assert.equal(pb!.baseTimestamp, 5, 'baseTimestamp is left as sent, as Kafka does');
  assert.notEqual(pb!.crc, hb!.crc);
  assert.deepEqual((await decodeBatchRecords(all, pb!)).map((r) => r.timestamp), [1_800_000_000_000]);
  setLogAppendTime(all, 0, 1_800_000_000_001);
  assert.deepEqual((await decodeBatchRecords(all, scanBatches(all)[0]!)).map((r) => r.timestamp), [
    1_800_000_000_001, 1_800_000_000_001, 1_800_000_000_001,
  ]);
  assert.throws(() => setLogAppendTime(all, 0, 1.5), kind('invalid_argument'));
  assert.throws(() => setLogAppendTime(all.subarray(0, 30), 0, 1), kind('corrupt'));
});
