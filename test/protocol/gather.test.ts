/**
 * Gather encoding: encodeResponseGather / encodeMessageGather must produce exactly the bytes of
 * encodeResponse / encodeMessage, with records (and large bytes) included by reference rather
 * than copied, and records given as Buffer[] meaning their concatenation in both encoders.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { decodeMessage, encodeMessage, encodeMessageGather, GATHER_MIN_BYTES } from '../../core/protocol/codec.js';
import { decodeResponse, encodeResponse, encodeResponseGather } from '../../core/protocol/frame.js';
import {
  allApis,
  dataSchemas,
  Fetch,
  Metadata,
  Produce,
  SaslAuthenticate,
  type FetchResponse,
  type FetchResponsePartitionData,
} from '../../core/protocol/generated/index.js';
import { inVersions, type FieldSchema, type MessageSchema } from '../../core/protocol/types.js';
import { sampleValue, versionsOf } from './sample-values.js';

type Obj = Record<string, unknown>;

/** Whether `fields` has a bytes or records field present in `version`, at any depth. */
function hasPayload(fields: readonly FieldSchema[], version: number): boolean {
  return hasType(fields, version, 'bytes') || hasType(fields, version, 'records');
}

/** Whether `fields` has a field of `type` present in `version`, at any depth. */
function hasType(fields: readonly FieldSchema[], version: number, type: string): boolean {
  return fields.some(
    (f) => inVersions(f.versions, version) && (f.type === type || (f.fields !== undefined && hasType(f.fields, version, type))),
  );
}

/** The mode combinations worth trying: modes of a payload kind the message lacks change nothing. */
function modes(schema: MessageSchema, version: number): [RecordsMode, BytesMode][] {
  const rms = hasType(schema.fields, version, 'records') ? RECORDS_MODES : (['buffer'] as const);
  const bms = hasType(schema.fields, version, 'bytes') ? BYTES_MODES : (['small'] as const);
  return rms.flatMap((rm) => bms.map((bm): [RecordsMode, BytesMode] => [rm, bm]));
}

/** A copy of `v` with every present bytes/records field replaced by `fn`'s value. */
function mapPayloads(
  fields: readonly FieldSchema[],
  version: number,
  v: unknown,
  fn: (f: FieldSchema, nullable: boolean) => unknown,
): unknown {
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = { ...(v as Obj) };
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    const x = (v as Obj)[f.name];
    if (f.type === 'bytes' || f.type === 'records') out[f.name] = fn(f, inVersions(f.nullableVersions, version));
    else if (f.fields !== undefined) {
      out[f.name] = Array.isArray(x) ? x.map((e) => mapPayloads(f.fields!, version, e, fn)) : mapPayloads(f.fields, version, x, fn);
    }
  }
  return out;
}

/** Buffer[] records replaced by their concatenation: what the pieces mean. */
function concatPieces(fields: readonly FieldSchema[], version: number, v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = { ...(v as Obj) };
  for (const f of fields) {
    const x = (v as Obj)[f.name];
    if (f.type === 'records' && Array.isArray(x)) out[f.name] = Buffer.concat(x as Buffer[]);
    else if (f.fields !== undefined) {
      out[f.name] = Array.isArray(x) ? x.map((e) => concatPieces(f.fields!, version, e)) : concatPieces(f.fields, version, x);
    }
  }
  return out;
}

const RECORDS_MODES = ['buffer', 'pieces', 'empty-array', 'empty-buffer', 'null'] as const;
const BYTES_MODES = ['small', 'just-below', 'large', 'null'] as const;
type RecordsMode = (typeof RECORDS_MODES)[number];
type BytesMode = (typeof BYTES_MODES)[number];

interface Built {
  value: unknown;
  /** The Buffers the gather encoder must reference, not copy. */
  referenced: Buffer[];
}

let counter = 0;

function build(schema: MessageSchema, version: number, base: unknown, rm: RecordsMode, bm: BytesMode): Built {
  const referenced: Buffer[] = [];
  const fresh = (n: number): Buffer => Buffer.alloc(n, ++counter & 0xff);
  const value = mapPayloads(schema.fields, version, base, (f, nullable) => {
    if (f.type === 'records') {
      switch (rm) {
        case 'buffer': {
          const b = fresh(300);
          referenced.push(b);
          return b;
        }
        case 'pieces': {
          // Small, empty and large pieces, each a separate allocation.
          const pieces = [Buffer.from(`piece-${++counter}`), Buffer.alloc(0), fresh(GATHER_MIN_BYTES + 10)];
          referenced.push(pieces[0]!, pieces[2]!);
          return pieces;
        }
        case 'empty-array':
          return [];
        case 'empty-buffer':
          return Buffer.alloc(0);
        case 'null':
          // Non-nullable records (FetchSnapshot's unalignedRecords) cannot be null: keep one.
          if (nullable) return null;
          {
            const b = fresh(7);
            referenced.push(b);
            return b;
          }
      }
    }
    switch (bm) {
      case 'small':
        return fresh(5);
      case 'just-below':
        return fresh(GATHER_MIN_BYTES - 1);
      case 'large': {
        const b = fresh(GATHER_MIN_BYTES);
        referenced.push(b);
        return b;
      }
      case 'null':
        return nullable ? null : fresh(3);
    }
  });
  return { value, referenced };
}

/** Referenced buffers appear by identity; everything else is one contiguous structure buffer. */
function checkSegments(segments: Buffer[], referenced: Buffer[], where: string): void {
  for (const r of referenced) {
    assert.ok(
      segments.some((s) => s === r),
      `${where}: a ${r.length}-byte payload was copied instead of referenced`,
    );
  }
  const refs = new Set(referenced);
  const structural = segments.filter((s) => !refs.has(s));
  for (let i = 1; i < structural.length; i++) {
    const prev = structural[i - 1]!;
    const s = structural[i]!;
    // ok(===) rather than equal: a failing equal would print both (pool-sized) ArrayBuffers.
    assert.ok(s.buffer === prev.buffer, `${where}: structure segment ${i} comes from another allocation`);
    assert.equal(s.byteOffset, prev.byteOffset + prev.length, `${where}: structure segments are contiguous`);
  }
  assert.ok(
    segments.every((s) => s.length > 0),
    `${where}: no empty segments`,
  );
  assert.equal(segments.length, new Set(segments).size, `${where}: no segment twice`);
}

function checkMessage(schema: MessageSchema, version: number): void {
  for (const variant of ['full', 'nulls'] as const) {
    const base = sampleValue(schema, version, variant);
    for (const [rm, bm] of modes(schema, version)) {
      const where = `${schema.name} v${version} ${variant} records=${rm} bytes=${bm}`;
      const { value, referenced } = build(schema, version, base, rm, bm);
      const expected = encodeMessage(schema, version, concatPieces(schema.fields, version, value));
      assert.deepStrictEqual(encodeMessage(schema, version, value), expected, `${where}: Buffer[] copied in sequence`);
      const segments = encodeMessageGather(schema, version, value);
      assert.deepStrictEqual(Buffer.concat(segments), expected, `${where}: gather bytes`);
      checkSegments(segments, referenced, where);
    }
  }
}

function checkResponse(api: (typeof allApis)[number], version: number): void {
  const schema = api.response;
  for (const variant of ['full', 'nulls'] as const) {
    const base = sampleValue(schema, version, variant);
    for (const [rm, bm] of modes(schema, version)) {
      const where = `${api.name} response v${version} ${variant} records=${rm} bytes=${bm}`;
      const { value, referenced } = build(schema, version, base, rm, bm);
      const expected = encodeResponse(api, version, 0x01020304, concatPieces(schema.fields, version, value));
      assert.deepStrictEqual(encodeResponse(api, version, 0x01020304, value), expected, `${where}: Buffer[] copied in sequence`);
      const segments = encodeResponseGather(api, version, 0x01020304, value);
      assert.deepStrictEqual(Buffer.concat(segments), expected, `${where}: gather bytes`);
      checkSegments(segments, referenced, where);
    }
  }
}

describe('gather encoding equals plain encoding, for every version with bytes or records', () => {
  const apis = allApis.filter((a) =>
    versionsOf(a.response).some((v) => hasPayload(a.request.fields, v) || hasPayload(a.response.fields, v)),
  );
  const names = apis.map((a) => a.name);
  for (const expected of ['Produce', 'Fetch', 'ShareFetch', 'FetchSnapshot', 'SaslAuthenticate', 'SyncGroup']) {
    assert.ok(names.includes(expected), `${expected} has payload fields`);
  }
  for (const api of apis) {
    test(`${api.name} response (encodeResponseGather)`, () => {
      for (const v of versionsOf(api.response)) if (hasPayload(api.response.fields, v)) checkResponse(api, v);
    });
    test(`${api.name} request (encodeMessageGather)`, () => {
      for (const v of versionsOf(api.request)) if (hasPayload(api.request.fields, v)) checkMessage(api.request, v);
    });
  }
  for (const schema of dataSchemas.filter((s) => versionsOf(s).some((v) => hasPayload(s.fields, v)))) {
    test(`${schema.name} (encodeMessageGather)`, () => {
      for (const v of versionsOf(schema)) if (hasPayload(schema.fields, v)) checkMessage(schema, v);
    });
  }
});

describe('gather encoding details', () => {
  test('a Fetch response: the size prefix and structure around each partition, records by reference', () => {
    const a = Buffer.alloc(256 << 10, 1);
    const b1 = Buffer.alloc(64 << 10, 2);
    const b2 = Buffer.alloc(100, 3);
    const partition = (partitionIndex: number, records: FetchResponsePartitionData['records']): FetchResponsePartitionData => ({
      partitionIndex,
      highWatermark: 10n,
      records,
    });
    for (const version of versionsOf(Fetch.response)) {
      const body: FetchResponse = {
        responses: [
          {
            topic: 't',
            topicId: '00000000-0000-4000-8000-000000000001',
            partitions: [partition(0, a), partition(1, [b1, b2]), partition(2, null), partition(3, [])],
          },
        ],
      };
      const segments = encodeResponseGather(Fetch, version, 9, body);
      const plain = encodeResponse(Fetch, version, 9, body);
      assert.deepStrictEqual(Buffer.concat(segments), plain, `v${version}`);
      // structure, a, structure, b1, b2, structure
      assert.equal(segments.length, 6, `v${version}`);
      assert.equal(segments[1], a);
      assert.equal(segments[3], b1);
      assert.equal(segments[4], b2);
      assert.equal(segments[0]!.readInt32BE(0), plain.length - 4, 'the size prefix counts the referenced bytes');
      const structureBytes = segments[0]!.length + segments[2]!.length + segments[5]!.length;
      assert.equal(structureBytes, plain.length - a.length - b1.length - b2.length);
      assert.ok(structureBytes < 400, `v${version}: ${structureBytes} structure bytes`);
      // Decoding gives each partition's records as one Buffer, whatever form they were encoded from.
      const { body: decoded } = decodeResponse<FetchResponse>(Fetch, version, Buffer.concat(segments).subarray(4));
      const parts = decoded.responses![0]!.partitions!;
      assert.deepStrictEqual(parts[0]!.records, a);
      assert.ok(Buffer.isBuffer(parts[1]!.records));
      assert.deepStrictEqual(parts[1]!.records, Buffer.concat([b1, b2]));
      assert.equal(parts[2]!.records, null);
      assert.deepStrictEqual(parts[3]!.records, Buffer.alloc(0));
    }
  });

  test('a response without payloads is one segment, identical to encodeResponse', () => {
    const body = { brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }], topics: [] };
    const segments = encodeResponseGather(Metadata, 12, 5, body);
    assert.equal(segments.length, 1);
    assert.deepStrictEqual(segments[0], encodeResponse(Metadata, 12, 5, body));
  });

  test('bytes are referenced from GATHER_MIN_BYTES on, copied below it', () => {
    assert.equal(GATHER_MIN_BYTES, 4096);
    const below = Buffer.alloc(GATHER_MIN_BYTES - 1, 7);
    const at = Buffer.alloc(GATHER_MIN_BYTES, 8);
    for (const version of versionsOf(SaslAuthenticate.response)) {
      const copied = encodeResponseGather(SaslAuthenticate, version, 1, { authBytes: below });
      assert.equal(copied.length, 1);
      assert.ok(!copied.includes(below));
      const gathered = encodeResponseGather(SaslAuthenticate, version, 1, { authBytes: at });
      assert.ok(gathered.includes(at));
      assert.deepStrictEqual(Buffer.concat(gathered), encodeResponse(SaslAuthenticate, version, 1, { authBytes: at }));
    }
  });

  test('plain Uint8Array records are viewed as Buffers over the same memory, not copied', () => {
    const bytes = new Uint8Array(64).fill(5);
    const records = bytes.subarray(8, 40);
    const body = { responses: [{ topic: 't', partitions: [{ partitionIndex: 0, records: records as Buffer }] }] };
    const segments = encodeResponseGather(Fetch, 4, 1, body);
    const seg = segments.find((s) => s.buffer === bytes.buffer);
    assert.ok(seg !== undefined && Buffer.isBuffer(seg));
    assert.equal(seg.byteOffset, records.byteOffset);
    assert.equal(seg.length, records.length);
    assert.deepStrictEqual(Buffer.concat(segments), encodeResponse(Fetch, 4, 1, body));
  });

  test('a Produce request with pieces: encodeMessage copies them in sequence', () => {
    const pieces = [Buffer.from('abc'), Buffer.from('defg')];
    const value = { acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: pieces }] }] };
    for (const version of [3, 9, 11]) {
      const bytes = encodeMessage(Produce.request, version, value);
      const { value: decoded } = decodeMessage<{ topicData: { partitionData: { records: Buffer }[] }[] }>(Produce.request, version, bytes);
      assert.deepStrictEqual(decoded.topicData[0]!.partitionData[0]!.records, Buffer.from('abcdefg'));
      assert.deepStrictEqual(Buffer.concat(encodeMessageGather(Produce.request, version, value)), bytes);
    }
  });

  test('invalid values are rejected by both encoders', () => {
    const invalid = (e: unknown): boolean => isWeirError(e, 'invalid_argument');
    const withRecords = (records: unknown): unknown => ({ responses: [{ topic: 't', partitions: [{ records }] }] });
    for (const bad of [[Buffer.from('a'), 'b'], ['x'], 'abc', 5]) {
      assert.throws(() => encodeResponse(Fetch, 4, 1, withRecords(bad)), invalid, JSON.stringify(bad));
      assert.throws(() => encodeResponseGather(Fetch, 4, 1, withRecords(bad)), invalid, JSON.stringify(bad));
    }
    // Only records take pieces; a bytes field still needs one Buffer.
    assert.throws(() => encodeResponse(SaslAuthenticate, 1, 1, { authBytes: [Buffer.from('a')] }), invalid);
    assert.throws(() => encodeResponseGather(SaslAuthenticate, 1, 1, { authBytes: [Buffer.from('a')] }), invalid);
    // null where the version does not allow it.
    const snapshot = { topics: [{ name: 't', partitions: [{ index: 0, unalignedRecords: null }] }] };
    assert.throws(() => encodeResponseGather(allApis.find((a) => a.name === 'FetchSnapshot')!, 0, 1, snapshot), invalid);
  });

  test('a failed gather encode leaves no gather state behind for the next plain encode', () => {
    assert.throws(() => encodeResponseGather(Fetch, 4, 1, { responses: [{ topic: 't', partitions: [{ records: ['x'] }] }] }));
    const records = Buffer.alloc(5000, 1);
    const body = { responses: [{ topic: 't', partitions: [{ records }] }] };
    const plain = encodeResponse(Fetch, 4, 1, body);
    assert.deepStrictEqual(Buffer.concat(encodeResponseGather(Fetch, 4, 1, body)), plain);
  });

  // No spec has a tagged bytes/records field today, but tagged fields are sized twice (once in
  // the size pass, once while writing their length), so the external-byte accounting must count
  // them once. A synthetic schema covers it.
  test('tagged payloads (synthetic schema) are counted once and referenced', () => {
    const schema: MessageSchema = {
      name: 'SyntheticTagged',
      validVersions: { min: 0, max: 1 },
      flexibleVersions: { min: 1 },
      fields: [
        { name: 'id', type: 'int32', versions: { min: 0 } },
        { name: 'data', type: 'records', versions: { min: 0 }, nullableVersions: { min: 0 }, tag: 0, taggedVersions: { min: 1 } },
        {
          name: 'nested',
          type: 'Nested',
          versions: { min: 0 },
          tag: 1,
          taggedVersions: { min: 1 },
          fields: [
            { name: 'blob', type: 'bytes', versions: { min: 0 } },
            { name: 'more', type: 'records', versions: { min: 0 } },
          ],
        },
      ],
    };
    const data = [Buffer.alloc(6000, 1), Buffer.alloc(0), Buffer.from('tail')];
    const blob = Buffer.alloc(GATHER_MIN_BYTES + 1, 2);
    const more = Buffer.from('more-records');
    const value = { id: 3, data, nested: { blob, more } };
    for (const version of [0, 1]) {
      const expected = encodeMessage(schema, version, { id: 3, data: Buffer.concat(data), nested: { blob, more } });
      const segments = encodeMessageGather(schema, version, value);
      assert.deepStrictEqual(Buffer.concat(segments), expected, `v${version}`);
      checkSegments(segments, [data[0]!, data[2]!, blob, more], `v${version}`);
    }
    // An empty piece list in a non-nullable tagged records field is its default: not written.
    const flexEmpty = encodeMessage(schema, 1, { id: 3, nested: { blob: Buffer.alloc(0), more: [] } });
    assert.deepStrictEqual(flexEmpty, encodeMessage(schema, 1, { id: 3 }));
    assert.deepStrictEqual(Buffer.concat(encodeMessageGather(schema, 1, { id: 3, nested: { more: [Buffer.alloc(0)] } })), flexEmpty);
  });
});
