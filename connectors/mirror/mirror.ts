/**
 * The mirror: copies topics from a Kafka cluster into Weir at the same partitions and offsets
 * (WarpStream Orbit / Cluster Linking semantics, not MirrorMaker's offset translation).
 *
 * One Mirror is one worker. Workers of the same mirror (same --source-name) split the partitions
 * through core/coordination (WorkerMembership: leases with fencing tokens; Redis across processes,
 * in memory for workers of one process). Each worker:
 * - discovers source topics (Metadata) every discoveryIntervalMs, filtered by the include/exclude
 *   regexes, and ensures each on Weir (WeirMirrorTopics: same partition count and relevant
 *   configs, read via kafkajs's admin), so new topics and added partitions are picked up;
 * - copies its partitions: per source leader, one loop of raw read_committed Fetches (our codec:
 *   batches byte for byte) and WeirMirrorWrites at the source's offsets, the next fetch issued
 *   while the previous write is in flight; at most one write per partition in flight, so a failed
 *   write can never be followed by a later one that would leave a false gap;
 * - follows the source's log start (DeleteRecords on Weir);
 * - if it holds the '@control' item: syncs consumer group offsets (--groups) every
 *   groupSyncIntervalMs, read with kafkajs, committed on Weir only while the group has no members
 *   there.
 * Resuming needs no state of its own: Weir's high watermark of a partition is where its copy
 * continues, and a write re-sent after a crash is acknowledged without being stored twice
 * (core/metadata/mirror-runs.ts), so kill -9 at any moment leaves no gap and no duplicate.
 */
import { Kafka, logLevel as kafkajsLogLevel, type Admin, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Coordination, Lease } from '../../core/coordination/coordination.js';
import { WorkerMembership } from '../../core/coordination/membership.js';
import { SourceCluster, WeirTarget, type FetchResult, type HostPort, type MirrorTopicSpec } from './clusters.js';
import { FramePool } from '../../core/client/frame-pool.js';
import { filterFetched } from './record-filter.js';
import type { SaslOptions } from '../../core/client/sasl.js';

/** Topic configs copied from the source: the ones that shape the log or what it accepts. */
export const MIRRORED_CONFIGS = [
  'cleanup.policy',
  'compression.type',
  'delete.retention.ms',
  'max.compaction.lag.ms',
  'max.message.bytes',
  'message.timestamp.after.max.ms',
  'message.timestamp.before.max.ms',
  'message.timestamp.difference.max.ms',
  'message.timestamp.type',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'retention.bytes',
  'retention.ms',
  'segment.bytes',
  'segment.ms',
] as const;

const CONTROL_ITEM = '@control';
const ERR = { OFFSET_OUT_OF_RANGE: 1, POLICY_VIOLATION: 44, UNKNOWN_TOPIC_ID: 100 } as const;

export interface MirrorOptions {
  sourceBrokers: HostPort[];
  sourceTls: TlsOptions | null;
  sourceSasl: SaslOptions | null;
  target: HostPort;
  token: string;
  /** Names the source on Weir's mirror topics and the coordination group; default: the source's cluster id. */
  sourceName?: string;
  topics: RegExp;
  exclude: RegExp | null;
  groups: RegExp | null;
  discoveryIntervalMs: number;
  groupSyncIntervalMs: number;
  fetchMaxBytes: number;
  partitionFetchMaxBytes: number;
  fetchMaxWaitMs: number;
  /**
   * Copy loops per source broker, each with its share of the partitions: loops write
   * concurrently (a partition still has one write in flight), so the target's flushes overlap.
   */
  lanesPerBroker?: number;
  coordination: Coordination;
  workerId: string;
  heartbeatIntervalMs?: number;
  leaseTtlMs?: number;
  requestTimeoutMs?: number;
  log: (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void;
}

/** One partition this worker copies. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  /** Where the next fetch starts; null until read from Weir's high watermark. */
  next: number | null;
  /** Weir's high watermark after our last write. */
  targetHighWatermark: number;
  targetLogStart: number;
  /** The source's end (last stable offset) and log start, from the last fetch. */
  sourceEnd: number;
  sourceLogStart: number;
  /** Where this worker started copying it (for the progress of the initial copy). */
  startedAt: number | null;
  bytesCopied: number;
  /** Set when the partition stopped for good (promoted, source truncated); shown by status. */
  stopped: string | null;
}

interface TopicState {
  topicId: string;
  partitions: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class Mirror {
  private readonly source: SourceCluster;
  private readonly target: WeirTarget;
  private readonly kafka: Kafka;
  private admin: Admin | null = null;
  private membership: WorkerMembership | null = null;
  private sourceName = '';
  private readonly topicsOnWeir = new Map<string, TopicState>();
  private readonly owned = new Map<string, PartitionProgress>();
  private leaders = new Map<string, number[]>();
  /** Copy loops by "<broker>/<lane>". */
  private readonly loops = new Map<string, Promise<void>>();
  private readonly lanes: number;
  private control = false;
  private stopped = false;
  private discoveryTimer: NodeJS.Timeout | null = null;
  private groupTimer: NodeJS.Timeout | null = null;
  private readonly warned = new Set<string>();
  private readonly syncedGroupOffsets = new Map<string, number>();
  private readonly logStartSyncedAt = new Map<string, number>();
  /** Bytes written to Weir since start (all partitions), for throughput. */
  bytesWritten = 0;

  constructor(private readonly o: MirrorOptions) {
    this.lanes = Math.max(1, Math.min(16, o.lanesPerBroker ?? 4));
    const timeoutMs = o.requestTimeoutMs ?? 30_000;
    this.source = new SourceCluster(o.sourceBrokers, {
      clientId: 'weir-mirror',
      timeoutMs,
      tls: o.sourceTls,
      sasl: o.sourceSasl,
      responseBytesMax: o.fetchMaxBytes + 16 * 1024 * 1024,
      // Each loop holds at most two fetch frames (one being written, one prefetched): keeping
      // that many free for reuse costs no memory the loops would not use anyway.
      framePool: new FramePool(2 * this.lanes * (o.fetchMaxBytes + 1024 * 1024)),
    });
    this.target = new WeirTarget(o.target, o.token, { clientId: 'weir-mirror', timeoutMs, responseBytesMax: 64 * 1024 * 1024 });
    this.kafka = new Kafka({
      clientId: 'weir-mirror',
      brokers: o.sourceBrokers.map((b) => `${b.host}:${b.port}`),
      ...(o.sourceTls ? { ssl: o.sourceTls } : {}),
      ...(o.sourceSasl ? { sasl: { mechanism: o.sourceSasl.mechanism, username: o.sourceSasl.username, password: o.sourceSasl.password } as SASLOptions } : {}),
      logLevel: kafkajsLogLevel.NOTHING,
      retry: { retries: 3 },
    });
  }

  /** Connects, runs the first discovery and joins the workers; copying then runs until stop(). */
  async start(): Promise<void> {
    const t0 = performance.now();
    const meta = await this.source.metadata();
    this.sourceName = this.o.sourceName ?? meta.clusterId ?? 'source';
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const tAdmin = performance.now();
    this.membership = new WorkerMembership({
      coordination: this.o.coordination,
      group: `mirror-${this.sourceName.replace(/[\s{}]/g, '_')}`,
      workerId: this.o.workerId,
      items: [CONTROL_ITEM],
      heartbeatIntervalMs: this.o.heartbeatIntervalMs ?? 1000,
      ttlMs: this.o.leaseTtlMs ?? 10_000,
      meta: `pid ${process.pid}`,
      listener: {
        assigned: async (leases) => this.assigned(leases),
        revoked: async (leases) => this.released(leases),
        lost: async (leases) => this.released(leases),
      },
      onError: (e) => this.o.log('warn', `coordination: ${e.message}`),
    });
    await this.discover();
    const tDiscovered = performance.now();
    await this.membership.start();
    this.o.log('debug', `started: source metadata and admin ${(tAdmin - t0).toFixed(0)} ms, discovery ${(tDiscovered - tAdmin).toFixed(0)} ms, joining ${(performance.now() - tDiscovered).toFixed(0)} ms`);
    this.scheduleDiscovery();
    this.scheduleGroupSync();
  }

  /** The source's name as recorded on Weir's mirror topics (known after start()). */
  get sourceClusterName(): string {
    return this.sourceName;
  }

  /** The partitions this worker copies, as of now. */
  progress(): PartitionProgress[] {
    return [...this.owned.values()].map((p) => ({ ...p }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.discoveryTimer) clearTimeout(this.discoveryTimer);
    if (this.groupTimer) clearTimeout(this.groupTimer);
    await Promise.allSettled([...this.loops.values()]);
    await this.membership?.stop().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.source.close();
    this.target.close();
  }

  // -------------------------------------------------------------------------------------------
  // Topics

  private scheduleDiscovery(): void {
    if (this.stopped) return;
    this.discoveryTimer = setTimeout(() => {
      void this.discover()
        .catch((e: unknown) => this.o.log('warn', `discovery failed: ${(e as Error).message}`))
        .finally(() => this.scheduleDiscovery());
    }, this.o.discoveryIntervalMs);
  }

  /** Finds the source's topics, ensures them on Weir, and hands the partition list to the workers. */
  private async discover(): Promise<void> {
    const meta = await this.source.metadata();
    this.leaders = new Map([...meta.topics.values()].map((t) => [t.name, t.leaders]));
    const names = [...meta.topics.values()]
      .filter((t) => !t.internal && !t.name.startsWith('__') && this.o.topics.test(t.name) && !(this.o.exclude?.test(t.name) ?? false))
      .map((t) => t.name)
      .sort();
    const configs = await this.sourceConfigs(names);
    const specs: MirrorTopicSpec[] = names.map((name) => ({ name, partitions: meta.topics.get(name)!.leaders.length, configs: configs.get(name) ?? {} }));
    const results = specs.length === 0 ? [] : await this.target.mirrorTopics(0, this.sourceName, specs);
    this.topicsOnWeir.clear();
    for (const r of results) {
      if (r.errorCode) {
        this.warnOnce(`topic:${r.name}`, `topic ${r.name} is not mirrored: ${r.errorMessage ?? `error ${r.errorCode}`}`);
        continue;
      }
      if (r.mirrorState !== 1) continue; // promoted: no longer ours to write
      this.topicsOnWeir.set(r.name!, { topicId: r.topicId!, partitions: meta.topics.get(r.name!)!.leaders.length });
    }
    const items = [CONTROL_ITEM];
    for (const [name, t] of this.topicsOnWeir) for (let p = 0; p < t.partitions; p++) items.push(`${name}:${p}`);
    // Partitions of topics that were promoted (or vanished) stop here at once.
    for (const [key, p] of this.owned) if (!this.topicsOnWeir.has(p.topic)) this.owned.delete(key);
    this.membership?.setItems(items);
    this.startLoops();
  }

  /** The source's settings of the mirrored configs per topic; keys not set there go back to defaults (null). */
  private async sourceConfigs(names: string[]): Promise<Map<string, Record<string, string | null>>> {
    const out = new Map<string, Record<string, string | null>>();
    for (let i = 0; i < names.length; i += 100) {
      const res = await this.admin!.describeConfigs({ includeSynonyms: false, resources: names.slice(i, i + 100).map((name) => ({ type: 2, name })) });
      for (const r of res.resources) {
        if (r.errorCode) continue;
        const set: Record<string, string | null> = Object.fromEntries(MIRRORED_CONFIGS.map((k) => [k, null]));
        for (const e of r.configEntries) {
          const explicit = (e as { configSource?: number }).configSource !== undefined ? (e as { configSource?: number }).configSource === 1 : !e.isDefault;
          if (explicit && (MIRRORED_CONFIGS as readonly string[]).includes(e.configName)) set[e.configName] = e.configValue;
        }
        out.set(r.resourceName, set);
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Assignment

  private async assigned(leases: readonly Lease[]): Promise<void> {
    for (const l of leases) {
      if (l.item === CONTROL_ITEM) {
        this.control = true;
        continue;
      }
      const colon = l.item.lastIndexOf(':');
      const topic = l.item.slice(0, colon);
      const partition = Number(l.item.slice(colon + 1));
      if (!this.owned.has(l.item)) {
        this.owned.set(l.item, { topic, partition, next: null, targetHighWatermark: -1, targetLogStart: -1, sourceEnd: -1, sourceLogStart: -1, startedAt: null, bytesCopied: 0, stopped: null });
      }
    }
    this.startLoops();
  }

  private async released(leases: readonly Lease[]): Promise<void> {
    for (const l of leases) {
      if (l.item === CONTROL_ITEM) this.control = false;
      else this.owned.delete(l.item);
    }
  }

  private leaderOf(p: PartitionProgress): number {
    return this.leaders.get(p.topic)?.[p.partition] ?? -1;
  }

  /** Which of its broker's loops copies a partition: stable, and spreading a topic's partitions. */
  private laneOf(p: PartitionProgress): number {
    let h = p.partition;
    for (let i = 0; i < p.topic.length; i++) h = (h * 31 + p.topic.charCodeAt(i)) >>> 0;
    return h % this.lanes;
  }

  private startLoops(): void {
    if (this.stopped) return;
    for (const p of this.owned.values()) {
      const leader = this.leaderOf(p);
      const lane = this.laneOf(p);
      const key = `${leader}/${lane}`;
      if (leader < 0 || this.loops.has(key)) continue;
      const loop = this.brokerLoop(leader, lane)
        .catch((e: unknown) => this.o.log('error', `copy loop ${key} for source broker ${leader} failed: ${(e as Error).message}`))
        .finally(() => {
          this.loops.delete(key);
          // Partitions may have arrived for it while it was winding down.
          if (!this.stopped && [...this.owned.values()].some((q) => this.leaderOf(q) === leader && this.laneOf(q) === lane && q.stopped === null)) setTimeout(() => this.startLoops(), 200).unref();
        });
      this.loops.set(key, loop);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Copying

  private partitionsLedBy(broker: number, lane: number): PartitionProgress[] {
    return [...this.owned.values()].filter((p) => p.stopped === null && this.leaderOf(p) === broker && this.laneOf(p) === lane && this.topicsOnWeir.has(p.topic));
  }

  /** Reads Weir's high watermark (the resume point) and log start for partitions that need it. */
  private async initOffsets(parts: PartitionProgress[]): Promise<void> {
    if (parts.length === 0) return;
    const wants = parts.map((p) => ({ topic: p.topic, partition: p.partition }));
    const [latest, earliest] = await Promise.all([this.target.listOffsets(wants, -1n), this.target.listOffsets(wants, -2n)]);
    for (const p of parts) {
      const k = `${p.topic}\u0000${p.partition}`;
      const hw = latest.get(k);
      if (hw === undefined) continue;
      p.next = hw;
      p.targetHighWatermark = hw;
      p.targetLogStart = earliest.get(k) ?? 0;
      p.startedAt ??= hw;
    }
  }

  private fetchFrom(broker: number, lane: number, parts: PartitionProgress[]): Promise<FetchResult> {
    return this.source.fetch(
      broker,
      parts.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next! })),
      { maxWaitMs: this.o.fetchMaxWaitMs, maxBytes: this.o.fetchMaxBytes, partitionMaxBytes: this.o.partitionFetchMaxBytes },
      lane,
    );
  }

  private async brokerLoop(broker: number, lane: number): Promise<void> {
    let prefetch: Promise<FetchResult> | null = null;
    let backoffMs = 0;
    while (!this.stopped) {
      if (backoffMs > 0) {
        await sleep(backoffMs);
        if (this.stopped) return;
      }
      const parts = this.partitionsLedBy(broker, lane);
      if (parts.length === 0) return;
      try {
        await this.initOffsets(parts.filter((p) => p.next === null));
      } catch (e) {
        this.o.log('warn', `reading Weir's offsets failed: ${(e as Error).message}`);
        backoffMs = Math.min(5000, backoffMs * 2 + 200);
        continue;
      }
      const ready = parts.filter((p) => p.next !== null);
      if (ready.length === 0) {
        backoffMs = 500;
        continue;
      }
      let result: FetchResult;
      const fetchStarted = performance.now();
      try {
        result = await (prefetch ?? this.fetchFrom(broker, lane, ready));
      } catch (e) {
        prefetch = null;
        this.o.log('warn', `fetch from source broker ${broker} failed: ${(e as Error).message}`);
        await this.refreshLeaders();
        backoffMs = Math.min(5000, backoffMs * 2 + 200);
        if (!this.partitionsLedBy(broker, lane).length) return;
        continue;
      }
      prefetch = null;
      backoffMs = 0;
      const fetched = result.partitions;
      const writes: { p: PartitionProgress; records: Buffer; next: number; bytes: number }[] = [];
      let refresh = false;
      for (const f of fetched) {
        const p = this.owned.get(`${f.topic}:${f.partition}`);
        // An answer for an offset we no longer want (a failed write reset it, or it moved away).
        if (p === undefined || p.next !== f.offset || p.stopped !== null) continue;
        if (f.lastStableOffset >= 0 || f.highWatermark >= 0) p.sourceEnd = f.lastStableOffset >= 0 ? f.lastStableOffset : f.highWatermark;
        if (f.logStartOffset >= 0) p.sourceLogStart = f.logStartOffset;
        if (f.errorCode === ERR.OFFSET_OUT_OF_RANGE) {
          await this.outOfRange(p);
          continue;
        }
        if (f.errorCode !== 0) {
          refresh = true;
          this.o.log('debug', `fetch ${f.topic}-${f.partition} from broker ${broker}: error ${f.errorCode}`);
          continue;
        }
        if (f.records === null || f.records.length === 0) continue;
        const r = filterFetched(f.records, f.offset, f.aborted);
        if (r.records === null) p.next = r.nextOffset;
        else writes.push({ p, records: r.records, next: r.nextOffset, bytes: r.bytes });
      }
      // The next offsets are known now: fetch the next round while this one is written. If a
      // write fails, its partition's next is reset and the prefetched answer for it is ignored.
      for (const w of writes) w.p.next = w.next;
      const nextRound = this.partitionsLedBy(broker, lane).filter((p) => p.next !== null);
      if (!refresh && nextRound.length > 0) {
        prefetch = this.fetchFrom(broker, lane, nextRound);
        prefetch.catch(() => undefined); // handled when awaited
      }
      const waitedMs = performance.now() - fetchStarted;
      if (writes.length > 0) {
        const writeStarted = performance.now();
        // The frame is reused only once the writes referring to it were answered; after a failed
        // write the socket may still hold them, so it is left to the garbage collector.
        if (await this.writeAll(writes)) result.release();
        this.o.log('debug', `broker ${broker}: waited ${waitedMs.toFixed(0)} ms for the fetch, wrote ${writes.reduce((n, w) => n + w.bytes, 0)} bytes of ${writes.length} partitions in ${(performance.now() - writeStarted).toFixed(0)} ms`);
      } else {
        result.release();
      }
      if (refresh) {
        await this.refreshLeaders();
        await prefetch?.catch(() => undefined);
        prefetch = null;
        backoffMs = 200;
      }
      await this.followLogStarts(parts);
    }
    await prefetch?.catch(() => undefined);
  }

  /** Writes one round; false if the request failed as a whole (no answer). */
  private async writeAll(writes: { p: PartitionProgress; records: Buffer; next: number; bytes: number }[]): Promise<boolean> {
    const topicIds = writes.map((w) => this.topicsOnWeir.get(w.p.topic)?.topicId);
    let outcomes;
    try {
      outcomes = await this.target.write(writes.map((w, i) => ({ topic: w.p.topic, topicId: topicIds[i] ?? '', partition: w.p.partition, records: w.records })));
    } catch (e) {
      this.o.log('warn', `write to Weir failed: ${(e as Error).message}; resuming from Weir's high watermarks`);
      for (const w of writes) w.p.next = null;
      await sleep(500);
      return false;
    }
    const byKey = new Map(outcomes.map((o) => [`${o.topic}:${o.partition}`, o]));
    for (const w of writes) {
      const o = byKey.get(`${w.p.topic}:${w.p.partition}`);
      if (o !== undefined && o.errorCode === 0) {
        w.p.targetHighWatermark = o.highWatermark;
        w.p.targetLogStart = o.logStartOffset;
        w.p.bytesCopied += w.bytes;
        this.bytesWritten += w.bytes;
        continue;
      }
      const why = o === undefined ? 'no answer' : (o.errorMessage ?? `error ${o.errorCode}`);
      if (o?.errorCode === ERR.POLICY_VIOLATION) {
        w.p.stopped = why;
        this.o.log('info', `stopped copying ${w.p.topic}-${w.p.partition}: ${why}`);
      } else {
        this.o.log('warn', `write of ${w.p.topic}-${w.p.partition} failed: ${why}; resuming from Weir's high watermark`);
        if (o?.errorCode === ERR.UNKNOWN_TOPIC_ID) this.topicsOnWeir.delete(w.p.topic);
      }
      w.p.next = null;
    }
    return true;
  }

  /** The fetch offset is outside the source's log: deleted records are skipped (a gap), a truncated source stops the partition. */
  private async outOfRange(p: PartitionProgress): Promise<void> {
    const want = [{ topic: p.topic, partition: p.partition }];
    const [earliest, latest] = await Promise.all([this.source.listOffsets(want, -2n), this.source.listOffsets(want, -1n)]);
    const k = `${p.topic}\u0000${p.partition}`;
    const lo = earliest.get(k);
    const hi = latest.get(k);
    if (lo !== undefined && p.next! < lo) {
      this.o.log('info', `${p.topic}-${p.partition}: offsets ${p.next}..${lo - 1} were deleted at the source; they stay a gap`);
      p.next = lo;
    } else if (hi !== undefined && p.next! > hi) {
      p.stopped = `the source log ends at ${hi}, before Weir's ${p.next}: the source partition was truncated or re-created`;
      this.o.log('error', `stopped copying ${p.topic}-${p.partition}: ${p.stopped}`);
    }
  }

  /** Follows the source's log start (retention, DeleteRecords) on Weir, at most every 5 s per partition. */
  private async followLogStarts(parts: PartitionProgress[]): Promise<void> {
    const now = Date.now();
    for (const p of parts) {
      const before = Math.min(p.sourceLogStart, p.targetHighWatermark);
      const k = `${p.topic}:${p.partition}`;
      if (before <= p.targetLogStart || now - (this.logStartSyncedAt.get(k) ?? 0) < 5000) continue;
      this.logStartSyncedAt.set(k, now);
      try {
        await this.target.deleteRecords(p.topic, p.partition, before);
        p.targetLogStart = before;
      } catch (e) {
        this.o.log('warn', `moving the log start of ${p.topic}-${p.partition} to ${before} failed: ${(e as Error).message}`);
      }
    }
  }

  private async refreshLeaders(): Promise<void> {
    try {
      const meta = await this.source.metadata();
      this.leaders = new Map([...meta.topics.values()].map((t) => [t.name, t.leaders]));
      this.startLoops();
    } catch (e) {
      this.o.log('warn', `source metadata failed: ${(e as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Consumer group offsets

  private scheduleGroupSync(): void {
    if (this.stopped || this.o.groups === null) return;
    this.groupTimer = setTimeout(() => {
      void this.syncGroupsNow()
        .catch((e: unknown) => this.o.log('warn', `group offset sync failed: ${(e as Error).message}`))
        .finally(() => this.scheduleGroupSync());
    }, this.o.groupSyncIntervalMs);
  }

  /**
   * Copies the committed offsets of the chosen groups for mirrored topics still being mirrored.
   * Offsets mean the same records on both sides, so they are copied as they are. Only the worker
   * holding the control item does it; returns how many offsets were committed on Weir.
   */
  async syncGroupsNow(): Promise<number> {
    if (!this.control || this.o.groups === null || this.admin === null) return 0;
    const { groups } = await this.admin.listGroups();
    const topics = [...this.topicsOnWeir.keys()];
    if (topics.length === 0) return 0;
    let committed = 0;
    for (const g of groups.map((x) => x.groupId).filter((id) => this.o.groups!.test(id)).sort()) {
      const offsets = await this.admin.fetchOffsets({ groupId: g, topics });
      const changed: { topic: string; partition: number; offset: number; metadata: string | null }[] = [];
      for (const t of offsets) {
        for (const p of t.partitions) {
          const offset = Number(p.offset);
          const k = `${g}\u0000${t.topic}\u0000${p.partition}`;
          if (!(offset >= 0) || this.syncedGroupOffsets.get(k) === offset) continue;
          changed.push({ topic: t.topic, partition: p.partition, offset, metadata: p.metadata ?? null });
        }
      }
      if (changed.length === 0) continue;
      this.o.log('debug', `group ${g}: syncing ${changed.length} offsets`);
      const errors = await this.target.commitGroupOffsets(g, changed);
      for (const c of changed) {
        const code = errors.get(`${c.topic}\u0000${c.partition}`) ?? 0;
        if (code === 0) {
          this.syncedGroupOffsets.set(`${g}\u0000${c.topic}\u0000${c.partition}`, c.offset);
          committed++;
        } else {
          // Typically the group already has members on Weir: it is Weir's now, and we leave it alone.
          this.o.log('debug', `group ${g}: offset of ${c.topic}-${c.partition} not synced (error ${code})`);
        }
      }
    }
    return committed;
  }

  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.o.log('warn', msg);
  }
}
