import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isWeirError } from '../../core/errors.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { SCHEMA_VERSION } from '../../core/metadata/sqlite-schema.js';
import { chunk, commit, metadataStoreContract } from '../contracts/metadata-store-contract.js';
import { producerStateContract } from '../contracts/producer-state-contract.js';

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-sqlite-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

metadataStoreContract('sqlite :memory:', async () => ({ store: new SqliteMetadataStore(':memory:'), cleanup: async () => {} }));

metadataStoreContract('sqlite file', async () => {
  const { dir, cleanup } = await tempDir();
  return { store: new SqliteMetadataStore(join(dir, 'metadata.sqlite')), cleanup };
});

producerStateContract('sqlite file', async () => {
  const { dir, cleanup } = await tempDir();
  const path = join(dir, 'metadata.sqlite');
  return { store: new SqliteMetadataStore(path), cleanup, reopen: async () => new SqliteMetadataStore(path) };
});

describe('SqliteMetadataStore specifics', () => {
  const withFile = async (fn: (path: string) => Promise<void>): Promise<void> => {
    const { dir, cleanup } = await tempDir();
    try {
      await fn(join(dir, 'metadata.sqlite'));
    } finally {
      await cleanup();
    }
  };

  it('keeps everything across close and reopen', () =>
    withFile(async (path) => {
      const first = new SqliteMetadataStore(path);
      const clusterId = await first.clusterId();
      const t = await first.createTopic('t', 2, { 'cleanup.policy': 'delete' });
      const { key } = await commit(first, [chunk(t, 0, 5, 1234, 0, 50), chunk(t, 1, 2, 99, 50, 10)]);
      await first.deleteRecords('t', 0, 2);
      const pending = 'log/2025/01/01/00/x-000000000001-0000000000000000.wobj';
      await first.registerPendingObject(pending);
      await first.close();

      const second = new SqliteMetadataStore(path);
      try {
        assert.equal(await second.clusterId(), clusterId);
        assert.deepEqual(await second.getTopic('t'), t);
        assert.deepEqual(await second.getPartitionState('t', 0), { logStartOffset: 2, highWatermark: 5 });
        assert.deepEqual(await second.readIndex('t', 0, 0, 10), [
          { baseOffset: 0, lastOffset: 4, maxTimestamp: 1234, objectKey: key, byteStart: 0, byteLength: 50 },
        ]);
        assert.equal((await second.findMaxTimestamp('t', 1))!.maxTimestamp, 99);
        // The pending object survived too: it can still be committed, once.
        assert.deepEqual((await second.commitFlush(pending, 10, [chunk(t, 1, 1, 5, 0, 10)])).map((r) => r.ok && r.baseOffset), [2]);
      } finally {
        await second.close();
      }
    }));

  it('uses WAL and records its schema version', () =>
    withFile(async (path) => {
      await new SqliteMetadataStore(path).close();
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
        assert.equal(db.pragma('application_id', { simple: true }), 0x57454952);
      } finally {
        db.close();
      }
    }));

  it('refuses a database of another application or from a newer Weir', () =>
    withFile(async (path) => {
      const foreign = new Database(path);
      foreign.exec('CREATE TABLE stuff (x)');
      foreign.pragma('application_id = 42');
      foreign.close();
      assert.throws(() => new SqliteMetadataStore(path), (e) => isWeirError(e, 'invalid_argument'));
      await rm(path);
      await new SqliteMetadataStore(path).close();
      const db = new Database(path);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      assert.throws(() => new SqliteMetadataStore(path), (e) => isWeirError(e, 'unsupported'));
      await rm(path);
      await writeFile(path, 'this is not a database, just some text that is long enough to have a header');
      assert.throws(() => new SqliteMetadataStore(path), (e) => isWeirError(e, 'corrupt'));
    }));

  it('keeps offsets contiguous when two connections share one file', () =>
    withFile(async (path) => {
      const a = new SqliteMetadataStore(path);
      const b = new SqliteMetadataStore(path);
      try {
        const t = await a.createTopic('t', 1, {});
        const bases: number[] = [];
        for (let i = 0; i < 20; i++) {
          const { results } = await commit(i % 2 === 0 ? a : b, [chunk(t, 0, 3)]);
          bases.push(results[0]!.ok ? results[0]!.baseOffset : -1);
        }
        assert.deepEqual(bases, Array.from({ length: 20 }, (_, i) => i * 3));
        assert.deepEqual(await a.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 60 });
        assert.equal(await a.clusterId(), await b.clusterId());
      } finally {
        await a.close();
        await b.close();
      }
    }));

  it('counts each object\'s live index entries so GC can find unreferenced objects', () =>
    withFile(async (path) => {
      const store = new SqliteMetadataStore(path);
      const t = await store.createTopic('t', 2, {});
      const u = await store.createTopic('u', 1, {});
      const one = await commit(store, [chunk(t, 0, 10), chunk(t, 1, 10), chunk(u, 0, 1), chunk(t, 5, 1)]);
      const two = await commit(store, [chunk(t, 0, 10)]);
      const liveChunks = (): Record<string, [string, number]> => {
        const db = new Database(path, { readonly: true });
        try {
          const rows = db.prepare('SELECT key, state, live_chunks FROM objects').all() as { key: string; state: string; live_chunks: number }[];
          return Object.fromEntries(rows.map((r) => [r.key, [r.state, r.live_chunks]]));
        } finally {
          db.close();
        }
      };
      assert.deepEqual(liveChunks(), { [one.key]: ['committed', 3], [two.key]: ['committed', 1] });
      await store.deleteRecords('t', 0, 12);
      assert.deepEqual(liveChunks(), { [one.key]: ['committed', 2], [two.key]: ['committed', 1] });
      await store.deleteTopic('t');
      assert.deepEqual(liveChunks(), { [one.key]: ['committed', 1], [two.key]: ['committed', 0] });
      await store.close();
    }));

  // Costs (CPU per commit, per lookup) are measured by `npm run bench -- metadata`, not here:
  // timing assertions on a shared two-core machine measure the neighbours, not the store.
  it('commits a flush of 1000 chunks across 50 topics in one transaction', async () => {
    for (const where of [':memory:', 'file']) {
      const { dir, cleanup } = await tempDir();
      const store = new SqliteMetadataStore(where === 'file' ? join(dir, 'm.sqlite') : where);
      try {
        const topics = await Promise.all(Array.from({ length: 50 }, (_, i) => store.createTopic(`topic-${i}`, 20, {})));
        const chunks = topics.flatMap((t) => Array.from({ length: 20 }, (_, p) => chunk(t, p, 10, Date.now(), p * 100, 100)));
        assert.equal(chunks.length, 1000);
        for (let i = 0; i < 3; i++) {
          const { results } = await commit(store, chunks, 10_000_000);
          assert.deepEqual(results.map((r) => (r.ok ? r.baseOffset : r.error)), chunks.map(() => i * 10), where);
        }
        const state = await store.getPartitionState('topic-49', 19);
        assert.equal(state?.highWatermark, 30);
      } finally {
        await store.close();
        await cleanup();
      }
    }
  });

  it('looks up by offset and by timestamp on a long partition (costs: npm run bench -- metadata)', async () => {
    const store = new SqliteMetadataStore(':memory:');
    try {
      const t = await store.createTopic('t', 1, {});
      const n = 20_000;
      // 20 chunks per flush to build the partition quickly; timestamps grow with offsets.
      for (let f = 0; f < n / 20; f++) {
        await commit(store, Array.from({ length: 20 }, (_, i) => chunk(t, 0, 5, (f * 20 + i) * 10, 0, 10)));
      }
      assert.equal((await store.readIndex('t', 0, 50_002, 1))[0]!.baseOffset, 50_000);
      assert.equal((await store.findByTimestamp('t', 0, 150_005))!.baseOffset, 75_005);
      assert.equal((await store.readIndex('t', 0, 99_999, 1))[0]!.baseOffset, 99_995);
      assert.equal((await store.findByTimestamp('t', 0, 0))!.baseOffset, 0);
      assert.equal(await store.findByTimestamp('t', 0, 200_000), null);
      assert.equal((await store.findMaxTimestamp('t', 0))!.baseOffset, 99_995);
    } finally {
      await store.close();
    }
  });
});
