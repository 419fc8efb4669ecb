/**
 * Agents that find each other through Redis.
 *
 * Registry: each agent holds the key agent:<node id> (its JSON registration) with a TTL and
 * refreshes it every heartbeat; the set `agents` lists ids that ever registered, so listing needs
 * no SCAN. Liveness is Redis's own key expiry, so agents' clocks never matter. A node id held by
 * a live agent cannot be taken: start() rejects naming the holder (node ids are configured, not
 * allocated, because clients and operators see them as broker ids). An agent that crashes stops
 * heartbeating and drops out of every member list once its key expires: within ttlMs plus one
 * heartbeat, the survivors' views no longer include it and routing moves its partitions and
 * groups to them.
 *
 * Every agent re-reads the member list each heartbeat, and at once when told of a join or leave,
 * so views agree except for a moment after a change; routing (rendezvous.ts) is a pure function
 * of the view.
 *
 * Wake-ups: commits and topic changes go out on one pub/sub channel; each message carries the
 * sender's instance id so an agent ignores its own. Pub/sub is fire-and-forget: a lost message
 * only delays a long poll until its max wait or a cache until its TTL, never loses data.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { WeirError } from '../../core/errors.js';
import { clusterKeys, RedisKeys, type ClusterKeys } from '../../core/metadata/redis-keys.js';
import type { LogLevel } from '../agent-context.js';
import type { Cluster, ClusterListener, ClusterMember, CommittedPartition } from './cluster.js';
import { groupKey, partitionKey, rendezvousOwner } from './rendezvous.js';

export interface RedisClusterOptions {
  url: string;
  nodeId: number;
  /** The Weir cluster's namespace, as the Redis metadata store's (default 'weir'). */
  namespace?: string;
  /** How often the registration is refreshed and the member list re-read. */
  heartbeatMs?: number;
  /** How long a registration outlives its last heartbeat: the time to notice a dead agent. */
  ttlMs?: number;
  log?: (level: LogLevel, msg: string) => void;
}

/**
 * Claims or refreshes a registration: sets it (with the TTL) when the key is missing or already
 * ours, else returns the holder's registration. KEYS: agent key, agents set. ARGV: registration,
 * ttl ms, node id.
 */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return false
`;

/** Deregisters, only if the key is still ours. KEYS: agent key, agents set. ARGV: registration, node id. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
`;

/**
 * The registrations of live agents; drops expired ids from the set on the way (atomically, so a
 * re-registering agent is never dropped). KEYS: agents set. ARGV: the agent key prefix.
 */
const LIST = `
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then table.insert(live, v) else redis.call('SREM', KEYS[1], id) end
end
return live
`;

type Message =
  | { from: string; type: 'committed'; parts: Array<[string, number, number]> }
  | { from: string; type: 'topic'; topic: string | null }
  | { from: string; type: 'join' | 'leave' };

export class RedisCluster implements Cluster {
  private readonly keys: ClusterKeys;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly instance = randomUUID();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly log: (level: LogLevel, msg: string) => void;
  private member: ClusterMember;
  private registration = '';
  private view: ClusterMember[];
  private listener: ClusterListener | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Set while another live agent holds our node id (after a pause longer than the TTL), to log it once. */
  private displaced = false;

  constructor(options: RedisClusterOptions) {
    this.keys = clusterKeys(new RedisKeys(options.namespace ?? 'weir'));
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.ttlMs = options.ttlMs ?? 5000;
    if (!(this.heartbeatMs > 0 && this.ttlMs > this.heartbeatMs)) {
      throw new WeirError('invalid_argument', `cluster ttl (${this.ttlMs} ms) must exceed the heartbeat interval (${this.heartbeatMs} ms)`);
    }
    this.log = options.log ?? (() => undefined);
    this.member = { nodeId: options.nodeId, host: '', port: -1, startedAtMs: Date.now() };
    this.view = [this.member];
    // Bounded retries: a Redis outage fails heartbeats (logged, retried next tick) instead of queueing them.
    this.redis = new Redis(options.url, { maxRetriesPerRequest: 3, lazyConnect: true });
    this.subscriber = new Redis(options.url, { lazyConnect: true });
    this.redis.on('error', (e: Error) => this.log('debug', `cluster redis: ${e.message}`));
    this.subscriber.on('error', (e: Error) => this.log('debug', `cluster redis subscriber: ${e.message}`));
  }

  async start(self: { host: string; port: number }, listener: ClusterListener): Promise<void> {
    this.member = { ...this.member, host: self.host, port: self.port };
    this.view = [this.member];
    this.registration = JSON.stringify({ ...this.member, instance: this.instance });
    this.listener = listener;
    try {
      await this.redis.connect();
      const holder = await this.claim();
      if (holder !== null) {
        const h = parseRegistration(holder);
        throw new WeirError('conflict', `node id ${this.member.nodeId} is already used by a live agent${h ? ` at ${h.host}:${h.port}` : ''} (pick another --node-id, or wait ${this.ttlMs} ms if that agent just died)`, { retriable: false });
      }
      await this.subscriber.connect();
      this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
      await this.subscriber.subscribe(this.keys.events);
      await this.refresh();
      this.publish({ from: this.instance, type: 'join' });
    } catch (e) {
      this.stopped = true;
      this.redis.disconnect();
      this.subscriber.disconnect();
      throw e;
    }
    this.schedule();
  }

  get self(): ClusterMember {
    return this.member;
  }

  members(): readonly ClusterMember[] {
    return this.view;
  }

  leaderOf(topic: string, partition: number): ClusterMember {
    return this.owner(partitionKey(topic, partition));
  }

  coordinatorOf(groupId: string): ClusterMember {
    return this.owner(groupKey(groupId));
  }

  isCoordinatorOf(groupId: string): boolean {
    return this.coordinatorOf(groupId).nodeId === this.member.nodeId;
  }

  controller(): ClusterMember {
    return this.view[0]!;
  }

  publishCommitted(parts: readonly CommittedPartition[]): void {
    if (parts.length === 0) return;
    this.publish({ from: this.instance, type: 'committed', parts: parts.map((p) => [p.topic, p.partition, p.highWatermark]) });
  }

  publishTopicChanged(topic: string | undefined): void {
    this.publish({ from: this.instance, type: 'topic', topic: topic ?? null });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      await this.redis.eval(RELEASE, 2, this.keys.agent(this.member.nodeId), this.keys.agents, this.registration, String(this.member.nodeId));
      await this.redis.publish(this.keys.events, JSON.stringify({ from: this.instance, type: 'leave' } satisfies Message));
    } catch (e) {
      // The registration then expires on its own within the TTL.
      this.log('warn', `cluster: could not deregister: ${(e as Error).message}`);
    }
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Simulates a crash, for tests: stops heartbeating and drops the connections without
   * deregistering, so the registration lingers until its TTL runs out.
   */
  abandon(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  /** Re-reads the live members now (otherwise done every heartbeat). */
  async refresh(): Promise<void> {
    const raw = (await this.redis.eval(LIST, 1, this.keys.agents, this.keys.agentPrefix)) as string[];
    const byId = new Map<number, ClusterMember>();
    for (const text of raw) {
      const m = parseRegistration(text);
      if (m) byId.set(m.nodeId, m);
    }
    // This agent is alive whatever Redis says (e.g. its key expired during a long pause).
    byId.set(this.member.nodeId, this.member);
    const next = [...byId.values()].sort((a, b) => a.nodeId - b.nodeId);
    const before = this.view.map((m) => m.nodeId).join(',');
    const after = next.map((m) => m.nodeId).join(',');
    if (before !== after) this.log('info', `cluster: live agents [${after}]`);
    this.view = next;
  }

  private owner(key: string): ClusterMember {
    const id = rendezvousOwner(key, this.view.map((m) => m.nodeId));
    return this.view.find((m) => m.nodeId === id)!;
  }

  private async claim(): Promise<string | null> {
    return (await this.redis.eval(CLAIM, 2, this.keys.agent(this.member.nodeId), this.keys.agents, this.registration, String(this.ttlMs), String(this.member.nodeId))) as string | null;
  }

  private schedule(): void {
    if (this.stopped) return;
    // A chain of timeouts, not an interval, so a slow Redis never stacks heartbeats; unref'd
    // because the listener, not the heartbeat, is what keeps an agent process alive.
    this.timer = setTimeout(() => void this.beat().finally(() => this.schedule()), this.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      const holder = await this.claim();
      if (holder !== null && !this.displaced) {
        this.log('error', `cluster: node id ${this.member.nodeId} was taken by another agent while this one was unreachable; two agents now share it`);
      }
      this.displaced = holder !== null;
      if (!this.stopped) await this.refresh();
    } catch (e) {
      if (!this.stopped) this.log('warn', `cluster: heartbeat failed: ${(e as Error).message}`);
    }
  }

  private publish(m: Message): void {
    if (this.stopped) return;
    this.redis.publish(this.keys.events, JSON.stringify(m)).catch((e: Error) => this.log('debug', `cluster: publish failed: ${e.message}`));
  }

  private onMessage(text: string): void {
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (m.from === this.instance || this.stopped) return;
    switch (m.type) {
      case 'committed':
        this.listener?.onCommitted(m.parts.map(([topic, partition, highWatermark]) => ({ topic, partition, highWatermark })));
        break;
      case 'topic':
        this.listener?.onTopicChanged(m.topic ?? undefined);
        break;
      case 'join':
      case 'leave':
        this.refresh().catch((e: Error) => this.log('debug', `cluster: refresh failed: ${e.message}`));
        break;
    }
  }
}

function parseRegistration(text: string): ClusterMember | null {
  try {
    const v = JSON.parse(text) as Partial<ClusterMember>;
    if (typeof v.nodeId !== 'number' || typeof v.host !== 'string' || typeof v.port !== 'number') return null;
    return { nodeId: v.nodeId, host: v.host, port: v.port, startedAtMs: typeof v.startedAtMs === 'number' ? v.startedAtMs : 0 };
  } catch {
    return null;
  }
}
