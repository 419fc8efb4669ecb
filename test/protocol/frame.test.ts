import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { encodeMessage } from '../../core/protocol/codec.js';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../core/protocol/frame.js';
import {
  allApis,
  ApiKey,
  apisByKey,
  ApiVersions,
  ControlledShutdown,
  Fetch,
  Metadata,
  Produce,
  type FetchResponse,
  type ProduceRequest,
} from '../../core/protocol/generated/index.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
}

describe('header versions', () => {
  test('request header: 2 when flexible, 1 otherwise, 0 for ControlledShutdown v0', () => {
    assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
    assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 2), 1);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
    assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
    assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
    assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 3), 2);
    assert.equal(requestHeaderVersion(9999, 0), 1, 'unknown api key');
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 99), 2, 'newer than known: flexible range is open');
  });

  test('response header: 1 when flexible, 0 otherwise, always 0 for ApiVersions', () => {
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 8), 0);
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
    assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
    assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
  });
});

describe('framing', () => {
  test('the generated index covers the api keys', () => {
    assert.equal(apisByKey.get(0), Produce);
    assert.equal(apisByKey.get(18), ApiVersions);
    assert.equal(ApiKey.Fetch, 1);
    assert.equal(ApiKey.OffsetForLeaderEpoch, 23);
    assert.equal(apisByKey.size, allApis.length);
    for (const api of allApis) assert.equal(ApiKey[api.name as keyof typeof ApiKey], api.apiKey);
  });

  test('request round trip through the frame functions, every API at its newest version', () => {
    for (const api of allApis) {
      const v = api.validVersions.max;
      const frame = encodeRequest(api, v, 123, 'client-1', {});
      assert.equal(frame.readInt32BE(0), frame.length - 4, `${api.name} size prefix`);
      const { header, bodyOffset } = decodeRequestHeader(frame.subarray(4));
      assert.equal(header.requestApiKey, api.apiKey);
      assert.equal(header.requestApiVersion, v);
      assert.equal(header.correlationId, 123);
      assert.equal(header.clientId, api === ControlledShutdown && v === 0 ? '' : 'client-1');
      decodeRequestBody(api, v, frame.subarray(4), bodyOffset);
    }
  });

  test('ControlledShutdown v0 has no client id in its header', () => {
    const frame = encodeRequest(ControlledShutdown, 0, 9, 'ignored', { brokerId: 3 });
    assert.deepStrictEqual(frame, hex('0000000c | 0007 0000 00000009 | 00000003'));
    const { header, bodyOffset } = decodeRequestHeader(frame.subarray(4));
    assert.equal(bodyOffset, 8);
    assert.equal(header.clientId, '');
  });

  test('response round trip, and the size prefix counts header plus body', () => {
    const frame = encodeResponse(Fetch, 16, 77, { responses: [] });
    assert.equal(frame.readInt32BE(0), frame.length - 4);
    assert.equal(frame.readInt32BE(4), 77);
    assert.equal(frame[8], 0, 'header v1 has an empty tagged field section');
    const { correlationId, body } = decodeResponse<FetchResponse>(Fetch, 16, frame.subarray(4));
    assert.equal(correlationId, 77);
    assert.deepStrictEqual(body.responses, []);
  });

  test('headers of unknown api keys and versions still decode', () => {
    // Api key 999, version 5, correlation 7, client id "c", then an opaque body.
    const unknown = hex('03e7 0005 00000007 0001 63 | deadbeef');
    const { header, bodyOffset } = decodeRequestHeader(unknown);
    assert.deepStrictEqual(header, { requestApiKey: 999, requestApiVersion: 5, correlationId: 7, clientId: 'c' });
    assert.equal(bodyOffset, 11);

    // An ApiVersions request newer than the specs: header v2, body unknown.
    const newer = hex('0012 0063 00000008 0001 63 00 | 01 01 00');
    const decoded = decodeRequestHeader(newer);
    assert.equal(decoded.header.requestApiVersion, 99);
    assert.equal(decoded.bodyOffset, 12);
    assert.throws(
      () => decodeRequestBody(ApiVersions, 99, newer, decoded.bodyOffset),
      (e: unknown) => isWeirError(e, 'unsupported'),
    );
  });

  test('unknown tagged fields in the request header are kept', () => {
    const frame = hex('0012 0003 00000001 0000 | 01 07 01 ff | 01 01 00');
    const { header, bodyOffset } = decodeRequestHeader(frame);
    assert.deepStrictEqual(header._unknownTaggedFields, [{ tag: 7, data: hex('ff') }]);
    assert.equal(bodyOffset, 14);
  });

  test('decoded records are zero-copy views of the frame', () => {
    const records = Buffer.alloc(64 * 1024, 7);
    const frame = encodeRequest(Produce, 9, 1, null, {
      acks: 1,
      timeoutMs: 1,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    }).subarray(4);
    const { bodyOffset } = decodeRequestHeader(frame);
    const req = decodeRequestBody<ProduceRequest>(Produce, 9, frame, bodyOffset);
    const got = req.topicData[0]!.partitionData[0]!.records!;
    assert.deepStrictEqual(got, records);
    assert.equal(got.buffer, frame.buffer, 'shares the frame memory');
  });

  test('encoding invalid values throws invalid_argument', () => {
    const invalid = (e: unknown): boolean => isWeirError(e, 'invalid_argument');
    assert.throws(() => encodeMessage(Metadata.request, 1, { topics: [{ name: null }] }), invalid);
    assert.throws(() => encodeMessage(Metadata.request, 0, { topics: null }), invalid);
    assert.throws(() => encodeMessage(Fetch.request, 13, { topics: [{ topicId: 'not-a-uuid' }] }), invalid);
    assert.throws(() => encodeMessage(Produce.request, 3, { topicData: [null] }), invalid);
    assert.throws(() => encodeMessage(Produce.request, 3, { topicData: 'x' }), invalid);
    assert.throws(() => encodeMessage(Produce.request, 3, { transactionalId: 5 }), invalid);
  });

  test('unsupported versions throw unsupported', () => {
    const unsupported = (e: unknown): boolean => isWeirError(e, 'unsupported');
    assert.throws(() => encodeResponse(Produce, 12, 1, {}), unsupported);
    assert.throws(() => encodeMessage(Produce.request, -1, {}), unsupported);
  });
});
