/**
 * Migration 2: consumer groups' committed offsets (core/metadata/sqlite-group-offsets.ts).
 *
 * Rows are keyed by the topic's internal number, not its name: a topic deleted and re-created
 * with the same name is a new log, and a group must not resume it at offsets that meant something
 * else. The trigger deletes a topic's offsets in the same transaction as the topic row, so every
 * way of deleting a topic (today only deleteTopic) takes its offsets with it, with no extra step
 * to forget.
 */
export const GROUP_OFFSETS_MIGRATION = `
  -- One row per (group, partition) with a committed offset. leader_epoch is -1 when the client did
  -- not send one; metadata is the client's string (NULL when it sent none). commit_timestamp_ms is
  -- when the commit was made (the client's, for OffsetCommit v1 requests that carry one).
  CREATE TABLE group_offsets (
    group_id TEXT NOT NULL,
    topic_num INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    metadata TEXT,
    commit_timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic_num, partition)
  ) STRICT, WITHOUT ROWID;

  -- For the trigger below: without it a topic delete would scan every group's offsets.
  CREATE INDEX group_offsets_by_topic ON group_offsets (topic_num);

  CREATE TRIGGER group_offsets_topic_deleted AFTER DELETE ON topics
  BEGIN
    DELETE FROM group_offsets WHERE topic_num = OLD.num;
  END;
`;
