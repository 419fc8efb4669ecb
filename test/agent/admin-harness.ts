/**
 * What the admin tests share: an in-process agent on a free port with throwaway stores (SQLite
 * in memory, objects in memory), a kafkajs admin that fails fast, and a raw protocol client for
 * the versions and APIs kafkajs does not speak (IncrementalAlterConfigs, DescribeCluster,
 * CreateTopics v5+, DeleteTopics by id).
 */
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { Agent } from '../../agent/agent.js';
import { defaultAgentConfig, type AgentConfig } from '../../agent/config.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { RawClient } from '../helpers/raw-client.js';

export interface TestAgent {
  agent: Agent;
  host: string;
  port: number;
  bootstrap: string;
  stop(): Promise<void>;
}

export async function startTestAgent(overrides: Partial<AgentConfig> = {}): Promise<TestAgent> {
  // Auto-create off: a topic must exist only because a test created it.
  const config = defaultAgentConfig({ host: '127.0.0.1', port: 0, logLevel: 'error', autoCreateTopics: false, lingerMs: 2, ...overrides });
  const agent = new Agent(config, { objects: new MemoryObjectStore(), metadata: new SqliteMetadataStore(':memory:') });
  const { host, port } = await agent.start();
  return { agent, host, port, bootstrap: `${host}:${port}`, stop: () => agent.stop() };
}

function kafka(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'weir-admin-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    // Error paths are asserted on, so retries only slow them down.
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
  });
}

export async function adminFor(bootstrap: string): Promise<Admin> {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  return admin;
}

export async function producerFor(bootstrap: string): Promise<Producer> {
  const producer = kafka(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

export function rawClientFor(t: TestAgent): Promise<RawClient> {
  return RawClient.connect(t.host, t.port);
}

/** Runs `fn`, expecting it to reject; returns the error for assertions. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & { type?: string; errors?: unknown[]; partitions?: unknown[] }> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** Every Kafka error type named in a kafkajs error, through its aggregates, retries and causes. */
export function errorTypes(e: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (typeof x !== 'object' || x === null || depth > 5) return;
    const err = x as { type?: unknown; errors?: unknown; cause?: unknown; partitions?: unknown; originalError?: unknown };
    if (typeof err.type === 'string') out.push(err.type);
    if (Array.isArray(err.errors)) for (const inner of err.errors) walk(inner, depth + 1);
    if (Array.isArray(err.partitions)) for (const p of err.partitions) walk((p as { error?: unknown }).error, depth + 1);
    if (err.cause !== x) walk(err.cause, depth + 1);
  };
  walk(e, 0);
  return [...new Set(out)];
}
