/**
 * What the producer state contract cannot see from outside the SQLite store: the objects' live
 * chunk counts when duplicates split a chunk, upgrading a database made before migration 3, and
 * producer ids never coming back once their rows are gone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { SCHEMA_VERSION } from '../../core/metadata/sqlite-schema.js';
import { commit } from '../contracts/metadata-store-contract.js';
import { partsChunk, plainPart, producerPart } from '../contracts/producer-state-contract.js';

async function withFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-producers-'));
  try {
    await fn(join(dir, 'metadata.sqlite'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function query<T>(path: string, sql: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('SqliteMetadataStore producer state', () => {
  it('counts one live chunk per index row, so a chunk split by a duplicate counts twice and a refused one not at all', () =>
    withFile(async (path) => {
      const store = new SqliteMetadataStore(path);
      try {
        const t = await store.createTopic('t', 2, {});
        const { producerId: pid } = await store.allocateProducerId();
        await commit(store, [partsChunk(t, 0, [producerPart(pid, 0, 0, 2)])]);
        const split = await commit(store, [partsChunk(t, 0, [producerPart(pid, 0, 2, 1), producerPart(pid, 0, 0, 2), plainPart(1)])]);
        const refused = await commit(store, [partsChunk(t, 1, [producerPart(pid, 0, 9, 1)])]);
        const live = Object.fromEntries(query<{ key: string; live_chunks: number }>(path, 'SELECT key, live_chunks FROM objects').map((r) => [r.key, r.live_chunks]));
        assert.equal(live[split.key], 2);
        assert.equal(live[refused.key], 0);
      } finally {
        await store.close();
      }
    }));

  it('upgrades a database made before migration 3, keeping its log', () =>
    withFile(async (path) => {
      const first = new SqliteMetadataStore(path);
      const t = await first.createTopic('t', 1, {});
      await commit(first, [{ topic: 't', topicId: t.id, partition: 0, offsetCount: 4, maxTimestamp: 1, byteStart: 0, byteLength: 40 }]);
      await first.close();
      // Take the file back to schema version 2: as an agent before idempotent producers left it.
      const db = new Database(path);
      // (Migration 4, the mirror column, is undone too: it came after.)
      db.exec('DROP TRIGGER producer_partitions_topic_deleted; DROP TABLE producer_partitions; DROP TABLE producers; ALTER TABLE topics DROP COLUMN mirror;');
      db.pragma('user_version = 2');
      db.close();

      const second = new SqliteMetadataStore(path);
      try {
        assert.deepEqual(await second.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 4 });
        const { producerId: pid } = await second.allocateProducerId();
        const { results } = await commit(second, [partsChunk(t, 0, [producerPart(pid, 0, 0, 1)])]);
        assert.deepEqual(results[0]!.ok && results[0]!.parts, [{ kind: 'appended', baseOffset: 4 }]);
      } finally {
        await second.close();
      }
      const db2 = new Database(path, { readonly: true });
      assert.equal(db2.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      db2.close();
    }));

  it('never hands out an id again, even once its row is gone', () =>
    withFile(async (path) => {
      const first = new SqliteMetadataStore(path);
      const ids = [(await first.allocateProducerId()).producerId, (await first.allocateProducerId()).producerId];
      await first.close();
      // As producer expiry will: the rows go, the counter stays.
      const db = new Database(path);
      db.exec('DELETE FROM producers');
      db.close();
      const second = new SqliteMetadataStore(path);
      try {
        const next = (await second.allocateProducerId()).producerId;
        assert.ok(next > Math.max(...ids), `${next} after ${ids.join(', ')}`);
      } finally {
        await second.close();
      }
    }));
});
