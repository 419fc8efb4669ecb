import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import { WeirError, isWeirError } from '../errors.js';
import type { CommitChunk, CommitResult, IndexEntry, MetadataStore, MirrorState, PartitionState, TopicInfo } from './metadata-store.js';
import { assertFlushKinds, assertMirrorState, assertRuns, conflictMessage, decodeMirrorState, encodeMirrorState, judgeRun, notMirroringMessage } from './mirror-runs.js';
import type { CommittedOffset, OffsetCommitEntry, OffsetCommitResult, TopicPartitionRef } from './group-offset-store.js';
import { partitionCountError } from './partition-count.js';
import { assertCommitChunk, assertObjectKey, assertOffset, assertTopicName, normalizeConfigs } from './metadata-validation.js';
import { planChunkParts } from './producer-sequence.js';
import type { BumpEpochResult, ProducerIdAndEpoch, ProducerPartitionState } from './producer-state-store.js';
import { SqliteGroupOffsets } from './sqlite-group-offsets.js';
import { SqliteProducerState } from './sqlite-producer-state.js';
import { migrate } from './sqlite-schema.js';

export interface SqliteMetadataStoreOptions {
  /** How long a statement waits for another connection's lock before failing 'unavailable'. */
  busyTimeoutMs?: number;
  /** Clock for created/committed timestamps; injectable for tests. */
  now?: () => number;
}

interface TopicRow {
  num: number;
  id: string;
  name: string;
  partitions: number;
  configs_json: string;
  created_at_ms: number;
  mirror: string | null;
}

interface PartitionRow {
  log_start_offset: number;
  high_watermark: number;
  max_timestamp: number | null;
}

interface IndexRow {
  base_offset: number;
  last_offset: number;
  max_timestamp: number;
  running_max_timestamp: number;
  object_key: string;
  byte_start: number;
  byte_length: number;
}

/** A partition's state as commitFlush accumulates it across the chunks of one flush. */
interface PendingPartition {
  topicNum: number;
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  maxTimestamp: number | null;
}

/** log_index joined to objects for the key: rows of `l` as IndexRow. */
const INDEX_SELECT = `SELECT l.base_offset, l.last_offset, l.max_timestamp, l.running_max_timestamp, o.key AS object_key,
  l.byte_start, l.byte_length FROM log_index l JOIN objects o ON o.id = l.object_id`;

/**
 * The embedded MetadataStore on SQLite (better-sqlite3). Durability: every write method resolves
 * only after the WAL is fdatasync'ed, so a write that resolved survives kill -9 and power loss.
 * SQLite itself runs with synchronous=NORMAL (consistent: it still syncs around checkpoints) and
 * the WAL sync is done here, on libuv's thread pool: SQLite's own sync (synchronous=FULL) would
 * block the event loop for a disk flush on every commit, stalling every connection of the agent.
 * registerPendingObject does not wait for a sync (a crash of the process loses nothing; a power
 * loss may lose a registration, so GC must also treat unknown objects as garbage).
 * Every write runs in one IMMEDIATE transaction (it takes the write lock up front, so two
 * processes sharing the file queue on busy_timeout instead of deadlocking on a lock upgrade).
 * better-sqlite3 is synchronous: the methods are async only to share the interface with the
 * Redis store, and each runs to completion before it returns, so nothing else in this process
 * can interleave with its statements.
 *
 * Pass ':memory:' as the path for a throwaway store in tests.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly inWriteTx: (fn: () => unknown) => unknown;
  private readonly stmt: Statements;
  /** Consumer groups' committed offsets, in their own module (sqlite-group-offsets.ts). */
  private readonly groupOffsets: SqliteGroupOffsets;
  /** Idempotent producers' ids and sequences (sqlite-producer-state.ts); commitInTx checks batches against it. */
  private readonly producerState: SqliteProducerState;

  /** The WAL file to fdatasync after each write; null for in-memory databases. */
  private readonly walPath: string | null;
  private wal: Promise<FileHandle> | null = null;

  constructor(readonly path: string, options: SqliteMetadataStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.walPath = path === ':memory:' || path === '' ? null : `${path}-wal`;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    try {
      this.db = new Database(path, { timeout: busyTimeoutMs });
    } catch (e) {
      throw sqliteError(e, `open ${path}`);
    }
    try {
      this.db.pragma('journal_mode = WAL'); // ':memory:' stays 'memory', which is fine
      // In-memory databases have nothing to sync; files sync in durable().
      this.db.pragma(this.walPath === null ? 'synchronous = FULL' : 'synchronous = NORMAL');
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // A flush touching N partitions dirties ~N log_index leaf pages (one per partition tail). At
      // the default 1000-page threshold a 1000-partition flush would checkpoint on every commit;
      // 10000 pages (~40 MiB of WAL) lets a checkpoint write each hot page once for many commits.
      this.db.pragma('wal_autocheckpoint = 10000');
      migrate(this.db);
    } catch (e) {
      this.db.close();
      throw sqliteError(e, `open ${path}`);
    }
    const tx = this.db.transaction((fn: () => unknown) => fn());
    this.inWriteTx = (fn) => tx.immediate(fn);
    this.stmt = prepareStatements(this.db);
    this.groupOffsets = new SqliteGroupOffsets(this.db);
    this.producerState = new SqliteProducerState(this.db, this.now);
  }

  async clusterId(): Promise<string> {
    return this.guard('clusterId', () => {
      const row = this.stmt.clusterSetting.get('cluster_id');
      if (row === undefined) throw new WeirError('corrupt', 'metadata database has no cluster id');
      return row.value;
    });
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>, mirror?: MirrorState): Promise<TopicInfo> {
    const result = this.guard('createTopic', () => {
      assertTopicName(name);
      assertMirrorState(mirror);
      const countError = partitionCountError(partitions);
      if (countError !== null) throw new WeirError('invalid_argument', countError);
      const configsJson = JSON.stringify(normalizeConfigs(configs, 'replace', {}));
      return this.inWriteTx(() => {
        if (this.stmt.topicByName.get(name) !== undefined) throw new WeirError('already_exists', `topic ${name} already exists`);
        const id = randomUUID();
        const createdAtMs = this.now();
        const topicNum = Number(this.stmt.insertTopic.run(id, name, partitions, configsJson, createdAtMs, mirror === undefined ? null : encodeMirrorState(mirror)).lastInsertRowid);
        for (let p = 0; p < partitions; p++) this.stmt.insertPartition.run(topicNum, p);
        return toTopicInfo(this.stmt.topicByName.get(name)!);
      }) as TopicInfo;
    });
    await this.durable();
    return result;
  }

  async deleteTopic(name: string): Promise<void> {
    this.guard('deleteTopic', () => {
      this.inWriteTx(() => {
        const topic = this.requireTopic(name);
        for (const ref of this.stmt.topicRefs.all(topic.num)) this.stmt.releaseChunks.run(ref.n, ref.object_id);
        this.stmt.deleteTopicIndex.run(topic.num);
        this.stmt.deleteTopicPartitions.run(topic.num);
        this.stmt.deleteTopicRow.run(topic.num);
      });
    });
    await this.durable();
  }

  async getTopic(name: string): Promise<TopicInfo | null> {
    return this.guard('getTopic', () => {
      const row = this.stmt.topicByName.get(name);
      return row === undefined ? null : toTopicInfo(row);
    });
  }

  async listTopics(): Promise<TopicInfo[]> {
    return this.guard('listTopics', () => this.stmt.listTopics.all().map(toTopicInfo));
  }

  async createPartitions(name: string, totalPartitions: number): Promise<TopicInfo> {
    const result = this.guard('createPartitions', () => {
      const countError = partitionCountError(totalPartitions);
      if (countError !== null) throw new WeirError('invalid_argument', countError);
      return this.inWriteTx(() => {
        const topic = this.requireTopic(name);
        // Kafka answers INVALID_PARTITIONS for "no change" too, so equal is an error, not a no-op.
        if (totalPartitions <= topic.partitions) {
          throw new WeirError('invalid_argument', `topic ${name} has ${topic.partitions} partitions; cannot change to ${totalPartitions}`);
        }
        for (let p = topic.partitions; p < totalPartitions; p++) this.stmt.insertPartition.run(topic.num, p);
        this.stmt.setTopicPartitions.run(totalPartitions, topic.num);
        return toTopicInfo(this.stmt.topicByName.get(name)!);
      }) as TopicInfo;
    });
    await this.durable();
    return result;
  }

  async setTopicConfigs(
    name: string,
    configs: Record<string, string | null>,
    mode: 'replace' | 'incremental',
  ): Promise<TopicInfo> {
    const result = this.guard('setTopicConfigs', () => {
      if (mode !== 'replace' && mode !== 'incremental') throw new WeirError('invalid_argument', `unknown config mode ${String(mode)}`);
      return this.inWriteTx(() => {
        const topic = this.requireTopic(name);
        const current = JSON.parse(topic.configs_json) as Record<string, string>;
        this.stmt.setTopicConfigs.run(JSON.stringify(normalizeConfigs(configs, mode, current)), topic.num);
        return toTopicInfo(this.stmt.topicByName.get(name)!);
      }) as TopicInfo;
    });
    await this.durable();
    return result;
  }

  async setTopicMirror(name: string, mirror: MirrorState | null): Promise<TopicInfo> {
    const result = this.guard('setTopicMirror', () => {
      assertMirrorState(mirror);
      return this.inWriteTx(() => {
        const topic = this.requireTopic(name);
        this.stmt.setTopicMirror.run(mirror === null ? null : encodeMirrorState(mirror), topic.num);
        return toTopicInfo(this.stmt.topicByName.get(name)!);
      }) as TopicInfo;
    });
    await this.durable();
    return result;
  }

  async registerPendingObject(objectKey: string): Promise<void> {
    this.guard('registerPendingObject', () => {
      assertObjectKey(objectKey);
      this.inWriteTx(() => {
        this.stmt.insertPendingObject.run(objectKey, this.now());
        if (this.stmt.objectByKey.get(objectKey)?.state === 'committed') {
          throw new WeirError('already_exists', `object ${objectKey} is already committed`);
        }
      });
    });
  }

  async commitFlush(objectKey: string, objectSizeBytes: number, chunks: CommitChunk[]): Promise<CommitResult[]> {
    const result = this.guard('commitFlush', () => {
      assertObjectKey(objectKey);
      if (!Number.isSafeInteger(objectSizeBytes) || objectSizeBytes < 0) {
        throw new WeirError('invalid_argument', `object size ${objectSizeBytes} is not a byte count`);
      }
      chunks.forEach((chunk, i) => {
        assertCommitChunk(chunk, i, objectSizeBytes);
        assertRuns(chunk, i);
      });
      assertFlushKinds(chunks);
      return this.inWriteTx(() => this.commitInTx(objectKey, objectSizeBytes, chunks)) as CommitResult[];
    });
    await this.durable();
    return result;
  }

  private commitInTx(objectKey: string, objectSizeBytes: number, chunks: CommitChunk[]): CommitResult[] {
    const object = this.stmt.objectByKey.get(objectKey);
    // Only a pending object may be committed: GC deletes a pending object by first removing its
    // row, so a commit that arrives after that must fail rather than index bytes that are gone.
    if (object === undefined) throw new WeirError('not_found', `object ${objectKey} is not registered as pending`);
    if (object.state === 'committed') throw new WeirError('already_exists', `object ${objectKey} is already committed`);

    // Lookups are cached for the flush: ~1000 chunks usually hit far fewer topics, and a
    // partition's high watermark must carry over between its chunks anyway.
    const topics = new Map<string, TopicRow | null>();
    const partitions = new Map<string, PendingPartition>();
    const results: CommitResult[] = [];
    // Only flushes holding an idempotent producer's batch pay for the sequence check.
    const producers = chunks.some((c) => c.parts !== undefined) ? this.producerState.beginCommit() : null;
    let liveChunks = 0;
    for (const chunk of chunks) {
      let topic = topics.get(chunk.topic);
      if (topic === undefined) {
        topic = this.stmt.topicByName.get(chunk.topic) ?? null;
        topics.set(chunk.topic, topic);
      }
      const slot = `${chunk.topic}\u0000${chunk.partition}`;
      let pending = partitions.get(slot);
      if (pending === undefined && topic !== null && topic.id === chunk.topicId && chunk.partition < topic.partitions) {
        const row = this.stmt.partition.get(topic.num, chunk.partition);
        if (row !== undefined) {
          pending = {
            topicNum: topic.num,
            partition: chunk.partition,
            logStartOffset: row.log_start_offset,
            highWatermark: row.high_watermark,
            maxTimestamp: row.max_timestamp,
          };
          partitions.set(slot, pending);
        }
      }
      if (pending === undefined || topic === null || topic.id !== chunk.topicId) {
        results.push({ ok: false, topic: chunk.topic, partition: chunk.partition, error: 'unknown_topic_or_partition' });
        continue;
      }
      if (chunk.runs !== undefined) {
        const r = this.commitRuns(chunk, topic, pending, object.id);
        if (r.ok) liveChunks += r.runs!.filter((v) => v === 'appended').length;
        results.push(r);
        continue;
      }
      const baseOffset = pending.highWatermark;
      if (chunk.parts !== undefined) {
        // Duplicates and refused batches are left out, which may split the chunk into several rows.
        const topicNum = pending.topicNum;
        const plan = planChunkParts({ byteStart: chunk.byteStart, parts: chunk.parts }, baseOffset, (part, at) =>
          producers!.admit(topicNum, chunk.partition, part, at),
        );
        for (const row of plan.rows) this.appendRow(pending, object.id, row.byteStart, row.byteLength, row.offsetCount, row.maxTimestamp);
        liveChunks += plan.rows.length;
        results.push({ ok: true, topic: chunk.topic, partition: chunk.partition, baseOffset, logStartOffset: pending.logStartOffset, parts: plan.results });
        continue;
      }
      this.appendRow(pending, object.id, chunk.byteStart, chunk.byteLength, chunk.offsetCount, chunk.maxTimestamp);
      liveChunks++;
      results.push({ ok: true, topic: chunk.topic, partition: chunk.partition, baseOffset, logStartOffset: pending.logStartOffset });
    }
    producers?.finish();
    for (const p of partitions.values()) this.stmt.advancePartition.run(p.highWatermark, p.maxTimestamp, p.topicNum, p.partition);
    this.stmt.commitObject.run(objectSizeBytes, liveChunks, this.now(), object.id);
    return results;
  }

  /**
   * A mirror chunk (CommitChunk.runs): each run at its own offsets, gaps kept, under the rules of
   * mirror-runs.ts. The whole chunk is judged before anything is written, so a conflict leaves the
   * partition as it was.
   */
  private commitRuns(chunk: CommitChunk, topic: TopicRow, pending: PendingPartition, objectId: number): CommitResult {
    const runs = chunk.runs!;
    const fail = (error: 'offset_conflict' | 'not_mirroring', message: string): CommitResult => ({ ok: false, topic: chunk.topic, partition: chunk.partition, error, message });
    const mirror = decodeMirrorState(topic.mirror);
    if (mirror?.state !== 'mirroring') return fail('not_mirroring', notMirroringMessage(chunk.topic, mirror));
    const covered = (offset: number): boolean => {
      const e = this.stmt.entryAt.get(pending.topicNum, chunk.partition, offset);
      return e !== undefined && e.last_offset >= offset;
    };
    let hwm = pending.highWatermark;
    const verdicts: ('appended' | 'duplicate')[] = [];
    for (const run of runs) {
      const v = judgeRun(run, pending.logStartOffset, hwm, covered);
      if (v === 'conflict') return fail('offset_conflict', conflictMessage(chunk.topic, chunk.partition, run, hwm));
      if (v === 'append') hwm = run.baseOffset + run.offsetCount;
      verdicts.push(v === 'append' ? 'appended' : 'duplicate');
    }
    let byte = chunk.byteStart;
    runs.forEach((run, j) => {
      if (verdicts[j] === 'appended') {
        // The gap below the run has no rows: the read path serves the next batch after it.
        pending.highWatermark = run.baseOffset;
        this.appendRow(pending, objectId, byte, run.byteLength, run.offsetCount, run.maxTimestamp);
      }
      byte += run.byteLength;
    });
    return {
      ok: true,
      topic: chunk.topic,
      partition: chunk.partition,
      baseOffset: runs[0]!.baseOffset,
      logStartOffset: pending.logStartOffset,
      runs: verdicts,
      highWatermark: pending.highWatermark,
    };
  }

  /** Indexes offsetCount offsets at the partition's high watermark, stored at [byteStart, byteStart + byteLength) of the object. */
  private appendRow(pending: PendingPartition, objectId: number, byteStart: number, byteLength: number, offsetCount: number, maxTimestamp: number): void {
    const baseOffset = pending.highWatermark;
    pending.highWatermark += offsetCount;
    pending.maxTimestamp = pending.maxTimestamp === null ? maxTimestamp : Math.max(pending.maxTimestamp, maxTimestamp);
    this.stmt.insertIndex.run(pending.topicNum, pending.partition, baseOffset, pending.highWatermark - 1, maxTimestamp, pending.maxTimestamp, objectId, byteStart, byteLength);
  }

  async allocateProducerId(): Promise<ProducerIdAndEpoch> {
    const result = this.guard('allocateProducerId', () => this.producerState.allocate());
    await this.durable();
    return result;
  }

  async bumpEpoch(producerId: number, producerEpoch: number): Promise<BumpEpochResult> {
    const result = this.guard('bumpEpoch', () => this.producerState.bumpEpoch(producerId, producerEpoch));
    await this.durable();
    return result;
  }

  async getProducerState(topic: string, partition: number, producerId: number): Promise<ProducerPartitionState | null> {
    return this.guard('getProducerState', () => {
      const found = this.findPartition(topic, partition);
      return found === null ? null : this.producerState.get(found.topicNum, partition, producerId);
    });
  }

  async getPartitionState(topic: string, partition: number): Promise<PartitionState | null> {
    return this.guard('getPartitionState', () => {
      const found = this.findPartition(topic, partition);
      return found === null ? null : { logStartOffset: found.row.log_start_offset, highWatermark: found.row.high_watermark };
    });
  }

  async readIndex(topic: string, partition: number, fromOffset: number, maxEntries: number): Promise<IndexEntry[]> {
    return this.guard('readIndex', () => {
      assertOffset(fromOffset, 'fromOffset');
      if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new WeirError('invalid_argument', `maxEntries ${maxEntries}`);
      const { topicNum, row } = this.requirePartition(topic, partition);
      const from = Math.max(fromOffset, row.log_start_offset);
      if (maxEntries === 0 || from >= row.high_watermark) return [];
      return this.stmt.readIndex.all({ topicNum, partition, from, limit: maxEntries }).map(toIndexEntry);
    });
  }

  /**
   * Cost: a binary search over the partition's offsets, O(log(offsets)) primary-key descents,
   * whenever no entry that deleteRecords removed held a timestamp >= timestampMs (always, for a
   * log whose timestamps grow with offsets). Otherwise the running maximum is inflated by deleted
   * entries and we scan in offset order from the first entry that reaches timestampMs:
   * O(entries skipped), at worst the partition's size.
   */
  async findByTimestamp(topic: string, partition: number, timestampMs: number): Promise<IndexEntry | null> {
    return this.guard('findByTimestamp', () => {
      if (!Number.isSafeInteger(timestampMs)) throw new WeirError('invalid_argument', `timestamp ${timestampMs}`);
      const { topicNum, row } = this.requirePartition(topic, partition);
      const first = this.firstReaching(topicNum, partition, row, timestampMs);
      if (first === undefined) return null;
      // No earlier live entry reaches timestampMs: its running max would too, and the search would have found it.
      if (first.max_timestamp >= timestampMs) return toIndexEntry(first);
      const scanned = this.stmt.scanForTimestamp.get(topicNum, partition, first.base_offset, timestampMs);
      return scanned === undefined ? null : toIndexEntry(scanned);
    });
  }

  /**
   * Cost: as findByTimestamp when the entry holding the partition's largest timestamp is still
   * live (it is the first entry whose running max reaches it). If deleteRecords removed it, one
   * O(n) scan of the partition's entries.
   */
  async findMaxTimestamp(topic: string, partition: number): Promise<IndexEntry | null> {
    return this.guard('findMaxTimestamp', () => {
      const { topicNum, row } = this.requirePartition(topic, partition);
      if (row.max_timestamp === null || row.log_start_offset >= row.high_watermark) return null;
      const first = this.firstReaching(topicNum, partition, row, row.max_timestamp);
      if (first !== undefined && first.max_timestamp === row.max_timestamp) return toIndexEntry(first);
      const scanned = this.stmt.scanForMaxTimestamp.get({ topicNum, partition });
      return scanned === undefined ? null : toIndexEntry(scanned);
    });
  }

  /**
   * The first live entry whose running_max_timestamp >= ts. running_max_timestamp never decreases
   * with the offset, so a binary search over [log start, high watermark) finds it: each probe
   * reads the entry holding the middle offset and keeps the half that must contain the answer.
   */
  private firstReaching(topicNum: number, partition: number, row: PartitionRow, ts: number): IndexRow | undefined {
    let lo = row.log_start_offset;
    let hi = row.high_watermark;
    let found: IndexRow | undefined;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const entry = this.stmt.entryAt.get(topicNum, partition, mid);
      if (entry === undefined) {
        lo = mid + 1; // nothing at or before mid
      } else if (entry.last_offset < mid) {
        // mid falls in a gap (a mirrored log keeps its source's gaps): the entry before the gap
        // decides, since no offset of the gap has a timestamp.
        if (entry.running_max_timestamp >= ts) {
          found = entry;
          hi = entry.base_offset;
        } else {
          lo = mid + 1;
        }
      } else if (entry.running_max_timestamp >= ts) {
        found = entry;
        hi = entry.base_offset;
      } else {
        lo = entry.last_offset + 1;
      }
    }
    return found;
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    const result = this.guard('deleteRecords', () => {
      assertOffset(beforeOffset, 'beforeOffset');
      return this.inWriteTx(() => {
        const { topicNum, row } = this.requirePartition(topic, partition);
        if (beforeOffset > row.high_watermark) {
          throw new WeirError('offset_out_of_range', `offset ${beforeOffset} is beyond the high watermark ${row.high_watermark} of ${topic}-${partition}`);
        }
        if (beforeOffset <= row.log_start_offset) return row.log_start_offset;
        // Entries wholly below the new log start go; the one straddling it stays (Fetch skips
        // its leading records). Their objects are left to GC, found through live_chunks.
        for (const ref of this.stmt.deadRefsBelow.all(topicNum, partition, beforeOffset, beforeOffset)) {
          this.stmt.releaseChunks.run(ref.n, ref.object_id);
        }
        this.stmt.deleteIndexBelow.run(topicNum, partition, beforeOffset, beforeOffset);
        this.stmt.setLogStart.run(beforeOffset, topicNum, partition);
        return beforeOffset;
      }) as number;
    });
    await this.durable();
    return result;
  }

  async commitOffsets(group: string, entries: OffsetCommitEntry[]): Promise<OffsetCommitResult[]> {
    const result = this.guard('commitOffsets', () => this.groupOffsets.commit(group, entries));
    await this.durable();
    return result;
  }

  async fetchOffsets(group: string, partitions: TopicPartitionRef[] | null): Promise<CommittedOffset[]> {
    return this.guard('fetchOffsets', () => this.groupOffsets.fetch(group, partitions));
  }

  async deleteOffsets(group: string, partitions: TopicPartitionRef[]): Promise<number> {
    const result = this.guard('deleteOffsets', () => this.groupOffsets.deleteOffsets(group, partitions));
    await this.durable();
    return result;
  }

  async deleteGroup(group: string): Promise<boolean> {
    const result = this.guard('deleteGroup', () => this.groupOffsets.deleteGroup(group));
    await this.durable();
    return result;
  }

  async listGroupsWithOffsets(): Promise<string[]> {
    return this.guard('listGroupsWithOffsets', () => this.groupOffsets.listGroups());
  }

  async close(): Promise<void> {
    const wal = this.wal;
    this.wal = null;
    await wal?.then((h) => h.close()).catch(() => undefined);
    if (this.db.open) this.db.close();
  }

  /**
   * Makes every committed transaction durable: fdatasync of the WAL file through its own file
   * descriptor (fsync applies to the file, whichever descriptor asks), off the event loop.
   */
  private async durable(): Promise<void> {
    if (this.walPath === null) return;
    try {
      // One open shared by concurrent writers: each awaiting its own open() would leak descriptors.
      this.wal ??= open(this.walPath, 'r');
      await (await this.wal).datasync();
    } catch (e) {
      throw new WeirError('unavailable', `sync of ${this.walPath} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  private requireTopic(name: string): TopicRow {
    const topic = this.stmt.topicByName.get(name);
    if (topic === undefined) throw new WeirError('not_found', `topic ${name} not found`);
    return topic;
  }

  private findPartition(topic: string, partition: number): { topicNum: number; row: PartitionRow } | null {
    const t = this.stmt.topicByName.get(topic);
    if (t === undefined || !Number.isInteger(partition) || partition < 0 || partition >= t.partitions) return null;
    const row = this.stmt.partition.get(t.num, partition);
    return row === undefined ? null : { topicNum: t.num, row };
  }

  private requirePartition(topic: string, partition: number): { topicNum: number; row: PartitionRow } {
    const found = this.findPartition(topic, partition);
    if (found === null) throw new WeirError('not_found', `partition ${topic}-${partition} not found`);
    return found;
  }

  /** Runs a method's body on an open database and maps SQLite's errors to WeirErrors. */
  private guard<T>(op: string, fn: () => T): T {
    if (!this.db.open) throw new WeirError('unavailable', 'metadata store is closed', { retriable: false });
    try {
      return fn();
    } catch (e) {
      throw sqliteError(e, op);
    }
  }
}

/** Every statement, prepared once: preparing costs more than running most of them. */
function prepareStatements(db: Database.Database) {
  return {
    clusterSetting: db.prepare<[string], { value: string }>('SELECT value FROM cluster WHERE key = ?'),
    topicByName: db.prepare<[string], TopicRow>('SELECT num, id, name, partitions, configs_json, created_at_ms, mirror FROM topics WHERE name = ?'),
    listTopics: db.prepare<[], TopicRow>('SELECT num, id, name, partitions, configs_json, created_at_ms, mirror FROM topics ORDER BY name'),
    insertTopic: db.prepare<[string, string, number, string, number, string | null]>(
      'INSERT INTO topics (id, name, partitions, configs_json, created_at_ms, mirror) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    setTopicMirror: db.prepare<[string | null, number]>('UPDATE topics SET mirror = ? WHERE num = ?'),
    setTopicPartitions: db.prepare<[number, number]>('UPDATE topics SET partitions = ? WHERE num = ?'),
    setTopicConfigs: db.prepare<[string, number]>('UPDATE topics SET configs_json = ? WHERE num = ?'),
    deleteTopicRow: db.prepare<[number]>('DELETE FROM topics WHERE num = ?'),
    insertPartition: db.prepare<[number, number]>(
      'INSERT INTO partitions (topic_num, partition, log_start_offset, high_watermark, max_timestamp) VALUES (?, ?, 0, 0, NULL)',
    ),
    partition: db.prepare<[number, number], PartitionRow>(
      'SELECT log_start_offset, high_watermark, max_timestamp FROM partitions WHERE topic_num = ? AND partition = ?',
    ),
    advancePartition: db.prepare<[number, number | null, number, number]>(
      'UPDATE partitions SET high_watermark = ?, max_timestamp = ? WHERE topic_num = ? AND partition = ?',
    ),
    setLogStart: db.prepare<[number, number, number]>('UPDATE partitions SET log_start_offset = ? WHERE topic_num = ? AND partition = ?'),
    deleteTopicPartitions: db.prepare<[number]>('DELETE FROM partitions WHERE topic_num = ?'),
    insertIndex: db.prepare<[number, number, number, number, number, number, number, number, number]>(
      `INSERT INTO log_index (topic_num, partition, base_offset, last_offset, max_timestamp, running_max_timestamp,
         object_id, byte_start, byte_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The entry holding `from` is the last one starting at or before it; from there on, PK order.
    readIndex: db.prepare<{ topicNum: number; partition: number; from: number; limit: number }, IndexRow>(
      `${INDEX_SELECT}
        WHERE l.topic_num = @topicNum AND l.partition = @partition AND l.last_offset >= @from
          AND l.base_offset >= coalesce((SELECT base_offset FROM log_index
            WHERE topic_num = @topicNum AND partition = @partition AND base_offset <= @from
            ORDER BY base_offset DESC LIMIT 1), 0)
        ORDER BY l.base_offset LIMIT @limit`,
    ),
    /** The entry holding an offset (or the last one before it): one descent of the primary key. */
    entryAt: db.prepare<[number, number, number], IndexRow>(
      `${INDEX_SELECT} WHERE l.topic_num = ? AND l.partition = ? AND l.base_offset <= ? ORDER BY l.base_offset DESC LIMIT 1`,
    ),
    // The fallback scans, in PK order from a known starting entry.
    scanForTimestamp: db.prepare<[number, number, number, number], IndexRow>(
      `${INDEX_SELECT} WHERE l.topic_num = ? AND l.partition = ? AND l.base_offset >= ? AND l.max_timestamp >= ?
        ORDER BY l.base_offset LIMIT 1`,
    ),
    // Picks the row first and joins only it, rather than joining every row of the scan.
    scanForMaxTimestamp: db.prepare<{ topicNum: number; partition: number }, IndexRow>(
      `${INDEX_SELECT} WHERE l.topic_num = @topicNum AND l.partition = @partition AND l.base_offset = (
        SELECT base_offset FROM log_index WHERE topic_num = @topicNum AND partition = @partition
        ORDER BY max_timestamp DESC, base_offset LIMIT 1)`,
    ),
    deadRefsBelow: db.prepare<[number, number, number, number], ObjectRefs>(
      `SELECT object_id, count(*) AS n FROM log_index
        WHERE topic_num = ? AND partition = ? AND base_offset < ? AND last_offset < ? GROUP BY object_id`,
    ),
    deleteIndexBelow: db.prepare<[number, number, number, number]>(
      'DELETE FROM log_index WHERE topic_num = ? AND partition = ? AND base_offset < ? AND last_offset < ?',
    ),
    topicRefs: db.prepare<[number], ObjectRefs>('SELECT object_id, count(*) AS n FROM log_index WHERE topic_num = ? GROUP BY object_id'),
    deleteTopicIndex: db.prepare<[number]>('DELETE FROM log_index WHERE topic_num = ?'),
    objectByKey: db.prepare<[string], { id: number; state: 'pending' | 'committed' }>('SELECT id, state FROM objects WHERE key = ?'),
    insertPendingObject: db.prepare<[string, number]>(
      "INSERT INTO objects (key, state, size_bytes, live_chunks, created_at_ms) VALUES (?, 'pending', NULL, 0, ?) ON CONFLICT (key) DO NOTHING",
    ),
    commitObject: db.prepare<[number, number, number, number]>(
      "UPDATE objects SET state = 'committed', size_bytes = ?, live_chunks = ?, committed_at_ms = ? WHERE id = ?",
    ),
    releaseChunks: db.prepare<[number, number]>('UPDATE objects SET live_chunks = live_chunks - ? WHERE id = ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** How many log_index rows of one partition or topic point at one object. */
interface ObjectRefs {
  object_id: number;
  n: number;
}

function toTopicInfo(row: TopicRow): TopicInfo {
  const info: TopicInfo = {
    name: row.name,
    id: row.id,
    partitions: row.partitions,
    configs: JSON.parse(row.configs_json) as Record<string, string>,
    createdAtMs: row.created_at_ms,
  };
  const mirror = decodeMirrorState(row.mirror);
  if (mirror !== undefined) info.mirror = mirror;
  return info;
}

function toIndexEntry(row: IndexRow): IndexEntry {
  return {
    baseOffset: row.base_offset,
    lastOffset: row.last_offset,
    maxTimestamp: row.max_timestamp,
    objectKey: row.object_key,
    byteStart: row.byte_start,
    byteLength: row.byte_length,
  };
}

/** SQLite result codes that mean "try again later" rather than a bug or damage. */
const unavailableCodes = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|READONLY)/;
const corruptCodes = /^SQLITE_(CORRUPT|NOTADB)/;

function sqliteError(e: unknown, op: string): WeirError {
  if (isWeirError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
  const message = `sqlite metadata store ${op}: ${e instanceof Error ? e.message : String(e)}`;
  if (unavailableCodes.test(code)) return new WeirError('unavailable', message, { cause: e });
  if (corruptCodes.test(code)) return new WeirError('corrupt', message, { cause: e });
  return new WeirError('internal', message, { cause: e });
}
