/**
 * Compacts one offset range of one partition into a table file, exactly once:
 *   read [fromOffset, endOffset) from the log → decode → Arrow → Parquet/Arrow file → PUT →
 *   commit to the manifest (only if the partition's next offset is still fromOffset).
 * The file is named by its offset range, so a writer killed between PUT and commit leaves an
 * object the next writer of that range overwrites, and a duplicate writer's commit is refused.
 * Undecodable values go to a dead-letter file committed together with the data file.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WeirError } from '../../core/errors.js';
import type { TableFile } from '../../core/metadata/table-manifest.js';
import { tableDeadLetterKey, tableFileKey } from '../../core/storage/paths.js';
import { writeArrowIpc, writeParquet } from './file-writers.js';
import { literal } from './duckdb-session.js';
import { growSchema, JsonStage } from './json-stage.js';
import { readCommitted, scanCommitted } from './log-source.js';
import { RowBatch } from './row-batch.js';
import { tableSchema, type TableContext } from './table-context.js';
import { schemaToJson, type ValueSchema } from './table-schema.js';

export interface RangeJob {
  topic: string;
  topicId: string;
  partition: number;
  fromOffset: number;
  /** Exclusive; at most the high watermark. */
  endOffset: number;
}

export type RangeOutcome =
  | {
      committed: true;
      rows: number;
      deadLetters: number;
      sizeBytes: number;
      storedBytes: number;
      /** Where the time went (JSON path only), for the bench's breakdown: phase → ms. */
      phasesMs?: Record<string, number>;
    }
  /** Another writer committed this partition first (or the topic was re-created): nothing of ours is in the table. */
  | { committed: false; reason: string };

const MAX_TIME_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

let fileCounter = 0;

export async function compactRange(ctx: TableContext, job: RangeJob, onRows?: (rows: number) => void): Promise<RangeOutcome> {
  const { topic, partition, fromOffset, endOffset } = job;
  if (endOffset <= fromOffset) throw new WeirError('invalid_argument', `empty range ${fromOffset}-${endOffset} of ${topic}/${partition}`);
  const state = await ctx.manifest.getTable(topic);
  const current = state?.nextOffsets.get(partition);
  if (current !== undefined && current !== fromOffset) return { committed: false, reason: `partition already compacted to ${current}` };
  if (state !== null && state.topicId !== job.topicId) return { committed: false, reason: 'topic was re-created' };

  if (ctx.settings.format === 'parquet' && ctx.settings.decoder.kind === 'json') return compactJsonRange(ctx, job, tableSchema(state), onRows);

  const batch = new RowBatch(partition, tableSchema(state), { columnsMax: ctx.settings.columnsMax });
  const dead: string[] = [];
  let storedBytes = 0;
  let covered = fromOffset;
  for await (const chunk of readCommitted(ctx.metadata, ctx.objects, topic, partition, fromOffset, endOffset)) {
    for (const row of chunk.rows) {
      const d = ctx.settings.decoder.decode(row.value);
      if (d.ok) batch.add(row, d.fields);
      else dead.push(deadLetterLine(partition, row, d.error));
    }
    storedBytes += chunk.storedBytes;
    covered = chunk.nextOffset;
    onRows?.(chunk.rows.length);
  }
  // The index must cover the whole range below the high watermark; a shortfall means the log
  // lost entries (retention moved the log start mid-read), and the range is planned again.
  if (covered < endOffset) return { committed: false, reason: `log ended at ${covered}, before ${endOffset}` };

  let data: WrittenData | null = null;
  if (batch.rowCount > 0) {
    const table = batch.toArrow();
    data = {
      rows: batch.rowCount,
      firstTimestampMs: batch.timestamps[0]!,
      minTimestampMs: batch.minTimestampMs,
      maxTimestampMs: batch.maxTimestampMs,
      schema: batch.schema(),
      write: async () =>
        ctx.settings.format === 'parquet'
          ? await writeParquet(ctx.duck, table, batch.schema(), join(ctx.tempDir, `${process.pid}-${fileCounter++}.parquet`), { compression: ctx.settings.compression })
          : writeArrowIpc(table),
    };
  }
  return commitRange(ctx, job, data, dead, storedBytes);
}

/** What a range's data file will hold; write() produces its bytes. */
interface WrittenData {
  rows: number;
  firstTimestampMs: number;
  minTimestampMs: number | null;
  maxTimestampMs: number | null;
  schema: ValueSchema;
  write: () => Promise<Uint8Array>;
}

/**
 * JSON values into Parquet: DuckDB parses the values and infers their schema (json-stage.ts);
 * the JS side only moves the log's bytes.
 */
async function compactJsonRange(ctx: TableContext, job: RangeJob, base: ValueSchema, onRows?: (rows: number) => void): Promise<RangeOutcome> {
  const { topic, partition, fromOffset, endOffset } = job;
  const phasesMs: Record<string, number> = {};
  let mark = performance.now();
  const lap = (phase: string): void => {
    const now = performance.now();
    phasesMs[phase] = (phasesMs[phase] ?? 0) + now - mark;
    mark = now;
  };
  const stage = await JsonStage.open(ctx.duck, ctx.tempDir, partition);
  try {
    let storedBytes = 0;
    let covered = fromOffset;
    for await (const p of scanCommitted(ctx.metadata, ctx.objects, topic, partition, fromOffset, endOffset, stage.visit)) {
      lap('read+scan');
      await stage.drain();
      lap('append');
      storedBytes += p.storedBytes;
      covered = p.nextOffset;
      onRows?.(p.rows);
    }
    if (covered < endOffset) return { committed: false, reason: `log ended at ${covered}, before ${endOffset}` };
    await stage.seal();
    lap('append');
    const grown = growSchema(base, await stage.inferSchema(), ctx.settings.columnsMax);
    const used = await stage.load(grown);
    // A new column no row filled (a field only ever null) is left out; the table's columns stay.
    const baseNames = new Set(base.columns.map((c) => c.name));
    const schema: ValueSchema = { columns: grown.columns.filter((c) => baseNames.has(c.name) || used.has(c.name)) };
    const staged = await stage.rowsOf(schema);
    lap('infer');
    const dead = [...stage.deadLetters, ...staged.deadLetters].sort((a, b) => a.offset - b.offset).map((d) => deadLetterLine(partition, d, d.error));
    let data: WrittenData | null = null;
    if (staged.rows > 0) {
      data = {
        rows: staged.rows,
        firstTimestampMs: stage.firstTimestampMs ?? 0,
        minTimestampMs: staged.minTimestampMs,
        maxTimestampMs: staged.maxTimestampMs,
        schema,
        write: async () => {
          const path = join(ctx.tempDir, `${process.pid}-${fileCounter++}.parquet`);
          try {
            // One statement: json_transform parses each value once, straight into the Parquet writer.
            await ctx.duck.run(`COPY (${staged.sql}) TO ${literal(path)} (FORMAT parquet, COMPRESSION ${ctx.settings.compression}, ROW_GROUP_SIZE 122880)`);
            lap('copy');
            const body = await readFile(path);
            lap('read file');
            return body;
          } finally {
            await rm(path, { force: true });
          }
        },
      };
    }
    const outcome = await commitRange(ctx, job, data, dead, storedBytes);
    lap('put+commit');
    return outcome.committed ? { ...outcome, phasesMs } : outcome;
  } finally {
    await stage.dispose();
  }
}

/** Writes the range's files, then commits them to the manifest (exactly once, see the top). */
async function commitRange(ctx: TableContext, job: RangeJob, data: WrittenData | null, dead: string[], storedBytes: number): Promise<RangeOutcome> {
  const { topic, partition, fromOffset, endOffset } = job;
  const lastOffset = endOffset - 1;
  const files: TableFile[] = [];
  const written: string[] = [];
  try {
    if (data !== null) {
      const firstTs = Math.min(Math.max(data.firstTimestampMs, 0), MAX_TIME_MS);
      const key = tableFileKey({ topic, partition, firstOffset: fromOffset, lastOffset, timeMs: firstTs, format: ctx.settings.format });
      const body = await data.write();
      await ctx.objects.put(key, Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      written.push(key);
      files.push({
        key,
        kind: 'data',
        format: ctx.settings.format,
        partition,
        firstOffset: fromOffset,
        lastOffset,
        rowCount: data.rows,
        sizeBytes: body.byteLength,
        minTimestampMs: data.minTimestampMs,
        maxTimestampMs: data.maxTimestampMs,
        schema: schemaToJson(data.schema),
      });
    }
    if (dead.length > 0) {
      const key = tableDeadLetterKey(topic, partition, fromOffset, lastOffset);
      const body = Buffer.from(dead.join('\n') + '\n', 'utf8');
      await ctx.objects.put(key, body);
      written.push(key);
      files.push({
        key,
        kind: 'dead-letter',
        format: 'jsonl',
        partition,
        firstOffset: fromOffset,
        lastOffset,
        rowCount: dead.length,
        sizeBytes: body.byteLength,
        minTimestampMs: null,
        maxTimestampMs: null,
        schema: '',
      });
    }
    const result = await ctx.manifest.commitAppend(topic, { topicId: job.topicId, partition, fromOffset, nextOffset: endOffset, files });
    if (result.ok) {
      return { committed: true, rows: data?.rows ?? 0, deadLetters: dead.length, sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0), storedBytes };
    }
    await removeUnreferenced(ctx, topic, written);
    return { committed: false, reason: result.reason === 'offset_mismatch' ? `partition already compacted to ${result.nextOffset}` : 'topic was re-created' };
  } catch (e) {
    // The commit's outcome may be unknown (a lost reply): leave the objects; if the commit did
    // happen they are the table, and if not the next writer of the range overwrites them.
    throw e;
  }
}

/** Deletes objects we wrote for a commit that lost, unless the winner committed the same key (same range). */
export async function removeUnreferenced(ctx: TableContext, topic: string, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const state = await ctx.manifest.getTable(topic);
  const live = new Set(state?.files.map((f) => f.key) ?? []);
  for (const k of keys) if (!live.has(k)) await ctx.objects.delete(k);
}

function deadLetterLine(partition: number, row: { offset: number; timestamp: number; key: Buffer | null; value: Buffer | null }, error: string): string {
  return JSON.stringify({
    partition,
    offset: row.offset,
    timestamp: row.timestamp,
    key: row.key === null ? null : row.key.toString('base64'),
    value: row.value === null ? null : row.value.toString('base64'),
    error,
  });
}

export async function removeTemp(path: string): Promise<void> {
  await rm(path, { force: true });
}
