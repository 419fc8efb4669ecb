/**
 * Serde.copies: a serde that sets it promises that what it deserializes keeps no reference to the
 * bytes it was given, which is what lets the runtime reuse fetch frames (pooled-frames.test.ts).
 * Each claim is checked by deserializing out of a buffer, overwriting the buffer, and comparing
 * with a snapshot taken before. The bytes serde, which does not claim it, is checked the other
 * way: its results share the buffer, so the flag must stay off for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serdes, type Serde } from '../../pipelines/index.js';

function deserializedFrom<T>(serde: Serde<T>, encoded: Buffer): { value: T; frame: Buffer } {
  // As in a fetch frame: the value sits among other bytes.
  const frame = Buffer.concat([Buffer.from('before'), encoded, Buffer.from('after')]);
  const view = frame.subarray(6, 6 + encoded.length);
  const value = serde.deserializeAt !== undefined ? serde.deserializeAt(frame, 6, encoded.length) : serde.deserialize(view);
  return { value, frame };
}

function survivesReuse<T>(serde: Serde<T>, sample: T): boolean {
  const { value, frame } = deserializedFrom(serde, serde.serialize(sample)!);
  // JSON text as the snapshot: it covers strings, numbers, nesting and Buffers (as their bytes),
  // and ignores avsc's record classes.
  const before = JSON.stringify(value);
  frame.fill(0x41);
  return JSON.stringify(value) === before;
}

describe('Serde.copies', () => {
  it('json, string and Avro copy what they read', () => {
    const json = serdes.json<unknown>();
    assert.equal(json.copies, true);
    assert.ok(survivesReuse(json, { user: 'ü-1', n: 5, tags: ['a', 'b'], nested: { x: null, y: [1.5] } }));
    const str = serdes.string();
    assert.equal(str.copies, true);
    assert.ok(survivesReuse(str, 'key-ü-€'));
    const avro = serdes.avro<unknown>({
      type: 'record',
      name: 'Everything',
      fields: [
        { name: 's', type: 'string' },
        { name: 'i', type: 'long' },
        { name: 'd', type: 'double' },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'm', type: { type: 'map', values: 'int' } },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
        { name: 'o', type: ['null', 'string'] },
      ],
    });
    assert.equal(avro.copies, true);
    assert.ok(survivesReuse(avro, { s: 'ü', i: 7, d: 1.25, tags: ['x'], m: { k: 1 }, e: 'B', o: 'y' }));
  });

  it('Avro copies bytes and fixed values too', () => {
    const withBytes = serdes.avro<unknown>({ type: 'record', name: 'B', fields: [{ name: 'b', type: 'bytes' }, { name: 'd', type: { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 } }] });
    assert.equal(withBytes.copies, true);
    assert.ok(survivesReuse(withBytes, { b: Buffer.from('payload'), d: Buffer.from([1, 2]) }));
    const withFixed = serdes.avro<unknown>({ type: 'record', name: 'F', fields: [{ name: 'f', type: { type: 'fixed', name: 'Four', size: 4 } }] });
    assert.equal(withFixed.copies, true);
    assert.ok(survivesReuse(withFixed, { f: Buffer.from('abcd') }));
  });

  it('bytes passes views through and does not claim to copy', () => {
    const bytes = serdes.bytes();
    assert.notEqual(bytes.copies, true);
    assert.equal(survivesReuse(bytes, Buffer.from('payload')), false);
  });
});
