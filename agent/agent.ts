/**
 * The agent process: opens the object and metadata stores, listens for Kafka clients, and on
 * stop() stops accepting, flushes what producers already sent, answers them, and closes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { MetadataStore } from '../core/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../core/metadata/sqlite-metadata-store.js';
import { FsObjectStore } from '../core/storage/fs-object-store.js';
import type { ObjectStore } from '../core/storage/object-store.js';
import type { AgentContext, LogLevel } from './agent-context.js';
import type { AgentConfig } from './config.js';
import { Connection } from './connection.js';
import { GroupCoordinator } from './groups/group-coordinator.js';
import { handlerRegistry } from './handlers/index.js';
import { FetchWaiters } from './read-path/fetch-waiters.js';
import { LogCache } from './read-path/log-cache.js';
import { LogReader } from './read-path/log-reader.js';
import { PartitionStates } from './read-path/partition-states.js';
import { RetentionJob } from './retention.js';
import { TopicResolver } from './topic-resolver.js';
import { Flusher } from './write-path/flusher.js';

const levels: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface AgentStores {
  objects: ObjectStore;
  metadata: MetadataStore;
}

/** The embedded defaults: a folder for objects and a SQLite file for metadata, both in dataDir. */
export function openEmbeddedStores(dataDir: string): AgentStores {
  mkdirSync(dataDir, { recursive: true });
  return {
    objects: new FsObjectStore(join(dataDir, 'objects')),
    metadata: new SqliteMetadataStore(join(dataDir, 'metadata.sqlite')),
  };
}

export class Agent {
  private server: net.Server | null = null;
  private connections = new Set<Connection>();
  private ctx: AgentContext | null = null;
  private stopping: Promise<void> | null = null;
  private retention: RetentionJob | null = null;

  constructor(
    readonly config: AgentConfig,
    private readonly stores: AgentStores = openEmbeddedStores(config.dataDir),
  ) {}

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
    const { objects, metadata } = this.stores;
    const log = (level: LogLevel, msg: string): void => this.log(level, msg);
    const cache = new LogCache(this.config.cacheBytesMax);
    const waiters = new FetchWaiters();
    const partitionStates = new PartitionStates(metadata);
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
    this.ctx = {
      config: this.config,
      clusterId,
      advertised: { host: this.config.advertisedHost ?? this.config.host, port: this.config.advertisedPort ?? port },
      objects,
      metadata,
      topics: new TopicResolver(metadata, { enabled: this.config.autoCreateTopics, partitions: this.config.defaultPartitions }),
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
      }),
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
      await this.stores.objects.close();
      await this.stores.metadata.close();
    })();
    return this.stopping;
  }
}
