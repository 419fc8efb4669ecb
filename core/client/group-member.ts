/**
 * A member of a Kafka consumer group (the classic protocol: JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup) with the range assignor, speaking the standard consumer protocol ("consumer"
 * protocol type, ConsumerProtocolSubscription/Assignment), so it can share a group with the
 * Java client, librdkafka or kafka-python members using "range".
 *
 * Lifecycle: `join()` resolves with this member's assignment; a heartbeat loop then runs every
 * heartbeatIntervalMs. When the coordinator answers REBALANCE_IN_PROGRESS (or the member was
 * fenced: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION), `onRevoke` is awaited (the owner stops and
 * commits), then the member rejoins and `onAssign` is called with the new assignment. Offsets
 * are committed with the member's generation, so a member that lost its place cannot commit
 * over the new owner. The coordinator is re-found on NOT_COORDINATOR (KafkaClient).
 */
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  SyncGroup,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from '../protocol/generated/index.js';
import type { MessageSchema } from '../protocol/types.js';
import { checkCode, KafkaCode, KafkaError } from './kafka-error.js';
import type { KafkaClient, TopicPartition } from './kafka-client.js';

export interface GroupMemberOptions {
  groupId: string;
  topics: readonly string[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  groupInstanceId?: string | null;
  onAssign?: (assignment: TopicPartition[]) => Promise<void> | void;
  onRevoke?: (assignment: TopicPartition[]) => Promise<void> | void;
  onError?: (e: Error) => void;
}

/** Kafka's RangeAssignor: per topic, partitions split into contiguous ranges over the sorted members. */
export function rangeAssign(
  members: readonly { memberId: string; topics: readonly string[] }[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const n = partitionCounts.get(topic) ?? 0;
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    if (subscribers.length === 0 || n === 0) continue;
    const per = Math.floor(n / subscribers.length);
    const extra = n % subscribers.length;
    let p = 0;
    subscribers.forEach((memberId, i) => {
      const count = per + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) out.get(memberId)!.push({ topic, partition: p++ });
    });
  }
  return out;
}

export class GroupMember {
  memberId = '';
  generationId = -1;
  private assignment: TopicPartition[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private rejoining: Promise<void> | null = null;
  private readonly o: Required<Omit<GroupMemberOptions, 'onAssign' | 'onRevoke' | 'onError' | 'groupInstanceId'>> & GroupMemberOptions;

  constructor(
    private readonly client: KafkaClient,
    options: GroupMemberOptions,
  ) {
    this.o = { sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 60_000, heartbeatIntervalMs: 3_000, ...options };
  }

  get assigned(): readonly TopicPartition[] {
    return this.assignment;
  }

  /** Joins (or rejoins) and resolves with the assignment; starts heartbeating. */
  async join(): Promise<TopicPartition[]> {
    this.stopped = false;
    for (;;) {
      try {
        this.assignment = await this.joinOnce();
        break;
      } catch (e) {
        if (!(e instanceof KafkaError)) throw e;
        if (e.code === KafkaCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        else if (e.code !== KafkaCode.REBALANCE_IN_PROGRESS && e.code !== KafkaCode.ILLEGAL_GENERATION && !e.retriable) throw e;
      }
    }
    await this.o.onAssign?.(this.assignment);
    this.scheduleHeartbeat();
    return this.assignment;
  }

  private async joinOnce(): Promise<TopicPartition[]> {
    const { groupId } = this.o;
    const subscription: ConsumerProtocolSubscription = { topics: [...this.o.topics], userData: null, ownedPartitions: [], generationId: -1, rackId: null };
    const metadata = withVersion(0, encodeMessage(ConsumerProtocolSubscriptionSchema, 0, subscription));
    let join;
    for (;;) {
      join = await this.client.coordinatorRequest(
        groupId,
        JoinGroup,
        7,
        () => ({
          groupId,
          sessionTimeoutMs: this.o.sessionTimeoutMs,
          rebalanceTimeoutMs: this.o.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: this.o.groupInstanceId ?? null,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata }],
          reason: null,
        }),
        (r) => {
          // MEMBER_ID_REQUIRED (KIP-394): the answer carries our id; join again with it.
          if (r.errorCode === KafkaCode.MEMBER_ID_REQUIRED) return;
          checkCode(r.errorCode, `JoinGroup ${groupId}`);
        },
        { timeoutMs: this.o.rebalanceTimeoutMs + 5_000 },
      );
      this.memberId = join.memberId ?? '';
      if (join.errorCode !== KafkaCode.MEMBER_ID_REQUIRED) break;
    }
    this.generationId = join.generationId!;
    let assignments: { memberId: string; assignment: Buffer }[] = [];
    if (join.leader === this.memberId) {
      const members = (join.members ?? []).map((m) => {
        const sub = readVersioned<ConsumerProtocolSubscription>(ConsumerProtocolSubscriptionSchema, m.metadata!);
        return { memberId: m.memberId!, topics: sub.topics };
      });
      const counts = new Map<string, number>();
      for (const t of new Set(members.flatMap((m) => m.topics))) {
        counts.set(t, await this.client.partitionCount(t).catch(() => 0));
      }
      const plan = rangeAssign(members, counts);
      assignments = [...plan].map(([memberId, tps]) => ({ memberId, assignment: encodeAssignment(tps) }));
    }
    const sync = await this.client.coordinatorRequest(
      groupId,
      SyncGroup,
      5,
      () => ({
        groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.o.groupInstanceId ?? null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments,
      }),
      (r) => checkCode(r.errorCode, `SyncGroup ${groupId}`),
      { retry: false, timeoutMs: this.o.rebalanceTimeoutMs + 5_000 },
    );
    const bytes = sync.assignment ?? Buffer.alloc(0);
    if (bytes.length === 0) return [];
    const a = readVersioned<ConsumerProtocolAssignment>(ConsumerProtocolAssignmentSchema, bytes);
    return a.assignedPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))).sort((x, y) =>
      x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1,
    );
  }

  private scheduleHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.o.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatTimer = null;
    if (this.stopped) return;
    try {
      await this.client.coordinatorRequest(
        this.o.groupId,
        Heartbeat,
        4,
        () => ({ groupId: this.o.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.o.groupInstanceId ?? null }),
        (r) => checkCode(r.errorCode, `Heartbeat ${this.o.groupId}`),
        { retry: false },
      );
      this.scheduleHeartbeat();
    } catch (e) {
      if (this.stopped) return;
      const code = e instanceof KafkaError ? e.code : -1;
      if (code === KafkaCode.REBALANCE_IN_PROGRESS || code === KafkaCode.ILLEGAL_GENERATION || code === KafkaCode.UNKNOWN_MEMBER_ID) {
        void this.rejoin(code === KafkaCode.UNKNOWN_MEMBER_ID);
      } else {
        this.o.onError?.(e as Error);
        this.scheduleHeartbeat();
      }
    }
  }

  /** Revokes (awaiting the owner), then joins again. */
  rejoin(resetMemberId = false): Promise<void> {
    this.rejoining ??= (async () => {
      try {
        await this.o.onRevoke?.(this.assignment);
        this.assignment = [];
        if (resetMemberId) this.memberId = '';
        await this.join();
      } catch (e) {
        this.o.onError?.(e as Error);
      } finally {
        this.rejoining = null;
      }
    })();
    return this.rejoining;
  }

  /** Commits with this member's generation (a fenced member's commit fails with ILLEGAL_GENERATION). */
  commit(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    return this.client.commitOffsets(this.o.groupId, offsets, { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.o.groupInstanceId ?? null });
  }

  /** Stops heartbeating and leaves the group so the others rebalance at once. */
  async leave(): Promise<void> {
    this.stopped = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.memberId === '') return;
    await this.client
      .coordinatorRequest(
        this.o.groupId,
        LeaveGroup,
        4,
        (v) => ({ groupId: this.o.groupId, memberId: this.memberId, members: v >= 3 ? [{ memberId: this.memberId, groupInstanceId: this.o.groupInstanceId ?? null, reason: null }] : [] }),
        (r) => checkCode(r.errorCode, `LeaveGroup ${this.o.groupId}`),
        { retry: false },
      )
      .catch(() => {
        // Leaving is a courtesy: the session timeout removes us anyway.
      });
    this.memberId = '';
    this.generationId = -1;
  }
}

function encodeAssignment(tps: readonly TopicPartition[]): Buffer {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) {
    let l = byTopic.get(tp.topic);
    if (l === undefined) byTopic.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  const a: ConsumerProtocolAssignment = { assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })), userData: null };
  return withVersion(0, encodeMessage(ConsumerProtocolAssignmentSchema, 0, a));
}

/** Consumer protocol payloads start with an int16 version (not part of the message schema). */
function withVersion(version: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeInt16BE(version, 0);
  body.copy(out, 2);
  return out;
}

/** Reads a versioned payload; a newer version than we know is read as our newest (fields only get appended). */
function readVersioned<T>(schema: MessageSchema, bytes: Buffer): T {
  if (bytes.length < 2) throw new KafkaError(KafkaCode.INCONSISTENT_GROUP_PROTOCOL, `${schema.name} of ${bytes.length} bytes`);
  const v = Math.min(bytes.readInt16BE(0), schema.validVersions.max);
  return decodeMessage<T>(schema, v, bytes, 2).value;
}
