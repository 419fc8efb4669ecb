/**
 * Cross-checks against an independent implementation: kafkajs's own record batch encoder and
 * decoder (its internal protocol modules, the code its producer and consumer run). kafkajs
 * computes CRC-32C and varints itself, so agreement here is agreement between two codebases.
 * kafkajs ships only gzip; the other codecs are plugged in the way applications plug in
 * kafkajs-snappy/-lz4/-zstd, which checks our codecs inside kafkajs's batch framing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { scanBatches } from '../../core/records/batch.js';
import { Compression, compress, compressionName, decompress } from '../../core/records/compression.js';
import { buildBatch, decodeBatchRecords, type KafkaRecord } from '../../core/records/records.js';

const requireCjs = createRequire(import.meta.url);

interface KjsEncoder {
  buffer: Buffer;
}
type KjsRecord = (r: { offsetDelta?: number; timestampDelta?: number; key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer | Buffer[]> }) => KjsEncoder;
const KjsRecordEncoder = requireCjs('kafkajs/src/protocol/recordBatch/record/v0') as KjsRecord;
const { RecordBatch } = requireCjs('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (opts: Record<string, unknown>) => Promise<KjsEncoder>;
};
const KjsDecoder = requireCjs('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
const decodeKjsBatch = requireCjs('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
  firstOffset: string;
  lastOffsetDelta: number;
  producerId: string;
  records: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | Buffer[]> }[];
}>;
const Long = requireCjs('kafkajs/src/utils/long') as { fromValue(v: number | string): unknown };
const { Codecs, Types } = requireCjs('kafkajs/src/protocol/message/compression') as {
  Codecs: Record<number, () => unknown>;
  Types: Record<string, number>;
};

// Register our snappy/lz4/zstd into kafkajs, as kafkajs-snappy etc. do (CompressionCodecs[type] = ...).
for (const codec of [Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
  Codecs[codec] = () => ({
    compress: (encoder: KjsEncoder) => compress(codec, encoder.buffer),
    decompress: (buffer: Buffer) => decompress(codec, buffer),
  });
}
assert.equal(Types.GZIP, Compression.Gzip);

const T0 = 1_710_000_000_000;
interface SampleRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestampDelta: number;
  headers: Record<string, Buffer | Buffer[]>;
}
const sample: SampleRecord[] = Array.from({ length: 50 }, (_, i) => ({
  key: i % 7 === 0 ? null : Buffer.from(`key-${i}`),
  value: i % 11 === 0 ? null : Buffer.from(`value ${i} `.repeat(1 + (i % 13))),
  timestampDelta: i * 37 - 100,
  headers: i % 3 === 0 ? { trace: Buffer.from(`t${i}`), multi: [Buffer.from('a'), Buffer.from('b')] } : ({} as Record<string, Buffer>),
}));

async function kafkajsBatch(compression: number, firstOffset: number, transactional = false): Promise<Buffer> {
  const records = sample.map((r, i) => KjsRecordEncoder({ offsetDelta: i, ...r }));
  const enc = await RecordBatch({
    compression,
    firstOffset: Long.fromValue(firstOffset),
    firstTimestamp: T0,
    maxTimestamp: T0 + 49 * 37 - 100,
    partitionLeaderEpoch: 3,
    lastOffsetDelta: records.length - 1,
    transactional,
    producerId: Long.fromValue(4242),
    producerEpoch: 2,
    firstSequence: 17,
    records,
  });
  return enc.buffer;
}

function headersOf(h: Record<string, Buffer | Buffer[]>): { key: string; value: Buffer }[] {
  return Object.entries(h).flatMap(([key, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ key, value })));
}

test('batches written by kafkajs scan (CRC verified) and decode exactly, for every codec', async () => {
  for (const codec of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const buf = await kafkajsBatch(codec, 1000, codec === Compression.Gzip);
    const [h, ...rest] = scanBatches(buf);
    assert.equal(rest.length, 0);
    assert.equal(h!.compression, codec, compressionName(codec));
    assert.equal(h!.baseOffset, 1000n);
    assert.equal(h!.partitionLeaderEpoch, 3);
    assert.equal(h!.producerId, 4242n);
    assert.equal(h!.producerEpoch, 2);
    assert.equal(h!.baseSequence, 17);
    assert.equal(h!.isTransactional, codec === Compression.Gzip);
    assert.equal(h!.recordCount, sample.length);
    assert.equal(h!.baseTimestamp, T0);
    const recs = await decodeBatchRecords(buf, h!);
    assert.equal(recs.length, sample.length);
    recs.forEach((r, i) => {
      const want = sample[i]!;
      assert.equal(r.offset, 1000n + BigInt(i));
      assert.equal(r.timestamp, T0 + want.timestampDelta);
      assert.deepEqual(r.key, want.key);
      assert.deepEqual(r.value, want.value);
      assert.deepEqual(r.headers, headersOf(want.headers));
    });
  }
});

test('batches we build are read identically by the kafkajs decoder, for every codec', async () => {
  const ours = sample.map((r) => ({
    key: r.key,
    value: r.value,
    timestamp: T0 + r.timestampDelta,
    headers: headersOf(r.headers),
  }));
  for (const codec of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const buf = await buildBatch({ baseOffset: 500n, records: ours, compression: codec, producerId: 9n });
    const decoded = await decodeKjsBatch(new KjsDecoder(buf));
    assert.equal(decoded.firstOffset, '500');
    assert.equal(decoded.producerId, '9');
    assert.equal(decoded.lastOffsetDelta, sample.length - 1);
    assert.equal(decoded.records.length, sample.length, compressionName(codec));
    decoded.records.forEach((r, i) => {
      const want = ours[i]!;
      assert.equal(r.offset, String(500 + i));
      assert.equal(r.timestamp, String(want.timestamp));
      assert.deepEqual(r.key, want.key);
      assert.deepEqual(r.value, want.value);
      assert.deepEqual(headersOf(r.headers), want.headers);
    });
  }
});

test('our CRC equals the one kafkajs computes for the same bytes', async () => {
  const kjs = await kafkajsBatch(Compression.None, 0);
  const records: KafkaRecord[] = await decodeBatchRecords(kjs, scanBatches(kjs)[0]!);
  const rebuilt = await buildBatch({
    baseOffset: 0n,
    partitionLeaderEpoch: 3,
    producerId: 4242n,
    producerEpoch: 2,
    baseSequence: 17,
    baseTimestamp: T0,
    maxTimestamp: T0 + 49 * 37 - 100,
    records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers })),
  });
  assert.deepEqual(rebuilt, kjs);
});
