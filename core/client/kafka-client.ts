/**
 * KafkaClient: Weir's own Kafka client core, on the generated codec. It works against any
 * Kafka-compatible broker: versions are negotiated per connection (ApiVersions), requests are
 * routed to partition leaders from Metadata, group requests to the group's coordinator
 * (FindCoordinator), and retriable errors are retried with backoff after refreshing whatever
 * routing they show to be stale (NOT_LEADER_OR_FOLLOWER -> metadata, NOT_COORDINATOR ->
 * coordinator). Producer, Fetcher and GroupMember build on it.
 *
 * Only topic names are used on the wire (Fetch up to v12, Metadata by name), which every broker
 * since 0.11 serves, so one code path covers old and new brokers alike.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WeirError } from '../errors.js';
import {
  CreateTopics,
  FindCoordinator,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  type MetadataResponse,
} from '../protocol/generated/index.js';
import type { ApiSpec } from '../protocol/types.js';
import { BrokerConnection } from './broker-connection.js';
import type { FramePool } from './frame-pool.js';
import { checkCode, isRetriable, KafkaCode, KafkaError } from './kafka-error.js';

export interface KafkaClientOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: readonly string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Attempts for a retriable failure before giving up (default 10). */
  retries?: number;
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Metadata older than this is refreshed on next use (default 5 min). */
  metadataMaxAgeMs?: number;
  /** In-flight requests per broker connection (default 16). */
  maxInFlightPerConnection?: number;
  /** Largest response frame accepted (default 256 MiB). */
  responseBytesMax?: number;
  /**
   * Reused buffers for large response frames whose user hands them back (Fetcher's
   * pooledFrames); none: every frame spanning TCP chunks is a fresh allocation.
   */
  framePool?: FramePool;
}

/**
 * Which of a broker's connections a request goes on (see KafkaClient.connection): 'default' for
 * metadata, offsets and group requests, 'produce' for Produce, 'fetch' for a Fetcher's long polls
 * (a second Fetcher on the same client names its own lane, so their long polls do not queue).
 */
export type ConnectionLane = 'default' | 'produce' | 'fetch' | `fetch-${string}`;

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

export type OffsetSpec = 'earliest' | 'latest' | { timestampMs: number };

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface CommittedOffset extends TopicPartition {
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  metadata: string | null;
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

const DEFAULTS = {
  clientId: 'weir',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  retries: 10,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 2_000,
  metadataMaxAgeMs: 300_000,
  maxInFlightPerConnection: 16,
  responseBytesMax: 256 * 1024 * 1024,
};

export class KafkaClient {
  readonly options: Required<KafkaClientOptions>;
  private readonly brokers = new Map<number, BrokerInfo>();
  private readonly topics = new Map<string, TopicInfo>();
  private readonly connections = new Map<string, Promise<BrokerConnection>>();
  private readonly coordinators = new Map<string, number>();
  private metadataAtMs = 0;
  private closed = false;
  private bootstrapIndex = 0;

  constructor(options: KafkaClientOptions) {
    if (options.brokers.length === 0) throw new WeirError('invalid_argument', 'KafkaClient needs at least one bootstrap broker');
    for (const b of options.brokers) parseHostPort(b);
    this.options = { ...DEFAULTS, ...options } as Required<KafkaClientOptions>;
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /**
   * A connection to host:port, opened once and reopened after it fails. `lane` picks one of
   * several connections to the same broker: a broker answers each connection's requests in
   * order, so a Fetch long-polling for maxWaitMs would hold back every Produce answer, offset
   * commit and metadata request queued behind it on a shared connection. Fetches and produces
   * therefore get their own connections (as franz-go does; Java's producer and consumer are
   * separate clients and so separate connections anyway).
   */
  async connection(host: string, port: number, lane: ConnectionLane = 'default'): Promise<BrokerConnection> {
    if (this.closed) throw new WeirError('unavailable', 'client closed', { retriable: false });
    const key = `${host}:${port}/${lane}`;
    let p = this.connections.get(key);
    if (p !== undefined) {
      const c = await p.catch(() => null);
      if (c !== null && !c.closed) return c;
      if (this.connections.get(key) === p) this.connections.delete(key);
    }
    p = BrokerConnection.open({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxInFlight: this.options.maxInFlightPerConnection,
      responseBytesMax: this.options.responseBytesMax,
      ...(this.options.framePool ? { framePool: this.options.framePool } : {}),
    });
    this.connections.set(key, p);
    p.catch(() => {
      if (this.connections.get(key) === p) this.connections.delete(key);
    });
    return p;
  }

  /** A connection to any broker: a known one, else the bootstrap list in turn. */
  async anyConnection(): Promise<BrokerConnection> {
    const known = [...this.brokers.values()];
    const candidates = known.length > 0 ? known.map((b) => `${b.host}:${b.port}`) : [];
    candidates.push(...this.options.brokers);
    let last: unknown;
    for (let i = 0; i < candidates.length; i++) {
      const addr = candidates[(this.bootstrapIndex + i) % candidates.length]!;
      const { host, port } = parseHostPort(addr);
      try {
        return await this.connection(host, port);
      } catch (e) {
        last = e;
      }
    }
    this.bootstrapIndex++;
    throw last instanceof Error ? last : new KafkaError(KafkaCode.NETWORK_EXCEPTION, 'no broker reachable');
  }

  async brokerConnection(nodeId: number, lane: ConnectionLane = 'default'): Promise<BrokerConnection> {
    let b = this.brokers.get(nodeId);
    if (b === undefined) {
      await this.refreshMetadata();
      b = this.brokers.get(nodeId);
      if (b === undefined) throw new KafkaError(KafkaCode.LEADER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`);
    }
    return this.connection(b.host, b.port, lane);
  }

  /** Runs `attempt` until it succeeds or fails with a non-retriable error, refreshing routing between tries. */
  async retry<T>(what: string, attempt: (n: number) => Promise<T>, onStale?: () => void): Promise<T> {
    let backoff = this.options.retryBackoffMs;
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (e) {
        if (this.closed || !isRetriable(e) || n + 1 >= this.options.retries) {
          if (e instanceof Error && n > 0) e.message = `${e.message} (after ${n + 1} attempts at ${what})`;
          throw e;
        }
        if (e instanceof KafkaError && e.staleRouting) {
          onStale?.();
          this.metadataAtMs = 0;
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.retryBackoffMaxMs);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Metadata

  /** Refreshes the metadata of the known topics plus `topics`. */
  async refreshMetadata(topics: readonly string[] = []): Promise<void> {
    const names = [...new Set([...this.topics.keys(), ...topics])];
    const c = await this.anyConnection();
    const res: MetadataResponse = await c.request(Metadata, 12, {
      topics: names.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, 1);
    this.brokers.clear();
    for (const b of res.brokers ?? []) this.brokers.set(b.nodeId!, { nodeId: b.nodeId!, host: b.host!, port: b.port! });
    for (const t of res.topics ?? []) {
      if (t.name == null) continue;
      if (t.errorCode) {
        this.topics.delete(t.name);
        continue;
      }
      const partitions = (t.partitions ?? [])
        .map((p) => ({ partition: p.partitionIndex!, leader: p.errorCode ? -1 : p.leaderId!, leaderEpoch: p.leaderEpoch ?? -1 }))
        .sort((a, b) => a.partition - b.partition);
      this.topics.set(t.name, { name: t.name, partitions });
    }
    this.metadataAtMs = Date.now();
  }

  /** The topic's partitions; throws not_found (retriable while it propagates) for an unknown topic. */
  async topic(name: string, refresh = false): Promise<TopicInfo> {
    return this.retry(`metadata of ${name}`, async () => {
      const stale = Date.now() - this.metadataAtMs > this.options.metadataMaxAgeMs;
      if (refresh || stale || !this.topics.has(name)) await this.refreshMetadata([name]);
      refresh = true;
      const t = this.topics.get(name);
      if (t === undefined) throw new KafkaError(KafkaCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
      return t;
    });
  }

  /** Whether the topic exists (one Metadata round trip, no retries). */
  async topicExists(name: string): Promise<boolean> {
    await this.refreshMetadata([name]);
    return this.topics.has(name);
  }

  async partitionCount(topic: string): Promise<number> {
    return (await this.topic(topic)).partitions.length;
  }

  /** The leader's node id; throws a retriable error when the partition has none right now. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    if (Date.now() - this.metadataAtMs > this.options.metadataMaxAgeMs) await this.refreshMetadata([topic]);
    let t = this.topics.get(topic);
    if (t === undefined) t = await this.topic(topic);
    const p = t.partitions[partition];
    if (p === undefined) throw new KafkaError(KafkaCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}/${partition} does not exist`);
    if (p.leader < 0) throw new KafkaError(KafkaCode.LEADER_NOT_AVAILABLE, `${topic}/${partition} has no leader`);
    return p.leader;
  }

  /** Marks metadata stale so the next routing decision re-reads it. */
  invalidateMetadata(): void {
    this.metadataAtMs = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Admin

  /** Creates topics; ones that already exist are fine (returns the names it created). */
  async createTopics(topics: readonly NewTopic[], timeoutMs = 30_000): Promise<string[]> {
    if (topics.length === 0) return [];
    const created: string[] = [];
    await this.retry('CreateTopics', async () => {
      // CreateTopics must go to the controller; Weir's agents all act as one.
      const meta = await (await this.anyConnection()).request(Metadata, 12, {
        topics: [],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }, 1);
      const controller = meta.controllerId ?? -1;
      const c = controller >= 0 ? await this.brokerConnection(controller) : await this.anyConnection();
      const res = await c.request(CreateTopics, 7, {
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        validateOnly: false,
      }, 0, timeoutMs + this.options.requestTimeoutMs);
      for (const r of res.topics ?? []) {
        if (r.errorCode === KafkaCode.TOPIC_ALREADY_EXISTS) continue;
        if (r.errorCode === 41 /* NOT_CONTROLLER */) throw new KafkaError(KafkaCode.NOT_LEADER_OR_FOLLOWER, `CreateTopics ${r.name}: not the controller`);
        checkCode(r.errorCode, `CreateTopics ${r.name}`, r.errorMessage);
        if (!created.includes(r.name!)) created.push(r.name!);
      }
    });
    await this.refreshMetadata(topics.map((t) => t.name));
    return created;
  }

  /** Offsets by spec for the given partitions of one topic, sent to each partition's leader. */
  async listOffsets(topic: string, partitions: readonly number[], spec: OffsetSpec): Promise<Map<number, number>> {
    const ts = spec === 'earliest' ? -2n : spec === 'latest' ? -1n : BigInt(spec.timestampMs);
    const out = new Map<number, number>();
    let remaining = [...partitions];
    await this.retry(`ListOffsets ${topic}`, async () => {
      const byLeader = new Map<number, number[]>();
      for (const p of remaining) {
        const leader = await this.leaderOf(topic, p);
        let l = byLeader.get(leader);
        if (l === undefined) byLeader.set(leader, (l = []));
        l.push(p);
      }
      let failure: unknown = null;
      await Promise.all(
        [...byLeader].map(async ([leader, ps]) => {
          try {
            const c = await this.brokerConnection(leader);
            const res = await c.request(ListOffsets, 7, {
              replicaId: -1,
              isolationLevel: 0,
              topics: [{ name: topic, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: ts, maxNumOffsets: 1 })) }],
              timeoutMs: this.options.requestTimeoutMs,
            }, 1);
            for (const t of res.topics ?? []) {
              for (const p of t.partitions ?? []) {
                if (p.errorCode) {
                  failure ??= new KafkaError(p.errorCode, `ListOffsets ${topic}/${p.partitionIndex}`);
                  continue;
                }
                out.set(p.partitionIndex!, Number(p.offset!));
              }
            }
          } catch (e) {
            failure ??= e;
          }
        }),
      );
      remaining = remaining.filter((p) => !out.has(p));
      if (failure !== null) throw failure;
      if (remaining.length > 0) throw new KafkaError(KafkaCode.LEADER_NOT_AVAILABLE, `ListOffsets ${topic}: no answer for ${remaining.join(',')}`);
    });
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Group coordinator requests

  /** The coordinator of a group; cached until a NOT_COORDINATOR-class error drops it. */
  async coordinatorOf(group: string): Promise<number> {
    const cached = this.coordinators.get(group);
    if (cached !== undefined) return cached;
    const nodeId = await this.retry(`FindCoordinator ${group}`, async () => {
      const c = await this.anyConnection();
      const v = await c.version(FindCoordinator, 4);
      const res = await c.send(FindCoordinator, v, { key: group, keyType: 0, coordinatorKeys: [group] });
      if (v >= 4) {
        const r = res.coordinators?.[0];
        if (r === undefined) throw new KafkaError(KafkaCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator ${group}: empty answer`);
        checkCode(r.errorCode, `FindCoordinator ${group}`, r.errorMessage);
        this.brokers.set(r.nodeId!, { nodeId: r.nodeId!, host: r.host!, port: r.port! });
        return r.nodeId!;
      }
      checkCode(res.errorCode, `FindCoordinator ${group}`, res.errorMessage);
      this.brokers.set(res.nodeId!, { nodeId: res.nodeId!, host: res.host!, port: res.port! });
      return res.nodeId!;
    });
    this.coordinators.set(group, nodeId);
    return nodeId;
  }

  /**
   * Sends a request to the group's coordinator, re-finding the coordinator on NOT_COORDINATOR,
   * COORDINATOR_NOT_AVAILABLE or a broken connection. `check` throws the response's error.
   */
  async coordinatorRequest<Req, Res>(
    group: string,
    api: ApiSpec<Req, Res>,
    preferredMax: number,
    body: (version: number) => Req,
    check: (res: Res) => void,
    options: { retry?: boolean; timeoutMs?: number } = {},
  ): Promise<Res> {
    const once = async (): Promise<Res> => {
      const c = await this.brokerConnection(await this.coordinatorOf(group));
      const v = await c.version(api as ApiSpec, preferredMax);
      const res = await c.send(api, v, body(v), options.timeoutMs);
      check(res);
      return res;
    };
    const dropCoordinator = (): void => {
      this.coordinators.delete(group);
    };
    if (options.retry === false) {
      try {
        return await once();
      } catch (e) {
        if (e instanceof KafkaError && e.staleRouting) dropCoordinator();
        throw e;
      }
    }
    return this.retry(`${api.name} ${group}`, once, dropCoordinator);
  }

  /**
   * Commits offsets for a group. generation -1 and memberId '' commit as a standalone
   * (simple) consumer, which brokers accept while the group has no active members.
   */
  async commitOffsets(
    group: string,
    offsets: readonly { topic: string; partition: number; offset: number; metadata?: string | null }[],
    member: { generationId: number; memberId: string; groupInstanceId?: string | null } = { generationId: -1, memberId: '' },
  ): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; commitTimestamp: bigint; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      let l = byTopic.get(o.topic);
      if (l === undefined) byTopic.set(o.topic, (l = []));
      l.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: o.metadata ?? null });
    }
    await this.coordinatorRequest(
      group,
      OffsetCommit,
      8,
      () => ({
        groupId: group,
        generationIdOrMemberEpoch: member.generationId,
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId ?? null,
        retentionTimeMs: -1n,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }),
      (res) => {
        for (const t of res.topics ?? []) for (const p of t.partitions ?? []) checkCode(p.errorCode, `OffsetCommit ${group} ${t.name}/${p.partitionIndex}`);
      },
      // A commit for a stale generation must surface to the member (it rejoins), not be retried.
      { retry: member.generationId < 0 },
    );
  }

  /** Committed offsets of a group for the given partitions (offset -1 where none). */
  async fetchOffsets(group: string, partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      let l = byTopic.get(p.topic);
      if (l === undefined) byTopic.set(p.topic, (l = []));
      l.push(p.partition);
    }
    const res = await this.coordinatorRequest(
      group,
      OffsetFetch,
      7,
      () => ({
        groupId: group,
        topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        groups: [],
        requireStable: true,
      }),
      (r) => {
        checkCode(r.errorCode, `OffsetFetch ${group}`);
        for (const t of r.topics ?? []) for (const p of t.partitions ?? []) checkCode(p.errorCode, `OffsetFetch ${group} ${t.name}/${p.partitionIndex}`);
      },
    );
    const out: CommittedOffset[] = [];
    for (const t of res.topics ?? []) {
      for (const p of t.partitions ?? []) out.push({ topic: t.name!, partition: p.partitionIndex!, offset: Number(p.committedOffset ?? -1n), metadata: p.metadata ?? null });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.connections.values()) {
      const c = await p.catch(() => null);
      c?.close();
    }
    this.connections.clear();
  }
}

export function parseHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i).replace(/^\[(.*)\]$/, '$1') : '';
  const port = Number(addr.slice(i + 1));
  if (host.length === 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new WeirError('invalid_argument', `broker address ${JSON.stringify(addr)} must be host:port`);
  }
  return { host, port };
}
