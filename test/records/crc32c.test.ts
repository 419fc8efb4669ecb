import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative } from '../../core/records/crc32c.js';

// RFC 3720 (iSCSI) appendix B.4 vectors plus the common "123456789" check value.
const vectors: [string, Buffer, number][] = [
  ['empty', Buffer.alloc(0), 0x00000000],
  ['"123456789"', Buffer.from('123456789'), 0xe3069283],
  ['32 zero bytes', Buffer.alloc(32, 0x00), 0x8a9136aa],
  ['32 0xff bytes', Buffer.alloc(32, 0xff), 0x62a8ab43],
  ['0..31 ascending', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
  ['31..0 descending', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
];

test('crc32c matches known CRC-32C vectors in every implementation', () => {
  for (const [name, input, expected] of vectors) {
    assert.equal(crc32c(input), expected, `crc32c ${name}`);
    assert.equal(crc32cJs(input), expected, `crc32cJs ${name}`);
    if (crc32cNative !== null) assert.equal(crc32cNative(input), expected, `native ${name}`);
  }
});

test('the native implementation loads on this platform', () => {
  // Not a correctness requirement (the JS fallback is complete) but a performance one: if this
  // fails, check the @node-rs/crc32 optional binary for this platform installed.
  assert.equal(crc32cImplementation, 'native');
  assert.notEqual(crc32cNative, null);
});

test('crc32c results are unsigned 32-bit integers', () => {
  for (let i = 0; i < 50; i++) {
    const v = crc32c(randomBytes(1 + i * 7));
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  }
});

test('native and JS agree on random data of many lengths, including around the 8-byte stride', () => {
  const lengths = [1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000, 4096, 65537, 1 << 20];
  for (const len of lengths) {
    const buf = randomBytes(len);
    const js = crc32cJs(buf);
    assert.equal(crc32c(buf), js, `length ${len}`);
    if (crc32cNative !== null) assert.equal(crc32cNative(buf), js, `native length ${len}`);
  }
});

test('start/end ranges and subarray views give the CRC of exactly those bytes', () => {
  const buf = randomBytes(10_000);
  for (const [start, end] of [
    [0, 0],
    [0, 1],
    [1, 9],
    [3, 200],
    [17, 9_999],
    [5_000, 10_000],
    [0, 10_000],
  ] as [number, number][]) {
    const copy = Buffer.from(buf.subarray(start, end));
    const expected = crc32cJs(copy);
    assert.equal(crc32c(buf, start, end), expected, `range [${start}, ${end})`);
    assert.equal(crc32cJs(buf, start, end), expected, `js range [${start}, ${end})`);
    if (crc32cNative !== null) assert.equal(crc32cNative(buf, start, end), expected, `native range [${start}, ${end})`);
    // A view with a non-zero byteOffset into a shared ArrayBuffer.
    assert.equal(crc32c(buf.subarray(start, end)), expected, `view [${start}, ${end})`);
    assert.equal(crc32c(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)), expected);
  }
});

test('crc32c rejects ranges outside the buffer', () => {
  const buf = Buffer.alloc(10);
  assert.throws(() => crc32c(buf, 0, 11), RangeError);
  assert.throws(() => crc32c(buf, -1, 5), RangeError);
  assert.throws(() => crc32c(buf, 6, 5), RangeError);
});
