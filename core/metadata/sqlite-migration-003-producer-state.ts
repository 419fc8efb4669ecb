/**
 * Migration 3: idempotent producer state (core/metadata/sqlite-producer-state.ts).
 *
 * Per-partition rows are keyed by the topic's internal number, like the log index: a topic deleted
 * and re-created with the same name is a new log, and its producers start from sequence 0 again.
 * The trigger deletes a topic's producer state in the same transaction as the topic row.
 */
export const PRODUCER_STATE_MIGRATION = `
  -- Every producer id ever handed out. AUTOINCREMENT keeps its counter in sqlite_sequence and never
  -- reuses an id, even once rows are deleted (producer expiry, later): a reused id would let a new
  -- producer's batches be taken for an old one's duplicates. epoch is the one InitProducerId last
  -- gave out; last_epoch the one before it (-1 if none), so a retried bump is answered, not fenced.
  CREATE TABLE producers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch INTEGER NOT NULL,
    last_epoch INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
  ) STRICT;

  -- One row per (partition, producer) that committed there: the epoch of its last commit and its
  -- last 5 batches of that epoch as JSON [[firstSeq, lastSeq, baseOffset, offsetCount, maxTimestamp], ...],
  -- oldest first. The last sequence and last offset are the newest batch's. commitFlush reads and
  -- writes these rows in its own transaction; updated_at_ms is for expiry, later.
  CREATE TABLE producer_partitions (
    topic_num INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    producer_id INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    batches_json TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (topic_num, partition, producer_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TRIGGER producer_partitions_topic_deleted AFTER DELETE ON topics
  BEGIN
    DELETE FROM producer_partitions WHERE topic_num = OLD.num;
  END;
`;
