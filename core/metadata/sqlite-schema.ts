import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { WeirError } from '../errors.js';
import { GROUP_OFFSETS_MIGRATION } from './sqlite-migration-002-group-offsets.js';
import { PRODUCER_STATE_MIGRATION } from './sqlite-migration-003-producer-state.js';

/**
 * The SQLite metadata schema, as an append-only list of migrations. PRAGMA user_version holds the
 * number of migrations applied; each one runs in its own transaction together with the bump of
 * user_version, so a crash mid-migration leaves the previous version intact. Never edit a shipped
 * migration: add a new one.
 *
 * PRAGMA application_id marks the file as Weir's, so pointing the agent at some other SQLite
 * database fails loudly instead of "migrating" it.
 */
export const WEIR_APPLICATION_ID = 0x57454952; // 'WEIR'

interface Migration {
  sql: string;
  /** Rows the migration must create, in the same transaction (e.g. the cluster id, made once). */
  seed?: (db: BetterSqlite3.Database) => void;
}

const migrations: readonly Migration[] = [
  {
    // 1: cluster settings, topics, partitions, the log index and flush objects.
    sql: `
  -- Settings of the whole cluster, one row each: 'cluster_id' for now.
  CREATE TABLE cluster (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;

  -- num is an internal surrogate: log_index repeats the topic in every row, and an integer is a
  -- few bytes where the UUID is 36. AUTOINCREMENT so a number is never reused, even after a delete.
  CREATE TABLE topics (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL CHECK (partitions >= 1),
    configs_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) STRICT;

  -- max_timestamp is the largest maxTimestamp ever committed to the partition (NULL before the
  -- first commit); it seeds log_index.running_max_timestamp and is not lowered by deleteRecords.
  CREATE TABLE partitions (
    topic_num INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    log_start_offset INTEGER NOT NULL,
    high_watermark INTEGER NOT NULL,
    max_timestamp INTEGER,
    PRIMARY KEY (topic_num, partition)
  ) STRICT, WITHOUT ROWID;

  -- Every flush object, registered before it is written. id is an internal surrogate so that
  -- log_index rows carry a small integer, not a ~60-byte key: that row size is most of the cost
  -- of a commit. live_chunks counts the object's log_index rows: deleteRecords and deleteTopic
  -- decrement it, and a committed object at 0 is garbage. The two partial indexes are GC's work
  -- lists (pending objects never committed; committed objects nothing refers to any more) and
  -- cost nothing for other rows.
  CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'committed')),
    size_bytes INTEGER,
    live_chunks INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL,
    committed_at_ms INTEGER
  ) STRICT;
  CREATE INDEX objects_pending ON objects (created_at_ms) WHERE state = 'pending';
  CREATE INDEX objects_unreferenced ON objects (committed_at_ms) WHERE state = 'committed' AND live_chunks = 0;

  -- One row per chunk of a flush: offsets [base_offset, last_offset] of a partition live at
  -- [byte_start, byte_start + byte_length) of the object. Rows of a partition are contiguous and
  -- never overlap. running_max_timestamp is the max of max_timestamp over this row and every
  -- earlier row of the partition: it never decreases in offset order, so findByTimestamp can
  -- binary-search the primary key instead of needing a second index on every commit.
  CREATE TABLE log_index (
    topic_num INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    base_offset INTEGER NOT NULL,
    last_offset INTEGER NOT NULL,
    max_timestamp INTEGER NOT NULL,
    running_max_timestamp INTEGER NOT NULL,
    object_id INTEGER NOT NULL,
    byte_start INTEGER NOT NULL,
    byte_length INTEGER NOT NULL,
    PRIMARY KEY (topic_num, partition, base_offset)
  ) STRICT, WITHOUT ROWID;

  -- Room left for later migrations: consumer group offsets (group, topic_num, partition) and
  -- idempotent producer state (producer id + epoch, and per (producer, topic_num, partition) the
  -- last sequences), which commitFlush will check and update in its same transaction.
  `,
    seed: (db) => {
      // Kafka's format: a random UUID's 16 bytes in URL-safe base64 without padding.
      db.prepare("INSERT INTO cluster (key, value) VALUES ('cluster_id', ?)").run(randomBytes(16).toString('base64url'));
    },
  },
  // 2: consumer groups' committed offsets.
  { sql: GROUP_OFFSETS_MIGRATION },
  // 3: idempotent producers: producer ids and epochs, per-partition sequences.
  { sql: PRODUCER_STATE_MIGRATION },
  // 4: mirror topics (connectors/mirror/): "<state>|<source>" (mirror-runs.ts), NULL for an
  // ordinary topic. A column of topics, not a config: it goes with the topic, costs Produce no
  // extra read (TopicInfo carries it), and AlterConfigs cannot drop it.
  { sql: 'ALTER TABLE topics ADD COLUMN mirror TEXT;' },
];

export const SCHEMA_VERSION = migrations.length;

/** Brings the database to SCHEMA_VERSION. */
export function migrate(db: BetterSqlite3.Database): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  if (applicationId !== WEIR_APPLICATION_ID && (applicationId !== 0 || userVersion !== 0)) {
    throw new WeirError('invalid_argument', `${db.name} is not a Weir metadata database`);
  }
  if (userVersion > migrations.length) {
    throw new WeirError('unsupported', `metadata schema version ${userVersion} is newer than this Weir (${migrations.length})`);
  }
  for (let version = userVersion; version < migrations.length; version++) {
    db.transaction(() => {
      // Re-read under the write lock: another process opening the same file may have migrated it.
      if ((db.pragma('user_version', { simple: true }) as number) !== version) return;
      const migration = migrations[version]!;
      db.exec(migration.sql);
      migration.seed?.(db);
      db.pragma(`application_id = ${WEIR_APPLICATION_ID}`);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
