import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDefault, decodeMessage, encodeMessage } from '../../core/protocol/codec.js';
import { allApis, ApiVersions, dataSchemas, ListOffsets, Produce } from '../../core/protocol/generated/index.js';
import type { MessageSchema } from '../../core/protocol/types.js';
import { sampleValue, versionsOf, type Variant } from './sample-values.js';

/** encode -> decode must give the value back, consume every byte, and re-encode identically. */
function assertRoundTrip(schema: MessageSchema, version: number, value: unknown, expected: unknown): void {
  const where = `${schema.name} v${version}`;
  const bytes = encodeMessage(schema, version, value);
  const { value: decoded, offset } = decodeMessage(schema, version, bytes);
  assert.equal(offset, bytes.length, `${where}: decode consumed ${offset} of ${bytes.length} bytes`);
  assert.deepStrictEqual(decoded, expected, `${where}: decoded value differs`);
  assert.deepStrictEqual(encodeMessage(schema, version, decoded), bytes, `${where}: re-encoding differs`);
}

function checkSchema(schema: MessageSchema): void {
  for (const version of versionsOf(schema)) {
    for (const variant of ['full', 'nulls'] satisfies Variant[]) {
      const value = sampleValue(schema, version, variant);
      assertRoundTrip(schema, version, value, value);
    }
    // Omitted fields are written as defaults, so {} decodes to the all-defaults value.
    assertRoundTrip(schema, version, {}, createDefault(schema));
  }
}

describe('round trip of every API, both directions, every valid version', () => {
  assert.ok(allApis.length > 50, 'the generated index lists the APIs');
  for (const api of allApis) {
    test(`${api.name} (key ${api.apiKey}) request`, () => checkSchema(api.request));
    test(`${api.name} (key ${api.apiKey}) response`, () => checkSchema(api.response));
  }
});

describe('round trip of every header and data type', () => {
  for (const schema of dataSchemas) test(schema.name, () => checkSchema(schema));
});

describe('encoding details', () => {
  test('non-default known tagged fields and unknown ones are written in ascending tag order', () => {
    const value = {
      responses: [],
      throttleTimeMs: 0,
      nodeEndpoints: [{ nodeId: 1, host: 'h', port: 9092, rack: null }], // tag 0
      _unknownTaggedFields: [
        { tag: 7, data: Buffer.from([7]) },
        { tag: 3, data: Buffer.from([3]) },
      ],
    };
    const bytes = encodeMessage(Produce.response, 10, value);
    // responses: 01 (empty compact array), throttle: 00000000, then the tagged section.
    const tagged = bytes.subarray(5);
    assert.equal(tagged[0], 3, 'three tagged fields');
    assert.equal(tagged[1], 0, 'known tag 0 first');
    const { value: decoded } = decodeMessage<{ _unknownTaggedFields: unknown }>(Produce.response, 10, bytes);
    assert.deepStrictEqual(decoded._unknownTaggedFields, [
      { tag: 3, data: Buffer.from([3]) },
      { tag: 7, data: Buffer.from([7]) },
    ]);
  });

  test('tagged fields equal to their default are not written', () => {
    const explicitDefaults = {
      errorCode: 0,
      apiKeys: [],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
    assert.deepStrictEqual(
      encodeMessage(ApiVersions.response, 3, explicitDefaults),
      encodeMessage(ApiVersions.response, 3, {}),
    );
    assert.equal(encodeMessage(ApiVersions.response, 3, {}).length, 2 + 1 + 4 + 1);
  });

  test('an unknown tag that the version knows is not written twice', () => {
    const bytes = encodeMessage(ApiVersions.response, 3, {
      zkMigrationReady: true,
      _unknownTaggedFields: [{ tag: 3, data: Buffer.from([0]) }],
    });
    const { value } = decodeMessage<Record<string, unknown>>(ApiVersions.response, 3, bytes);
    assert.equal(value.zkMigrationReady, true);
    assert.equal(value._unknownTaggedFields, undefined);
  });

  test('int64 fields accept numbers on encode and decode to bigint', () => {
    const value = { topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1 }] }] };
    const bytes = encodeMessage(ListOffsets.request, 1, value);
    const { value: decoded } = decodeMessage<{ topics: { partitions: { timestamp: bigint }[] }[] }>(
      ListOffsets.request,
      1,
      bytes,
    );
    assert.equal(decoded.topics[0]!.partitions[0]!.timestamp, -1n);
  });
});
