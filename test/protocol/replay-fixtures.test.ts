/**
 * Replays frames captured from real clients talking to a Weir agent (scripts/capture-frames.ts:
 * kafkajs, kcat/librdkafka, kafka-python, confluent-kafka-python) through the codec. Golden and
 * round-trip tests only show the codec agrees with itself and with hand-assembled bytes; these show
 * it agrees with the clients people actually run.
 *
 * Requests: the header and body decode, and encodeRequest with the decoded header and body gives
 * back the exact bytes. Responses (written by our own agent, so this guards the encoder the agent
 * ships): decodeResponse succeeds and encodeResponse gives back the exact bytes. Byte equality also
 * proves the decode consumed the whole frame, since the decoder itself ignores trailing bytes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeRequestBody, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse } from '../../core/protocol/frame.js';
import { apisByKey } from '../../core/protocol/generated/index.js';
import type { ApiSpec } from '../../core/protocol/types.js';
import { repoRoot } from '../helpers/repo-root.js';

const framesDir = join(repoRoot(), 'test/fixtures/frames');

interface ManifestEntry {
  file: string;
  client: string;
  clientLibrary: string;
  direction: 'request' | 'response';
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
  variant: string;
  size: number;
}

const manifest = (JSON.parse(readFileSync(join(framesDir, 'manifest.json'), 'utf8')) as { fixtures: ManifestEntry[] }).fixtures;

/**
 * Fixtures whose re-encoding may legitimately differ from the captured bytes, keyed by manifest
 * file, with the reason. For these the decode must still succeed and decoding the re-encoding must
 * give the same value. Empty: every captured frame re-encodes byte for byte. Add an entry only with
 * a reason the wire format allows (a client's tagged-field order, a non-minimal varint), never to
 * get past a decode failure.
 */
const reencodeDiffers = new Map<string, string>([]);

function apiOf(e: ManifestEntry): ApiSpec {
  const api = apisByKey.get(e.apiKey);
  assert.ok(api, `${e.file}: api key ${e.apiKey} is not in the generated specs`);
  return api;
}

/** Hex of the first differing region, to make a mismatch readable. */
function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 8);
  return `lengths ${a.length}/${b.length}, first difference at byte ${i}: captured ...${a.subarray(from, i + 16).toString('hex')} re-encoded ...${b.subarray(from, i + 16).toString('hex')}`;
}

function decodeRequestFixture(e: ManifestEntry, frame: Buffer): { correlationId: number; clientId: string | null; body: unknown } {
  const { header, bodyOffset } = decodeRequestHeader(frame);
  assert.equal(header.requestApiKey, e.apiKey, `${e.file}: api key`);
  assert.equal(header.requestApiVersion, e.apiVersion, `${e.file}: api version`);
  assert.equal(header.correlationId, e.correlationId, `${e.file}: correlation id`);
  const body = decodeRequestBody(apiOf(e), e.apiVersion, frame, bodyOffset);
  return { correlationId: header.correlationId, clientId: header.clientId, body };
}

function replayRequest(e: ManifestEntry, frame: Buffer): void {
  const api = apiOf(e);
  const first = decodeRequestFixture(e, frame);
  const reencoded = encodeRequest(api, e.apiVersion, first.correlationId, first.clientId, first.body).subarray(4);
  if (reencoded.equals(frame)) return;
  const reason = reencodeDiffers.get(e.file);
  assert.ok(reason, `${e.file}: re-encoded request differs (${firstDifference(frame, reencoded)})`);
  assert.deepStrictEqual(decodeRequestFixture(e, reencoded), first, `${e.file}: decode of the re-encoding differs (${reason})`);
}

function replayResponse(e: ManifestEntry, frame: Buffer): void {
  const api = apiOf(e);
  const first = decodeResponse(api, e.apiVersion, frame);
  assert.equal(first.correlationId, e.correlationId, `${e.file}: correlation id`);
  const reencoded = encodeResponse(api, e.apiVersion, first.correlationId, first.body).subarray(4);
  if (reencoded.equals(frame)) return;
  const reason = reencodeDiffers.get(e.file);
  assert.ok(reason, `${e.file}: re-encoded response differs (${firstDifference(frame, reencoded)})`);
  assert.deepStrictEqual(decodeResponse(api, e.apiVersion, reencoded), first, `${e.file}: decode of the re-encoding differs (${reason})`);
}

describe('replayed client frames', () => {
  test('the manifest and the fixture files agree', () => {
    const onDisk = new Set<string>();
    for (const client of readdirSync(framesDir, { withFileTypes: true })) {
      if (!client.isDirectory()) continue;
      for (const f of readdirSync(join(framesDir, client.name))) if (f.endsWith('.bin')) onDisk.add(`${client.name}/${f}`);
    }
    assert.deepStrictEqual(new Set(manifest.map((e) => e.file)), onDisk);
    for (const e of manifest) {
      assert.equal(readFileSync(join(framesDir, e.file)).length, e.size, `${e.file}: size`);
      assert.match(e.file, new RegExp(`^${e.client}/\\d{4}-${e.apiName}-v${e.apiVersion}-${e.direction}\\.bin$`));
    }
    // Every client the capture drives is represented, with both directions.
    for (const client of ['kafkajs', 'kcat', 'kafka-python', 'confluent-kafka-python']) {
      for (const direction of ['request', 'response']) {
        assert.ok(manifest.some((e) => e.client === client && e.direction === direction), `no ${client} ${direction} fixtures`);
      }
    }
  });

  test('every documented re-encoding difference names a fixture', () => {
    for (const file of reencodeDiffers.keys()) assert.ok(manifest.some((e) => e.file === file), `${file} is not in the manifest`);
  });

  for (const client of [...new Set(manifest.map((e) => e.client))]) {
    describe(client, () => {
      for (const e of manifest.filter((m) => m.client === client)) {
        test(`${e.file} (${e.clientLibrary}${e.variant ? `, records ${e.variant}` : ''})`, () => {
          const frame = readFileSync(join(framesDir, e.file));
          if (e.direction === 'request') replayRequest(e, frame);
          else replayResponse(e, frame);
        });
      }
    });
  }
});
