/**
 * The table manifest (table-manifest.ts) in SQLite: the same database file as the agent's
 * metadata (so one backup holds the log index and the tables built from it), through a
 * connection of its own, usually in another process than the agent (`weir tables sync`).
 *
 * The tables below are created with CREATE TABLE IF NOT EXISTS rather than as a migration of
 * sqlite-schema.ts: they belong to the table connector, which may run against a database whose
 * agent never heard of tables, and the agent's migration list stays the agent's.
 *
 * Concurrency: WAL mode lets the agent keep committing while this connection reads; every write
 * here is one IMMEDIATE transaction (write lock taken up front, waiting up to busyTimeoutMs for
 * the agent's commit to finish instead of failing). Writes use synchronous=FULL: a commit is a
 * handful of rows per file of up to 128 MiB, so the fsync it costs is noise, and a commit that
 * returned survives kill -9 and power loss.
 */
import Database from 'better-sqlite3';
import { WeirError, isWeirError } from '../errors.js';
import {
  assertAppendCommit,
  assertMergeCommit,
  assertTableTopic,
  decodeTableFile,
  encodeTableFile,
  type AppendCommit,
  type AppendResult,
  type MergeCommit,
  type TableManifestStore,
  type TableState,
} from './table-manifest.js';

export const TABLE_MANIFEST_SCHEMA = `
  -- One row per table: the topic incarnation it was built from.
  CREATE TABLE IF NOT EXISTS table_manifests (
    topic TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- The last seq handed out to a file of this table.
    seq INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  -- Per partition: every offset below next_offset is in a committed file.
  CREATE TABLE IF NOT EXISTS table_manifest_progress (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
  ) STRICT, WITHOUT ROWID;

  -- Live files (retired_at_ms NULL) and files a merge replaced (retired_at_ms set) that may still
  -- be read by a query started before the merge.
  CREATE TABLE IF NOT EXISTS table_manifest_files (
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entry_json TEXT NOT NULL,
    committed_at_ms INTEGER NOT NULL,
    retired_at_ms INTEGER,
    PRIMARY KEY (topic, key)
  ) STRICT, WITHOUT ROWID;
`;

export interface SqliteTableManifestOptions {
  busyTimeoutMs?: number;
  now?: () => number;
}

interface FileRow {
  key: string;
  seq: number;
  entry_json: string;
  committed_at_ms: number;
  retired_at_ms: number | null;
}

export class SqliteTableManifestStore implements TableManifestStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly now: () => number;

  constructor(readonly path: string, options: SqliteTableManifestOptions = {}) {
    this.now = options.now ?? Date.now;
    const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    try {
      this.db = new Database(path, { timeout: busyTimeoutMs });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      this.db.exec(TABLE_MANIFEST_SCHEMA);
    } catch (e) {
      throw toWeirError(e, `open ${path}`);
    }
  }

  private write<T>(op: string, fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (e) {
      throw toWeirError(e, op);
    }
  }

  async getTable(topic: string): Promise<TableState | null> {
    assertTableTopic(topic);
    try {
      // One read transaction: files and next offsets from the same snapshot.
      return this.db.transaction(() => {
        const t = this.db.prepare('SELECT topic_id, created_at_ms FROM table_manifests WHERE topic = ?').get(topic) as
          | { topic_id: string; created_at_ms: number }
          | undefined;
        if (t === undefined) return null;
        const progress = this.db.prepare('SELECT partition, next_offset FROM table_manifest_progress WHERE topic = ? ORDER BY partition').all(topic) as {
          partition: number;
          next_offset: number;
        }[];
        const rows = this.db.prepare('SELECT key, seq, entry_json, committed_at_ms, retired_at_ms FROM table_manifest_files WHERE topic = ? ORDER BY seq').all(topic) as FileRow[];
        return {
          topic,
          topicId: t.topic_id,
          createdAtMs: t.created_at_ms,
          nextOffsets: new Map(progress.map((p) => [p.partition, p.next_offset])),
          files: rows.filter((r) => r.retired_at_ms === null).map((r) => decodeTableFile(r.key, r.entry_json, r.seq, r.committed_at_ms)),
          retired: rows.filter((r) => r.retired_at_ms !== null).map((r) => ({ key: r.key, retiredAtMs: r.retired_at_ms! })),
        };
      }).deferred();
    } catch (e) {
      throw toWeirError(e, 'getTable');
    }
  }

  async listTables(): Promise<string[]> {
    try {
      return (this.db.prepare('SELECT topic FROM table_manifests ORDER BY topic').all() as { topic: string }[]).map((r) => r.topic);
    } catch (e) {
      throw toWeirError(e, 'listTables');
    }
  }

  async commitAppend(topic: string, commit: AppendCommit): Promise<AppendResult> {
    assertTableTopic(topic);
    assertAppendCommit(commit);
    const now = this.now();
    return this.write('commitAppend', (): AppendResult => {
      const t = this.db.prepare('SELECT topic_id, seq FROM table_manifests WHERE topic = ?').get(topic) as { topic_id: string; seq: number } | undefined;
      if (t !== undefined && t.topic_id !== commit.topicId) return { ok: false, reason: 'topic_id_mismatch', topicId: t.topic_id };
      const p = this.db.prepare('SELECT next_offset FROM table_manifest_progress WHERE topic = ? AND partition = ?').get(topic, commit.partition) as
        | { next_offset: number }
        | undefined;
      if (p !== undefined && p.next_offset !== commit.fromOffset) return { ok: false, reason: 'offset_mismatch', nextOffset: p.next_offset };
      if (t === undefined) this.db.prepare('INSERT INTO table_manifests (topic, topic_id, created_at_ms, seq) VALUES (?, ?, ?, 0)').run(topic, commit.topicId, now);
      let seq = t?.seq ?? 0;
      const insert = this.db.prepare(
        `INSERT INTO table_manifest_files (topic, key, seq, entry_json, committed_at_ms, retired_at_ms) VALUES (?, ?, ?, ?, ?, NULL)
         ON CONFLICT (topic, key) DO UPDATE SET seq = excluded.seq, entry_json = excluded.entry_json,
           committed_at_ms = excluded.committed_at_ms, retired_at_ms = NULL`,
      );
      for (const f of commit.files) insert.run(topic, f.key, ++seq, encodeTableFile(f), now);
      this.db.prepare('UPDATE table_manifests SET seq = ? WHERE topic = ?').run(seq, topic);
      this.db
        .prepare('INSERT INTO table_manifest_progress (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset')
        .run(topic, commit.partition, commit.nextOffset);
      return { ok: true };
    });
  }

  async commitMerge(topic: string, merge: MergeCommit): Promise<boolean> {
    assertTableTopic(topic);
    assertMergeCommit(merge);
    const now = this.now();
    return this.write('commitMerge', () => {
      const t = this.db.prepare('SELECT seq FROM table_manifests WHERE topic = ?').get(topic) as { seq: number } | undefined;
      if (t === undefined) return false;
      const live = this.db.prepare('SELECT 1 FROM table_manifest_files WHERE topic = ? AND key = ? AND retired_at_ms IS NULL');
      for (const k of merge.remove) if (live.get(topic, k) === undefined) return false;
      const retire = this.db.prepare('UPDATE table_manifest_files SET retired_at_ms = ? WHERE topic = ? AND key = ?');
      for (const k of merge.remove) retire.run(now, topic, k);
      const seq = t.seq + 1;
      this.db
        .prepare(
          `INSERT INTO table_manifest_files (topic, key, seq, entry_json, committed_at_ms, retired_at_ms) VALUES (?, ?, ?, ?, ?, NULL)
           ON CONFLICT (topic, key) DO UPDATE SET seq = excluded.seq, entry_json = excluded.entry_json,
             committed_at_ms = excluded.committed_at_ms, retired_at_ms = NULL`,
        )
        .run(topic, merge.add.key, seq, encodeTableFile(merge.add), now);
      this.db.prepare('UPDATE table_manifests SET seq = ? WHERE topic = ?').run(seq, topic);
      return true;
    });
  }

  async purgeRetired(topic: string, keys: string[]): Promise<void> {
    assertTableTopic(topic);
    this.write('purgeRetired', () => {
      const del = this.db.prepare('DELETE FROM table_manifest_files WHERE topic = ? AND key = ? AND retired_at_ms IS NOT NULL');
      for (const k of keys) del.run(topic, k);
    });
  }

  async dropTable(topic: string): Promise<string[]> {
    assertTableTopic(topic);
    return this.write('dropTable', () => {
      const keys = (this.db.prepare('SELECT key FROM table_manifest_files WHERE topic = ? ORDER BY seq').all(topic) as { key: string }[]).map((r) => r.key);
      this.db.prepare('DELETE FROM table_manifest_files WHERE topic = ?').run(topic);
      this.db.prepare('DELETE FROM table_manifest_progress WHERE topic = ?').run(topic);
      this.db.prepare('DELETE FROM table_manifests WHERE topic = ?').run(topic);
      return keys;
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function toWeirError(e: unknown, op: string): WeirError {
  if (isWeirError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
  const message = `sqlite table manifest ${op}: ${e instanceof Error ? e.message : String(e)}`;
  if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN)/.test(code)) return new WeirError('unavailable', message, { cause: e });
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return new WeirError('corrupt', message, { cause: e });
  return new WeirError('internal', message, { cause: e });
}
