/**
 * `weir mirror` — copies topics from a Kafka cluster into Weir, offsets preserved
 * (connectors/mirror/), and `weir mirror status|promote`.
 *
 *   weir mirror --source-brokers k1:9092,k2:9092 --topics 'orders.*' --exclude '.*-tmp' \
 *     --groups 'billing-.*' --bootstrap-server weir:9092 --mirror-token "$TOKEN"
 *   weir mirror status [--topics REGEX] [--json]
 *   weir mirror promote TOPIC...
 *
 * Workers: without --redis-url the mirror runs embedded, --workers copy loops in this process
 * splitting the partitions in memory; with --redis-url every process is one worker and the
 * workers of the same --source-name split the partitions through Redis (leases with fencing
 * tokens, core/coordination). A bad flag is one line on stderr and exit 2.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Coordination } from '../../core/coordination/coordination.js';
import { MemoryCoordination } from '../../core/coordination/memory-coordination.js';
import { SourceCluster, WeirTarget, type HostPort } from '../../connectors/mirror/clusters.js';
import { Mirror, type PartitionProgress } from '../../connectors/mirror/mirror.js';
import type { SaslMechanism, SaslOptions } from '../../core/client/sasl.js';
import { flagsHelp, parseFlags, UsageError, type FlagDef, type FlagValues } from './flags.js';

const MiB = 1024 * 1024;

const targetFlags: Record<string, FlagDef> = {
  'bootstrap-server': { type: 'string', default: '127.0.0.1:9092', description: 'the Weir agent to write to, host:port' },
  'mirror-token': { type: 'string', description: 'the agents\' --mirror-token (env WEIR_MIRROR_TOKEN)' },
};

const sourceFlags: Record<string, FlagDef> = {
  'source-brokers': { type: 'string', description: 'source Kafka brokers, host:port,host:port,...' },
  'source-tls': { type: 'bool', default: false, description: 'TLS to the source brokers' },
  'source-tls-ca': { type: 'string', description: 'PEM file of CAs to trust for the source (default: the system\'s)' },
  'source-tls-cert': { type: 'string', description: 'PEM client certificate for the source (mutual TLS)' },
  'source-tls-key': { type: 'string', description: 'PEM client key for the source (mutual TLS)' },
  'source-tls-insecure': { type: 'bool', default: false, description: 'do not verify the source\'s certificate (testing only)' },
  'source-sasl-mechanism': { type: 'string', oneOf: ['plain', 'scram-sha-256', 'scram-sha-512'], description: 'SASL mechanism for the source' },
  'source-sasl-username': { type: 'string', description: 'SASL username' },
  'source-sasl-password': { type: 'string', description: 'SASL password (env WEIR_SOURCE_SASL_PASSWORD)' },
  'source-name': { type: 'string', description: 'names the source on Weir\'s mirror topics and the worker group (default: its cluster id)' },
  topics: { type: 'string', default: '.*', description: 'regex of source topics to mirror (whole name)' },
  exclude: { type: 'string', description: 'regex of topics to leave out (whole name)' },
};

const runFlags: Record<string, FlagDef> = {
  groups: { type: 'string', description: 'regex of consumer groups whose committed offsets are synced (whole name)' },
  'group-sync-interval-ms': { type: 'int', default: 10_000, min: 100, max: 3_600_000, description: 'how often group offsets are synced' },
  'discovery-interval-ms': { type: 'int', default: 10_000, min: 100, max: 3_600_000, description: 'how often new topics and partitions are looked for' },
  'fetch-max-bytes': { type: 'bytes', default: 16 * MiB, min: 64 * 1024, max: 256 * MiB, description: 'bytes per source fetch' },
  'partition-fetch-max-bytes': { type: 'bytes', default: 4 * MiB, min: 16 * 1024, max: 64 * MiB, description: 'bytes per partition per source fetch' },
  'fetch-max-wait-ms': { type: 'int', default: 500, min: 0, max: 30_000, description: 'how long a source fetch waits for data' },
  lanes: { type: 'int', default: 4, min: 1, max: 16, description: 'copy loops per source broker, each writing its share of the partitions concurrently' },
  workers: { type: 'int', default: 1, min: 1, max: 64, description: 'copy workers in this process (embedded mode, without --redis-url)' },
  'redis-url': { type: 'string', description: 'Redis that splits partitions among mirror processes (one worker each)' },
  'redis-namespace': { type: 'string', default: 'weir', description: 'namespace of the coordination keys in Redis' },
  'worker-id': { type: 'string', description: 'this worker\'s id (default: host-pid)' },
  progress: { type: 'bool', description: 'progress bar on stderr (default: when stderr is a terminal)' },
  'log-level': { type: 'string', default: 'info', oneOf: ['error', 'warn', 'info', 'debug'], description: 'log verbosity (stderr)' },
};

const statusFlags: Record<string, FlagDef> = {
  'interval-ms': { type: 'int', default: 2000, min: 100, max: 60_000, description: 'throughput is measured over this long' },
  json: { type: 'bool', default: false, description: 'print JSON' },
};

const usage = `usage: weir mirror [flags]              copy topics from Kafka into Weir, offsets preserved
       weir mirror status [flags]       per-partition lag (records, time) and throughput
       weir mirror promote TOPIC...     make mirror topics writable (the mirror stops copying them)

target:
${flagsHelp(targetFlags)}
source:
${flagsHelp(sourceFlags)}
mirror:
${flagsHelp(runFlags)}
status:
${flagsHelp(statusFlags)}`;

export function parseHostPorts(raw: string, flag: string): HostPort[] {
  const out = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`invalid value ${JSON.stringify(s)} for --${flag}: expected host:port`);
    return { host: m[1]!, port: Number(m[2]) };
  });
  if (out.length === 0) throw new UsageError(`invalid value ${JSON.stringify(raw)} for --${flag}: expected host:port`);
  return out;
}

function regexFlag(f: FlagValues, name: string): RegExp | null {
  const raw = f[name] as string | undefined;
  if (raw === undefined) return null;
  try {
    // Whole names, like MirrorMaker's and Cluster Linking's filters: "orders" must not match "orders-dlq".
    return new RegExp(`^(?:${raw})$`);
  } catch (e) {
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for --${name}: ${(e as Error).message}`);
  }
}

function readPem(f: FlagValues, name: string): string | undefined {
  const path = f[name] as string | undefined;
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`invalid value ${JSON.stringify(path)} for --${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

interface SourceSettings {
  brokers: HostPort[];
  tls: TlsOptions | null;
  sasl: SaslOptions | null;
}

function sourceSettings(f: FlagValues): SourceSettings {
  const raw = f['source-brokers'] as string | undefined;
  if (raw === undefined) throw new UsageError('missing --source-brokers (host:port,...)');
  const brokers = parseHostPorts(raw, 'source-brokers');
  const tlsWanted = (f['source-tls'] as boolean) || ['source-tls-ca', 'source-tls-cert', 'source-tls-key'].some((k) => f[k] !== undefined);
  let tls: TlsOptions | null = null;
  if (tlsWanted) {
    const ca = readPem(f, 'source-tls-ca');
    const cert = readPem(f, 'source-tls-cert');
    const key = readPem(f, 'source-tls-key');
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('--source-tls-cert and --source-tls-key go together');
    tls = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: !(f['source-tls-insecure'] as boolean) };
  }
  const mechanism = f['source-sasl-mechanism'] as SaslMechanism | undefined;
  let sasl: SaslOptions | null = null;
  if (mechanism !== undefined) {
    const username = f['source-sasl-username'] as string | undefined;
    const password = f['source-sasl-password'] as string | undefined;
    if (!username) throw new UsageError('missing --source-sasl-username (required with --source-sasl-mechanism)');
    if (password === undefined) throw new UsageError('missing --source-sasl-password (required with --source-sasl-mechanism; or env WEIR_SOURCE_SASL_PASSWORD)');
    sasl = { mechanism, username, password };
  } else if (f['source-sasl-username'] !== undefined) {
    throw new UsageError('--source-sasl-username needs --source-sasl-mechanism (plain, scram-sha-256 or scram-sha-512)');
  }
  return { brokers, tls, sasl };
}

function mirrorToken(f: FlagValues): string {
  const token = f['mirror-token'] as string | undefined;
  if (!token) throw new UsageError('missing --mirror-token (the agents\' --mirror-token; or env WEIR_MIRROR_TOKEN)');
  return token;
}

export async function mirrorCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const sub = argv[0] === 'status' || argv[0] === 'promote' ? argv[0] : 'run';
  const rest = sub === 'run' ? argv : argv.slice(1);
  const defs = sub === 'run' ? { ...targetFlags, ...sourceFlags, ...runFlags } : sub === 'status' ? { ...targetFlags, ...sourceFlags, ...statusFlags } : { ...targetFlags, 'source-name': sourceFlags['source-name']! };
  const { flags: f, positionals } = parseFlags(rest, defs);
  if (sub === 'run' && positionals.length > 0) throw new UsageError(`unknown mirror command ${JSON.stringify(positionals[0])} (expected status or promote, or flags)`);
  const target = parseHostPorts(f['bootstrap-server'] as string, 'bootstrap-server')[0]!;
  const token = mirrorToken(f);
  if (sub === 'promote') return promote(target, token, positionals);
  if (sub === 'status') return status(target, token, sourceSettings(f), f);
  return run(target, token, sourceSettings(f), f);
}

// ---------------------------------------------------------------------------------------------

async function run(target: HostPort, token: string, source: SourceSettings, f: FlagValues): Promise<number> {
  const topics = regexFlag(f, 'topics')!;
  const exclude = regexFlag(f, 'exclude');
  const groups = regexFlag(f, 'groups');
  const levels = ['error', 'warn', 'info', 'debug'];
  const maxLevel = levels.indexOf(f['log-level'] as string);
  let bar: ProgressBar | null = null;
  const log = (level: 'error' | 'warn' | 'info' | 'debug', msg: string): void => {
    if (levels.indexOf(level) > maxLevel) return;
    bar?.clear();
    process.stderr.write(`${new Date().toISOString()} ${level} mirror: ${msg}\n`);
  };
  const redisUrl = f['redis-url'] as string | undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl)) throw new UsageError(`invalid value ${JSON.stringify(redisUrl)} for --redis-url: expected redis://host:port`);
  const workers = redisUrl === undefined ? (f.workers as number) : 1;
  if (redisUrl !== undefined && (f.workers as number) > 1) throw new UsageError('--workers applies to embedded mode; with --redis-url run one process per worker');
  // ioredis is loaded only when asked for: embedded mode starts faster without it.
  const coordination: Coordination =
    redisUrl === undefined
      ? new MemoryCoordination()
      : new (await import('../../core/coordination/redis-coordination.js')).RedisCoordination({ url: redisUrl, namespace: f['redis-namespace'] as string });
  const baseId = (f['worker-id'] as string | undefined) ?? `${hostname()}-${process.pid}`;
  const mirrors = Array.from({ length: workers }, (_, i) =>
    new Mirror({
      sourceBrokers: source.brokers,
      sourceTls: source.tls,
      sourceSasl: source.sasl,
      target,
      token,
      ...(f['source-name'] !== undefined ? { sourceName: f['source-name'] as string } : {}),
      topics,
      exclude,
      groups,
      discoveryIntervalMs: f['discovery-interval-ms'] as number,
      groupSyncIntervalMs: f['group-sync-interval-ms'] as number,
      fetchMaxBytes: f['fetch-max-bytes'] as number,
      partitionFetchMaxBytes: f['partition-fetch-max-bytes'] as number,
      fetchMaxWaitMs: f['fetch-max-wait-ms'] as number,
      lanesPerBroker: f.lanes as number,
      coordination,
      workerId: workers === 1 ? baseId : `${baseId}-${i}`,
      log,
    }),
  );
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping');
    await Promise.allSettled(mirrors.map((m) => m.stop()));
    await coordination.close().catch(() => undefined);
  };
  const done = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => void stop().then(resolve));
    process.once('SIGINT', () => void stop().then(resolve));
  });
  try {
    for (const m of mirrors) await m.start();
  } catch (e) {
    await stop();
    throw new Error(`cannot start the mirror: ${(e as Error).message}`);
  }
  log('info', `mirroring ${source.brokers.map((b) => `${b.host}:${b.port}`).join(',')} (${mirrors[0]!.sourceClusterName}) into ${target.host}:${target.port} with ${workers} worker(s)`);
  const showBar = (f.progress as boolean | undefined) ?? process.stderr.isTTY === true;
  let timer: NodeJS.Timeout | null = null;
  if (showBar) {
    bar = new ProgressBar();
    timer = setInterval(() => bar!.draw(mirrors.flatMap((m) => m.progress()), mirrors.reduce((n, m) => n + m.bytesWritten, 0)), 500);
  }
  await done;
  if (timer) clearInterval(timer);
  bar?.clear();
  return 0;
}

/**
 * The initial copy's progress on stderr: records copied of those that were behind when each
 * partition started, over every partition of this process, and the write rate. Drawn only while
 * something is behind, so a caught-up mirror's terminal stays quiet.
 */
class ProgressBar {
  private drawn = false;
  private last: { atMs: number; bytes: number } | null = null;

  draw(parts: PartitionProgress[], bytes: number): void {
    let total = 0;
    let done = 0;
    for (const p of parts) {
      if (p.startedAt === null || p.sourceEnd < 0) continue;
      total += Math.max(0, p.sourceEnd - p.startedAt);
      done += Math.max(0, Math.min(p.sourceEnd, p.next ?? p.targetHighWatermark) - p.startedAt);
    }
    const now = Date.now();
    const rate = this.last === null ? 0 : ((bytes - this.last.bytes) / MiB / Math.max(0.001, (now - this.last.atMs) / 1000));
    this.last = { atMs: now, bytes };
    if (total === 0 || done >= total) {
      this.clear();
      return;
    }
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / total).toFixed(1)}% ${done}/${total} records, ${rate.toFixed(1)} MiB/s, ${parts.length} partitions `);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}

// ---------------------------------------------------------------------------------------------

async function promote(target: HostPort, token: string, topics: string[]): Promise<number> {
  if (topics.length === 0) throw new UsageError('weir mirror promote needs at least one TOPIC');
  const weir = new WeirTarget(target, token, { clientId: 'weir-cli', timeoutMs: 15_000, responseBytesMax: 16 * MiB });
  try {
    const results = await weir.mirrorTopics(1, 'cli', topics.map((name) => ({ name, partitions: 0, configs: {} })));
    let failed = 0;
    for (const r of results) {
      if (r.errorCode) {
        failed++;
        process.stderr.write(`weir: cannot promote ${r.name}: ${r.errorMessage ?? `error ${r.errorCode}`}\n`);
      } else {
        process.stdout.write(`promoted ${r.name} (mirror of ${r.sourceCluster ?? '?'}): it takes produces now; the mirror no longer copies it\n`);
      }
    }
    return failed > 0 ? 1 : 0;
  } catch (e) {
    throw new Error(`cannot reach ${target.host}:${target.port}: ${(e as Error).message}`);
  } finally {
    weir.close();
  }
}

interface StatusRow {
  topic: string;
  partition: number;
  state: 'mirroring' | 'promoted';
  sourceEnd: number;
  weirHighWatermark: number;
  lagRecords: number;
  /** Age of the oldest source record not on Weir yet, ms; 0 when caught up, null if unknown. */
  lagMs: number | null;
  recordsPerSecond: number;
}

async function status(target: HostPort, token: string, source: SourceSettings, f: FlagValues): Promise<number> {
  const topicsRe = regexFlag(f, 'topics')!;
  const exclude = regexFlag(f, 'exclude');
  const intervalMs = f['interval-ms'] as number;
  const src = new SourceCluster(source.brokers, { clientId: 'weir-cli', timeoutMs: 15_000, tls: source.tls, sasl: source.sasl, responseBytesMax: 64 * MiB });
  const weir = new WeirTarget(target, token, { clientId: 'weir-cli', timeoutMs: 15_000, responseBytesMax: 16 * MiB });
  try {
    const meta = await src.metadata();
    const names = [...meta.topics.keys()].filter((n) => !n.startsWith('__') && topicsRe.test(n) && !(exclude?.test(n) ?? false)).sort();
    const described = names.length === 0 ? [] : await weir.mirrorTopics(2, 'cli', names.map((name) => ({ name, partitions: 0, configs: {} })));
    const mirrored = described.filter((d) => !d.errorCode && d.mirrorState !== 0);
    const parts = mirrored.flatMap((d) => Array.from({ length: d.numPartitions! }, (_, partition) => ({ topic: d.name!, partition })));
    const before = await weir.listOffsets(parts, -1n);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, intervalMs));
    const [after, sourceEnds] = await Promise.all([weir.listOffsets(parts, -1n), src.listOffsets(parts, -1n)]);
    const seconds = (Date.now() - t0) / 1000;
    const rows: StatusRow[] = [];
    for (const p of parts) {
      const k = `${p.topic}\u0000${p.partition}`;
      const hw = after.get(k) ?? -1;
      const end = sourceEnds.get(k) ?? -1;
      const lag = end >= 0 && hw >= 0 ? Math.max(0, end - hw) : -1;
      const state = mirrored.find((d) => d.name === p.topic)!.mirrorState === 1 ? 'mirroring' : 'promoted';
      const lagMs = lag === 0 ? 0 : lag > 0 ? await oldestPendingAgeMs(src, meta.topics.get(p.topic)?.leaders[p.partition] ?? -1, p.topic, p.partition, hw) : null;
      rows.push({ topic: p.topic, partition: p.partition, state, sourceEnd: end, weirHighWatermark: hw, lagRecords: lag, lagMs, recordsPerSecond: Math.max(0, (hw - (before.get(k) ?? hw)) / seconds) });
    }
    if (f.json as boolean) {
      process.stdout.write(`${JSON.stringify({ source: meta.clusterId, partitions: rows, recordsPerSecond: rows.reduce((n, r) => n + r.recordsPerSecond, 0) }, null, 2)}\n`);
      return 0;
    }
    const header = ['TOPIC', 'PARTITION', 'STATE', 'SOURCE-END', 'WEIR-END', 'LAG', 'LAG-TIME', 'RECORDS/S'];
    const table = rows.map((r) => [r.topic, String(r.partition), r.state, String(r.sourceEnd), String(r.weirHighWatermark), String(r.lagRecords), r.lagMs === null ? '-' : `${(r.lagMs / 1000).toFixed(1)}s`, r.recordsPerSecond.toFixed(0)]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    for (const row of [header, ...table]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    const total = rows.reduce((n, r) => n + r.recordsPerSecond, 0);
    process.stdout.write(`${rows.length} partitions of ${mirrored.length} mirror topics; lag ${rows.reduce((n, r) => n + Math.max(0, r.lagRecords), 0)} records; ${total.toFixed(0)} records/s\n`);
    return 0;
  } finally {
    src.close();
    weir.close();
  }
}

/** How old the first source record at or after `offset` is: the lag in time. */
async function oldestPendingAgeMs(src: SourceCluster, leader: number, topic: string, partition: number, offset: number): Promise<number | null> {
  if (leader < 0 || offset < 0) return null;
  try {
    const [f] = (await src.fetch(leader, [{ topic, partition, offset }], { maxWaitMs: 0, maxBytes: MiB, partitionMaxBytes: MiB })).partitions;
    const rec = f?.records;
    if (!rec || rec.length < 61) return null;
    // The batch's first timestamp (baseTimestamp, at byte 27): the oldest record not yet copied.
    return Math.max(0, Date.now() - Number(rec.readBigInt64BE(27)));
  } catch {
    return null;
  }
}
