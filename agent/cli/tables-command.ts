/**
 * `weir tables sync|list|describe|drop`: the table connector and its tables (connectors/tables).
 * Like `weir query`, it works on the stores directly, found with the agent's own flags
 * (--data-dir, --object-store, --metadata, --redis-url, --config, WEIR_* ...), so it needs no
 * running agent and reads exactly what the agents committed (never past a high watermark).
 *
 *   weir tables sync TOPIC... [--once]   compact topics into Parquet (or Arrow) files, continuously,
 *                                        or once up to the current end (a backfill)
 *   weir tables list                     every table: files, rows, bytes, last offsets compacted, lag
 *   weir tables describe TOPIC           per partition: files, rows, bytes, last offset compacted, lag
 *   weir tables drop TOPIC               delete a table's files and manifest (the topic stays)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isWeirError } from '../../core/errors.js';
import { RedisKeys, tableManifestKeys } from '../../core/metadata/redis-keys.js';
import type { TableManifestStore } from '../../core/metadata/table-manifest.js';
import { RedisTableManifestStore } from '../../core/metadata/table-manifest-redis.js';
import { SqliteTableManifestStore } from '../../core/metadata/table-manifest-sqlite.js';
import { topicNameError } from '../../core/metadata/topic-name.js';
import { openTableContext, type TableContext, type TableFormat } from '../../connectors/tables/table-context.js';
import { SCRATCH_BYTES_MAX_DEFAULT, setScratchBytesMax } from '../../connectors/tables/file-access.js';
import { TableSync } from '../../connectors/tables/table-sync.js';
import { AvroValueDecoder, JsonValueDecoder, NoValueDecoder, type AvroFraming, type ValueDecoder } from '../../connectors/tables/value-decoder.js';
import { BullMQQueue, InProcessQueue, type WorkQueue } from '../../connectors/tables/work-queue.js';
import { agentConfigFromArgs, agentFlags, type AgentConfig } from '../config.js';
import { openStores } from '../stores.js';
import { flagsHelp, parseFlags, UsageError, type FlagDef, type FlagValues } from './flags.js';

const MiB = 1024 * 1024;

/** The agent's flags that say where the stores are; parsed by the agent's own config code. */
const STORE_FLAG_NAMES = ['data-dir', 'object-store', 'bucket', 's3-endpoint', 's3-region', 's3-path-style', 's3-prefix', 's3-request-timeout-ms', 's3-max-attempts', 'metadata', 'redis-url'] as const;

export const storeFlags: Record<string, FlagDef> = {
  config: agentFlags.config!,
  ...Object.fromEntries(STORE_FLAG_NAMES.map((n) => [n, agentFlags[n]!])),
};

/** How record values are decoded into columns: the same for sync and query. */
export const decodeFlags: Record<string, FlagDef> = {
  'value-format': { type: 'string', default: 'json', oneOf: ['json', 'avro', 'none'], description: 'decode values into columns: json, avro (with --avro-schema) or none' },
  'avro-schema': { type: 'string', description: 'file holding the Avro writer schema (JSON) for --value-format avro' },
  'avro-framing': { type: 'string', default: 'confluent', oneOf: ['confluent', 'raw'], description: 'Avro values with the Confluent 5-byte header, or raw Avro binary' },
  'columns-max': { type: 'int', default: 1000, min: 1, max: 10_000, description: 'decoded value columns per table at most' },
};

const syncFlags: Record<string, FlagDef> = {
  once: { type: 'bool', default: false, env: false, description: 'compact up to the current end of the topics, then exit (backfill)' },
  format: { type: 'string', default: 'parquet', oneOf: ['parquet', 'arrow'], description: 'table file format: parquet or arrow (Arrow IPC file)' },
  'target-file-bytes': { type: 'bytes', default: 128 * MiB, min: 1024, max: 4096 * MiB, description: 'a range is compacted once this many stored bytes are pending' },
  'max-latency-ms': { type: 'int', default: 60_000, min: 0, max: 86_400_000, description: 'pending records are compacted after this long, however few' },
  'file-rows-max': { type: 'int', default: 1_000_000, min: 1, max: 100_000_000, description: 'records per file at most (bounds memory)' },
  'poll-interval-ms': { type: 'int', default: 1000, min: 10, max: 600_000, description: 'how often topics are checked for new records' },
  'merge-min-files': { type: 'int', default: 8, min: 2, max: 10_000, description: 'adjacent small files merged once there are this many' },
  'retired-grace-ms': { type: 'int', default: 600_000, min: 0, max: 86_400_000, description: 'merged-away files stay readable this long for running queries' },
  'orphan-grace-ms': { type: 'int', default: 600_000, min: 0, max: 86_400_000, description: 'files written but never committed (a killed sync) are deleted after being seen this long' },
  compression: { type: 'string', default: 'zstd', oneOf: ['zstd', 'snappy', 'gzip', 'uncompressed'], description: 'Parquet compression' },
  workers: { type: 'int', default: 1, min: 1, max: 64, description: 'range jobs run at once by this process (Redis mode)' },
  'lock-duration-ms': { type: 'int', default: 30_000, min: 1000, max: 3_600_000, description: 'Redis mode: a job whose worker died is retried after this long' },
  'duckdb-threads': { type: 'int', default: 1, min: 1, max: 64, description: 'DuckDB threads of this process (1: background work beside the agents; more processes scale it)' },
  'scratch-bytes-max': {
    type: 'bytes',
    default: SCRATCH_BYTES_MAX_DEFAULT,
    min: 0,
    env: false,
    description: 'with a non-folder object store (S3): files downloaded for one merge at most (a larger run is not merged)',
  },
  progress: { type: 'bool', env: false, description: 'progress bar on stderr during --once (default: when stderr is a terminal)' },
  'progress-interval-ms': { type: 'int', default: 250, min: 0, max: 60_000, env: false, description: 'the progress bar is redrawn at most this often (its last, 100% line always)' },
};

const usage = `usage: weir tables <command> [TOPIC...] [flags]

commands:
  sync TOPIC...        compact topics into table files continuously (--once: up to now, then exit)
  list                 every table: files, rows, bytes, last offset compacted per partition, lag
  describe TOPIC       per partition: files, rows, bytes, last offset compacted, lag
  drop TOPIC           delete a table's files and manifest (the topic is kept)

store flags (as for weir agent):
${flagsHelp(storeFlags)}
decoding:
${flagsHelp(decodeFlags)}
sync:
${flagsHelp(syncFlags)}`;

export interface TableEnv {
  config: AgentConfig;
  ctx: TableContext;
  format: TableFormat;
  close(): Promise<void>;
}

/** Splits argv into the store flags (for agentConfigFromArgs, with --config) and the rest. */
function storeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const def = storeFlags[name];
    if (def === undefined) continue;
    out.push(a);
    if (eq === -1 && def.type !== 'bool' && argv[i + 1] !== undefined) out.push(argv[++i]!);
    else if (eq === -1 && def.type === 'bool' && /^(true|false|1|0|yes|no)$/.test(argv[i + 1] ?? '')) out.push(argv[++i]!);
  }
  return out;
}

function decoderFrom(f: FlagValues): ValueDecoder {
  switch (f['value-format']) {
    case 'none':
      return new NoValueDecoder();
    case 'avro': {
      const path = f['avro-schema'] as string | undefined;
      if (path === undefined) throw new UsageError('missing --avro-schema (required with --value-format avro)');
      let schema: unknown;
      try {
        schema = JSON.parse(readFileSync(path, 'utf8'));
      } catch (e) {
        throw new UsageError(`invalid value ${JSON.stringify(path)} for --avro-schema: ${(e as Error).message.split('\n')[0]}`);
      }
      try {
        return new AvroValueDecoder(schema, f['avro-framing'] as AvroFraming);
      } catch (e) {
        throw new UsageError(`invalid value ${JSON.stringify(path)} for --avro-schema: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    default:
      return new JsonValueDecoder();
  }
}

/** Opens the stores, the manifest and DuckDB as the agent's flags describe them. */
export async function openTableEnv(argv: readonly string[], f: FlagValues): Promise<TableEnv> {
  const config = agentConfigFromArgs(storeArgv(argv));
  const decoder = decoderFrom(f);
  const quiet = (): void => undefined;
  const stores = await openStores(config, (level, msg) => {
    if (level === 'warn' || level === 'error') process.stderr.write(`weir: ${msg}\n`);
    else quiet();
  });
  let manifest: TableManifestStore;
  try {
    manifest = config.metadataStore === 'redis' ? new RedisTableManifestStore({ url: config.redisUrl! }) : new SqliteTableManifestStore(join(config.dataDir, 'metadata.sqlite'));
  } catch (e) {
    await stores.metadata.close();
    await stores.objects.close();
    throw e;
  }
  const format = ((f.format as string | undefined) ?? 'parquet') as TableFormat;
  const ctx = await openTableContext({
    metadata: stores.metadata,
    objects: stores.objects,
    manifest,
    settings: { format, decoder, columnsMax: f['columns-max'] as number, compression: (f.compression as string | undefined) ?? 'zstd' },
    ...(config.objectStore === 'fs' ? { objectsRoot: join(config.dataDir, 'objects') } : {}),
    ...(f['duckdb-threads'] !== undefined ? { duckdb: { threads: f['duckdb-threads'] as number } } : {}),
  });
  return {
    config,
    ctx,
    format,
    async close() {
      await ctx.close();
      await manifest.close();
      await stores.metadata.close();
      await stores.objects.close();
    },
  };
}

function parseTopics(names: string[], sub: string, min: number, max = Infinity): string[] {
  if (names.length < min) throw new UsageError(`weir tables ${sub} needs ${min === 1 && max === 1 ? 'a topic' : 'at least one topic'}`);
  if (names.length > max) throw new UsageError(`weir tables ${sub} takes one topic, got ${names.length}`);
  for (const n of names) {
    const error = topicNameError(n);
    if (error !== null) throw new UsageError(`invalid topic ${JSON.stringify(n)}: ${error}`);
  }
  return names;
}

/**
 * The backfill's progress bar: offsets committed to the table of those below the high watermarks
 * seen at start, redrawn in place (\r) at most once per intervalMs and only when its text changes;
 * the final line (all done) is always drawn and ends with a newline.
 */
export function progressBar(write: (s: string) => void, intervalMs: number, now: () => number = Date.now): (done: number, total: number) => void {
  let lastDrawMs = -Infinity;
  let lastText = '';
  let finished = false;
  return (done, total) => {
    if (finished) return;
    const d = Math.min(Math.max(0, done), total);
    const final = d >= total;
    const t = now();
    if (!final && t - lastDrawMs < intervalMs) return;
    const pct = total === 0 ? 100 : Math.floor((d / total) * 100);
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${d}/${total} offsets`;
    if (text === lastText && !final) return;
    lastDrawMs = t;
    lastText = text;
    finished = final;
    write(`\r${text}${final ? '\n' : ''}`);
  };
}

async function sync(argv: readonly string[], f: FlagValues, topics: string[]): Promise<number> {
  const env = await openTableEnv(argv, f);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let queue: WorkQueue | null = null;
  try {
    const { ctx, config } = env;
    setScratchBytesMax(ctx, f['scratch-bytes-max'] as number);
    queue =
      config.metadataStore === 'redis'
        ? new BullMQQueue(ctx, config.redisUrl!, tableManifestKeys(new RedisKeys('weir')).queuePrefix, { concurrency: f.workers as number, lockDurationMs: f['lock-duration-ms'] as number })
        : new InProcessQueue(ctx);
    const once = f.once as boolean;
    const showProgress = (f.progress as boolean | undefined) ?? (once && process.stderr.isTTY === true);
    const runner = new TableSync(ctx, queue, {
      topics,
      once,
      targetFileBytes: f['target-file-bytes'] as number,
      fileRowsMax: f['file-rows-max'] as number,
      maxLatencyMs: f['max-latency-ms'] as number,
      pollIntervalMs: f['poll-interval-ms'] as number,
      mergeMinFiles: f['merge-min-files'] as number,
      retiredGraceMs: f['retired-grace-ms'] as number,
      orphanGraceMs: f['orphan-grace-ms'] as number,
      ...(showProgress && once ? { onProgress: progressBar((t) => process.stderr.write(t), f['progress-interval-ms'] as number), progressIntervalMs: Math.max(10, f['progress-interval-ms'] as number) } : {}),
      signal: abort.signal,
    });
    if (!once) process.stderr.write(`weir tables: syncing ${topics.join(', ')} (${config.metadataStore === 'redis' ? 'BullMQ workers' : 'in-process'})\n`);
    await runner.run();
    const s = queue.stats;
    process.stderr.write(`weir tables: committed ${s.ranges} ranges, ${s.rows} rows in this process${s.conflicts ? ` (${s.conflicts} ranges were already committed by another writer)` : ''}\n`);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await queue?.close();
    await env.close();
  }
}

interface TableSummary {
  topic: string;
  files: number;
  rows: number;
  bytes: number;
  deadLetters: number;
  partitions: { partition: number; files: number; rows: number; bytes: number; lastCompacted: number | null; highWatermark: number; lag: number }[];
}

async function summarize(env: TableEnv, topic: string): Promise<TableSummary | null> {
  const { ctx } = env;
  const info = await ctx.metadata.getTopic(topic);
  const state = await ctx.manifest.getTable(topic);
  if (state === null && info === null) return null;
  const s: TableSummary = { topic, files: 0, rows: 0, bytes: 0, deadLetters: 0, partitions: [] };
  const count = Math.max(info?.partitions ?? 0, ...[...(state?.nextOffsets.keys() ?? [])].map((p) => p + 1));
  for (let p = 0; p < count; p++) {
    const files = (state?.files ?? []).filter((x) => x.partition === p);
    const data = files.filter((x) => x.kind === 'data');
    const next = state?.nextOffsets.get(p);
    const ps = info ? await ctx.metadata.getPartitionState(topic, p) : null;
    const hwm = ps?.highWatermark ?? 0;
    const row = {
      partition: p,
      files: data.length,
      rows: data.reduce((n, x) => n + x.rowCount, 0),
      bytes: data.reduce((n, x) => n + x.sizeBytes, 0),
      lastCompacted: next === undefined ? null : next - 1,
      highWatermark: hwm,
      lag: Math.max(0, hwm - (next ?? ps?.logStartOffset ?? 0)),
    };
    s.files += row.files;
    s.rows += row.rows;
    s.bytes += row.bytes;
    s.deadLetters += files.filter((x) => x.kind === 'dead-letter').reduce((n, x) => n + x.rowCount, 0);
    s.partitions.push(row);
  }
  return s;
}

/** Partitions shown by name in the list's LAST-COMPACTED cell; describe shows every one. */
const LIST_PARTITIONS_MAX = 8;

/** `partition:last offset compacted` per partition ('-' for none yet), e.g. `0:499 1:-`. */
function lastCompactedCell(s: TableSummary): string {
  const cells = s.partitions.slice(0, LIST_PARTITIONS_MAX).map((p) => `${p.partition}:${p.lastCompacted === null ? '-' : p.lastCompacted}`);
  const more = s.partitions.length - LIST_PARTITIONS_MAX;
  return cells.join(' ') + (more > 0 ? ` (+${more} more: weir tables describe ${s.topic})` : '');
}

export function alignTable(header: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export async function tablesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return sub === undefined ? 2 : 0;
  }
  const subs = ['sync', 'list', 'describe', 'drop'];
  if (!subs.includes(sub)) throw new UsageError(`unknown tables command ${JSON.stringify(sub)} (expected sync, list, describe or drop)`);
  const defs = { ...storeFlags, ...decodeFlags, ...(sub === 'sync' ? syncFlags : {}), ...(sub === 'sync' ? {} : { json: { type: 'bool', env: false, description: 'print JSON' } as FlagDef }) };
  // --config is read by agentConfigFromArgs (it may hold agent-only settings); only check it here.
  const { flags: f, positionals } = parseFlags(rest.filter((a, i) => a !== '--config' && rest[i - 1] !== '--config' && !a.startsWith('--config=')), defs);
  try {
    if (sub === 'sync') return await sync(rest, f, parseTopics(positionals, sub, 1));
    const env = await openTableEnv(rest, f);
    try {
      if (sub === 'drop') {
        const [topic] = parseTopics(positionals, sub, 1, 1);
        const keys = await env.ctx.manifest.dropTable(topic!);
        for (const k of keys) await env.ctx.objects.delete(k);
        process.stdout.write(`dropped the table of ${topic} (${keys.length} files)\n`);
        return 0;
      }
      if (sub === 'list') {
        parseTopics(positionals, sub, 0, 0);
        const summaries: TableSummary[] = [];
        for (const t of await env.ctx.manifest.listTables()) {
          const s = await summarize(env, t);
          if (s) summaries.push(s);
        }
        if (f.json)
          process.stdout.write(
            `${JSON.stringify(
              summaries.map(({ partitions, ...rest }) => ({
                ...rest,
                lastCompacted: Object.fromEntries(partitions.map((p) => [String(p.partition), p.lastCompacted])),
                lag: partitions.reduce((n, p) => n + p.lag, 0),
              })),
            )}\n`,
          );
        else
          process.stdout.write(
            alignTable(
              ['TABLE', 'FILES', 'ROWS', 'BYTES', 'DEAD-LETTERS', 'LAST-COMPACTED', 'LAG'],
              summaries.map((s) => [s.topic, String(s.files), String(s.rows), String(s.bytes), String(s.deadLetters), lastCompactedCell(s), String(s.partitions.reduce((n, p) => n + p.lag, 0))]),
              [false, true, true, true, true, false, true],
            ),
          );
        return 0;
      }
      const [topic] = parseTopics(positionals, sub, 1, 1);
      const s = await summarize(env, topic!);
      if (s === null) {
        process.stderr.write(`weir: unknown topic ${JSON.stringify(topic)}\n`);
        return 1;
      }
      if (f.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else {
        process.stdout.write(`table ${s.topic}: ${s.files} files, ${s.rows} rows, ${s.bytes} bytes, ${s.deadLetters} dead letters\n`);
        process.stdout.write(
          alignTable(
            ['PARTITION', 'FILES', 'ROWS', 'BYTES', 'LAST-COMPACTED', 'HIGH-WATERMARK', 'LAG'],
            s.partitions.map((p) => [String(p.partition), String(p.files), String(p.rows), String(p.bytes), p.lastCompacted === null ? '-' : String(p.lastCompacted), String(p.highWatermark), String(p.lag)]),
            [true, true, true, true, true, true, true],
          ),
        );
      }
      return 0;
    } finally {
      await env.close();
    }
  } catch (e) {
    if (isWeirError(e, 'not_found') || isWeirError(e, 'conflict')) {
      process.stderr.write(`weir: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
