/**
 * GroupOffsetStore on SQLite: the statements behind SqliteMetadataStore's group offset methods,
 * against the store's own better-sqlite3 Database (table group_offsets, migration 2). This module
 * only runs transactions; the store wraps each call in its error mapping and makes writes durable
 * (WAL sync) before they resolve, as for every other write.
 */
import type Database from 'better-sqlite3';
import { WeirError } from '../errors.js';
import type { CommittedOffset, OffsetCommitEntry, OffsetCommitResult, TopicPartitionRef } from './group-offset-store.js';
import { assertEntry, assertGroup, assertRef } from './group-offset-validation.js';

interface OffsetRow {
  topic: string;
  partition: number;
  committed_offset: number;
  leader_epoch: number;
  metadata: string | null;
  commit_timestamp_ms: number;
}

interface TopicRef {
  num: number;
  partitions: number;
}

const OFFSET_SELECT = `SELECT t.name AS topic, g.partition, g.committed_offset, g.leader_epoch, g.metadata, g.commit_timestamp_ms
  FROM group_offsets g JOIN topics t ON t.num = g.topic_num`;

export class SqliteGroupOffsets {
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly inWriteTx: <T>(fn: () => T) => T;

  constructor(db: Database.Database) {
    this.stmt = prepare(db);
    const tx = db.transaction((fn: () => unknown) => fn());
    // IMMEDIATE, like the store's other writes: take the write lock up front.
    this.inWriteTx = <T>(fn: () => T): T => tx.immediate(fn) as T;
  }

  commit(group: string, entries: OffsetCommitEntry[]): OffsetCommitResult[] {
    assertGroup(group);
    if (!Array.isArray(entries)) throw new WeirError('invalid_argument', 'entries must be an array');
    entries.forEach(assertEntry);
    return this.inWriteTx(() => {
      const topics = new Map<string, TopicRef | null>();
      return entries.map((e): OffsetCommitResult => {
        const topic = this.topic(topics, e.topic);
        if (topic === null || e.partition >= topic.partitions) return 'unknown_topic_or_partition';
        this.stmt.upsert.run(group, topic.num, e.partition, e.offset, e.leaderEpoch, e.metadata, e.commitTimestampMs);
        return 'ok';
      });
    });
  }

  fetch(group: string, partitions: TopicPartitionRef[] | null): CommittedOffset[] {
    assertGroup(group);
    if (partitions === null) return this.stmt.allOfGroup.all(group).map(toCommitted);
    if (!Array.isArray(partitions)) throw new WeirError('invalid_argument', 'partitions must be an array or null');
    partitions.forEach(assertRef);
    // One point lookup per partition: a consumer asks for the few partitions it was assigned.
    const seen = new Set<string>();
    const out: CommittedOffset[] = [];
    for (const p of partitions) {
      const slot = `${p.topic}\u0000${p.partition}`;
      if (seen.has(slot)) continue;
      seen.add(slot);
      const row = this.stmt.one.get(group, p.topic, p.partition);
      if (row !== undefined) out.push(toCommitted(row));
    }
    return out.sort(byTopicPartition);
  }

  deleteOffsets(group: string, partitions: TopicPartitionRef[]): number {
    assertGroup(group);
    if (!Array.isArray(partitions)) throw new WeirError('invalid_argument', 'partitions must be an array');
    partitions.forEach(assertRef);
    return this.inWriteTx(() => partitions.reduce((n, p) => n + this.stmt.deleteOne.run(group, p.topic, p.partition).changes, 0));
  }

  deleteGroup(group: string): boolean {
    assertGroup(group);
    return this.inWriteTx(() => this.stmt.deleteGroup.run(group).changes > 0);
  }

  listGroups(): string[] {
    return this.stmt.groups.all().map((r) => r.group_id);
  }

  private topic(cache: Map<string, TopicRef | null>, name: string): TopicRef | null {
    let t = cache.get(name);
    if (t === undefined) {
      t = this.stmt.topic.get(name) ?? null;
      cache.set(name, t);
    }
    return t;
  }
}

function prepare(db: Database.Database) {
  return {
    topic: db.prepare<[string], TopicRef>('SELECT num, partitions FROM topics WHERE name = ?'),
    upsert: db.prepare<[string, number, number, number, number, string | null, number]>(
      `INSERT INTO group_offsets (group_id, topic_num, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (group_id, topic_num, partition) DO UPDATE SET committed_offset = excluded.committed_offset,
          leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, commit_timestamp_ms = excluded.commit_timestamp_ms`,
    ),
    one: db.prepare<[string, string, number], OffsetRow>(`${OFFSET_SELECT} WHERE g.group_id = ? AND t.name = ? AND g.partition = ?`),
    allOfGroup: db.prepare<[string], OffsetRow>(`${OFFSET_SELECT} WHERE g.group_id = ? ORDER BY t.name, g.partition`),
    deleteOne: db.prepare<[string, string, number]>(
      'DELETE FROM group_offsets WHERE group_id = ? AND topic_num = (SELECT num FROM topics WHERE name = ?) AND partition = ?',
    ),
    deleteGroup: db.prepare<[string]>('DELETE FROM group_offsets WHERE group_id = ?'),
    groups: db.prepare<[], { group_id: string }>('SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id'),
  };
}

function toCommitted(row: OffsetRow): CommittedOffset {
  return {
    topic: row.topic,
    partition: row.partition,
    offset: row.committed_offset,
    leaderEpoch: row.leader_epoch,
    metadata: row.metadata,
    commitTimestampMs: row.commit_timestamp_ms,
  };
}

function byTopicPartition(a: TopicPartitionRef, b: TopicPartitionRef): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}
