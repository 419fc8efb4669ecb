/**
 * Committed group offsets on SQLite: the shared contract on both kinds of database, plus what only
 * a file can show (offsets survive close and reopen) and the upgrade of a database made before
 * the group_offsets table existed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { SCHEMA_VERSION } from '../../core/metadata/sqlite-schema.js';
import { entry, groupOffsetContract } from '../contracts/group-offset-contract.js';

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-sqlite-groups-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

groupOffsetContract('sqlite :memory:', async () => ({ store: new SqliteMetadataStore(':memory:'), cleanup: async () => {} }));

groupOffsetContract('sqlite file', async () => {
  const { dir, cleanup } = await tempDir();
  return { store: new SqliteMetadataStore(join(dir, 'metadata.sqlite')), cleanup };
});

describe('SqliteMetadataStore group offsets specifics', () => {
  const withFile = async (fn: (path: string) => Promise<void>): Promise<void> => {
    const { dir, cleanup } = await tempDir();
    try {
      await fn(join(dir, 'metadata.sqlite'));
    } finally {
      await cleanup();
    }
  };

  it('keeps committed offsets across close and reopen', () =>
    withFile(async (path) => {
      const first = new SqliteMetadataStore(path);
      await first.createTopic('t', 2, {});
      const committed = [entry('t', 0, 10, { leaderEpoch: 3, metadata: 'm' }), entry('t', 1, 20)];
      await first.commitOffsets('g', committed);
      await first.commitOffsets('h', [entry('t', 1, 1)]);
      await first.deleteGroup('h');
      await first.close();

      const second = new SqliteMetadataStore(path);
      try {
        assert.deepEqual(await second.fetchOffsets('g', null), committed);
        assert.deepEqual(await second.listGroupsWithOffsets(), ['g']);
      } finally {
        await second.close();
      }
    }));

  it('upgrades a database from before group offsets (schema version 1) and keeps its topics', () =>
    withFile(async (path) => {
      const made = new SqliteMetadataStore(path);
      const t = await made.createTopic('old', 1, {});
      await made.close();
      // Roll the file back to what schema version 1 created: its tables and indexes, no triggers.
      const db = new Database(path);
      const v1 = new Set(['cluster', 'topics', 'partitions', 'objects', 'log_index', 'objects_pending', 'objects_unreferenced', 'sqlite_sequence']);
      const later = db.prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY type = 'table'").all() as Array<{ type: string; name: string }>;
      for (const o of later.filter((x) => !v1.has(x.name))) db.exec(`DROP ${o.type.toUpperCase()} IF EXISTS "${o.name}"`);
      // Columns later migrations added to version 1's tables (4: the mirror mark).
      db.exec('ALTER TABLE topics DROP COLUMN mirror');
      db.pragma('user_version = 1');
      db.close();

      const upgraded = new SqliteMetadataStore(path);
      try {
        assert.deepEqual(await upgraded.getTopic('old'), t);
        assert.deepEqual(await upgraded.commitOffsets('g', [entry('old', 0, 1)]), ['ok']);
        assert.equal((await upgraded.fetchOffsets('g', null)).length, 1);
      } finally {
        await upgraded.close();
      }
      const check = new Database(path, { readonly: true });
      try {
        assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      } finally {
        check.close();
      }
    }));
});
