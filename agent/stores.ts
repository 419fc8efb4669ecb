/**
 * Opens the agent's two stores from its settings: the object store (fs in --data-dir, s3, or
 * memory) and the metadata store (SQLite in --data-dir, or Redis). For Redis it checks that the
 * server persists every acknowledged write (AOF with appendfsync always): without that, a Redis
 * restart can forget offsets the agent already acknowledged, so the agent warns loudly, and
 * refuses to start under --require-durable-metadata.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../core/errors.js';
import type { MetadataStore } from '../core/metadata/metadata-store.js';
import { RedisMetadataStore } from '../core/metadata/redis-metadata-store.js';
import { SqliteMetadataStore } from '../core/metadata/sqlite-metadata-store.js';
import { FsObjectStore } from '../core/storage/fs-object-store.js';
import { MemoryObjectStore } from '../core/storage/memory-object-store.js';
import type { ObjectStore } from '../core/storage/object-store.js';
import { S3ObjectStore } from '../core/storage/s3-object-store.js';
import type { LogLevel } from './agent-context.js';
import type { AgentConfig } from './config.js';

export interface AgentStores {
  objects: ObjectStore;
  metadata: MetadataStore;
}

function openObjectStore(config: AgentConfig): ObjectStore {
  switch (config.objectStore) {
    case 'memory':
      return new MemoryObjectStore();
    case 's3': {
      const s3 = config.s3;
      if (!s3) throw new WeirError('invalid_argument', 'missing --bucket (required with --object-store s3)');
      return new S3ObjectStore({
        bucket: s3.bucket,
        ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
        region: s3.region,
        forcePathStyle: s3.pathStyle,
        ...(s3.prefix === '' ? {} : { prefix: s3.prefix }),
        requestTimeoutMs: s3.requestTimeoutMs,
        maxAttempts: s3.maxAttempts,
      });
    }
    case 'fs':
      mkdirSync(config.dataDir, { recursive: true });
      return new FsObjectStore(join(config.dataDir, 'objects'));
  }
}

export async function openStores(config: AgentConfig, log: (level: LogLevel, msg: string) => void): Promise<AgentStores> {
  const objects = openObjectStore(config);
  let metadata: MetadataStore;
  if (config.metadataStore === 'redis') {
    if (!config.redisUrl) throw new WeirError('invalid_argument', 'missing --redis-url (required with --metadata redis)');
    const redis = new RedisMetadataStore({ url: config.redisUrl });
    metadata = redis;
    try {
      const d = await redis.durability();
      if (!d.durable) {
        const msg = `Redis at ${config.redisUrl} can lose acknowledged writes: ${d.reason}. Run it with appendonly yes and appendfsync always.`;
        if (config.requireDurableMetadata) throw new WeirError('invalid_argument', `${msg} (refusing: --require-durable-metadata)`);
        log('warn', `!!! ${msg} !!!`);
      }
    } catch (e) {
      await redis.close().catch(() => undefined);
      await objects.close().catch(() => undefined);
      throw e;
    }
  } else {
    mkdirSync(config.dataDir, { recursive: true });
    metadata = new SqliteMetadataStore(join(config.dataDir, 'metadata.sqlite'));
  }
  return { objects, metadata };
}
