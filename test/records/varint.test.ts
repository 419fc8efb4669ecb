import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isWeirError } from '../../core/errors.js';
import {
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../core/records/varint.js';

// kafkajs's encoder is an independent implementation of the same wire format.
const requireCjs = createRequire(import.meta.url);
const KafkaJsEncoder = requireCjs('kafkajs/src/protocol/encoder') as new () => {
  writeVarInt(v: number): unknown;
  writeVarLong(v: number): unknown;
  buffer: Buffer;
};

function encodeVarint(v: number): Buffer {
  const buf = Buffer.alloc(5);
  return buf.subarray(0, writeVarint(buf, 0, v));
}
function encodeVarlong(v: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, v));
}

const int32Edges = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 20, -(2 ** 20), 2 ** 31 - 1, -(2 ** 31)];
const longEdges = [...int32Edges, 2 ** 31, -(2 ** 31) - 1, 2 ** 40, -(2 ** 40), 1_700_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];

test('zigzag varint encoding matches Kafka/protobuf (via kafkajs) and round-trips', () => {
  const values = [...int32Edges];
  for (let i = 0; i < 2000; i++) values.push((Math.random() * 2 ** 32 - 2 ** 31) | 0);
  for (const v of values) {
    const ours = encodeVarint(v);
    const theirs = new KafkaJsEncoder();
    theirs.writeVarInt(v);
    assert.deepEqual(ours, theirs.buffer, `varint ${v}`);
    assert.equal(sizeOfVarint(v), ours.length);
    const cur = { pos: 0 };
    assert.equal(readVarint(ours, cur), v);
    assert.equal(cur.pos, ours.length);
  }
  assert.deepEqual(encodeVarint(0), Buffer.from([0]));
  assert.deepEqual(encodeVarint(-1), Buffer.from([1]));
  assert.deepEqual(encodeVarint(1), Buffer.from([2]));
  assert.deepEqual(encodeVarint(-65), Buffer.from([0x81, 0x01]));
});

test('zigzag varlong encoding matches kafkajs and round-trips over the safe integer range', () => {
  const values = [...longEdges];
  for (let i = 0; i < 2000; i++) values.push(Math.round((Math.random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER));
  for (let i = 0; i < 500; i++) values.push(Math.round((Math.random() - 0.5) * 2 ** 20));
  for (const v of values) {
    const ours = encodeVarlong(v);
    const theirs = new KafkaJsEncoder();
    theirs.writeVarLong(v);
    assert.deepEqual(ours, theirs.buffer, `varlong ${v}`);
    assert.equal(sizeOfVarlong(v), ours.length);
    const cur = { pos: 0 };
    assert.equal(readVarlong(ours, cur), v);
    assert.equal(cur.pos, ours.length);
  }
});

test('readers honour the cursor and the end bound', () => {
  const buf = Buffer.concat([encodeVarint(300), encodeVarint(-5), encodeVarlong(-123456789012)]);
  const cur = { pos: 0 };
  assert.equal(readVarint(buf, cur), 300);
  assert.equal(readVarint(buf, cur), -5);
  assert.equal(readVarlong(buf, cur), -123456789012);
  assert.equal(cur.pos, buf.length);
  // A varint that would continue past `end` is truncated even if the buffer has more bytes.
  assert.throws(() => readVarint(Buffer.from([0x80, 0x01]), { pos: 0 }, 1), (e) => isWeirError(e, 'corrupt'));
});

test('malformed varints are corrupt, not misread', () => {
  const corrupt = (e: unknown) => isWeirError(e, 'corrupt');
  assert.throws(() => readVarint(Buffer.alloc(0), { pos: 0 }), corrupt);
  assert.throws(() => readVarint(Buffer.from([0x80]), { pos: 0 }), corrupt);
  assert.throws(() => readVarint(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), { pos: 0 }), corrupt);
  assert.throws(() => readVarlong(Buffer.from([0xff, 0xff, 0xff]), { pos: 0 }), corrupt);
  assert.throws(() => readVarlong(Buffer.alloc(11, 0x80), { pos: 0 }), corrupt);
  // 2^63 - 1 zigzagged: valid Kafka bytes, but not representable exactly as a JS number.
  const max = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.throws(() => readVarlong(max, { pos: 0 }), corrupt);
  // A padded (over-long but in-bounds) encoding of a small value is still accepted, as by Kafka.
  assert.equal(readVarlong(Buffer.from([0x82, 0x80, 0x80, 0x80, 0x80, 0x00]), { pos: 0 }), 1);
});

test('writers reject values outside their range', () => {
  assert.throws(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 60), RangeError);
  assert.throws(() => sizeOfVarlong(0.5), RangeError);
});
