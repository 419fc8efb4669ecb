/**
 * A Weir cluster for the multi-agent tests: one redis-server (AOF, appendfsync always), one
 * s3rver bucket and `size` agents (node ids 1..size) sharing them, each on a free loopback port.
 * Also the small cluster-wide probes the failover tests share.
 */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { startAgent, stopAllAgents, type Agent } from './agent-process.js';
import { connectedAdmin } from './kafkajs.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from './s3rver.js';

export interface WeirCluster {
  redis: RedisServer;
  s3: RunningS3rver;
  agents: Agent[];
  /** Every agent's address, comma-separated (librdkafka's bootstrap.servers). */
  bootstrapAll: string;
  stop(): Promise<void>;
}

export async function startWeirCluster(o: { bucket: string; size?: number; lingerMs?: number; extraArgs?: string[] }): Promise<WeirCluster> {
  const redis = await startRedisServer({ appendonly: true, appendfsync: 'always' });
  const s3 = await startS3rver(o.bucket);
  const agents: Agent[] = [];
  const stop = async (): Promise<void> => {
    await stopAllAgents();
    await s3.stop();
    await redis.stop();
  };
  try {
    for (let i = 1; i <= (o.size ?? 3); i++) {
      agents.push(
        await startAgent({
          lingerMs: o.lingerMs ?? 20,
          extraArgs: [
            '--node-id', String(i),
            '--object-store', 's3', '--bucket', s3.bucket, '--s3-endpoint', s3.endpoint,
            '--metadata', 'redis', '--redis-url', redis.url, '--require-durable-metadata',
            ...(o.extraArgs ?? []),
          ],
          env: { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
        }),
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { redis, s3, agents, bootstrapAll: agents.map((a) => a.bootstrap).join(','), stop };
}

/**
 * A kafkajs client that bootstraps from several agents and retries long enough to outlast a dead
 * agent's registry entry (5 s TTL) or a Redis restart: 12 retries, backing off up to 2 s.
 */
export function patientKafka(brokers: string[], clientId: string, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2_000 },
    ...extra,
  });
}

/** Records committed to the topic so far (the sum of its high watermarks), asked of one agent. */
export async function committedCount(bootstrap: string, topic: string): Promise<number> {
  const admin = await connectedAdmin(bootstrap);
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The node ids DescribeCluster lists, asked of one agent, sorted. */
export async function liveNodeIds(bootstrap: string): Promise<number[]> {
  const admin = await connectedAdmin(bootstrap);
  try {
    return (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}

/** Polls `probe` every 200 ms until `pred` holds for its result; throws with the last result after timeoutMs. */
export async function pollUntil<T>(probe: () => Promise<T>, pred: (t: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (pred(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
