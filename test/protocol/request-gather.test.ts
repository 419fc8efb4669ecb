/**
 * encodeRequestGather (the client side's gather encoder, used by the mirror for WeirMirrorWrite)
 * must produce exactly the bytes of encodeRequest, size prefix and header included, with records
 * and large bytes values referenced rather than copied, for every API version whose request
 * carries a payload; and what it produces must decode as the agent decodes requests.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { GATHER_MIN_BYTES } from '../../core/protocol/codec.js';
import { decodeRequestBody, decodeRequestHeader, encodeRequest, encodeRequestGather } from '../../core/protocol/frame.js';
import { allApis, Produce, WeirMirrorWrite, type WeirMirrorWriteRequest } from '../../core/protocol/generated/index.js';
import { inVersions, type FieldSchema } from '../../core/protocol/types.js';
import { sampleValue, versionsOf } from './sample-values.js';

type Obj = Record<string, unknown>;

function hasPayload(fields: readonly FieldSchema[], version: number): boolean {
  return fields.some(
    (f) => inVersions(f.versions, version) && (f.type === 'bytes' || f.type === 'records' || (f.fields !== undefined && hasPayload(f.fields, version))),
  );
}

let counter = 0;

/**
 * A copy of `v` with every present records field set to pieces (a small piece, an empty one and a
 * large one) or one Buffer, and every bytes field to a large or a small Buffer; returns the
 * Buffers that must be referenced, and the value with pieces concatenated (what they mean).
 */
function withPayloads(fields: readonly FieldSchema[], version: number, v: unknown, pieces: boolean, referenced: Buffer[]): { value: unknown; flat: unknown } {
  if (v === null || typeof v !== 'object') return { value: v, flat: v };
  const value: Obj = { ...(v as Obj) };
  const flat: Obj = { ...(v as Obj) };
  for (const f of fields) {
    if (!inVersions(f.versions, version)) continue;
    const x = (v as Obj)[f.name];
    if (f.type === 'records') {
      if (pieces) {
        const p = [Buffer.from(`piece-${++counter}`), Buffer.alloc(0), Buffer.alloc(GATHER_MIN_BYTES + 10, ++counter & 0xff)];
        referenced.push(p[0]!, p[2]!);
        value[f.name] = p;
        flat[f.name] = Buffer.concat(p);
      } else {
        const b = Buffer.alloc(300, ++counter & 0xff);
        referenced.push(b);
        value[f.name] = flat[f.name] = b;
      }
    } else if (f.type === 'bytes') {
      const b = Buffer.alloc(pieces ? GATHER_MIN_BYTES : 5, ++counter & 0xff);
      if (pieces) referenced.push(b);
      value[f.name] = flat[f.name] = b;
    } else if (f.fields !== undefined) {
      if (Array.isArray(x)) {
        const each = x.map((e) => withPayloads(f.fields!, version, e, pieces, referenced));
        value[f.name] = each.map((e) => e.value);
        flat[f.name] = each.map((e) => e.flat);
      } else {
        const one = withPayloads(f.fields, version, x, pieces, referenced);
        value[f.name] = one.value;
        flat[f.name] = one.flat;
      }
    }
  }
  return { value, flat };
}

describe('encodeRequestGather equals encodeRequest', () => {
  const apis = allApis.filter((a) => versionsOf(a.request).some((v) => hasPayload(a.request.fields, v)));
  const names = apis.map((a) => a.name);
  for (const expected of ['Produce', 'WeirMirrorWrite', 'SaslAuthenticate', 'SyncGroup']) assert.ok(names.includes(expected), `${expected} has payload fields`);
  for (const api of apis) {
    test(`${api.name} requests, every version with a payload`, () => {
      for (const version of versionsOf(api.request)) {
        if (!hasPayload(api.request.fields, version)) continue;
        for (const variant of ['full', 'nulls'] as const) {
          for (const pieces of [false, true]) {
            const where = `${api.name} v${version} ${variant} ${pieces ? 'pieces/large bytes' : 'one buffer/small bytes'}`;
            const referenced: Buffer[] = [];
            const { value, flat } = withPayloads(api.request.fields, version, sampleValue(api.request, version, variant), pieces, referenced);
            const expected = encodeRequest(api, version, 77, 'client-x', flat);
            const segments = encodeRequestGather(api, version, 77, 'client-x', value);
            const joined = Buffer.concat(segments);
            assert.deepStrictEqual(joined, expected, `${where}: bytes`);
            assert.equal(segments[0]!.readInt32BE(0), expected.length - 4, `${where}: size prefix`);
            for (const r of referenced) {
              // Records are always referenced; bytes only from GATHER_MIN_BYTES (the large variant).
              if (r.length > 0) assert.ok(segments.some((s) => s === r), `${where}: a ${r.length}-byte payload was copied instead of referenced`);
            }
            assert.ok(segments.every((s) => s.length > 0), `${where}: no empty segments`);
            const { header, bodyOffset } = decodeRequestHeader(joined.subarray(4));
            assert.equal(header.requestApiKey, api.apiKey);
            assert.equal(header.requestApiVersion, version);
            assert.equal(header.correlationId, 77);
            assert.deepStrictEqual(
              encodeRequest(api, version, 77, 'client-x', decodeRequestBody(api, version, joined.subarray(4), bodyOffset)),
              expected,
              `${where}: decodes to the same request`,
            );
          }
        }
      }
    });
  }
});

describe('encodeRequestGather details', () => {
  test('a WeirMirrorWrite: megabytes of records by reference, a few hundred bytes of structure', () => {
    const a = Buffer.alloc(4 << 20, 1);
    const b1 = Buffer.alloc(1 << 20, 2);
    const b2 = Buffer.alloc(100, 3);
    const body: WeirMirrorWriteRequest = {
      token: 'token-0123456789abcdef',
      topics: [
        {
          name: 'orders',
          topicId: '00000000-0000-4000-8000-000000000001',
          partitions: [
            { partitionIndex: 0, records: a },
            // The codec takes Buffer[] records (their concatenation) though the generated type says Buffer.
            { partitionIndex: 1, records: [b1, b2] as unknown as Buffer },
          ],
        },
      ],
    };
    const segments = encodeRequestGather(WeirMirrorWrite, 0, 5, 'weir-mirror', body);
    const plain = encodeRequest(WeirMirrorWrite, 0, 5, 'weir-mirror', { ...body, topics: [{ ...body.topics[0]!, partitions: [{ partitionIndex: 0, records: a }, { partitionIndex: 1, records: Buffer.concat([b1, b2]) }] }] });
    assert.deepStrictEqual(Buffer.concat(segments), plain);
    for (const piece of [a, b1, b2]) assert.ok(segments.some((s) => s === piece), 'every records piece is a segment of its own');
    const structure = segments.filter((s) => s !== a && s !== b1 && s !== b2).reduce((n, s) => n + s.length, 0);
    assert.equal(structure, plain.length - a.length - b1.length - b2.length);
    assert.ok(structure < 200, `${structure} structure bytes`);
    const frame = Buffer.concat(segments).subarray(4);
    const { bodyOffset } = decodeRequestHeader(frame);
    const decoded = decodeRequestBody<WeirMirrorWriteRequest>(WeirMirrorWrite, 0, frame, bodyOffset);
    assert.deepStrictEqual(decoded.topics[0]!.partitions[0]!.records, a);
    assert.deepStrictEqual(decoded.topics[0]!.partitions[1]!.records, Buffer.concat([b1, b2]));
  });

  test('a body that does not fit the schema is refused as by encodeRequest', () => {
    const bad = { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: 'not bytes' }] }] };
    const plainErr = (() => {
      try {
        encodeRequest(Produce, 9, 1, 'c', bad);
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(isWeirError(plainErr, 'invalid_argument'), `encodeRequest refuses it: ${String(plainErr)}`);
    assert.throws(
      () => encodeRequestGather(Produce, 9, 1, 'c', bad),
      (e: unknown) => isWeirError(e, 'invalid_argument') && (e as Error).message === (plainErr as Error).message,
    );
  });
});
