import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { decodeMessage, encodeMessage } from '../../core/protocol/codec.js';
import { decodeRequestBody, decodeRequestHeader } from '../../core/protocol/frame.js';
import { ApiVersions, Fetch, Metadata, Produce, RequestHeaderSchema } from '../../core/protocol/generated/index.js';
import type { MessageSchema } from '../../core/protocol/types.js';
import { sampleValue } from './sample-values.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}

function assertCorrupt(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => isWeirError(e, 'corrupt'), what);
}

/** Deterministic PRNG (mulberry32) so a failing mutation reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cases: [MessageSchema, number][] = [
  [Produce.request, 3],
  [Produce.request, 11],
  [Fetch.response, 16],
  [Fetch.response, 4],
  [Metadata.response, 12],
  [ApiVersions.response, 3],
  [RequestHeaderSchema, 2],
];

describe('corrupt input throws WeirError corrupt', () => {
  for (const [schema, version] of cases) {
    test(`${schema.name} v${version} truncated at every byte`, () => {
      const bytes = encodeMessage(schema, version, sampleValue(schema, version, 'full'));
      for (let n = 0; n < bytes.length; n++) {
        // A copy, so nothing past the truncation point is reachable through the buffer.
        const truncated = Buffer.from(bytes.subarray(0, n));
        assertCorrupt(() => decodeMessage(schema, version, truncated), `truncated to ${n} of ${bytes.length}`);
      }
    });
  }

  test('random byte mutations either decode or throw corrupt, never anything else', () => {
    const random = prng(42);
    for (const [schema, version] of cases) {
      const bytes = encodeMessage(schema, version, sampleValue(schema, version, 'full'));
      for (let i = 0; i < 300; i++) {
        const mutated = Buffer.from(bytes);
        for (let k = 0; k < 3; k++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        try {
          decodeMessage(schema, version, mutated);
        } catch (e) {
          assert.ok(isWeirError(e, 'corrupt'), `${schema.name} v${version} mutation ${i}: ${String(e)}`);
        }
      }
    }
  });

  test('a huge array length is rejected before allocating', () => {
    // Memory, not time, tells whether an array was allocated for the claimed length (2^31 slots
    // would be gigabytes); a few MB of slack covers the decoder's own garbage.
    const before = process.memoryUsage().heapUsed;
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('7fffffff 0003 666f6f')), 'int32 array length');
    // Compact: uvarint 0xffffffff, i.e. 2^32 - 2 elements.
    assertCorrupt(() => decodeMessage(Metadata.request, 12, hex('ffffffff0f')), 'compact array length');
    assert.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024, 'no allocation sized by the claimed length');
  });

  test('lengths past the end of the buffer', () => {
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('00000001 0010 666f6f')), 'string');
    assertCorrupt(() => decodeMessage(Produce.request, 3, hex('ffff 0001 00000005 00000001 0001 74 00000001 00000000 7ffffff0 00')), 'records');
    // Compact bytes claiming 2^31 bytes.
    assertCorrupt(() => decodeMessage(Produce.request, 9, hex('00 ffff 00007530 02 02 74 02 00000002 80808080 08')), 'compact records');
  });

  test('negative lengths other than the -1 null marker', () => {
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('fffffffe')), 'array length -2');
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('00000001 fffe')), 'string length -2');
    assertCorrupt(
      () => decodeMessage(Produce.request, 3, hex('ffff 0001 00000005 00000001 0001 74 00000001 00000000 fffffffb')),
      'records length -5',
    );
  });

  test('null in a field that is not nullable in the version', () => {
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('00000001 ffff')), 'topic name in v1');
    assertCorrupt(() => decodeMessage(Metadata.request, 0, hex('ffffffff')), 'topics array in v0');
    assertCorrupt(() => decodeMessage(ApiVersions.request, 3, hex('00 00 00')), 'compact string');
  });

  test('varint overflow', () => {
    assertCorrupt(() => decodeMessage(Metadata.request, 12, hex('ffffffffffff01')), 'six-byte varint');
    assertCorrupt(() => decodeMessage(Metadata.request, 12, hex('ffffffff10')), 'fifth byte above 32 bits');
    assertCorrupt(() => decodeMessage(Metadata.request, 12, hex('ff')), 'unterminated varint');
  });

  test('tagged field section lies about sizes', () => {
    // ApiVersions v3 request: two empty compact strings, then one tagged field of 9 bytes with 1 present.
    assertCorrupt(() => decodeMessage(ApiVersions.request, 3, hex('01 01 | 01 | 05 09 aa')), 'unknown tag size');
    // Known tag 3 (ZkMigrationReady, a bool) declared with size 0: the bool read must stay inside.
    assertCorrupt(
      () => decodeMessage(ApiVersions.response, 3, hex('0000 01 00000000 | 01 | 03 00 | 01')),
      'known tag reading past its size',
    );
    // Count says two tagged fields, only one follows.
    assertCorrupt(() => decodeMessage(ApiVersions.request, 3, hex('01 01 | 02 | 05 01 aa')), 'missing tagged field');
  });

  test('frames too short for a header, and offsets outside the buffer', () => {
    assertCorrupt(() => decodeRequestHeader(hex('0000')), 'two bytes');
    assertCorrupt(() => decodeRequestHeader(hex('0003 0001 0000')), 'truncated correlation id');
    assertCorrupt(() => decodeRequestHeader(hex('0003 0001 00000001 0005 61')), 'truncated client id');
    assertCorrupt(() => decodeMessage(Metadata.request, 1, hex('00000000'), 5), 'offset past the end');
    assertCorrupt(() => decodeRequestBody(Metadata, 1, hex('00000000'), 9), 'body offset past the end');
  });
});
