/**
 * Merges small table files into larger ones (the Kafka Connect S3 sink's "many small files"
 * problem, which a max latency on quiet topics would otherwise cause), with a manifest swap:
 * the merged file is written first, then commitMerge replaces the small files by it atomically.
 * Queries that listed the small files a moment earlier still read them: they are only retired,
 * and deleted after retiredGraceMs. A run of files is merged once it has mergeMinFiles files
 * each below half the target size, adjacent in offsets, and together within the target size.
 *
 * Both formats merge, each into its own format (a run never mixes them): Parquet through DuckDB
 * (read_parquet, cast to the run's merged schema, COPY), Arrow IPC through apache-arrow
 * (file-writers.ts mergeArrowFiles: record batches kept as they are, only columns whose type
 * widened rebuilt).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isWeirError } from '../../core/errors.js';
import type { CommittedTableFile, TableFileFormat } from '../../core/metadata/table-manifest.js';
import { tableFileKey } from '../../core/storage/paths.js';
import { ident, literal } from './duckdb-session.js';
import { localFiles } from './file-access.js';
import { mergeArrowFiles } from './file-writers.js';
import { removeUnreferenced } from './range-compactor.js';
import type { TableContext } from './table-context.js';
import { duckdbType, mergeSchemas, schemaFromJson, schemaToJson, EMPTY_SCHEMA, type ValueSchema } from './table-schema.js';

export interface MergeSettings {
  targetFileBytes: number;
  mergeMinFiles: number;
}

let mergeCounter = 0;

/**
 * Finds the runs to merge in one partition's live data files of one format (a file of the other
 * format between two breaks adjacency, so a run is always of one format).
 */
export function findMergeRuns(files: CommittedTableFile[], s: MergeSettings, format: TableFileFormat = 'parquet'): CommittedTableFile[][] {
  const sorted = files.filter((f) => f.kind === 'data' && f.format === format).sort((a, b) => a.firstOffset - b.firstOffset);
  const runs: CommittedTableFile[][] = [];
  let run: CommittedTableFile[] = [];
  let bytes = 0;
  const close = (): void => {
    if (run.length >= s.mergeMinFiles) runs.push(run);
    run = [];
    bytes = 0;
  };
  for (const f of sorted) {
    const small = f.sizeBytes < s.targetFileBytes / 2;
    const adjacent = run.length === 0 || run[run.length - 1]!.lastOffset + 1 === f.firstOffset;
    if (!small || !adjacent || bytes + f.sizeBytes > s.targetFileBytes) close();
    if (small) {
      run.push(f);
      bytes += f.sizeBytes;
    }
  }
  close();
  return runs;
}

/** The SELECT list giving every column its type in `schema` (files may hold a narrower type or lack the column). */
export function castList(schema: ValueSchema, present: ReadonlySet<string> | null): string {
  const fixedCols = ['partition', '"offset"', '"timestamp"', '"key"', '"headers"', '"value"'];
  const cols = schema.columns.map((c) =>
    present === null || present.has(c.name) ? `CAST(${ident(c.name)} AS ${duckdbType(c.type)}) AS ${ident(c.name)}` : `CAST(NULL AS ${duckdbType(c.type)}) AS ${ident(c.name)}`,
  );
  return [...fixedCols, ...cols].join(', ');
}

/** Merges every eligible run of the topic's table; returns how many merges committed. */
export async function mergeSmallFiles(ctx: TableContext, topic: string, s: MergeSettings): Promise<number> {
  const state = await ctx.manifest.getTable(topic);
  if (state === null) return 0;
  let merged = 0;
  const byPartition = new Map<number, CommittedTableFile[]>();
  for (const f of state.files) (byPartition.get(f.partition) ?? byPartition.set(f.partition, []).get(f.partition)!).push(f);
  for (const [partition, files] of byPartition) {
    for (const format of ['parquet', 'arrow'] as const) {
      for (const run of findMergeRuns(files, s, format)) {
        try {
          if (await mergeRun(ctx, topic, partition, format, run)) merged++;
        } catch (e) {
          // A run too large for the scratch limit (file-access.ts) stays as it is; the table is whole either way.
          if (!isWeirError(e, 'too_large')) throw e;
          ctx.log('warn', `not merging ${run.length} files of ${topic}/${partition}: ${e.message}`);
        }
      }
    }
  }
  return merged;
}

/**
 * Writes the merged file of one run, then swaps it in (commitMerge). Crash-safe at every step:
 * killed before the commit, the merged object is unreferenced (the next merge of the same run
 * overwrites it, as its key is the run's offset range; or the orphan sweeper deletes it), and the
 * small files are still the table; after the commit, the small files are retired. A commit the
 * manifest refuses (another process merged or changed these files first) deletes our output
 * unless the winner committed the same key. Returns whether the merge committed.
 */
async function mergeRun(ctx: TableContext, topic: string, partition: number, format: 'parquet' | 'arrow', run: CommittedTableFile[]): Promise<boolean> {
  let schema = EMPTY_SCHEMA;
  for (const f of run) schema = mergeSchemas(schema, schemaFromJson(f.schema));
  const first = run[0]!;
  const last = run[run.length - 1]!;
  const key = tableFileKey({ topic, partition, firstOffset: first.firstOffset, lastOffset: last.lastOffset, timeMs: Math.max(first.minTimestampMs ?? 0, 0), format });
  const body = format === 'parquet' ? await mergeParquet(ctx, run, schema) : await mergeArrow(ctx, run, schema);
  await ctx.objects.put(key, body);
  const mins = run.map((f) => f.minTimestampMs).filter((t): t is number => t !== null);
  const maxs = run.map((f) => f.maxTimestampMs).filter((t): t is number => t !== null);
  const ok = await ctx.manifest.commitMerge(topic, {
    remove: run.map((f) => f.key),
    add: {
      key,
      kind: 'data',
      format,
      partition,
      firstOffset: first.firstOffset,
      lastOffset: last.lastOffset,
      rowCount: run.reduce((n, f) => n + f.rowCount, 0),
      sizeBytes: body.byteLength,
      minTimestampMs: mins.length ? Math.min(...mins) : null,
      maxTimestampMs: maxs.length ? Math.max(...maxs) : null,
      schema: schemaToJson(schema),
    },
  });
  if (!ok) await removeUnreferenced(ctx, topic, [key]);
  return ok;
}

/** The run's Parquet files as one, through DuckDB: every column cast to the merged type, in offset order. */
async function mergeParquet(ctx: TableContext, run: CommittedTableFile[], schema: ValueSchema): Promise<Buffer> {
  const local = await localFiles(ctx, run, `the ${run.length} files of a merge`);
  const paths = local.paths;
  const out = join(ctx.tempDir, `merge-${process.pid}-${mergeCounter++}.parquet`);
  try {
    const source = `read_parquet([${paths.map(literal).join(', ')}], union_by_name = true)`;
    const present = new Set(((await ctx.duck.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRows() as unknown[][]).map((r) => String(r[0])));
    await ctx.duck.run(
      `COPY (SELECT ${castList(schema, present)} FROM ${source} ORDER BY "offset") TO ${literal(out)} (FORMAT parquet, COMPRESSION ${ctx.settings.compression})`,
    );
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
    await local.release();
  }
}

/**
 * The run's Arrow IPC files as one. Files are read one at a time from the store (the run is at
 * most the target size, so it is held once in memory, plus the output it becomes).
 */
async function mergeArrow(ctx: TableContext, run: CommittedTableFile[], schema: ValueSchema): Promise<Uint8Array> {
  const sources: Uint8Array[] = [];
  for (const f of run) sources.push(await ctx.objects.get(f.key));
  return mergeArrowFiles(sources, schema);
}

/** Deletes files merges retired more than graceMs ago, then forgets them. */
export async function purgeRetiredFiles(ctx: TableContext, topic: string, graceMs: number, nowMs: number): Promise<number> {
  const state = await ctx.manifest.getTable(topic);
  if (state === null) return 0;
  const live = new Set(state.files.map((f) => f.key));
  const due = state.retired.filter((r) => nowMs - r.retiredAtMs >= graceMs && !live.has(r.key)).map((r) => r.key);
  for (const k of due) await ctx.objects.delete(k);
  await ctx.manifest.purgeRetired(topic, due);
  return due.length;
}
