/**
 * The agent's settings, their defaults and their flags. Every bound the agent enforces is here,
 * with its unit last in the name.
 */
import { loadConfigFile } from './cli/config-file.js';
import { parseFlags, UsageError, type FlagDef } from './cli/flags.js';

export interface AgentConfig {
  host: string;
  port: number;
  /** Host and port put in Metadata responses; defaults to host:port (the bound port when port is 0). */
  advertisedHost?: string;
  advertisedPort?: number;
  dataDir: string;
  nodeId: number;
  lingerMs: number;
  flushBytes: number;
  /** Produce bytes accepted but not yet flushed; past this the agent stops reading sockets. */
  pendingBytesMax: number;
  /** Flush objects being written at once; commits still happen in flush order. */
  flushesInFlightMax: number;
  requestBytesMax: number;
  inFlightPerConnectionMax: number;
  connectionsMax: number;
  cacheBytesMax: number;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  /** Upper bound on a Fetch's max wait, whatever the client asks. */
  fetchWaitMaxMs: number;
  /** How often time-based retention runs; 0 turns it off. */
  retentionCheckIntervalMs: number;
  /** group.initial.rebalance.delay.ms: an empty group's first rebalance waits this long for more members. */
  groupInitialRebalanceDelayMs: number;
  /** Bounds on a group member's session timeout (JoinGroup outside them → INVALID_SESSION_TIMEOUT). */
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Where the log lives: a folder under dataDir (default), S3, or memory (tests; lost on exit). */
  objectStore: 'fs' | 's3' | 'memory';
  s3?: S3Settings;
  /** Where offsets and topics live: SQLite in dataDir (default) or Redis (a cluster). */
  metadataStore: 'sqlite' | 'redis';
  redisUrl?: string;
  /** Refuse to start when the metadata store could lose acknowledged writes (Redis without AOF always). */
  requireDurableMetadata: boolean;
  /** The shared secret the mirror presents (WeirMirrorWrite/WeirMirrorTopics); unset refuses those APIs. */
  mirrorToken?: string;
}

export interface S3Settings {
  bucket: string;
  /** Custom endpoint (MinIO, s3rver, ...); unset means AWS. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (http://host/bucket/key), which most S3-compatible servers need. */
  pathStyle: boolean;
  /** Prepended to every object key, to share a bucket. */
  prefix: string;
  /** An S3 request taking longer is abandoned and retried. */
  requestTimeoutMs: number;
  /** Attempts per S3 request, the first included. */
  maxAttempts: number;
}

const MiB = 1024 * 1024;

export const agentFlags: Readonly<Record<string, FlagDef>> = {
  host: { type: 'string', default: '127.0.0.1', description: 'interface to listen on' },
  port: { type: 'int', default: 9092, min: 0, max: 65535, description: 'port to listen on (0 picks a free one)' },
  'advertised-listener': { type: 'string', description: 'host:port given to clients in Metadata' },
  config: { type: 'string', description: 'YAML file of settings (flag-name: value); flags and WEIR_* override it' },
  'data-dir': { type: 'string', default: './weir-data', description: 'folder for the object store and the SQLite metadata' },
  'node-id': { type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'this agent\'s broker id' },
  'linger-ms': { type: 'int', default: 250, min: 0, max: 60_000, description: 'how long produce requests are batched before a flush' },
  'flush-bytes': { type: 'bytes', default: 8 * MiB, min: 1024, max: 1024 * MiB, description: 'flush as soon as this many bytes are pending' },
  'pending-bytes-max': { type: 'bytes', description: 'produce bytes held before sockets are paused (default 6 x flush-bytes, at least 64MiB)' },
  'flushes-in-flight-max': { type: 'int', default: 4, min: 1, max: 64, description: 'flush objects written concurrently' },
  'request-bytes-max': { type: 'bytes', default: 100 * MiB, min: 1024, max: 1024 * MiB, description: 'largest request frame accepted' },
  'in-flight-per-connection-max': { type: 'int', default: 4096, min: 1, max: 100_000, description: 'requests processed at once per connection (produce memory is bounded by --pending-bytes-max)' },
  'connections-max': { type: 'int', default: 10_000, min: 1, max: 1_000_000, description: 'open client connections' },
  'cache-bytes-max': { type: 'bytes', default: 256 * MiB, min: 0, max: 64 * 1024 * MiB, description: 'memory for cached log bytes' },
  'auto-create-topics': { type: 'bool', default: true, description: 'create unknown topics on Metadata and Produce' },
  'default-partitions': { type: 'int', default: 1, min: 1, max: 100_000, description: 'partitions of auto-created topics' },
  'fetch-wait-max-ms': { type: 'int', default: 30_000, min: 0, max: 600_000, description: 'cap on a Fetch long poll' },
  'retention-check-interval-ms': { type: 'int', default: 60_000, min: 0, max: 86_400_000, description: 'how often retention.ms is enforced (0 = never)' },
  'group-initial-rebalance-delay-ms': { type: 'int', default: 3000, min: 0, max: 600_000, description: 'how long an empty consumer group\'s first rebalance waits for more members' },
  'group-min-session-timeout-ms': { type: 'int', default: 6000, min: 1, max: 86_400_000, description: 'smallest session timeout a group member may ask for' },
  'group-max-session-timeout-ms': { type: 'int', default: 1_800_000, min: 1, max: 86_400_000, description: 'largest session timeout a group member may ask for' },
  'log-level': { type: 'string', default: 'info', oneOf: ['error', 'warn', 'info', 'debug'], description: 'log verbosity (stderr)' },
  'object-store': { type: 'string', default: 'fs', oneOf: ['fs', 's3', 'memory'], description: 'where the log lives: fs (in --data-dir), s3, or memory (lost on exit)' },
  bucket: { type: 'string', description: 'S3 bucket (required with --object-store s3)' },
  's3-endpoint': { type: 'string', description: 'S3 endpoint URL for S3-compatible servers (default: AWS)' },
  's3-region': { type: 'string', default: 'us-east-1', description: 'S3 region' },
  's3-path-style': { type: 'bool', description: 'path-style S3 addressing (default: on when --s3-endpoint is set)' },
  's3-prefix': { type: 'string', default: '', description: 'prefix for every object key in the bucket' },
  's3-request-timeout-ms': { type: 'int', default: 30_000, min: 100, max: 600_000, description: 'an S3 request taking longer is abandoned and retried' },
  's3-max-attempts': { type: 'int', default: 5, min: 1, max: 20, description: 'attempts per S3 request (with exponential backoff)' },
  metadata: { type: 'string', default: 'sqlite', oneOf: ['sqlite', 'redis'], description: 'where topics and offsets live: sqlite (in --data-dir) or redis' },
  'redis-url': { type: 'string', description: 'Redis URL, e.g. redis://host:6379 (required with --metadata redis)' },
  'require-durable-metadata': { type: 'bool', default: false, description: 'refuse to start if the metadata store could lose acknowledged writes' },
  'mirror-token': { type: 'string', description: 'secret `weir mirror` must present to write mirror topics (unset: mirror writes refused)' },
};

export function agentConfigFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const loaded = loadConfigFile(argv, env);
  const { flags: f } = parseFlags(loaded.argv, agentFlags, env, loaded.file);
  const flushBytes = f['flush-bytes'] as number;
  const cfg: AgentConfig = {
    host: f.host as string,
    port: f.port as number,
    dataDir: f['data-dir'] as string,
    nodeId: f['node-id'] as number,
    lingerMs: f['linger-ms'] as number,
    flushBytes,
    pendingBytesMax: (f['pending-bytes-max'] as number | undefined) ?? Math.max(6 * flushBytes, 64 * MiB),
    flushesInFlightMax: f['flushes-in-flight-max'] as number,
    requestBytesMax: f['request-bytes-max'] as number,
    inFlightPerConnectionMax: f['in-flight-per-connection-max'] as number,
    connectionsMax: f['connections-max'] as number,
    cacheBytesMax: f['cache-bytes-max'] as number,
    autoCreateTopics: f['auto-create-topics'] as boolean,
    defaultPartitions: f['default-partitions'] as number,
    fetchWaitMaxMs: f['fetch-wait-max-ms'] as number,
    retentionCheckIntervalMs: f['retention-check-interval-ms'] as number,
    groupInitialRebalanceDelayMs: f['group-initial-rebalance-delay-ms'] as number,
    groupMinSessionTimeoutMs: f['group-min-session-timeout-ms'] as number,
    groupMaxSessionTimeoutMs: f['group-max-session-timeout-ms'] as number,
    logLevel: f['log-level'] as AgentConfig['logLevel'],
    objectStore: f['object-store'] as AgentConfig['objectStore'],
    metadataStore: f.metadata as AgentConfig['metadataStore'],
    requireDurableMetadata: f['require-durable-metadata'] as boolean,
  };
  if (cfg.objectStore === 's3') {
    const bucket = f.bucket as string | undefined;
    if (!bucket) throw new UsageError('missing --bucket (required with --object-store s3)');
    const endpoint = f['s3-endpoint'] as string | undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
      throw new UsageError(`invalid value ${JSON.stringify(endpoint)} for --s3-endpoint: expected an http(s):// URL`);
    }
    cfg.s3 = {
      bucket,
      ...(endpoint === undefined ? {} : { endpoint }),
      region: f['s3-region'] as string,
      pathStyle: (f['s3-path-style'] as boolean | undefined) ?? endpoint !== undefined,
      prefix: f['s3-prefix'] as string,
      requestTimeoutMs: f['s3-request-timeout-ms'] as number,
      maxAttempts: f['s3-max-attempts'] as number,
    };
  }
  if (cfg.metadataStore === 'redis') {
    const url = f['redis-url'] as string | undefined;
    if (!url) throw new UsageError('missing --redis-url (required with --metadata redis)');
    if (!/^rediss?:\/\/.+/.test(url)) throw new UsageError(`invalid value ${JSON.stringify(url)} for --redis-url: expected redis://host:port`);
    cfg.redisUrl = url;
  }
  const mirrorToken = f['mirror-token'] as string | undefined;
  if (mirrorToken !== undefined) {
    if (mirrorToken.length < 16) throw new UsageError('invalid value for --mirror-token: use at least 16 characters');
    cfg.mirrorToken = mirrorToken;
  }
  if (cfg.groupMinSessionTimeoutMs > cfg.groupMaxSessionTimeoutMs) {
    throw new UsageError(`invalid value ${cfg.groupMinSessionTimeoutMs} for --group-min-session-timeout-ms: must not exceed --group-max-session-timeout-ms (${cfg.groupMaxSessionTimeoutMs})`);
  }
  const adv = f['advertised-listener'] as string | undefined;
  if (adv !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(adv);
    if (!m || Number(m[2]) > 65535) throw new UsageError(`invalid value ${JSON.stringify(adv)} for --advertised-listener: expected host:port`);
    cfg.advertisedHost = m[1]!;
    cfg.advertisedPort = Number(m[2]);
  }
  return cfg;
}

/** Defaults, for tests and embedding. */
export function defaultAgentConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return { ...agentConfigFromArgs([], {}), ...overrides };
}
