/**
 * Hand-assembled wire bytes (from the protocol guide's primitive types and the message specs), so
 * the codec is checked against the protocol and not only against itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../core/protocol/codec.js';
import { decodeRequestBody, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse } from '../../core/protocol/frame.js';
import {
  ApiVersions,
  Fetch,
  Metadata,
  Produce,
  type ApiVersionsRequest,
  type FetchRequest,
  type MetadataResponse,
  type ProduceRequest,
} from '../../core/protocol/generated/index.js';

/** Hex with spaces and `|` separators allowed, for readable byte layouts. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}

describe('golden bytes', () => {
  test('ApiVersions v3 request: header v2 keeps a classic client id, body is compact', () => {
    const frame = encodeRequest(ApiVersions, 3, 1, 'cli', { clientSoftwareName: 'weir', clientSoftwareVersion: '0.1' });
    const expected = hex(`
      00000018
      0012 0003 00000001 | 0003 636c69 | 00
      05 77656972 | 04 302e31 | 00`);
    assert.deepStrictEqual(frame, expected);

    const { header, bodyOffset } = decodeRequestHeader(frame.subarray(4));
    assert.deepStrictEqual(header, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'cli' });
    assert.equal(bodyOffset, 14);
    const body = decodeRequestBody<ApiVersionsRequest>(ApiVersions, 3, frame.subarray(4), bodyOffset);
    assert.deepStrictEqual(body, { clientSoftwareName: 'weir', clientSoftwareVersion: '0.1' });
  });

  test('Metadata v1 request: header v1 with null client id, int32 array of int16 strings', () => {
    assert.deepStrictEqual(
      encodeRequest(Metadata, 1, 42, null, { topics: [{ name: 'foo' }] }),
      hex('00000013 | 0003 0001 0000002a ffff | 00000001 0003 666f6f'),
    );
    // Null topics (all topics) is an int32 -1 length from v1 on.
    assert.deepStrictEqual(
      encodeRequest(Metadata, 1, 42, null, { topics: null }),
      hex('0000000e | 0003 0001 0000002a ffff | ffffffff'),
    );
  });

  test('ApiVersions v0 response', () => {
    const frame = encodeResponse(ApiVersions, 0, 5, {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
    });
    assert.deepStrictEqual(frame, hex('00000016 | 00000005 | 0000 00000002 0000 0000 000b 0012 0000 0004'));
  });

  test('ApiVersions v3 response: header v0 (no tagged fields), tagged int64 in the body', () => {
    const frame = encodeResponse(ApiVersions, 3, 5, {
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      finalizedFeaturesEpoch: 7n,
    });
    const expected = hex(`
      0000001d | 00000005
      0000 | 02 0012 0000 0004 00 | 00000000
      01 | 01 08 0000000000000007`);
    assert.deepStrictEqual(frame, expected);
    const { correlationId, body } = decodeResponse<{ finalizedFeaturesEpoch: bigint }>(ApiVersions, 3, frame.subarray(4));
    assert.equal(correlationId, 5);
    assert.equal(body.finalizedFeaturesEpoch, 7n);
  });

  test('Produce v9 request body: compact everything, records as compact bytes', () => {
    const value = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 't', partitionData: [{ index: 2, records: Buffer.from([0xde, 0xad]) }] }],
    };
    const expected = hex('00 | ffff | 00007530 | 02 | 02 74 | 02 | 00000002 03 dead 00 | 00 | 00');
    assert.deepStrictEqual(encodeMessage(Produce.request, 9, value), expected);
    assert.deepStrictEqual(decodeMessage<ProduceRequest>(Produce.request, 9, expected).value, value);
  });

  test('Produce v3 request body: classic nullable string and int32-length records', () => {
    const value = { transactionalId: 'tx', acks: 1, timeoutMs: 5, topicData: [{ name: 't', partitionData: [] }] };
    assert.deepStrictEqual(
      encodeMessage(Produce.request, 3, value),
      hex('0002 7478 | 0001 | 00000005 | 00000001 0001 74 00000000'),
    );
  });

  test('Metadata v1 response decoded from hand-written bytes, absent fields get spec defaults', () => {
    const bytes = hex(`
      00000001 | 00000001 0001 68 00002384 ffff
      00000001
      00000001 | 0000 0001 74 00 | 00000001 | 0000 00000000 00000001 | 00000001 00000001 | 00000001 00000001`);
    const { value, offset } = decodeMessage<MetadataResponse>(Metadata.response, 1, bytes);
    assert.equal(offset, bytes.length);
    assert.deepStrictEqual(value.brokers, [{ nodeId: 1, host: 'h', port: 9092, rack: null }]);
    assert.equal(value.controllerId, 1);
    assert.equal(value.clusterId, null); // v2+, default "null"
    assert.equal(value.throttleTimeMs, 0); // v3+
    assert.equal(value.clusterAuthorizedOperations, -2147483648); // v8-10
    const topic = value.topics![0]!;
    assert.equal(topic.name, 't');
    assert.equal(topic.isInternal, false);
    assert.equal(topic.topicId, '00000000-0000-0000-0000-000000000000');
    assert.equal(topic.topicAuthorizedOperations, -2147483648);
    assert.deepStrictEqual(topic.partitions, [
      { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: -1, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] },
    ]);
  });

  test('compact string longer than 126 bytes gets a two-byte varint length', () => {
    const name = 'x'.repeat(200);
    const bytes = encodeMessage(ApiVersions.request, 3, { clientSoftwareName: name, clientSoftwareVersion: '' });
    assert.deepStrictEqual(bytes.subarray(0, 2), hex('c901')); // 201 = 0b1_1001001
    assert.equal(bytes.length, 2 + 200 + 1 + 1);
  });

  test('unknown tagged fields are kept verbatim and written back', () => {
    const bytes = hex('05 77656972 | 04 302e31 | 02 | 05 02 aabb | 0c 00');
    const { value } = decodeMessage<ApiVersionsRequest>(ApiVersions.request, 3, bytes);
    assert.deepStrictEqual(value, {
      clientSoftwareName: 'weir',
      clientSoftwareVersion: '0.1',
      _unknownTaggedFields: [
        { tag: 5, data: hex('aabb') },
        { tag: 12, data: Buffer.alloc(0) },
      ],
    });
    assert.deepStrictEqual(encodeMessage(ApiVersions.request, 3, value), bytes);
  });

  test('uuid fields are 16 raw bytes, decoded to lowercase canonical form', () => {
    const id = '0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9';
    const value = { topics: [{ topicId: id, partitions: [] }] };
    const bytes = encodeMessage(Fetch.request, 13, value);
    assert.ok(bytes.includes(hex('0a1b2c3d4e5f60718293a4b5c6d7e8f9')));
    const upper = encodeMessage(Fetch.request, 13, { topics: [{ topicId: id.toUpperCase(), partitions: [] }] });
    assert.deepStrictEqual(upper, bytes);
    assert.equal(decodeMessage<FetchRequest>(Fetch.request, 13, bytes).value.topics[0]!.topicId, id);
  });
});
