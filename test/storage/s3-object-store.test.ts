import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../core/storage/s3-object-store.js';
import { objectStoreContract } from '../contracts/object-store-contract.js';
import { freePort } from '../helpers/free-port.js';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../helpers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const MiB = 1024 * 1024;

function storeOn(endpoint: string, bucket: string, options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({ bucket, endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, ...options });
}

// A fresh s3rver (and bucket) per test, so every test starts from an empty store.
objectStoreContract('s3 (s3rver)', async () => {
  const s3 = await startS3rver();
  return { store: storeOn(s3.endpoint, s3.bucket), cleanup: () => s3.stop() };
});

// A key prefix, a 1 MiB multipart threshold (the contract's 10 MiB object goes up in parts) and
// two requests at a time (the concurrency test queues on the semaphore).
objectStoreContract('s3 (prefix, multipart above 1 MiB, maxConcurrency 2)', async () => {
  const s3 = await startS3rver();
  const store = storeOn(s3.endpoint, s3.bucket, { prefix: 'cluster-a/weir', multipartThresholdBytes: MiB, partSizeBytes: 5 * MiB, maxConcurrency: 2 });
  return { store, cleanup: () => s3.stop() };
});

describe('S3ObjectStore specifics', () => {
  const withS3 = async (fn: (s3: RunningS3rver) => Promise<void>): Promise<void> => {
    const s3 = await startS3rver();
    try {
      await fn(s3);
    } finally {
      await s3.stop();
    }
  };

  it('keeps its objects under the prefix and lists only those', () =>
    withS3(async (s3) => {
      const a = storeOn(s3.endpoint, s3.bucket, { prefix: 'a/' });
      const b = storeOn(s3.endpoint, s3.bucket, { prefix: 'b' });
      const root = storeOn(s3.endpoint, s3.bucket);
      try {
        await a.put('k', Buffer.from('from a'));
        await b.put('k', Buffer.from('from b'));
        assert.equal((await a.get('k')).toString(), 'from a');
        assert.equal((await b.get('k')).toString(), 'from b');
        assert.deepEqual(await listKeys(a, ''), ['k']);
        assert.deepEqual(await listKeys(root, ''), ['a/k', 'b/k']);
      } finally {
        await Promise.all([a.close(), b.close(), root.close()]);
      }
    }));

  it('lists across pages (more than the 1000 keys ListObjectsV2 returns at once), in order', () =>
    withS3(async (s3) => {
      const store = storeOn(s3.endpoint, s3.bucket);
      try {
        const all = Array.from({ length: 1050 }, (_, i) => `l/${String(i).padStart(5, '0')}`);
        await Promise.all(all.map((key) => store.put(key, Buffer.from(key))));
        assert.deepEqual(await listKeys(store, 'l/'), all);
      } finally {
        await store.close();
      }
    }));

  it('rejects bad settings', () => {
    assert.throws(() => storeOn('http://127.0.0.1:1', ''), (e) => isWeirError(e, 'invalid_argument'));
    assert.throws(() => storeOn('http://127.0.0.1:1', 'b', { prefix: '../x' }), (e) => isWeirError(e, 'invalid_argument'));
    assert.throws(() => storeOn('http://127.0.0.1:1', 'b', { partSizeBytes: MiB }), (e) => isWeirError(e, 'invalid_argument'));
    assert.throws(() => storeOn('http://127.0.0.1:1', 'b', { maxAttempts: 0 }), RangeError);
  });

  it('reports an unreachable endpoint as unavailable (retriable) after bounded attempts', async () => {
    const port = await freePort(); // nothing listens there
    const store = storeOn(`http://127.0.0.1:${port}`, 'b', { maxAttempts: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 5 });
    try {
      await assert.rejects(store.get('k'), (e) => isWeirError(e, 'unavailable') && e.retriable && /after 2 attempts/.test(e.message));
    } finally {
      await store.close();
    }
  });

  it('reports a missing bucket as unavailable, not retriable', () =>
    withS3(async (s3) => {
      const store = storeOn(s3.endpoint, 'no-such-bucket', { retryBaseDelayMs: 1, retryMaxDelayMs: 5 });
      try {
        await assert.rejects(store.put('k', Buffer.from('x')), (e) => isWeirError(e, 'unavailable') && !e.retriable);
      } finally {
        await store.close();
      }
    }));
});

describe('S3ObjectStore under injected faults', () => {
  const withProxy = async (
    faultRate: number,
    kinds: readonly FaultKind[] | undefined,
    options: Partial<S3ObjectStoreOptions>,
    fn: (store: S3ObjectStore, proxy: FaultProxy) => Promise<void>,
  ): Promise<void> => {
    const s3 = await startS3rver();
    const proxy = await startFaultProxy({ upstreamPort: s3.port, faultRate, seed: 42, ...(kinds !== undefined && { kinds }) });
    // Short timeouts and backoffs keep the test fast; 'stall' faults cost one requestTimeoutMs each.
    const store = storeOn(proxy.endpoint, s3.bucket, { requestTimeoutMs: 500, connectionTimeoutMs: 500, retryBaseDelayMs: 5, retryMaxDelayMs: 50, ...options });
    try {
      await fn(store, proxy);
    } finally {
      await store.close();
      await proxy.close();
      await s3.stop();
    }
  };

  it('with 10% of requests failing (503 SlowDown, stalls, resets, truncated answers), every put and get succeeds intact', () =>
    withProxy(0.1, undefined, { maxAttempts: 8, multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB }, async (store, proxy) => {
      const bodies = Array.from({ length: 60 }, (_, i) => randomBytes(1000 + i * 997));
      const key = (i: number): string => `f/${String(i).padStart(3, '0')}`;
      await Promise.all(bodies.map((b, i) => store.put(key(i), i % 2 === 0 ? b : [b.subarray(0, 100), b.subarray(100)])));
      // One multipart object (3 parts) through the same faults.
      const big = randomBytes(11 * MiB);
      await store.put('f/big', big);
      for (let round = 0; round < 2; round++) {
        const got = await Promise.all(bodies.map((_, i) => store.get(key(i))));
        got.forEach((b, i) => assert.ok(b.equals(bodies[i]!), `object ${i}`));
        const ranges = await Promise.all(bodies.map((_, i) => store.get(key(i), { start: 10, end: 600 })));
        ranges.forEach((b, i) => assert.ok(b.equals(bodies[i]!.subarray(10, 600)), `range of object ${i}`));
      }
      assert.ok((await store.get('f/big')).equals(big));
      const listed: string[] = [];
      for await (const info of store.list('f/')) listed.push(info.key);
      assert.deepEqual(listed, [...bodies.map((_, i) => key(i)), 'f/big']);
      // The faults really happened, of every kind.
      const { faults } = proxy.stats;
      for (const kind of ['slowdown', 'stall', 'reset', 'truncate'] as const) assert.ok(faults[kind] > 0, `no ${kind} fault was injected`);
      // And nothing is left broken behind them: without faults every object is still whole.
      proxy.setFaultRate(0);
      for (const [i, b] of bodies.entries()) assert.deepEqual(await store.head(key(i)), { key: key(i), sizeBytes: b.length });
    }));

  for (const kind of ['slowdown', 'stall', 'reset', 'truncate'] as const) {
    it(`with every request failing (${kind}), gives up after maxAttempts with a retriable 'unavailable'`, () =>
      withProxy(1, [kind], { maxAttempts: 3 }, async (store, proxy) => {
        const isUnavailable = (e: unknown): boolean => isWeirError(e, 'unavailable') && e.retriable;
        const ops: [string, () => Promise<unknown>][] = [
          ['put', () => store.put('x', Buffer.from('payload'))],
          ['get', () => store.get('x')],
          ['head', () => store.head('x')],
          ['delete', () => store.delete('x')],
          ['list', async () => {
            for await (const info of store.list('')) void info;
          }],
        ];
        for (const [name, op] of ops) {
          const before = proxy.stats.requests;
          await assert.rejects(op(), isUnavailable, name);
          // Bounded: exactly maxAttempts requests, no more, no hidden SDK retries.
          assert.equal(proxy.stats.requests - before, 3, `${name} attempts`);
        }
      }));
  }

  it('uploads a body above the threshold as a multipart upload, from pieces, and reads it back whole and by range', () =>
    withProxy(0, undefined, { multipartThresholdBytes: 64 * 1024, partSizeBytes: 5 * MiB }, async (store, proxy) => {
      const pieces = [randomBytes(3 * MiB), randomBytes(4 * MiB), new Uint8Array(0), randomBytes(4 * MiB + 17)];
      const want = Buffer.concat(pieces);
      await store.put('mp/object', pieces);
      assert.equal(proxy.log.filter((r) => r.startsWith('PUT ') && r.includes('partNumber=')).length, 3, 'three parts uploaded');
      assert.equal(proxy.log.filter((r) => r.startsWith('POST ') && r.includes('uploadId=')).length, 1, 'one complete');
      assert.deepEqual(await store.head('mp/object'), { key: 'mp/object', sizeBytes: want.length });
      assert.ok((await store.get('mp/object')).equals(want));
      const start = 5 * MiB - 10; // across the first part boundary
      assert.ok((await store.get('mp/object', { start, end: start + 20 })).equals(want.subarray(start, start + 20)));
      // Below the threshold: a single PUT.
      const before = proxy.log.length;
      await store.put('mp/small', randomBytes(1000));
      assert.deepEqual(proxy.log.slice(before), ['PUT /weir-test/mp/small?x-id=PutObject']);
    }));

  it('aborts a multipart upload whose parts cannot be uploaded, leaving no object', async () => {
    const s3 = await startS3rver();
    // Every UploadPart fails; CreateMultipartUpload and the abort go through.
    const proxy = await startFaultProxy({ upstreamPort: s3.port, faultRate: 1, kinds: ['slowdown'], faultIf: (method, url) => method === 'PUT' && url.includes('partNumber=') });
    const store = storeOn(proxy.endpoint, s3.bucket, { maxAttempts: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 5, multipartThresholdBytes: MiB, partSizeBytes: 5 * MiB });
    try {
      await assert.rejects(store.put('mp/failed', randomBytes(6 * MiB)), (e) => isWeirError(e, 'unavailable') && e.retriable);
      assert.equal(proxy.log.filter((r) => r.startsWith('PUT ') && r.includes('partNumber=1&')).length, 2, 'part 1 tried maxAttempts times');
      assert.equal(proxy.log.filter((r) => r.startsWith('DELETE ') && r.includes('uploadId=')).length >= 1, true, 'upload aborted');
      assert.ok(!proxy.log.some((r) => r.startsWith('POST ') && r.includes('uploadId=')), 'never completed');
      assert.equal(await store.head('mp/failed'), null);
      await assert.rejects(store.get('mp/failed'), (e) => isWeirError(e, 'not_found'));
    } finally {
      await store.close();
      await proxy.close();
      await s3.stop();
    }
  });
});

async function listKeys(store: S3ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}
