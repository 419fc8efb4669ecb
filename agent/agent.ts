/**
 * The agent process: opens the object and metadata stores, listens for Kafka clients, and on
 * stop() stops accepting, flushes what producers already sent, answers them, and closes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AgentContext, LogLevel } from './agent-context.js';
import type { Cluster } from './cluster/cluster.js';
import { LocalCluster } from './cluster/local-cluster.js';
import { RedisCluster } from './cluster/redis-cluster.js';
import type { AgentConfig } from './config.js';
import { Connection } from './connection.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { handlerRegistry } from './handlers/index.js';
import { FetchWaiters } from './read-path/fetch-waiters.js';
import { LogCache } from './read-path/log-cache.js';
import { LogReader } from './read-path/log-reader.js';
import { PartitionStates } from './read-path/partition-states.js';
import { RetentionJob } from './retention.js';
import { openStores, type AgentStores } from './stores.js';
import { TopicResolver } from './topic-resolver.js';
import { Flusher } from './write-path/flusher.js';

const levels: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export class Agent {
  private server: net.Server | null = null;
  private connections = new Set<Connection>();
  private ctx: AgentContext | null = null;
  private stopping: Promise<void> | null = null;
  private retention: RetentionJob | null = null;
  private cluster: Cluster | null = null;

  /** Stores given by an embedding caller (tests), or opened from the config in start(). */
  private stores: AgentStores | null;

  constructor(
    readonly config: AgentConfig,
    stores?: AgentStores,
  ) {
    this.stores = stores ?? null;
  }

  get address(): { host: string; port: number } {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('agent is not listening');
    return { host: this.config.host, port: a.port };
  }

  get context(): AgentContext {
    if (!this.ctx) throw new Error('agent not started');
    return this.ctx;
  }

  log(level: LogLevel, msg: string): void {
    if (levels[level] <= levels[this.config.logLevel]) process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}\n`);
  }

  async start(): Promise<{ host: string; port: number }> {
    const log = (level: LogLevel, msg: string): void => this.log(level, msg);
    this.stores ??= await openStores(this.config, log);
    const { objects, metadata } = this.stores;
    const cache = new LogCache(this.config.cacheBytesMax);
    const waiters = new FetchWaiters();
    const partitionStates = new PartitionStates(metadata);
    // With Redis metadata, agents share a cluster and find each other there; otherwise this agent is alone.
    const cluster: Cluster = this.config.metadataStore === 'redis' && this.config.redisUrl !== undefined
      ? new RedisCluster({ url: this.config.redisUrl, nodeId: this.config.nodeId, log })
      : new LocalCluster(this.config.nodeId);
    this.cluster = cluster;
    const flusher = new Flusher(objects, metadata, cache, {
      agentId: `${this.config.nodeId}-${randomBytes(4).toString('hex')}`,
      lingerMs: this.config.lingerMs,
      flushBytes: this.config.flushBytes,
      pendingBytesMax: this.config.pendingBytesMax,
      flushesInFlightMax: this.config.flushesInFlightMax,
      onCommitted: (parts) => {
        for (const p of parts) {
          partitionStates.advance(p.topic, p.partition, p.highWatermark);
          waiters.notify(p.topic, p.partition);
        }
        cluster.publishCommitted(parts);
      },
      log,
    });
    const clusterId = await metadata.clusterId();
    const server = net.createServer({ noDelay: true });
    this.server = server;
    server.maxConnections = this.config.connectionsMax;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.address;
    const advertised = { host: this.config.advertisedHost ?? this.config.host, port: this.config.advertisedPort ?? port };
    const topics = new TopicResolver(metadata, { enabled: this.config.autoCreateTopics, partitions: this.config.defaultPartitions }, (name) => cluster.publishTopicChanged(name));
    try {
      await cluster.start(advertised, {
        // Another agent's commit: wake this agent's long polls on those partitions too.
        onCommitted: (parts) => {
          for (const p of parts) {
            partitionStates.advance(p.topic, p.partition, p.highWatermark);
            waiters.notify(p.topic, p.partition);
          }
        },
        onTopicChanged: (name) => {
          topics.forget(name);
          if (name !== undefined) partitionStates.invalidate(name);
        },
      });
    } catch (e) {
      // E.g. a live agent already has this node id: release the port and the stores, then report.
      await this.stop().catch(() => undefined);
      throw e;
    }
    this.ctx = {
      config: this.config,
      clusterId,
      advertised,
      objects,
      metadata,
      topics,
      flusher,
      reader: new LogReader(objects, metadata, cache),
      cache,
      waiters,
      partitionStates,
      groups: new GroupCoordinator({
        offsets: metadata,
        initialRebalanceDelayMs: this.config.groupInitialRebalanceDelayMs,
        minSessionTimeoutMs: this.config.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: this.config.groupMaxSessionTimeoutMs,
        log,
        isCoordinator: (groupId) => cluster.isCoordinatorOf(groupId),
      }),
      cluster,
      handlers: handlerRegistry,
      log,
    };
    const ctx = this.ctx;
    server.on('connection', (socket) => {
      const c = new Connection(socket, ctx, (closed) => this.connections.delete(closed));
      this.connections.add(c);
    });
    server.on('error', (e) => log('error', `listener: ${e.message}`));
    this.retention = new RetentionJob(metadata, this.config.retentionCheckIntervalMs, log, (topic, partition) => partitionStates.invalidate(topic, partition));
    this.retention.start();
    return { host: this.config.host, port };
  }

  /** Graceful stop: no new connections, flush and answer pending produces, then close stores. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const server = this.server;
      // close() only stops accepting; its callback fires once every connection has ended.
      const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
      await this.retention?.stop();
      // Answers parked JoinGroup/SyncGroup requests (NOT_COORDINATOR) before the sockets end, and stops the group timers.
      this.ctx?.groups.close();
      if (this.ctx) await this.ctx.flusher.close();
      // Let the just-resolved produce handlers queue their responses, then end each socket
      // after its queued writes (end, not destroy, so the acks reach the producers).
      await new Promise((r) => setImmediate(r));
      for (const c of this.connections) c.end();
      // Clients that do not close their end get 5 s; the timer must not keep the process alive.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      for (const c of this.connections) c.close();
      // Leave the cluster once nothing more is answered here; others take over this agent's groups.
      await this.cluster?.stop();
      await this.stores?.objects.close();
      await this.stores?.metadata.close();
    })();
    return this.stopping;
  }
}
