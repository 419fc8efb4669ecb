/**
 * The two ends of the mirror, on core/client's BrokerConnection: the source cluster (Metadata, raw Fetch,
 * ListOffsets, through each partition's leader) and the Weir target (WeirMirrorTopics,
 * WeirMirrorWrite, ListOffsets, DeleteRecords, OffsetCommit through the group's coordinator).
 * Connections are opened lazily, one per broker, and re-opened after a failure.
 */
import type { ConnectionOptions } from 'node:tls';
import { BrokerConnection } from '../../core/client/broker-connection.js';
import type { FramePool } from '../../core/client/frame-pool.js';
import type { SaslOptions } from '../../core/client/sasl.js';
import { WeirError } from '../../core/errors.js';
import {
  DeleteRecords,
  Fetch,
  FindCoordinator,
  ListOffsets,
  Metadata,
  OffsetCommit,
  WeirMirrorTopics,
  WeirMirrorWrite,
  type WeirMirrorTopicsResponseTopicResult,
} from '../../core/protocol/generated/index.js';
import type { AbortedTransaction } from './record-filter.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectionSettings {
  clientId: string;
  /** Per request, and for connecting. */
  timeoutMs: number;
  tls?: ConnectionOptions | null;
  sasl?: SaslOptions | null;
  /** Largest response frame accepted; a bigger one closes the connection (bound on memory). */
  responseBytesMax: number;
  /** Reused buffers for large Fetch answers (none: each is a fresh allocation). */
  framePool?: FramePool;
}

/**
 * Requests in flight on one connection. The mirror's own loops bound what they send (one fetch
 * and its prefetch per lane connection; a loop's writes); this only caps a runaway.
 */
const MAX_IN_FLIGHT = 1024;

/** One connection to a source broker or a Weir agent, with the mirror's settings. */
export function openConnection(hp: HostPort, s: ConnectionSettings): Promise<BrokerConnection> {
  return BrokerConnection.open({
    host: hp.host,
    port: hp.port,
    clientId: s.clientId,
    connectTimeoutMs: s.timeoutMs,
    requestTimeoutMs: s.timeoutMs,
    maxInFlight: MAX_IN_FLIGHT,
    responseBytesMax: s.responseBytesMax,
    tls: s.tls ?? null,
    sasl: s.sasl ?? null,
    ...(s.framePool ? { framePool: s.framePool } : {}),
  });
}

const NO_UUID = '00000000-0000-0000-0000-000000000000';

/** Opens and caches one connection per address. */
class ConnectionPool {
  private readonly conns = new Map<string, Promise<BrokerConnection>>();

  constructor(private readonly settings: ConnectionSettings) {}

  /** `slot` > 0: a connection of its own to the same address (see SourceCluster.fetch). */
  get(hp: HostPort, slot = 0): Promise<BrokerConnection> {
    const key = slot === 0 ? `${hp.host}:${hp.port}` : `${hp.host}:${hp.port}#${slot}`;
    let p = this.conns.get(key);
    if (p !== undefined) {
      const cached = p;
      p = cached.then((c) => (c.closed ? this.reopen(key, hp) : c)).catch(() => this.reopen(key, hp));
      return p;
    }
    return this.reopen(key, hp);
  }

  private reopen(key: string, hp: HostPort): Promise<BrokerConnection> {
    const p = openConnection(hp, this.settings);
    this.conns.set(key, p);
    p.catch(() => {
      if (this.conns.get(key) === p) this.conns.delete(key);
    });
    return p;
  }

  close(): void {
    for (const p of this.conns.values()) p.then((c) => c.close()).catch(() => undefined);
    this.conns.clear();
  }
}

export interface SourceTopic {
  name: string;
  internal: boolean;
  /** Leader broker id per partition (index = partition). */
  leaders: number[];
}

export interface SourceMetadata {
  clusterId: string | null;
  brokers: Map<number, HostPort>;
  topics: Map<string, SourceTopic>;
}

export interface FetchWant {
  topic: string;
  partition: number;
  offset: number;
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  /** The offset asked (to tell a stale answer from a current one). */
  offset: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  aborted: AbortedTransaction[] | null;
  records: Buffer | null;
}

/**
 * A Fetch's partitions; their records are views of the response frame. `release` hands the frame
 * back to the connection settings' framePool once nothing refers to those bytes any more (the
 * writes that carried them answered); never calling it is safe.
 */
export interface FetchResult {
  partitions: FetchedPartition[];
  release: () => void;
}

export class SourceCluster {
  private readonly pool: ConnectionPool;
  private meta: SourceMetadata | null = null;

  constructor(
    private readonly bootstrap: readonly HostPort[],
    settings: ConnectionSettings,
  ) {
    this.pool = new ConnectionPool(settings);
  }

  /** Any reachable broker: the bootstrap list first, then the last known brokers. */
  private async anyConnection(): Promise<BrokerConnection> {
    const candidates = [...this.bootstrap, ...(this.meta ? [...this.meta.brokers.values()] : [])];
    let last: unknown = null;
    for (const hp of candidates) {
      try {
        return await this.pool.get(hp);
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new WeirError('unavailable', 'no source broker reachable');
  }

  /** The whole cluster's topics, partitions and leaders. */
  async metadata(): Promise<SourceMetadata> {
    const conn = await this.anyConnection();
    const v = await conn.version(Metadata, 12, 1);
    const res = await conn.send(Metadata, v, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const brokers = new Map((res.brokers ?? []).map((b) => [b.nodeId!, { host: b.host!, port: b.port! }]));
    const topics = new Map<string, SourceTopic>();
    for (const t of res.topics ?? []) {
      if (t.errorCode || !t.name) continue;
      const leaders: number[] = [];
      for (const p of t.partitions ?? []) leaders[p.partitionIndex!] = p.leaderId ?? -1;
      topics.set(t.name, { name: t.name, internal: t.isInternal ?? false, leaders: Array.from({ length: leaders.length }, (_, i) => leaders[i] ?? -1) });
    }
    this.meta = { clusterId: res.clusterId ?? null, brokers, topics };
    return this.meta;
  }

  private async leaderConnection(brokerId: number, slot = 0): Promise<BrokerConnection> {
    const hp = this.meta?.brokers.get(brokerId);
    if (hp === undefined) throw new WeirError('unavailable', `source broker ${brokerId} is not in the metadata`);
    return this.pool.get(hp, slot);
  }

  /**
   * One read_committed Fetch from one leader: raw record bytes per partition (subarrays of the
   * response), the aborted transactions in range, and the partition's offsets.
   *
   * `lane` picks a connection of its own per copy loop (lane + 1; other requests use slot 0).
   * Responses on a connection come back in request order, so a loop whose partitions are all
   * caught up, long-polling maxWaitMs, would otherwise hold back every other loop's answers
   * queued behind it on a shared connection.
   */
  async fetch(brokerId: number, wants: readonly FetchWant[], limits: { maxWaitMs: number; maxBytes: number; partitionMaxBytes: number }, lane = 0): Promise<FetchResult> {
    const conn = await this.leaderConnection(brokerId, lane + 1);
    // v12 is the last version naming topics (v13+ uses topic ids, which we would have to map).
    const v = await conn.version(Fetch, 12, 4);
    const byTopic = new Map<string, FetchWant[]>();
    for (const w of wants) {
      let list = byTopic.get(w.topic);
      if (!list) byTopic.set(w.topic, (list = []));
      list.push(w);
    }
    const { body: res, release } = await conn.sendFrame(
      Fetch,
      v,
      {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs: limits.maxWaitMs,
        minBytes: 1,
        maxBytes: limits.maxBytes,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          topicId: NO_UUID,
          partitions: list.map((w) => ({
            partition: w.partition,
            currentLeaderEpoch: -1,
            fetchOffset: BigInt(w.offset),
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: limits.partitionMaxBytes,
            replicaDirectoryId: NO_UUID,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      limits.maxWaitMs + 30_000,
    );
    if (res.errorCode) {
      release();
      throw new WeirError('unavailable', `Fetch from source broker ${brokerId} failed with error ${res.errorCode}`);
    }
    const asked = new Map(wants.map((w) => [`${w.topic}\u0000${w.partition}`, w.offset]));
    const out: FetchedPartition[] = [];
    for (const t of res.responses ?? []) {
      for (const p of t.partitions ?? []) {
        const offset = asked.get(`${t.topic}\u0000${p.partitionIndex}`);
        if (offset === undefined) continue;
        const records = p.records ?? null;
        out.push({
          topic: t.topic!,
          partition: p.partitionIndex!,
          offset,
          errorCode: p.errorCode ?? 0,
          highWatermark: Number(p.highWatermark ?? -1n),
          lastStableOffset: Number(p.lastStableOffset ?? -1n),
          logStartOffset: Number(p.logStartOffset ?? -1n),
          aborted: p.abortedTransactions?.map((a) => ({ producerId: a.producerId!, firstOffset: a.firstOffset! })) ?? null,
          records: records === null ? null : Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]),
        });
      }
    }
    return { partitions: out, release };
  }

  /** ListOffsets from the leaders: -2n earliest, -1n latest (read_committed: the last stable offset). */
  async listOffsets(wants: readonly { topic: string; partition: number }[], timestamp: -1n | -2n): Promise<Map<string, number>> {
    const meta = this.meta ?? (await this.metadata());
    const byLeader = new Map<number, { topic: string; partition: number }[]>();
    for (const w of wants) {
      const leader = meta.topics.get(w.topic)?.leaders[w.partition] ?? -1;
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(w);
    }
    const out = new Map<string, number>();
    for (const [leader, list] of byLeader) {
      if (leader < 0) continue;
      const conn = await this.leaderConnection(leader);
      for (const [k, v] of await listOffsetsOn(conn, list, timestamp, 1)) out.set(k, v);
    }
    return out;
  }

  close(): void {
    this.pool.close();
  }
}

async function listOffsetsOn(conn: BrokerConnection, wants: readonly { topic: string; partition: number }[], timestamp: bigint, isolationLevel: number): Promise<Map<string, number>> {
  const v = await conn.version(ListOffsets, 7, 1);
  const byTopic = new Map<string, number[]>();
  for (const w of wants) {
    let list = byTopic.get(w.topic);
    if (!list) byTopic.set(w.topic, (list = []));
    list.push(w.partition);
  }
  const res = await conn.send(ListOffsets, v, {
    replicaId: -1,
    isolationLevel,
    timeoutMs: 15_000,
    topics: [...byTopic].map(([name, parts]) => ({ name, partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) })),
  });
  const out = new Map<string, number>();
  for (const t of res.topics ?? []) for (const p of t.partitions ?? []) if (!p.errorCode) out.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.offset));
  return out;
}

export interface MirrorTopicSpec {
  name: string;
  partitions: number;
  configs: Record<string, string | null>;
}

export interface WriteOutcome {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  highWatermark: number;
  logStartOffset: number;
}

/** The Weir agent(s) the mirror writes to. */
export class WeirTarget {
  private readonly pool: ConnectionPool;

  constructor(
    private readonly agent: HostPort,
    private readonly token: string,
    settings: ConnectionSettings,
  ) {
    this.pool = new ConnectionPool(settings);
  }

  private conn(): Promise<BrokerConnection> {
    return this.pool.get(this.agent);
  }

  /** WeirMirrorTopics: 0 ensure, 1 promote, 2 describe. At most 500 topics per request. */
  async mirrorTopics(action: 0 | 1 | 2, source: string, topics: readonly MirrorTopicSpec[]): Promise<WeirMirrorTopicsResponseTopicResult[]> {
    const conn = await this.conn();
    const out: WeirMirrorTopicsResponseTopicResult[] = [];
    for (let i = 0; i < topics.length; i += 500) {
      const res = await conn.send(WeirMirrorTopics, await conn.version(WeirMirrorTopics, 0), {
        token: this.token,
        topics: topics.slice(i, i + 500).map((t) => ({
          name: t.name,
          action,
          sourceCluster: source,
          numPartitions: t.partitions,
          configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      });
      out.push(...(res.topics ?? []));
    }
    return out;
  }

  async write(parts: readonly { topic: string; topicId: string; partition: number; records: Buffer }[]): Promise<WriteOutcome[]> {
    const conn = await this.conn();
    const byTopic = new Map<string, { topicId: string; partitions: { partitionIndex: number; records: Buffer }[] }>();
    for (const p of parts) {
      let t = byTopic.get(p.topic);
      if (!t) byTopic.set(p.topic, (t = { topicId: p.topicId, partitions: [] }));
      t.partitions.push({ partitionIndex: p.partition, records: p.records });
    }
    const res = await conn.sendByReference(WeirMirrorWrite, await conn.version(WeirMirrorWrite, 0), {
      token: this.token,
      topics: [...byTopic].map(([name, t]) => ({ name, topicId: t.topicId, partitions: t.partitions })),
    }, 120_000);
    const out: WriteOutcome[] = [];
    for (const t of res.topics ?? []) {
      for (const p of t.partitions ?? []) {
        out.push({
          topic: t.name!,
          partition: p.partitionIndex!,
          errorCode: p.errorCode ?? 0,
          errorMessage: p.errorMessage ?? null,
          highWatermark: Number(p.highWatermark ?? -1n),
          logStartOffset: Number(p.logStartOffset ?? -1n),
        });
      }
    }
    return out;
  }

  /** Latest (-1n: the high watermark, the mirror's resume point) or earliest (-2n) offsets. */
  async listOffsets(wants: readonly { topic: string; partition: number }[], timestamp: -1n | -2n): Promise<Map<string, number>> {
    return listOffsetsOn(await this.conn(), wants, timestamp, 0);
  }

  /** Moves the log start forward, following the source's (retention, DeleteRecords). */
  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
    const conn = await this.conn();
    await conn.send(DeleteRecords, await conn.version(DeleteRecords, 2), { topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset: BigInt(beforeOffset) }] }], timeoutMs: 15_000 });
  }

  /**
   * Commits a group's offsets the way a consumer outside any generation does (generation -1),
   * through the group's coordinator. Weir accepts that only while the group has no members, so
   * a group already consuming from Weir is never overwritten. Returns the error codes by partition.
   */
  async commitGroupOffsets(group: string, entries: readonly { topic: string; partition: number; offset: number; metadata: string | null }[]): Promise<Map<string, number>> {
    const conn = await this.conn();
    const fv = await conn.version(FindCoordinator, 3);
    const found = await conn.send(FindCoordinator, fv, { key: group, keyType: 0, coordinatorKeys: [group] });
    if (found.errorCode) throw new WeirError('unavailable', `FindCoordinator for group ${group} failed with error ${found.errorCode}`);
    const coordinator = await this.pool.get({ host: found.host!, port: found.port! });
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; commitTimestamp: bigint; committedMetadata: string | null }[]>();
    for (const e of entries) {
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      list.push({ partitionIndex: e.partition, committedOffset: BigInt(e.offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: e.metadata });
    }
    const res = await coordinator.send(OffsetCommit, await coordinator.version(OffsetCommit, 8, 2), {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    const out = new Map<string, number>();
    for (const t of res.topics ?? []) for (const p of t.partitions ?? []) out.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode ?? 0);
    return out;
  }

  close(): void {
    this.pool.close();
  }
}
