/**
 * Record batches captured from a real librdkafka producer (see fixtures/README.md): the raw
 * snappy, LZ4F and unsized zstd payloads that C/C++/Python/Go/.NET clients send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanBatches } from '../../core/records/batch.js';
import { Compression } from '../../core/records/compression.js';
import { isXerialFramed } from '../../core/records/codec-snappy.js';
import { decodeBatchRecords } from '../../core/records/records.js';

// Tests run from dist/ (compiled) or test/ (tsx); fixtures live only in the source tree.
function fixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root from ' + import.meta.url);
    dir = up;
  }
  return join(dir, 'test', 'records', 'fixtures');
}
const FIXTURES = fixturesDir();
const INPUT_SHA256 = '9de6265b425a53b8bcbaae3cece6af1768ea29152cc9dddb3323cead0e02215c';

const cases = [
  ['gzip', Compression.Gzip],
  ['snappy', Compression.Snappy],
  ['lz4', Compression.Lz4],
  ['zstd', Compression.Zstd],
] as const;

test('librdkafka batches scan, pass their CRC and decode to exactly what kcat was given', async () => {
  for (const [name, codec] of cases) {
    const buf = readFileSync(join(FIXTURES, `librdkafka-${name}.batch`));
    const headers = scanBatches(buf);
    assert.equal(headers.length, 1, name);
    const h = headers[0]!;
    assert.equal(h.compression, codec, name);
    assert.equal(h.recordCount, 100);
    assert.equal(h.lastOffsetDelta, 99);
    assert.equal(h.producerId, -1n);
    const records = await decodeBatchRecords(buf, h);
    const text = records.map((r) => `${r.key!.toString()}\t${r.value!.toString()}\n`).join('');
    assert.equal(createHash('sha256').update(text).digest('hex'), INPUT_SHA256, name);
    records.forEach((r, i) => {
      assert.equal(r.offset, BigInt(i));
      assert.equal(r.key!.toString(), `key-${i % 13}`);
      assert.ok(r.timestamp >= h.baseTimestamp && r.timestamp <= h.maxTimestamp);
      assert.deepEqual(
        r.headers.map((x) => [x.key, x.value?.toString()]),
        [
          ['source', 'kcat'],
          ['empty', ''],
        ],
      );
    });
  }
});

test('librdkafka payload shapes are the ones the codecs were written for', () => {
  const payload = (name: string) => readFileSync(join(FIXTURES, `librdkafka-${name}.batch`)).subarray(61);
  assert.ok(!isXerialFramed(payload('snappy')), 'librdkafka writes raw snappy');
  const lz4 = payload('lz4');
  assert.equal(lz4.readUInt32LE(0), 0x184d2204);
  assert.equal(lz4[4], 0x60);
  assert.equal(lz4[5], 0x40);
  const zstd = payload('zstd');
  assert.equal(zstd.readUInt32LE(0), 0xfd2fb528);
  assert.equal(zstd[4]! & 0xc0, 0, 'no frame content size');
});
