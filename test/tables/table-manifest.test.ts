/**
 * The table manifest contract on both backends: SQLite (a file, shared with the metadata store's
 * tables, as the connector uses it) and a real redis-server.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { RedisTableManifestStore } from '../../core/metadata/table-manifest-redis.js';
import { SqliteTableManifestStore } from '../../core/metadata/table-manifest-sqlite.js';
import { RedisKeys } from '../../core/metadata/redis-keys.js';
import { tableManifestContract } from '../contracts/table-manifest-contract.js';
import { startRedisServer } from '../helpers/redis-server.js';

tableManifestContract('sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weir-table-manifest-'));
  const path = join(dir, 'metadata.sqlite');
  return {
    store: new SqliteTableManifestStore(path),
    reopen: async () => new SqliteTableManifestStore(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const server = await startRedisServer();
after(() => server.stop());

tableManifestContract('redis', async () => {
  const namespace = `test-${randomUUID()}`;
  return {
    store: new RedisTableManifestStore({ url: server.url, namespace }),
    reopen: async () => new RedisTableManifestStore({ url: server.url, namespace }),
    cleanup: async () => {
      const redis = new Redis(server.url);
      try {
        const keys = await redis.keys(new RedisKeys(namespace).pattern());
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    },
  };
});

describe('SqliteTableManifestStore beside the metadata store', () => {
  it('shares the metadata database file with a live SqliteMetadataStore in either open order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-table-manifest-'));
    try {
      const path = join(dir, 'metadata.sqlite');
      const meta = new SqliteMetadataStore(path);
      const manifest = new SqliteTableManifestStore(path);
      await meta.createTopic('t', 1, {});
      const topic = (await meta.getTopic('t'))!;
      assert.deepEqual(await manifest.commitAppend('t', { topicId: topic.id, partition: 0, fromOffset: 0, nextOffset: 1, files: [] }), { ok: true });
      await manifest.close();
      await meta.close();
      // Reopened the other way round: the metadata store's migrations accept the manifest's tables.
      const manifest2 = new SqliteTableManifestStore(path);
      const meta2 = new SqliteMetadataStore(path);
      assert.equal((await manifest2.getTable('t'))!.nextOffsets.get(0), 1);
      assert.equal((await meta2.getTopic('t'))!.id, topic.id);
      await manifest2.close();
      await meta2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
