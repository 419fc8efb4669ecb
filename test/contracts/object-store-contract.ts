/**
 * The behaviour every ObjectStore backend must share. Each backend's test file calls
 * objectStoreContract with a factory; a fresh, empty store is made for every test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import type { ObjectInfo, ObjectStore } from '../../core/storage/object-store.js';

export type ObjectStoreFactory = () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>;

export function objectStoreContract(name: string, make: ObjectStoreFactory): void {
  const withStore = async (fn: (store: ObjectStore) => Promise<void>): Promise<void> => {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`ObjectStore contract: ${name}`, () => {
    it('gets back exactly what was put', () =>
      withStore(async (store) => {
        const body = randomBytes(1000);
        await store.put('a/b/c.bin', body);
        const got = await store.get('a/b/c.bin');
        assert.ok(Buffer.isBuffer(got));
        assert.deepEqual(got, body);
      }));

    it('stores a copy: mutating the put buffer or a returned buffer changes nothing', () =>
      withStore(async (store) => {
        const body = Buffer.from('hello world');
        await store.put('k', body);
        body.fill(0);
        const first = await store.get('k');
        first.fill(1);
        assert.equal((await store.get('k')).toString(), 'hello world');
      }));

    it('accepts a plain Uint8Array body and an empty object', () =>
      withStore(async (store) => {
        await store.put('u8', new Uint8Array([1, 2, 3]));
        assert.deepEqual(await store.get('u8'), Buffer.from([1, 2, 3]));
        await store.put('empty', new Uint8Array(0));
        assert.equal((await store.get('empty')).length, 0);
        assert.deepEqual(await store.head('empty'), { key: 'empty', sizeBytes: 0 });
        assert.equal((await store.get('empty', { start: 0, end: 10 })).length, 0);
      }));

    it('stores a body given as pieces as their concatenation (including empty and many pieces)', () =>
      withStore(async (store) => {
        const pieces = [randomBytes(10), Buffer.alloc(0), randomBytes(70_000), new Uint8Array([7]), ...Array.from({ length: 1500 }, () => randomBytes(3))];
        await store.put('p/pieces', pieces);
        const want = Buffer.concat(pieces);
        assert.deepEqual(await store.get('p/pieces'), want);
        assert.deepEqual(await store.head('p/pieces'), { key: 'p/pieces', sizeBytes: want.length });
        assert.deepEqual(await store.get('p/pieces', { start: 5, end: 70_020 }), want.subarray(5, 70_020));
        await store.put('p/none', []);
        assert.equal((await store.get('p/none')).length, 0);
      }));

    it('reads byte ranges, clamping ranges that run past the end', () =>
      withStore(async (store) => {
        const body = Buffer.from('0123456789');
        await store.put('r', body);
        const read = async (start: number, end: number): Promise<string> => (await store.get('r', { start, end })).toString();
        assert.equal(await read(0, 10), '0123456789');
        assert.equal(await read(2, 5), '234');
        assert.equal(await read(0, 1), '0');
        assert.equal(await read(9, 10), '9');
        assert.equal(await read(3, 3), '');
        assert.equal(await read(0, 0), '');
        assert.equal(await read(7, 100), '789');
        assert.equal(await read(10, 10), '');
        assert.equal(await read(10, 20), '');
        assert.equal(await read(50, 60), '');
      }));

    it('rejects malformed ranges with invalid_argument', () =>
      withStore(async (store) => {
        await store.put('r', Buffer.from('0123456789'));
        for (const range of [
          { start: -1, end: 3 },
          { start: 5, end: 4 },
          { start: 1.5, end: 3 },
          { start: 0, end: Number.NaN },
          { start: 0, end: Number.POSITIVE_INFINITY },
        ]) {
          await assert.rejects(store.get('r', range), (e) => isWeirError(e, 'invalid_argument'), JSON.stringify(range));
        }
      }));

    it('heads: size of a present object, null for an absent one', () =>
      withStore(async (store) => {
        await store.put('h/x', Buffer.alloc(123, 7));
        assert.deepEqual(await store.head('h/x'), { key: 'h/x', sizeBytes: 123 });
        assert.equal(await store.head('h/y'), null);
        assert.equal(await store.head('h'), null); // a "directory" is not an object
      }));

    it('throws not_found for an absent object, with or without a range', () =>
      withStore(async (store) => {
        await assert.rejects(store.get('missing'), (e) => isWeirError(e, 'not_found'));
        await assert.rejects(store.get('missing/deeper', { start: 0, end: 1 }), (e) => isWeirError(e, 'not_found'));
        await store.put('dir/obj', Buffer.from('x'));
        await assert.rejects(store.get('dir'), (e) => isWeirError(e, 'not_found'));
        await assert.rejects(store.get('dir/obj/under'), (e) => isWeirError(e, 'not_found'));
      }));

    it('deletes, and deleting an absent key is not an error', () =>
      withStore(async (store) => {
        await store.put('d/1', Buffer.from('x'));
        await store.delete('d/1');
        assert.equal(await store.head('d/1'), null);
        await assert.rejects(store.get('d/1'), (e) => isWeirError(e, 'not_found'));
        await store.delete('d/1');
        await store.delete('never/existed');
        // A prefix of other keys is not an object: deleting it is a no-op and spares them.
        await store.put('d/2/x', Buffer.from('y'));
        await store.delete('d/2');
        assert.equal((await store.get('d/2/x')).toString(), 'y');
        await store.delete('d/2/x');
        assert.deepEqual(await keys(store.list('')), []);
        // A deleted key can be written again.
        await store.put('d/1', Buffer.from('again'));
        assert.equal((await store.get('d/1')).toString(), 'again');
      }));

    it('overwrites an existing key', () =>
      withStore(async (store) => {
        await store.put('o', Buffer.from('first version'));
        await store.put('o', Buffer.from('v2'));
        assert.equal((await store.get('o')).toString(), 'v2');
        assert.deepEqual(await store.head('o'), { key: 'o', sizeBytes: 2 });
        assert.deepEqual(await collect(store.list('o')), [{ key: 'o', sizeBytes: 2 }]);
      }));

    it('lists in lexicographic key order, honouring the prefix', () =>
      withStore(async (store) => {
        // "x/a-c" < "x/a.b" < "x/a/b" < "x/a0" < "x/b": '-' < '.' < '/' < '0' in byte order, which a
        // naive directory walk (visiting "a" before "a-c") gets wrong.
        const all = ['x/a/b', 'x/a-c', 'x/a0', 'x/b', 'x/a.b', 'x/a/c/d', 'y', 'log/2024/01/02/03/n-1.wobj', 'log/2024/01/02/04/n-2.wobj'];
        for (const [i, key] of all.entries()) await store.put(key, Buffer.alloc(i + 1));
        const sorted = [...all].sort();
        assert.deepEqual(await keys(store.list('')), sorted);
        assert.deepEqual(await keys(store.list('x/')), ['x/a-c', 'x/a.b', 'x/a/b', 'x/a/c/d', 'x/a0', 'x/b']);
        assert.deepEqual(await keys(store.list('x/a')), ['x/a-c', 'x/a.b', 'x/a/b', 'x/a/c/d', 'x/a0']);
        assert.deepEqual(await keys(store.list('x/a/')), ['x/a/b', 'x/a/c/d']);
        assert.deepEqual(await keys(store.list('x/a/c/d')), ['x/a/c/d']);
        assert.deepEqual(await keys(store.list('log/2024/01/02/0')), ['log/2024/01/02/03/n-1.wobj', 'log/2024/01/02/04/n-2.wobj']);
        assert.deepEqual(await keys(store.list('log/2024/01/02/04/')), ['log/2024/01/02/04/n-2.wobj']);
        assert.deepEqual(await keys(store.list('z')), []);
        assert.deepEqual(await keys(store.list('x/zz/')), []);
        assert.deepEqual(await keys(store.list('y/')), []);
        // Sizes come with the keys.
        assert.deepEqual(await collect(store.list('x/b')), [{ key: 'x/b', sizeBytes: all.indexOf('x/b') + 1 }]);
      }));

    it('lists nothing, and does not throw, for prefixes no valid key can have', () =>
      withStore(async (store) => {
        await store.put('a/b', Buffer.from('x'));
        for (const prefix of ['../', '/', 'a//', './a', '../../etc/']) assert.deepEqual(await keys(store.list(prefix)), [], prefix);
      }));

    it('handles a 10 MiB object, whole and by range', () =>
      withStore(async (store) => {
        const body = randomBytes(10 * 1024 * 1024);
        await store.put('big/object', body);
        assert.deepEqual(await store.head('big/object'), { key: 'big/object', sizeBytes: body.length });
        assert.ok((await store.get('big/object')).equals(body));
        const start = body.length - 5000;
        assert.ok((await store.get('big/object', { start, end: body.length + 100 })).equals(body.subarray(start)));
        assert.ok((await store.get('big/object', { start: 4_000_000, end: 4_000_100 })).equals(body.subarray(4_000_000, 4_000_100)));
      }));

    it('survives many concurrent puts and gets, including to the same key', () =>
      withStore(async (store) => {
        const n = 200;
        const bodies = Array.from({ length: n }, (_, i) => Buffer.from(`object ${i} `.repeat(i + 1)));
        await Promise.all(bodies.map((b, i) => store.put(`c/${String(i).padStart(3, '0')}`, b)));
        // Racing writers to one key: the survivor is one of them, whole.
        const racers = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 + i, i));
        await Promise.all(racers.map((b) => store.put('c/same', b)));
        const got = await Promise.all(bodies.map((_, i) => store.get(`c/${String(i).padStart(3, '0')}`)));
        got.forEach((b, i) => assert.ok(b.equals(bodies[i]!), `object ${i}`));
        const same = await store.get('c/same');
        assert.ok(racers.some((r) => r.equals(same)));
        assert.equal((await keys(store.list('c/'))).length, n + 1);
      }));

    it('rejects malformed keys with invalid_argument on every operation', () =>
      withStore(async (store) => {
        const bad = ['', '/abs', 'trailing/', 'a//b', '..', '../x', 'a/../b', 'a/./b', '.', './a', '.hidden', 'a/.tmp-1', 'back\\slash', 'nul\0x', 'sp ace', 'ünï', 'q?', 'x'.repeat(1025)];
        for (const key of bad) {
          const isInvalid = (e: unknown): boolean => isWeirError(e, 'invalid_argument');
          await assert.rejects(store.put(key, Buffer.from('x')), isInvalid, `put ${JSON.stringify(key)}`);
          await assert.rejects(store.get(key), isInvalid, `get ${JSON.stringify(key)}`);
          await assert.rejects(store.head(key), isInvalid, `head ${JSON.stringify(key)}`);
          await assert.rejects(store.delete(key), isInvalid, `delete ${JSON.stringify(key)}`);
        }
        assert.deepEqual(await keys(store.list('')), []);
        // The boundaries that are fine.
        for (const key of ['x'.repeat(200), 'a.b/c..d/e-f_g=h+i,j@k~l', '0/1/2']) await store.put(key, Buffer.from('ok'));
        assert.equal((await keys(store.list(''))).length, 3);
      }));
  });
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

async function keys(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  return (await collect(iterable)).map((i) => i.key);
}
