/**
 * The MetadataStore on Redis (ioredis), for clusters of agents sharing one metadata store.
 * Layout: redis-keys.ts (every key carries the namespace as a Redis Cluster hash tag). Every
 * write that touches more than one key is one Lua script (lua/*.lua, loaded by redis-scripts.ts),
 * which Redis runs atomically: commitFlush assigns offsets across all the flush's partitions,
 * checks idempotent producers' sequences and marks the object committed in one script.
 * Reads that need a consistent view of several keys (the index lookups) are scripts too.
 *
 * Durability is Redis's: a write resolves when Redis acknowledges it, which is on disk only with
 * appendonly yes and appendfsync always (checkRedisDurability in redis-durability.ts tells).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { WeirError, isWeirError, type ErrorKind } from '../errors.js';
import type { CommittedOffset, OffsetCommitEntry, OffsetCommitResult, TopicPartitionRef } from './group-offset-store.js';
import { assertEntry, assertGroup, assertRef } from './group-offset-validation.js';
import type { CommitChunk, CommitChunkError, CommitResult, IndexEntry, MetadataStore, MirrorState, PartResult, PartitionState, TopicInfo } from './metadata-store.js';
import { assertFlushKinds, assertMirrorState, assertRuns, encodeMirrorState } from './mirror-runs.js';
import { assertCommitChunk, assertObjectKey, assertOffset, assertTopicName, normalizeConfigs } from './metadata-validation.js';
import { partitionCountError } from './partition-count.js';
import { MAX_PRODUCER_EPOCH, type BumpEpochResult, type ProducerIdAndEpoch, type ProducerPartitionState } from './producer-state-store.js';
import { checkRedisDurability, type RedisDurability } from './redis-durability.js';
import { decodeGroupOffset, decodeIndexEntry, decodeProducerState, decodeTopic, encodeGroupOffset } from './redis-encoding.js';
import { RedisKeys } from './redis-keys.js';
import { defineScripts, type ScriptRunner } from './redis-scripts.js';

export interface RedisMetadataStoreOptions {
  /** A Redis URL (redis://host:port/db); the store opens and closes its own connection. */
  url?: string;
  /** Or an existing connection, which close() leaves open. */
  redis?: Redis;
  /** The Weir cluster's namespace: key prefix and hash tag (redis-keys.ts). Default 'weir'. */
  namespace?: string;
  /** Clock for created/committed timestamps; injectable for tests. */
  now?: () => number;
}

export class RedisMetadataStore implements MetadataStore {
  readonly kind = 'redis';
  readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly run: ScriptRunner;
  private readonly now: () => number;
  private closed = false;

  constructor(options: RedisMetadataStoreOptions) {
    this.keys = new RedisKeys(options.namespace ?? 'weir');
    this.now = options.now ?? Date.now;
    if (options.redis !== undefined) {
      this.redis = options.redis;
      this.ownsConnection = false;
    } else {
      if (options.url === undefined) throw new WeirError('invalid_argument', 'redis metadata store needs a url or a connection');
      // A bounded retry per command: a Redis that stays down fails calls ('unavailable') instead of queueing them forever.
      this.redis = new Redis(options.url, { maxRetriesPerRequest: 3 });
      this.ownsConnection = true;
    }
    this.run = defineScripts(this.redis, this.keys.key('topics'), this.keys.prefix);
  }

  /** Whether the server persists every acknowledged write (see redis-durability.ts); the agent warns or refuses on it. */
  async durability(): Promise<RedisDurability> {
    return this.guard('durability', () => checkRedisDurability(this.redis));
  }

  async clusterId(): Promise<string> {
    return this.guard('clusterId', async () => {
      const key = this.keys.key('clusterId');
      // The first agent to ask creates it; NX makes a concurrent second one read the winner's.
      await this.redis.set(key, randomBytes(16).toString('base64url'), 'NX');
      const id = await this.redis.get(key);
      if (id === null) throw new WeirError('corrupt', 'redis metadata store has no cluster id');
      return id;
    });
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>, mirror?: MirrorState): Promise<TopicInfo> {
    return this.guard('createTopic', async () => {
      assertTopicName(name);
      assertMirrorState(mirror);
      const countError = partitionCountError(partitions);
      if (countError !== null) throw new WeirError('invalid_argument', countError);
      const configsJson = JSON.stringify(normalizeConfigs(configs, 'replace', {}));
      if (mirror !== undefined) {
        const created = await this.run('mirror-topic', 'create', name, encodeMirrorState(mirror), randomUUID(), String(partitions), configsJson, String(this.now()));
        return decodeTopic(name, created as string[])!;
      }
      const reply = await this.run('create-topic', name, randomUUID(), String(partitions), configsJson, String(this.now()));
      return decodeTopic(name, reply as string[])!;
    });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.guard('deleteTopic', () => this.run('delete-topic', name));
  }

  async getTopic(name: string): Promise<TopicInfo | null> {
    return this.guard('getTopic', async () => decodeTopic(name, await this.redis.hgetall(this.keys.key('topic', name))));
  }

  async listTopics(): Promise<TopicInfo[]> {
    return this.guard('listTopics', async () => {
      const names = (await this.redis.smembers(this.keys.key('topics'))).sort();
      const pipeline = this.redis.pipeline();
      for (const name of names) pipeline.hgetall(this.keys.key('topic', name));
      const replies = (await pipeline.exec()) ?? [];
      const topics: TopicInfo[] = [];
      names.forEach((name, i) => {
        const [err, fields] = replies[i] ?? [null, {}];
        if (err) throw err;
        // A topic deleted between the two reads is simply left out.
        const topic = decodeTopic(name, fields as Record<string, string>);
        if (topic !== null) topics.push(topic);
      });
      return topics;
    });
  }

  async createPartitions(name: string, totalPartitions: number): Promise<TopicInfo> {
    return this.guard('createPartitions', async () => {
      const countError = partitionCountError(totalPartitions);
      if (countError !== null) throw new WeirError('invalid_argument', countError);
      return decodeTopic(name, (await this.run('create-partitions', name, String(totalPartitions))) as string[])!;
    });
  }

  async setTopicConfigs(name: string, configs: Record<string, string | null>, mode: 'replace' | 'incremental'): Promise<TopicInfo> {
    return this.guard('setTopicConfigs', async () => {
      if (mode !== 'replace' && mode !== 'incremental') throw new WeirError('invalid_argument', `unknown config mode ${String(mode)}`);
      // Validates the changes (the script only applies them); the result itself is computed in the script.
      normalizeConfigs(configs, mode, {});
      const changes = Object.entries(configs).map(([k, v]) => [k, v ?? false]);
      return decodeTopic(name, (await this.run('set-topic-configs', name, mode, JSON.stringify(changes))) as string[])!;
    });
  }

  async setTopicMirror(name: string, mirror: MirrorState | null): Promise<TopicInfo> {
    return this.guard('setTopicMirror', async () => {
      assertMirrorState(mirror);
      if (typeof name !== 'string') throw new WeirError('invalid_argument', 'topic must be a string');
      return decodeTopic(name, (await this.run('mirror-topic', 'set', name, mirror === null ? '' : encodeMirrorState(mirror))) as string[])!;
    });
  }

  async registerPendingObject(objectKey: string): Promise<void> {
    await this.guard('registerPendingObject', async () => {
      assertObjectKey(objectKey);
      await this.run('register-object', objectKey, String(this.now()));
    });
  }

  async commitFlush(objectKey: string, objectSizeBytes: number, chunks: CommitChunk[]): Promise<CommitResult[]> {
    return this.guard('commitFlush', async () => {
      assertObjectKey(objectKey);
      if (!Number.isSafeInteger(objectSizeBytes) || objectSizeBytes < 0) {
        throw new WeirError('invalid_argument', `object size ${objectSizeBytes} is not a byte count`);
      }
      chunks.forEach((chunk, i) => {
        assertCommitChunk(chunk, i, objectSizeBytes);
        assertRuns(chunk, i);
      });
      assertFlushKinds(chunks);
      if (chunks.length > 0 && chunks[0]!.runs !== undefined) return this.commitMirrorFlush(objectKey, objectSizeBytes, chunks);
      const encoded = chunks.map((c) => [
        c.topic,
        c.topicId,
        c.partition,
        c.offsetCount,
        c.maxTimestamp,
        c.byteStart,
        c.byteLength,
        c.parts === undefined
          ? 0
          : c.parts.map((p) =>
              p.producer === null
                ? [p.offsetCount, p.byteLength, p.maxTimestamp, -1, 0, 0, 0]
                : [p.offsetCount, p.byteLength, p.maxTimestamp, p.producer.producerId, p.producer.producerEpoch, p.producer.baseSequence, p.producer.lastSequence],
            ),
      ]);
      const reply = (await this.run('commit-flush', objectKey, String(objectSizeBytes), String(this.now()), JSON.stringify(encoded))) as unknown[][];
      return chunks.map((c, i): CommitResult => {
        const r = reply[i]!;
        if (Number(r[0]) !== 1) return { ok: false, topic: c.topic, partition: c.partition, error: 'unknown_topic_or_partition' };
        const result: CommitResult = { ok: true, topic: c.topic, partition: c.partition, baseOffset: Number(r[1]), logStartOffset: Number(r[2]) };
        if (c.parts !== undefined) result.parts = (r[3] as unknown[][]).map(toPartResult);
        return result;
      });
    });
  }

  /** A flush of mirror chunks (CommitChunk.runs), by lua/mirror-commit-flush.lua. */
  private async commitMirrorFlush(objectKey: string, objectSizeBytes: number, chunks: CommitChunk[]): Promise<CommitResult[]> {
    const encoded = chunks.map((c) => [c.topic, c.topicId, c.partition, c.byteStart, c.runs!.map((r) => [r.baseOffset, r.offsetCount, r.byteLength, r.maxTimestamp])]);
    const reply = (await this.run('mirror-commit-flush', objectKey, String(objectSizeBytes), String(this.now()), JSON.stringify(encoded))) as unknown[][];
    return chunks.map((c, i): CommitResult => {
      const r = reply[i]!;
      if (Number(r[0]) !== 1) return { ok: false, topic: c.topic, partition: c.partition, error: String(r[1]) as CommitChunkError, message: String(r[2]) };
      return {
        ok: true,
        topic: c.topic,
        partition: c.partition,
        baseOffset: Number(r[1]),
        logStartOffset: Number(r[2]),
        highWatermark: Number(r[3]),
        runs: (r[4] as string[]).map((v) => (v === 'a' ? 'appended' : 'duplicate')),
      };
    });
  }

  /**
   * Two reads, not a script: the partition's keys hang off the topic id, so a topic deleted (or
   * re-created) between them yields the old topic's last state, which a caller racing a delete
   * cannot tell from reading just before it anyway.
   */
  async getPartitionState(topic: string, partition: number): Promise<PartitionState | null> {
    return this.guard('getPartitionState', async () => {
      const t = await this.getTopic(topic);
      if (t === null || !Number.isInteger(partition) || partition < 0 || partition >= t.partitions) return null;
      const [lso, hwm] = await this.redis.hmget(this.keys.key('partition', t.id, partition), 'lso', 'hwm');
      return { logStartOffset: Number(lso ?? 0), highWatermark: Number(hwm ?? 0) };
    });
  }

  async readIndex(topic: string, partition: number, fromOffset: number, maxEntries: number): Promise<IndexEntry[]> {
    return this.guard('readIndex', async () => {
      assertOffset(fromOffset, 'fromOffset');
      if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) throw new WeirError('invalid_argument', `maxEntries ${maxEntries}`);
      assertPartitionArg(topic, partition);
      const members = (await this.run('read-index', topic, String(partition), String(fromOffset), String(maxEntries))) as string[];
      return members.map(decodeIndexEntry);
    });
  }

  async findByTimestamp(topic: string, partition: number, timestampMs: number): Promise<IndexEntry | null> {
    return this.guard('findByTimestamp', async () => {
      if (!Number.isSafeInteger(timestampMs)) throw new WeirError('invalid_argument', `timestamp ${timestampMs}`);
      assertPartitionArg(topic, partition);
      const member = (await this.run('find-timestamp', topic, String(partition), 'first', String(timestampMs))) as string | null;
      return member === null ? null : decodeIndexEntry(member);
    });
  }

  async findMaxTimestamp(topic: string, partition: number): Promise<IndexEntry | null> {
    return this.guard('findMaxTimestamp', async () => {
      assertPartitionArg(topic, partition);
      const member = (await this.run('find-timestamp', topic, String(partition), 'max', '0')) as string | null;
      return member === null ? null : decodeIndexEntry(member);
    });
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<number> {
    return this.guard('deleteRecords', async () => {
      assertOffset(beforeOffset, 'beforeOffset');
      assertPartitionArg(topic, partition);
      return Number(await this.run('delete-records', topic, String(partition), String(beforeOffset)));
    });
  }

  async commitOffsets(group: string, entries: OffsetCommitEntry[]): Promise<OffsetCommitResult[]> {
    return this.guard('commitOffsets', async () => {
      assertGroup(group);
      if (!Array.isArray(entries)) throw new WeirError('invalid_argument', 'entries must be an array');
      entries.forEach(assertEntry);
      if (entries.length === 0) return [];
      const encoded = entries.map((e) => [e.topic, e.partition, encodeGroupOffset(e)]);
      const reply = (await this.run('commit-offsets', group, JSON.stringify(encoded))) as number[];
      return reply.map((r) => (Number(r) === 1 ? 'ok' : 'unknown_topic_or_partition'));
    });
  }

  async fetchOffsets(group: string, partitions: TopicPartitionRef[] | null): Promise<CommittedOffset[]> {
    return this.guard('fetchOffsets', async () => {
      assertGroup(group);
      if (partitions !== null) {
        if (!Array.isArray(partitions)) throw new WeirError('invalid_argument', 'partitions must be an array or null');
        partitions.forEach(assertRef);
      }
      // One MULTI: the group's commits and the topic id -> name map as of the same moment.
      const replies = await this.redis.multi().hgetall(this.keys.key('groupOffsets', group)).hgetall(this.keys.key('topicIds')).exec();
      if (replies === null) throw new WeirError('unavailable', 'fetchOffsets transaction was aborted');
      for (const [err] of replies) if (err) throw err;
      const commits = replies[0]![1] as Record<string, string>;
      const topicNames = replies[1]![1] as Record<string, string>;
      const wanted = partitions === null ? null : new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
      const out: CommittedOffset[] = [];
      for (const [field, value] of Object.entries(commits)) {
        const colon = field.lastIndexOf(':');
        const topic = topicNames[field.slice(0, colon)];
        const partition = Number(field.slice(colon + 1));
        if (topic === undefined) continue; // its topic is being deleted
        if (wanted !== null && !wanted.has(`${topic}\u0000${partition}`)) continue;
        out.push(decodeGroupOffset(topic, partition, value));
      }
      return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    });
  }

  async deleteOffsets(group: string, partitions: TopicPartitionRef[]): Promise<number> {
    return this.guard('deleteOffsets', async () => {
      assertGroup(group);
      if (!Array.isArray(partitions)) throw new WeirError('invalid_argument', 'partitions must be an array');
      partitions.forEach(assertRef);
      if (partitions.length === 0) return 0;
      return Number(await this.run('delete-offsets', group, 'partitions', JSON.stringify(partitions.map((p) => [p.topic, p.partition]))));
    });
  }

  async deleteGroup(group: string): Promise<boolean> {
    return this.guard('deleteGroup', async () => {
      assertGroup(group);
      return Number(await this.run('delete-offsets', group, 'group', '[]')) > 0;
    });
  }

  async listGroupsWithOffsets(): Promise<string[]> {
    return this.guard('listGroupsWithOffsets', async () => (await this.redis.smembers(this.keys.key('groups'))).sort());
  }

  async allocateProducerId(): Promise<ProducerIdAndEpoch> {
    return this.guard('allocateProducerId', async () => {
      const [, id, epoch] = (await this.run('init-producer-id', 'allocate', '0', '0', String(MAX_PRODUCER_EPOCH))) as [number, string, number];
      return { producerId: Number(id), producerEpoch: Number(epoch) };
    });
  }

  async bumpEpoch(producerId: number, producerEpoch: number): Promise<BumpEpochResult> {
    return this.guard('bumpEpoch', async () => {
      if (!Number.isSafeInteger(producerId) || producerId < 0) throw new WeirError('invalid_argument', `producer id ${producerId}`);
      if (!Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > MAX_PRODUCER_EPOCH) {
        throw new WeirError('invalid_argument', `producer epoch ${producerEpoch}`);
      }
      const reply = (await this.run('init-producer-id', 'bump', String(producerId), String(producerEpoch), String(MAX_PRODUCER_EPOCH))) as [number, string, string | number];
      if (Number(reply[0]) !== 1) return { ok: false, error: 'producer_fenced', message: String(reply[2]) };
      return { ok: true, producerId: Number(reply[1]), producerEpoch: Number(reply[2]) };
    });
  }

  async getProducerState(topic: string, partition: number, producerId: number): Promise<ProducerPartitionState | null> {
    return this.guard('getProducerState', async () => {
      const t = await this.getTopic(topic);
      if (t === null || !Number.isInteger(partition) || partition < 0 || partition >= t.partitions) return null;
      const value = await this.redis.hget(this.keys.key('producerStates', t.id, partition), String(producerId));
      return value === null ? null : decodeProducerState(value);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Runs a method's body on an open store and maps Redis's errors to WeirErrors. */
  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new WeirError('unavailable', 'metadata store is closed', { retriable: false });
    try {
      return await fn();
    } catch (e) {
      throw redisError(e, op);
    }
  }
}

function toPartResult(r: unknown[]): PartResult {
  if (r[0] === 'a') return { kind: 'appended', baseOffset: Number(r[1]) };
  if (r[0] === 'd') return { kind: 'duplicate', baseOffset: Number(r[1]), maxTimestamp: Number(r[2]) };
  return { kind: 'rejected', error: r[1] as Extract<PartResult, { kind: 'rejected' }>['error'], message: String(r[2]) };
}

/** Partition arguments the scripts would otherwise turn into odd keys. */
function assertPartitionArg(topic: string, partition: number): void {
  if (typeof topic !== 'string') throw new WeirError('invalid_argument', 'topic must be a string');
  if (!Number.isSafeInteger(partition)) throw new WeirError('invalid_argument', `partition ${partition} is not an integer`);
}

const errorKinds: ReadonlySet<string> = new Set<ErrorKind>([
  'not_found', 'already_exists', 'invalid_argument', 'corrupt', 'too_large', 'offset_out_of_range', 'conflict', 'unsupported', 'unavailable', 'internal',
]);

/**
 * Scripts report refusals as "WEIR <kind> <message>"; any other Redis reply error is a bug here
 * (or a Redis that refuses scripts), and everything else (connection lost, retries exhausted,
 * a server still loading its AOF) means the store is unavailable.
 */
function redisError(e: unknown, op: string): WeirError {
  if (isWeirError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /^WEIR (\w+) ([\s\S]*)$/.exec(message);
  if (m !== null && errorKinds.has(m[1]!)) return new WeirError(m[1] as ErrorKind, m[2]!, { cause: e });
  const reply = e instanceof Error && e.name === 'ReplyError';
  if (reply && !/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)/.test(message)) {
    return new WeirError('internal', `redis metadata store ${op}: ${message}`, { cause: e });
  }
  return new WeirError('unavailable', `redis metadata store ${op}: ${message}`, { cause: e });
}
