/**
 * The mirror's KafkaConnection reassembling response frames from TCP chunks: frames whole in one
 * chunk, spanning many, size prefixes split across chunks, several frames in one chunk; with
 * requestFrame, large frames are assembled in FramePool buffers that are reused once released
 * (and never while still held). The broker here is a small net server on our codec that writes
 * each answer in awkward pieces: the chunking a real network produces only by chance.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FramePool, KafkaConnection } from '../../connectors/mirror/kafka-connection.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponse } from '../../core/protocol/frame.js';
import { ApiVersions, SaslAuthenticate, type SaslAuthenticateRequest } from '../../core/protocol/generated/index.js';

const MiB = 1024 * 1024;

/** The payload the broker answers a SaslAuthenticate with: `authBytes` asks for a size and a fill byte ("size:fill"). */
function payload(spec: string): Buffer {
  const [size, fill] = spec.split(':').map(Number);
  return Buffer.alloc(size!, fill!);
}

/** Pieces to write a response in: the first few bytes one by one, then odd sizes. */
function piecesOf(frame: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  const sizes = [1, 2, 1, 5, 1000, 65_537, 3];
  for (let i = 0; at < frame.length; i++) {
    const n = Math.min(frame.length - at, sizes[i] ?? 300_001);
    out.push(frame.subarray(at, at + n));
    at += n;
  }
  return out;
}

let server: Server;
let port = 0;
/** When set, the next answers are held and written together, in one piece. */
let batchNext = 0;
const held: Buffer[] = [];

function answer(sock: Socket, frame: Buffer): void {
  const header = decodeRequestHeader(frame);
  const { requestApiKey: key, requestApiVersion: version, correlationId } = header.header;
  let res: Buffer;
  if (key === ApiVersions.apiKey) {
    res = encodeResponse(ApiVersions, 0, correlationId, { errorCode: 0, apiKeys: [{ apiKey: SaslAuthenticate.apiKey, minVersion: 0, maxVersion: 2 }] });
  } else {
    const req = decodeRequestBody<SaslAuthenticateRequest>(SaslAuthenticate, version, frame, header.bodyOffset);
    res = encodeResponse(SaslAuthenticate, version, correlationId, { errorCode: 0, errorMessage: null, authBytes: payload(req.authBytes.toString()), sessionLifetimeMs: 0n });
  }
  if (batchNext > 0) {
    held.push(res);
    if (--batchNext === 0) sock.write(Buffer.concat(held.splice(0)));
    return;
  }
  for (const p of piecesOf(res)) sock.write(p);
}

before(async () => {
  server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        answer(sock, buf.subarray(4, 4 + size));
        buf = buf.subarray(4 + size);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

after(() => new Promise<void>((r) => server.close(() => r())));

async function open(framePool?: FramePool): Promise<KafkaConnection> {
  return KafkaConnection.open({ host: '127.0.0.1', port, clientId: 'frames-test', timeoutMs: 10_000, responseBytesMax: 64 * MiB, ...(framePool ? { framePool } : {}) });
}

const ask = (spec: string) => ({ authBytes: Buffer.from(spec) });

describe('KafkaConnection response frames', () => {
  it('reassembles frames split into pieces (size prefix included) and several frames in one chunk', async () => {
    const conn = await open();
    try {
      for (const spec of ['0:0', '10:1', '70000:2', `${3 * MiB + 17}:3`]) {
        const res = await conn.request(SaslAuthenticate, 2, ask(spec));
        assert.deepEqual(res.authBytes, payload(spec), spec);
      }
      batchNext = 3;
      const three = await Promise.all(['5:4', `${MiB}:5`, '7:6'].map((spec) => conn.request(SaslAuthenticate, 2, ask(spec))));
      assert.deepEqual(three.map((r) => r.authBytes), ['5:4', `${MiB}:5`, '7:6'].map(payload));
    } finally {
      conn.close();
    }
  });

  it('requestFrame assembles large frames in pool buffers, reused only after release', async () => {
    const pool = new FramePool(64 * MiB);
    const conn = await open(pool);
    try {
      const a = await conn.requestFrame(SaslAuthenticate, 2, ask(`${2 * MiB}:7`));
      assert.deepEqual(a.body.authBytes, payload(`${2 * MiB}:7`));
      // Still held: the next large frame must get another buffer, leaving a's bytes alone.
      const b = await conn.requestFrame(SaslAuthenticate, 2, ask(`${2 * MiB - 100}:8`));
      assert.deepEqual(a.body.authBytes, payload(`${2 * MiB}:7`), 'a held frame is never reused');
      assert.ok(a.body.authBytes!.buffer !== b.body.authBytes!.buffer);
      assert.equal(pool.freeBuffers, 0);
      a.release();
      a.release(); // twice is harmless
      assert.equal(pool.freeBuffers, 1);
      const c = await conn.requestFrame(SaslAuthenticate, 2, ask(`${2 * MiB - 5}:9`));
      assert.deepEqual(c.body.authBytes, payload(`${2 * MiB - 5}:9`));
      assert.ok(c.body.authBytes!.buffer === a.body.authBytes!.buffer, 'the released buffer was reused');
      assert.equal(pool.freeBuffers, 0);
      assert.deepEqual(b.body.authBytes, payload(`${2 * MiB - 100}:8`), 'reuse did not touch another held frame');
      // Small frames and plain requests never use the pool.
      const small = await conn.requestFrame(SaslAuthenticate, 2, ask('100:1'));
      small.release();
      const plain = await conn.request(SaslAuthenticate, 2, ask(`${2 * MiB}:2`));
      assert.deepEqual(plain.authBytes, payload(`${2 * MiB}:2`));
      assert.equal(pool.freeBuffers, 0);
      b.release();
      c.release();
      assert.equal(pool.freeBuffers, 2);
    } finally {
      conn.close();
    }
  });

  it('the pool keeps at most freeBytesMax of free buffers', () => {
    const pool = new FramePool(3 * MiB);
    const leases = [pool.take(MiB + 1), pool.take(MiB + 1), pool.take(10)];
    assert.equal(leases[0]!.frame.length, MiB + 1);
    for (const l of leases) l.release();
    assert.equal(pool.freeBuffers, 2, 'two 2 MiB buffers would exceed 3 MiB: one is left to the GC; the 1 MiB one fits');
  });
});
