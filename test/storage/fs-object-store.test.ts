import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { FsObjectStore } from '../../core/storage/fs-object-store.js';
import { objectStoreContract } from '../contracts/object-store-contract.js';

async function tempRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'weir-fs-store-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

objectStoreContract('fs', async () => {
  const { root, cleanup } = await tempRoot();
  return { store: new FsObjectStore(join(root, 'objects')), cleanup };
});

// A tiny handle budget, so the contract's concurrency test queues on the semaphore.
objectStoreContract('fs (maxOpenFiles 2)', async () => {
  const { root, cleanup } = await tempRoot();
  return { store: new FsObjectStore(root, { maxOpenFiles: 2 }), cleanup };
});

describe('FsObjectStore specifics', () => {
  const withRoot = async (fn: (root: string, store: FsObjectStore) => Promise<void>): Promise<void> => {
    const { root, cleanup } = await tempRoot();
    try {
      await fn(root, new FsObjectStore(root));
    } finally {
      await cleanup();
    }
  };

  it('maps keys to paths under the root and leaves no temp files behind', () =>
    withRoot(async (root, store) => {
      await store.put('log/2024/01/02/03/a-1.wobj', Buffer.from('abc'));
      assert.equal((await stat(join(root, 'log', '2024', '01', '02', '03', 'a-1.wobj'))).size, 3);
      assert.deepEqual(await readdir(join(root, 'log', '2024', '01', '02', '03')), ['a-1.wobj']);
    }));

  it('does not list stray temp files or other dot-files', () =>
    withRoot(async (root, store) => {
      await store.put('d/real', Buffer.from('x'));
      await writeFile(join(root, 'd', '.tmp-deadbeef'), 'partial');
      await writeFile(join(root, '.DS_Store'), 'junk');
      const listed: string[] = [];
      for await (const info of store.list('')) listed.push(info.key);
      assert.deepEqual(listed, ['d/real']);
    }));

  it('rejects a key that would need a file to be a directory, or a directory to be a file', () =>
    withRoot(async (_root, store) => {
      await store.put('a', Buffer.from('file'));
      await assert.rejects(store.put('a/b', Buffer.from('x')), (e) => isWeirError(e, 'invalid_argument'));
      await store.put('d/e', Buffer.from('x'));
      await assert.rejects(store.put('d', Buffer.from('x')), (e) => isWeirError(e, 'invalid_argument'));
      assert.equal((await store.get('a')).toString(), 'file');
      assert.equal((await store.get('d/e')).toString(), 'x');
    }));

  it('prunes directories a delete leaves empty, but never the root', () =>
    withRoot(async (root, store) => {
      await store.put('p/q/r/one', Buffer.from('1'));
      await store.put('p/two', Buffer.from('2'));
      await store.delete('p/q/r/one');
      assert.deepEqual(await readdir(join(root, 'p')), ['two']);
      await store.delete('p/two');
      assert.deepEqual(await readdir(root), []);
    }));

  it('keeps puts working while deletes prune the same directories', () =>
    withRoot(async (_root, store) => {
      for (let round = 0; round < 20; round++) {
        await Promise.all([
          store.put(`h/${round}/a`, Buffer.from('a')).then(() => store.delete(`h/${round}/a`)),
          store.put(`h/${round}/b`, Buffer.from('b')),
        ]);
        assert.equal((await store.get(`h/${round}/b`)).toString(), 'b');
      }
    }));

  it('needs no root until the first put, and lists an absent root as empty', async () => {
    const { root, cleanup } = await tempRoot();
    try {
      const store = new FsObjectStore(join(root, 'not', 'yet'));
      const listed: string[] = [];
      for await (const info of store.list('')) listed.push(info.key);
      assert.deepEqual(listed, []);
      assert.equal(await store.head('k'), null);
      await store.put('k', Buffer.from('v'));
      assert.equal((await store.get('k')).toString(), 'v');
    } finally {
      await cleanup();
    }
  });

  it('never serves a replaced or deleted object from its cached open handle', () =>
    withRoot(async (_root, store) => {
      await store.put('c/obj', Buffer.from('first'));
      assert.equal((await store.get('c/obj')).toString(), 'first'); // handle now cached
      await store.put('c/obj', Buffer.from('second!'));
      assert.equal((await store.get('c/obj')).toString(), 'second!');
      assert.equal((await store.get('c/obj', { start: 0, end: 100 })).length, 7, 'size is the new one');
      await store.delete('c/obj');
      await assert.rejects(store.get('c/obj'), (e: unknown) => isWeirError(e, 'not_found'));
    }));

  it('keeps concurrent range reads of many objects correct with few cached handles', async () => {
    const { root, cleanup } = await tempRoot();
    const store = new FsObjectStore(root, { maxOpenFiles: 2 });
    try {
      const bodies = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000, i));
      await Promise.all(bodies.map((b, i) => store.put(`m/${i}`, b)));
      const reads = Array.from({ length: 200 }, (_, n) => n % 10).map(async (i) => {
        const got = await store.get(`m/${i}`, { start: 10 * i, end: 10 * i + 50 });
        assert.deepEqual(got, bodies[i]!.subarray(10 * i, 10 * i + 50));
      });
      await Promise.all(reads);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});
