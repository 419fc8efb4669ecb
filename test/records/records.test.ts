import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeirError, type ErrorKind } from '../../core/errors.js';
import { computeBatchCrc, OFFSET_CRC, scanBatches } from '../../core/records/batch.js';
import { Compression, compress, compressionName } from '../../core/records/compression.js';
import { ControlType, decodeControlKey, decodeTxnMarkerValue, encodeTxnMarker } from '../../core/records/control.js';
import { buildBatch, buildBatchSync, decodeBatchRecords, type RecordInput } from '../../core/records/records.js';
import { writeVarint } from '../../core/records/varint.js';

const kind = (k: ErrorKind, re?: RegExp) => (e: unknown) => isWeirError(e, k) && (re === undefined || re.test(e.message));
const codecs = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd] as const;

const T0 = 1_700_000_000_000;
const inputs: RecordInput[] = [
  { key: 'user-1', value: 'hello', timestamp: T0, headers: [{ key: 'trace', value: 'abc' }] },
  { key: null, value: null, timestamp: T0 + 5 }, // tombstone without key
  { key: Buffer.from([0, 1, 2, 255]), value: Buffer.alloc(0), timestamp: T0 - 3_600_000 }, // earlier than base: negative delta
  {
    value: Buffer.alloc(100_000, 'v'),
    timestamp: T0 + 86_400_000 * 400, // > 2^28 ms later: multi-byte varlong slow path
    headers: [
      { key: 'ünïcødé-ключ', value: null },
      { key: '', value: Buffer.from('empty key') },
      { key: 'dup', value: '1' },
      { key: 'dup', value: '2' },
    ],
  },
  { key: 'k', value: 'last', timestamp: T0 + 1 },
];

function expectRecords(actual: Awaited<ReturnType<typeof decodeBatchRecords>>, baseOffset: bigint): void {
  assert.equal(actual.length, inputs.length);
  actual.forEach((r, i) => {
    const want = inputs[i]!;
    const buf = (v: RecordInput['value'] | undefined) => (v === null || v === undefined ? null : Buffer.from(v as string));
    assert.equal(r.offset, baseOffset + BigInt(i));
    assert.equal(r.timestamp, want.timestamp);
    assert.deepEqual(r.key, buf(want.key));
    assert.deepEqual(r.value, buf(want.value));
    assert.equal(r.attributes, 0);
    assert.deepEqual(
      r.headers,
      (want.headers ?? []).map((h) => ({ key: h.key, value: buf(h.value) })),
    );
  });
}

test('build -> scan -> decode round-trips keys, values, nulls, headers and timestamps for every codec', async () => {
  for (const codec of codecs) {
    const buf = await buildBatch({ baseOffset: 77n, records: inputs, compression: codec });
    const [h] = scanBatches(buf);
    assert.equal(h!.compression, codec);
    assert.equal(h!.recordCount, inputs.length);
    assert.equal(h!.baseTimestamp, T0);
    assert.equal(h!.maxTimestamp, T0 + 86_400_000 * 400);
    expectRecords(await decodeBatchRecords(buf, h!), 77n);
  }
});

test('compressed batches are actually smaller for compressible data, and codec levels are honoured', async () => {
  const recs = Array.from({ length: 200 }, (_, i) => ({ key: `key-${i}`, timestamp: T0, value: `{"id":${i},"status":"ok","payload":"${'x'.repeat(100)}"}` }));
  const plain = buildBatchSync({ records: recs });
  for (const codec of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const c = await buildBatch({ records: recs, compression: codec });
    assert.ok(c.length < plain.length / 3, `${compressionName(codec)}: ${c.length} vs ${plain.length}`);
  }
  // Levels reach the codec: different levels give different bytes that decode to the same records.
  for (const codec of [Compression.Gzip, Compression.Zstd]) {
    const fast = await buildBatch({ records: recs, compression: codec, compressionLevel: 1 });
    const best = await buildBatch({ records: recs, compression: codec, compressionLevel: 9 });
    assert.notDeepEqual(fast, best, compressionName(codec));
    const [decodedFast, decodedBest] = await Promise.all([fast, best].map((b) => decodeBatchRecords(b, scanBatches(b)[0]!)));
    assert.deepEqual(decodedFast!.map((r) => r.value), decodedBest!.map((r) => r.value));
  }
});

test('buildBatchSync equals buildBatch for uncompressed batches and refuses codecs', async () => {
  const opts = { records: inputs, baseOffset: 5n };
  assert.deepEqual(buildBatchSync(opts), await buildBatch(opts));
  assert.throws(() => buildBatchSync({ ...opts, compression: Compression.Gzip }), kind('invalid_argument'));
});

test('explicit offset deltas (compacted shape) decode to the right offsets', async () => {
  const buf = await buildBatch({
    baseOffset: 10n,
    compression: Compression.Lz4,
    records: [
      { value: 'a', offsetDelta: 0 },
      { value: 'd', offsetDelta: 3 },
      { value: 'h', offsetDelta: 7 },
    ],
  });
  const [h] = scanBatches(buf, { allowCompacted: true });
  assert.equal(h!.lastOffsetDelta, 7);
  assert.deepEqual((await decodeBatchRecords(buf, h!)).map((r) => r.offset), [10n, 13n, 17n]);
  assert.throws(() => scanBatches(buf), kind('invalid_argument'));
});

test('log-append batches give every record maxTimestamp', async () => {
  const buf = await buildBatch({ timestampType: 'log-append', maxTimestamp: 99, records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }] });
  const [h] = scanBatches(buf);
  assert.equal(h!.timestampType, 'log-append');
  assert.deepEqual((await decodeBatchRecords(buf, h!)).map((r) => r.timestamp), [99, 99]);
});

test('control batches carry transaction markers', async () => {
  const marker = encodeTxnMarker(true, 12);
  const buf = await buildBatch({ isControl: true, isTransactional: true, producerId: 5n, producerEpoch: 1, records: [marker] });
  const [h] = scanBatches(buf);
  assert.equal(h!.isControl, true);
  assert.equal(h!.isTransactional, true);
  const [r] = await decodeBatchRecords(buf, h!);
  assert.deepEqual(decodeControlKey(r!.key), { version: 0, type: ControlType.Commit });
  assert.deepEqual(decodeTxnMarkerValue(r!.value), { version: 0, coordinatorEpoch: 12 });
  assert.equal(decodeControlKey(encodeTxnMarker(false, 0).key).type, ControlType.Abort);
  assert.throws(() => decodeControlKey(Buffer.alloc(2)), kind('corrupt'));
});

// --- malformed record sections -------------------------------------------------------------------

/** Wraps a raw (uncompressed, or already-compressed) records section in a valid header + CRC. */
function rawBatch(section: Buffer, recordCount: number, codec: Compression = Compression.None, lastOffsetDelta = recordCount - 1): Buffer {
  const buf = Buffer.concat([buildBatchSync({ records: [] }).subarray(0, 61), section]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt16BE(codec, 21);
  buf.writeInt32BE(lastOffsetDelta, 23);
  buf.writeInt32BE(recordCount, 57);
  buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), OFFSET_CRC);
  return buf;
}

function recordsSection(recs: RecordInput[]): Buffer {
  return buildBatchSync({ records: recs, baseTimestamp: 0 }).subarray(61);
}

async function decodeRaw(buf: Buffer, opts?: { maxBytes?: number }) {
  const [h] = scanBatches(buf, { allowCompacted: true });
  return decodeBatchRecords(buf, h!, opts);
}

test('a record whose length disagrees with its fields is corrupt', async () => {
  const section = recordsSection([{ value: 'abc', timestamp: 0 }]);
  const longer = Buffer.from(section);
  longer[0] = section[0]! + 2; // claims 1 more byte (zigzag) than present
  await assert.rejects(decodeRaw(rawBatch(Buffer.concat([longer, Buffer.alloc(1)]), 1)), kind('corrupt', /declares|length/));
  const shorter = Buffer.from(section);
  shorter[0] = section[0]! - 2;
  await assert.rejects(decodeRaw(rawBatch(shorter, 1)), kind('corrupt'));
});

test('bytes left after the last record, or too few records, are corrupt', async () => {
  const section = recordsSection([{ value: 'a', timestamp: 0 }, { value: 'b', timestamp: 0 }]);
  await assert.rejects(decodeRaw(rawBatch(Buffer.concat([section, Buffer.from([0])]), 2)), kind('corrupt', /left over/));
  await assert.rejects(decodeRaw(rawBatch(section, 3)), kind('corrupt'));
  await assert.rejects(decodeRaw(rawBatch(section, 1)), kind('corrupt', /left over/));
  // A huge declared count is refused before allocating per-record arrays.
  await assert.rejects(decodeRaw(rawBatch(section, 2_000_000_000)), kind('corrupt', /cannot fit/));
});

test('invalid key/value/header lengths, negative header counts and bad varints are corrupt', async () => {
  const mk = (fields: number[], tail: Buffer = Buffer.alloc(0)): Buffer => {
    // attributes=0, timestampDelta=0, offsetDelta=0, then the given varints, then tail
    const body = Buffer.alloc(64);
    let p = 0;
    body[p++] = 0;
    p = writeVarint(body, p, 0);
    p = writeVarint(body, p, 0);
    for (const f of fields) p = writeVarint(body, p, f);
    const rec = Buffer.concat([body.subarray(0, p), tail]);
    const len = Buffer.alloc(5);
    return Buffer.concat([len.subarray(0, writeVarint(len, 0, rec.length)), rec]);
  };
  const ok = mk([-1, -1, 0]);
  assert.equal((await decodeRaw(rawBatch(ok, 1))).length, 1);
  await assert.rejects(decodeRaw(rawBatch(mk([-2, -1, 0]), 1)), kind('corrupt', /key length -2/));
  await assert.rejects(decodeRaw(rawBatch(mk([-1, 50, 0]), 1)), kind('corrupt', /value length 50/));
  await assert.rejects(decodeRaw(rawBatch(mk([-1, -1, -1]), 1)), kind('corrupt', /header count/));
  await assert.rejects(decodeRaw(rawBatch(mk([-1, -1, 1, -1, -1]), 1)), kind('corrupt', /header key length/));
  await assert.rejects(decodeRaw(rawBatch(mk([-1, -1, 1], Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 1)), kind('corrupt'));
  // offsetDelta beyond lastOffsetDelta
  const far = recordsSection([{ value: 'a', timestamp: 0, offsetDelta: 9 }]);
  await assert.rejects(decodeRaw(rawBatch(far, 1, Compression.None, 2)), kind('corrupt', /offset delta 9/));
});

test('a corrupt compressed payload is corrupt and names the batch', async () => {
  const buf = rawBatch(Buffer.from('not gzip at all, no sir'), 1, Compression.Gzip);
  await assert.rejects(decodeRaw(buf), kind('corrupt', /record batch at byte 0.*gzip/));
});

test('a compressed batch that inflates past maxBytes is too_large', async () => {
  const records = [{ value: Buffer.alloc(8 << 20) }];
  for (const codec of [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const buf = await buildBatch({ records, compression: codec });
    assert.ok(buf.length < 1 << 20);
    const [h] = scanBatches(buf);
    await assert.rejects(decodeBatchRecords(buf, h!, { maxBytes: 1 << 20 }), kind('too_large'), compressionName(codec));
    assert.equal((await decodeBatchRecords(buf, h!, { maxBytes: 9 << 20 }))[0]!.value!.length, 8 << 20);
  }
});

test('a compressed payload with a different record framing inside is corrupt, not misread', async () => {
  const inner = Buffer.from('garbage garbage garbage garbage');
  const buf = rawBatch(await compress(Compression.Zstd, inner), 1, Compression.Zstd);
  await assert.rejects(decodeRaw(buf), kind('corrupt'));
});
