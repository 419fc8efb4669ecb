import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isWeirError } from '../../core/errors.js';
import {
  Compression,
  compress,
  compressionFromName,
  compressionName,
  decompress,
} from '../../core/records/compression.js';
import { isXerialFramed } from '../../core/records/codec-snappy.js';
import { xxhash32 } from '../../core/records/xxhash32.js';

const requireCjs = createRequire(import.meta.url);
const snappy = requireCjs('snappy') as { compressSync(b: Uint8Array): Buffer };
const lz4 = requireCjs('lz4-napi') as { compressSync(b: Buffer): Buffer; compressFrameSync(b: Buffer): Buffer };

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
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const FIXTURE_SHA256 = '3da14aa3da5db38c08b8e32b11b9b74c6e912c3a712afb8faa2b6d3fa3398cc8';
const FIXTURE_BYTES = 150_042;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const codecs = [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd] as const;
const compressedCodecs = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd] as const;
const isKind = (kind: 'corrupt' | 'too_large' | 'invalid_argument') => (e: unknown) => isWeirError(e, kind);

function textPayload(bytes: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'weir', 'kafka', 'offset', 'partition'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const w = `${words[(i * 7919) % words.length]}-${i % 1000} `;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('').slice(0, bytes));
}

test('every codec round-trips empty, tiny, text and incompressible payloads', async () => {
  const payloads = [Buffer.alloc(0), Buffer.from('x'), textPayload(200_000), randomBytes(300_000), Buffer.alloc(1 << 20)];
  for (const codec of codecs) {
    for (const p of payloads) {
      const c = await compress(codec, p);
      const d = await decompress(codec, c);
      assert.ok(d.equals(p), `${compressionName(codec)} round trip of ${p.length} bytes`);
    }
  }
});

test('payloads given as Uint8Array subarrays compress only the viewed bytes', async () => {
  const backing = textPayload(100_000);
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 1000, 50_000);
  for (const codec of codecs) {
    const d = await decompress(codec, await compress(codec, view));
    assert.ok(d.equals(Buffer.from(view)), compressionName(codec));
  }
});

test('codec names map both ways, unknown ones are rejected', () => {
  assert.equal(compressionFromName('ZSTD'), Compression.Zstd);
  assert.equal(compressionFromName('none'), Compression.None);
  assert.equal(compressionName(Compression.Lz4), 'lz4');
  assert.throws(() => compressionFromName('brotli'), isKind('invalid_argument'));
});

test('unknown codec ids (5-7) are corrupt', async () => {
  await assert.rejects(decompress(5 as Compression, Buffer.from('x')), isKind('corrupt'));
  await assert.rejects(compress(7 as Compression, Buffer.from('x')), isKind('corrupt'));
});

test('garbage input is corrupt for every compressed codec', async () => {
  const garbage = Buffer.from('this is definitely not compressed data, not in any format');
  for (const codec of compressedCodecs) {
    await assert.rejects(decompress(codec, garbage), isKind('corrupt'), compressionName(codec));
  }
  // Truncated streams of valid data too.
  const good = textPayload(100_000);
  for (const codec of compressedCodecs) {
    const c = await compress(codec, good);
    await assert.rejects(decompress(codec, c.subarray(0, Math.floor(c.length / 2))), isKind('corrupt'), compressionName(codec));
  }
});

test('decompression bombs fail with too_large under maxBytes, for every codec', async () => {
  const bomb = Buffer.alloc(64 << 20); // 64 MiB of zeros compresses to a few KiB in every codec
  for (const codec of codecs) {
    const c = await compress(codec, bomb);
    if (codec !== Compression.None) assert.ok(c.length < 4 << 20, `${compressionName(codec)} bomb is small (${c.length})`);
    await assert.rejects(decompress(codec, c, { maxBytes: 1 << 20 }), isKind('too_large'), compressionName(codec));
  }
});

test('maxBytes is an inclusive bound on the exact output size', async () => {
  const data = textPayload(100_000);
  for (const codec of codecs) {
    const c = await compress(codec, data);
    assert.equal((await decompress(codec, c, { maxBytes: 100_000 })).length, 100_000, compressionName(codec));
    await assert.rejects(decompress(codec, c, { maxBytes: 99_999 }), isKind('too_large'), compressionName(codec));
  }
});

// --- gzip ---------------------------------------------------------------------------------------

test('gzip: concatenated members decode as one stream', async () => {
  const both = Buffer.concat([gzipSync('hello '), gzipSync('world')]);
  assert.equal((await decompress(Compression.Gzip, both)).toString(), 'hello world');
});

// --- snappy -------------------------------------------------------------------------------------

test('snappy: compress writes xerial framing with 32 KiB chunks (what Java consumers read)', async () => {
  const data = textPayload(100_000);
  const c = await compress(Compression.Snappy, data);
  assert.ok(isXerialFramed(c));
  assert.deepEqual([...c.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  assert.equal(c.readInt32BE(8), 1);
  assert.equal(c.readInt32BE(12), 1);
  let pos = 16;
  let chunks = 0;
  while (pos < c.length) {
    pos += 4 + c.readInt32BE(pos);
    chunks++;
  }
  assert.equal(pos, c.length);
  assert.equal(chunks, Math.ceil(100_000 / 32_768));
});

test('snappy: raw (unframed) blocks, as librdkafka writes them, decode too', async () => {
  const data = textPayload(70_000);
  const raw = snappy.compressSync(data);
  assert.ok(!isXerialFramed(raw));
  assert.ok((await decompress(Compression.Snappy, raw)).equals(data));
});

test('snappy: xerial framing built independently (one chunk per block) decodes', async () => {
  const parts = [textPayload(10), textPayload(40_000), Buffer.from('tail')];
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const chunks = parts.map((p) => {
    const c = snappy.compressSync(p);
    const len = Buffer.alloc(4);
    len.writeInt32BE(c.length);
    return Buffer.concat([len, c]);
  });
  const framed = Buffer.concat([header, ...chunks]);
  assert.ok((await decompress(Compression.Snappy, framed)).equals(Buffer.concat(parts)));
});

test('snappy: bad xerial chunk lengths are corrupt; declared sizes over maxBytes are refused up front', async () => {
  const framed = await compress(Compression.Snappy, textPayload(50_000));
  const bad = Buffer.from(framed);
  bad.writeInt32BE(0x7fffffff, 16);
  await assert.rejects(decompress(Compression.Snappy, bad), isKind('corrupt'));
  const negative = Buffer.from(framed);
  negative.writeInt32BE(-5, 16);
  await assert.rejects(decompress(Compression.Snappy, negative), isKind('corrupt'));
  // A raw block that claims 1 GiB of output: refused from its preamble alone.
  const liar = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]);
  await assert.rejects(decompress(Compression.Snappy, liar, { maxBytes: 1 << 20 }), isKind('too_large'));
});

// --- lz4 ----------------------------------------------------------------------------------------

test('lz4: frames from the reference lz4 CLI decode (linked and independent blocks, checksums)', async () => {
  for (const name of ['input.linked-blockchecksum-contentsize.lz4', 'input.independent.lz4']) {
    const out = await decompress(Compression.Lz4, fixture(name));
    assert.equal(out.length, FIXTURE_BYTES, name);
    assert.equal(sha256(out), FIXTURE_SHA256, name);
  }
});

test('lz4: compress writes the Java client frame shape (FLG 0x60, BD 0x40, valid header checksum)', async () => {
  const c = await compress(Compression.Lz4, textPayload(1000));
  assert.equal(c.readUInt32LE(0), 0x184d2204);
  assert.equal(c[4], 0x60);
  assert.equal(c[5], 0x40);
  assert.equal(c[6], (xxhash32(c, 4, 6) >>> 8) & 0xff);
});

test('lz4: a pre-KIP-57 header checksum (computed over the magic too) is tolerated', async () => {
  const data = textPayload(5000);
  const frame = Buffer.from(lz4.compressFrameSync(data));
  const broken = (xxhash32(frame, 0, 6) >>> 8) & 0xff;
  assert.notEqual(broken, frame[6]);
  frame[6] = broken;
  assert.ok((await decompress(Compression.Lz4, frame)).equals(data));
});

test('lz4: concatenated frames and skippable frames decode in order', async () => {
  const a = textPayload(3000);
  const b = Buffer.from('second frame');
  const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
  const input = Buffer.concat([lz4.compressFrameSync(a), skippable, lz4.compressFrameSync(b)]);
  assert.ok((await decompress(Compression.Lz4, input)).equals(Buffer.concat([a, b])));
});

test('lz4: many short blocks under a 4 MiB block maximum are bounded exactly, not rejected', async () => {
  // Header bound: 10 blocks x 4 MiB = 40 MiB > maxBytes, real output 10 KB: the exact pass decides.
  const pieces = Array.from({ length: 10 }, (_, i) => textPayload(1000 + i));
  const blocks = pieces.map((p) => {
    const withSize = lz4.compressSync(p); // 4-byte LE size prefix, then the raw block
    const body = withSize.subarray(4);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    return Buffer.concat([len, body]);
  });
  const descriptor = Buffer.from([0x60, 0x70]); // independent blocks, 4 MiB maximum
  const hc = (xxhash32(descriptor) >>> 8) & 0xff;
  const frame = Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptor, Buffer.from([hc]), ...blocks, Buffer.alloc(4)]);
  const out = await decompress(Compression.Lz4, frame, { maxBytes: 1 << 20 });
  assert.ok(out.equals(Buffer.concat(pieces)));
  await assert.rejects(decompress(Compression.Lz4, frame, { maxBytes: 5000 }), isKind('too_large'));
});

test('lz4: structural errors are corrupt', async () => {
  const good = Buffer.from(lz4.compressFrameSync(textPayload(5000)));
  const badVersion = Buffer.from(good);
  badVersion[4] = 0xa0; // version bits 10
  await assert.rejects(decompress(Compression.Lz4, badVersion), isKind('corrupt'));
  const badBlockSize = Buffer.from(good);
  badBlockSize[5] = 0x10; // block max id 1
  await assert.rejects(decompress(Compression.Lz4, badBlockSize), isKind('corrupt'));
  const oversizedBlock = Buffer.from(good);
  oversizedBlock.writeUInt32LE(0x00100000, 7); // 1 MiB block in a 64 KiB frame
  await assert.rejects(decompress(Compression.Lz4, oversizedBlock), isKind('corrupt'));
  await assert.rejects(decompress(Compression.Lz4, good.subarray(0, good.length - 2)), isKind('corrupt'));
});

// --- zstd ---------------------------------------------------------------------------------------

test('zstd: frames from the reference zstd CLI decode (streamed without size; sized with checksum)', async () => {
  for (const name of ['input.stream.zst', 'input.sized-checksum.zst']) {
    const out = await decompress(Compression.Zstd, fixture(name));
    assert.equal(out.length, FIXTURE_BYTES, name);
    assert.equal(sha256(out), FIXTURE_SHA256, name);
  }
});

test('zstd: concatenated and skippable frames decode in order', async () => {
  const skippable = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 1, 2]);
  const input = Buffer.concat([fixture('input.stream.zst'), skippable, await compress(Compression.Zstd, Buffer.from('!'))]);
  const out = await decompress(Compression.Zstd, input);
  assert.equal(out.length, FIXTURE_BYTES + 1);
  assert.equal(out.at(-1), 0x21);
});

test('zstd: when the header bound exceeds maxBytes the exact streaming count decides', async () => {
  // input.stream.zst has two compressed blocks in a 2 MiB window: header bound 256 KiB.
  const stream = fixture('input.stream.zst');
  assert.equal((await decompress(Compression.Zstd, stream, { maxBytes: 200_000 })).length, FIXTURE_BYTES);
  assert.equal((await decompress(Compression.Zstd, stream, { maxBytes: FIXTURE_BYTES })).length, FIXTURE_BYTES);
  await assert.rejects(decompress(Compression.Zstd, stream, { maxBytes: FIXTURE_BYTES - 1 }), isKind('too_large'));
});

test('zstd: corrupted block contents and reserved bits are corrupt', async () => {
  const sized = Buffer.from(fixture('input.sized-checksum.zst'));
  const flipped = Buffer.from(sized);
  flipped[sized.length - 100]! ^= 0xff;
  await assert.rejects(decompress(Compression.Zstd, flipped), isKind('corrupt'));
  const reserved = Buffer.from(sized);
  reserved[4]! |= 0x08;
  await assert.rejects(decompress(Compression.Zstd, reserved), isKind('corrupt'));
});
