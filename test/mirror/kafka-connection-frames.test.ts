/**
 * BrokerConnection (the mirror's connections) reassembling response frames from TCP chunks: frames whole in one
 * chunk, spanning many, size prefixes split across chunks, several frames in one chunk; with
 * sendFrame, large frames are assembled in FramePool buffers that are reused once released
 * (and never while still held). The broker here is a small net server on our codec that writes
 * each answer in awkward pieces: the chunking a real network produces only by chance.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BrokerConnection } from '../../core/client/broker-connection.js';
import { FramePool } from '../../core/client/frame-pool.js';
import { decodeRequestBody, decodeRequestHeader, encodeResponse } from '../../core/protocol/frame.js';
import { ApiVersions, SaslAuthenticate, SaslHandshake, type SaslAuthenticateRequest, type SaslHandshakeRequest } from '../../core/protocol/generated/index.js';

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
/** SASL PLAIN logins the broker accepted. */
let plainLogins = 0;

function answer(sock: Socket, frame: Buffer): void {
  const header = decodeRequestHeader(frame);
  const { requestApiKey: key, requestApiVersion: version, correlationId } = header.header;
  let res: Buffer;
  if (key === ApiVersions.apiKey) {
    const apiKeys = [
      { apiKey: ApiVersions.apiKey, minVersion: 0, maxVersion: 3 },
      { apiKey: SaslHandshake.apiKey, minVersion: 0, maxVersion: 1 },
      { apiKey: SaslAuthenticate.apiKey, minVersion: 0, maxVersion: 2 },
    ];
    res = encodeResponse(ApiVersions, Math.min(version, 3), correlationId, { errorCode: 0, apiKeys });
  } else if (key === SaslHandshake.apiKey) {
    const req = decodeRequestBody<SaslHandshakeRequest>(SaslHandshake, version, frame, header.bodyOffset);
    // 33: UNSUPPORTED_SASL_MECHANISM
    res = encodeResponse(SaslHandshake, version, correlationId, { errorCode: req.mechanism === 'PLAIN' ? 0 : 33, mechanisms: ['PLAIN'] });
  } else {
    const req = decodeRequestBody<SaslAuthenticateRequest>(SaslAuthenticate, version, frame, header.bodyOffset);
    if (req.authBytes[0] === 0) {
      // SASL PLAIN: "\0user\0password"; 58: SASL_AUTHENTICATION_FAILED
      const ok = req.authBytes.toString() === '\u0000mirror\u0000s3cret';
      if (ok) plainLogins++;
      res = encodeResponse(SaslAuthenticate, version, correlationId, { errorCode: ok ? 0 : 58, errorMessage: ok ? null : 'invalid credentials', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n });
    } else {
      res = encodeResponse(SaslAuthenticate, version, correlationId, { errorCode: 0, errorMessage: null, authBytes: payload(req.authBytes.toString()), sessionLifetimeMs: 0n });
    }
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

async function open(framePool?: FramePool): Promise<BrokerConnection> {
  return BrokerConnection.open({ host: '127.0.0.1', port, clientId: 'frames-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000, maxInFlight: 16, responseBytesMax: 64 * MiB, ...(framePool ? { framePool } : {}) });
}

const ask = (spec: string) => ({ authBytes: Buffer.from(spec) });

describe('BrokerConnection response frames', () => {
  it('reassembles frames split into pieces (size prefix included) and several frames in one chunk', async () => {
    const conn = await open();
    try {
      for (const spec of ['0:0', '10:1', '70000:2', `${3 * MiB + 17}:3`]) {
        const res = await conn.send(SaslAuthenticate, 2, ask(spec));
        assert.deepEqual(res.authBytes, payload(spec), spec);
      }
      batchNext = 3;
      const three = await Promise.all(['5:4', `${MiB}:5`, '7:6'].map((spec) => conn.send(SaslAuthenticate, 2, ask(spec))));
      assert.deepEqual(three.map((r) => r.authBytes), ['5:4', `${MiB}:5`, '7:6'].map(payload));
    } finally {
      conn.close();
    }
  });

  it('sendFrame assembles large frames in pool buffers, reused only after release', async () => {
    const pool = new FramePool(64 * MiB);
    const conn = await open(pool);
    try {
      const a = await conn.sendFrame(SaslAuthenticate, 2, ask(`${2 * MiB}:7`));
      assert.deepEqual(a.body.authBytes, payload(`${2 * MiB}:7`));
      // Still held: the next large frame must get another buffer, leaving a's bytes alone.
      const b = await conn.sendFrame(SaslAuthenticate, 2, ask(`${2 * MiB - 100}:8`));
      assert.deepEqual(a.body.authBytes, payload(`${2 * MiB}:7`), 'a held frame is never reused');
      assert.ok(a.body.authBytes!.buffer !== b.body.authBytes!.buffer);
      assert.equal(pool.freeBuffers, 0);
      a.release();
      a.release(); // twice is harmless
      assert.equal(pool.freeBuffers, 1);
      const c = await conn.sendFrame(SaslAuthenticate, 2, ask(`${2 * MiB - 5}:9`));
      assert.deepEqual(c.body.authBytes, payload(`${2 * MiB - 5}:9`));
      assert.ok(c.body.authBytes!.buffer === a.body.authBytes!.buffer, 'the released buffer was reused');
      assert.equal(pool.freeBuffers, 0);
      assert.deepEqual(b.body.authBytes, payload(`${2 * MiB - 100}:8`), 'reuse did not touch another held frame');
      // Small frames and plain requests never use the pool.
      const small = await conn.sendFrame(SaslAuthenticate, 2, ask('100:1'));
      small.release();
      const plain = await conn.send(SaslAuthenticate, 2, ask(`${2 * MiB}:2`));
      assert.deepEqual(plain.authBytes, payload(`${2 * MiB}:2`));
      assert.equal(pool.freeBuffers, 0);
      b.release();
      c.release();
      assert.equal(pool.freeBuffers, 2);
    } finally {
      conn.close();
    }
  });

  it('open() authenticates with SASL PLAIN, and fails with the broker\'s reason on bad credentials or an unoffered mechanism', async () => {
    const base = { host: '127.0.0.1', port, clientId: 'frames-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000, maxInFlight: 16, responseBytesMax: 64 * MiB };
    const before = plainLogins;
    const conn = await BrokerConnection.open({ ...base, sasl: { mechanism: 'plain', username: 'mirror', password: 's3cret' } });
    try {
      assert.equal(plainLogins, before + 1);
      const res = await conn.send(SaslAuthenticate, 2, ask('10:1'));
      assert.deepEqual(res.authBytes, payload('10:1'), 'the authenticated connection serves requests');
    } finally {
      conn.close();
    }
    await assert.rejects(BrokerConnection.open({ ...base, sasl: { mechanism: 'plain', username: 'mirror', password: 'wrong' } }), {
      kind: 'invalid_argument',
      retriable: false,
      message: /SASL plain authentication to 127\.0\.0\.1:\d+ failed: invalid credentials/,
    });
    await assert.rejects(BrokerConnection.open({ ...base, sasl: { mechanism: 'scram-sha-256', username: 'mirror', password: 's3cret' } }), {
      kind: 'invalid_argument',
      retriable: false,
      message: /does not offer SASL SCRAM-SHA-256 \(it offers PLAIN\)/,
    });
    assert.equal(plainLogins, before + 1);
  });

  it('the pool keeps at most freeBytesMax of free buffers', () => {
    const pool = new FramePool(3 * MiB);
    const leases = [pool.take(MiB + 1), pool.take(MiB + 1), pool.take(10)];
    assert.equal(leases[0]!.frame.length, MiB + 1);
    for (const l of leases) l.release();
    assert.equal(pool.freeBuffers, 2, 'two 2 MiB buffers would exceed 3 MiB: one is left to the GC; the 1 MiB one fits');
  });
});
