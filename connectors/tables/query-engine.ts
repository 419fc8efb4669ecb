/**
 * SQL over topics: each topic named in the query becomes a DuckDB view over its table files plus
 * the tail of the log not compacted yet, so a query sees every committed record exactly once.
 *
 * The boundary is the manifest snapshot: getTable() gives the live files and, per partition, the
 * next offset they stop at; the tail is read from the log from that offset to the high watermark
 * read after it. Files a concurrent merge retires stay readable (retiredGraceMs), and a
 * concurrent compaction only moves the boundary in a later snapshot, so the union never holds a
 * record twice or misses one. Every column is cast to the table's merged type (an int column
 * that widened to double in later files reads as double everywhere; files without a newer
 * column read it as null).
 */
import { tableFromIPC } from 'apache-arrow';
import { WeirError } from '../../core/errors.js';
import { ident, literal } from './duckdb-session.js';
import { localFiles } from './file-access.js';
import { stageInDuckDB } from './file-writers.js';
import { growSchema, JsonStage } from './json-stage.js';
import { readCommitted, scanCommitted } from './log-source.js';
import { castList } from './merger.js';
import { allowsPartition, mayMatch, pruningFor, type Pruning } from './query-pruning.js';
import { RowBatch } from './row-batch.js';
import { tableSchema, type TableContext } from './table-context.js';
import { mergeSchemas, schemaFromJson, type ValueSchema } from './table-schema.js';
import type { TableState } from '../../core/metadata/table-manifest.js';

export interface QueryResult {
  columns: string[];
  types: string[];
  /** Table files read, and skipped because the WHERE clause rules them out (query-pruning.ts). */
  filesRead: number;
  filesSkipped: number;
  /** JSON-friendly values (DuckDB's own JSON conversion: BIGINTs beyond 2^53 as strings, timestamps as ISO text). */
  rows: unknown[][];
}

/** DuckDB's error for bad SQL, passed on as it is. */
export class SqlError extends Error {}

interface SqlRefs {
  tables: Set<string>;
  ctes: Set<string>;
  /** DuckDB's parse tree of the statements (json_serialize_sql), for pruning. */
  statements: unknown;
}

/** Table names the statement reads (from DuckDB's own parser, so quoting and nesting are right). */
async function referencedTables(ctx: TableContext, sql: string): Promise<SqlRefs> {
  const reader = await ctx.duck.runAndReadAll(`SELECT json_serialize_sql(${literal(sql)})`);
  const parsed = JSON.parse(String(reader.getRows()[0]![0])) as { error?: boolean; error_message?: string; statements?: unknown[] };
  if (parsed.error) throw new SqlError(parsed.error_message ?? 'invalid SQL');
  const refs: SqlRefs = { tables: new Set(), ctes: new Set(), statements: parsed.statements };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string' && (o.schema_name === '' || o.schema_name === undefined) && (o.catalog_name === '' || o.catalog_name === undefined)) {
      refs.tables.add(o.table_name);
    }
    const cteMap = o.cte_map as { map?: { key: string }[] } | undefined;
    if (cteMap?.map) for (const e of cteMap.map) refs.ctes.add(e.key);
    for (const v of Object.values(o)) walk(v);
  };
  walk(parsed.statements);
  return refs;
}

let viewCounter = 0;

export interface TopicView {
  fileRows: number;
  tailRows: number;
  /** Table files the view reads, and those the query's WHERE let it skip (query-pruning.ts). */
  filesRead: number;
  filesSkipped: number;
  /**
   * Ends the view's hold on scratch space: files downloaded for it (a non-folder object store)
   * are deleted. Call once the statements over the view are done.
   */
  release(): Promise<void>;
}

/**
 * Creates the view `topic` (files ∪ tail) in the session; returns rows in files and in the tail.
 * Only the topic's live data files are fetched (a non-folder store: downloaded, within the
 * scratch limit of file-access.ts); release() deletes them.
 */
export async function defineTopicView(ctx: TableContext, topic: string, pruning: Pruning | null = null): Promise<TopicView> {
  const info = await ctx.metadata.getTopic(topic);
  if (info === null) throw new WeirError('not_found', `unknown topic ${JSON.stringify(topic)}`);
  const state = await ctx.manifest.getTable(topic);
  const current = state !== null && state.topicId === info.id ? state : null;
  const allDataFiles = current?.files.filter((f) => f.kind === 'data') ?? [];
  // Files the query's WHERE rules out are neither downloaded nor read; the view's columns still
  // come from every file, so a query's meaning never depends on what was skipped.
  const dataFiles = pruning === null ? allDataFiles : allDataFiles.filter((f) => mayMatch(pruning, f));

  // The tail: from each partition's boundary to the high watermark read now (after the snapshot).
  // It goes into DuckDB temp tables as it is read, so the JS side holds a bounded amount of it
  // whatever its length (DuckDB keeps the rest within its memory_limit, spilling to the scratch folder).
  const n = viewCounter++;
  const tail = await stageTail(ctx, topic, info.partitions, current, n, pruning);

  const parquet = dataFiles.filter((f) => f.format === 'parquet');
  const local = parquet.length > 0 ? await localFiles(ctx, parquet, `the table files of ${JSON.stringify(topic)}`) : null;
  try {
    return await finishView(ctx, topic, n, allDataFiles, dataFiles, parquet, local?.paths ?? [], tail, release);
  } catch (e) {
    await release();
    throw e;
  }
  async function release(): Promise<void> {
    await local?.release();
  }
}

async function finishView(
  ctx: TableContext,
  topic: string,
  n: number,
  allDataFiles: TableState['files'],
  dataFiles: TableState['files'],
  parquet: TableState['files'],
  paths: string[],
  tail: StagedTail,
  release: () => Promise<void>,
): Promise<TopicView> {
  let schema = tail.schema;
  const parts = tail.tables.map((t) => `SELECT * FROM ${t}`);
  const tailRows = tail.rows;
  if (paths.length > 0) parts.push(`SELECT * FROM read_parquet([${paths.map(literal).join(', ')}], union_by_name = true)`);
  for (const f of dataFiles.filter((x) => x.format === 'arrow')) {
    // DuckDB reads Arrow IPC only through an extension; load these through apache-arrow instead.
    const table = tableFromIPC(await ctx.objects.get(f.key));
    const staged = await stageInDuckDB(ctx.duck, table, schemaFromJson(f.schema));
    const name = `weir_arrow_${n}_${parts.length}`;
    await ctx.duck.run(`CREATE TEMP TABLE ${name} AS SELECT ${staged.select} FROM ${staged.name}`);
    await ctx.duck.run(`DROP TABLE ${staged.name}`);
    parts.push(`SELECT * FROM ${name}`);
  }
  for (const f of allDataFiles) schema = mergeSchemas(schema, schemaFromJson(f.schema));
  const union = parts.length === 0 ? null : parts.join(' UNION ALL BY NAME ');
  let present: Set<string> | null = null;
  if (union !== null) {
    present = new Set(((await ctx.duck.runAndReadAll(`DESCRIBE ${union}`)).getRows() as unknown[][]).map((r) => String(r[0])));
  }
  const body =
    union === null
      ? // No rows anywhere (or every file pruned): an empty relation with the table's columns.
        `SELECT ${castList(schema, new Set())} FROM (SELECT CAST(NULL AS INTEGER) AS partition, CAST(NULL AS BIGINT) AS "offset", CAST(NULL AS TIMESTAMPTZ) AS "timestamp", CAST(NULL AS BLOB) AS "key", CAST(NULL AS STRUCT("key" VARCHAR, "value" BLOB)[]) AS "headers", CAST(NULL AS BLOB) AS "value") WHERE false`
      : `SELECT ${castList(schema, present)} FROM (${union})`;
  await ctx.duck.run(`CREATE OR REPLACE TEMP VIEW ${ident(topic)} AS ${body}`);
  return { fileRows: dataFiles.reduce((s, f) => s + f.rowCount, 0), tailRows, filesRead: dataFiles.length, filesSkipped: allDataFiles.length - dataFiles.length, release };
}

/** Rows of the tail staged per DuckDB table (JS decoders): bounds what JS holds at once. */
const TAIL_BATCH_ROWS = 50_000;

interface StagedTail {
  tables: string[];
  schema: ValueSchema;
  rows: number;
}

async function stageTail(ctx: TableContext, topic: string, partitions: number, state: TableState | null, n: number, pruning: Pruning | null): Promise<StagedTail> {
  const base = tableSchema(state);
  const ranges: { p: number; from: number; end: number }[] = [];
  for (let p = 0; p < partitions; p++) {
    if (pruning !== null && !allowsPartition(pruning, p)) continue;
    const ps = await ctx.metadata.getPartitionState(topic, p);
    if (ps === null) continue;
    const from = Math.max(state?.nextOffsets.get(p) ?? ps.logStartOffset, ps.logStartOffset);
    if (from < ps.highWatermark) ranges.push({ p, from, end: ps.highWatermark });
  }
  const tables: string[] = [];
  let rows = 0;
  if (ctx.settings.decoder.kind === 'json') {
    // JSON: DuckDB parses the values (json-stage.ts), as compaction does.
    const stages: JsonStage[] = [];
    try {
      for (const r of ranges) {
        const stage = await JsonStage.open(ctx.duck, ctx.tempDir, r.p);
        stages.push(stage);
        for await (const _ of scanCommitted(ctx.metadata, ctx.objects, topic, r.p, r.from, r.end, stage.visit)) await stage.drain();
      }
      let grown = base;
      for (const s of stages) grown = growSchema(grown, await s.inferSchema(), ctx.settings.columnsMax);
      const used = new Set(base.columns.map((c) => c.name));
      for (const s of stages) for (const c of await s.load(grown)) used.add(c);
      const schema: ValueSchema = { columns: grown.columns.filter((c) => used.has(c.name)) };
      for (const s of stages) {
        const staged = await s.rowsOf(schema);
        if (staged.rows === 0) continue;
        const name = `weir_tail_${n}_${tables.length}`;
        await ctx.duck.run(`CREATE TEMP TABLE ${name} AS ${staged.sql}`);
        tables.push(name);
        rows += staged.rows;
      }
      return { tables, schema, rows };
    } finally {
      for (const s of stages) await s.dispose();
    }
  }
  // Avro / none: decoded in JS, staged every TAIL_BATCH_ROWS rows.
  let schema = base;
  const flush = async (batch: RowBatch): Promise<void> => {
    if (batch.rowCount === 0) return;
    schema = mergeSchemas(schema, batch.schema());
    const staged = await stageInDuckDB(ctx.duck, batch.toArrow(), batch.schema());
    const name = `weir_tail_${n}_${tables.length}`;
    await ctx.duck.run(`CREATE TEMP TABLE ${name} AS SELECT ${staged.select} FROM ${staged.name}`);
    await ctx.duck.run(`DROP TABLE ${staged.name}`);
    tables.push(name);
    rows += batch.rowCount;
  };
  for (const r of ranges) {
    let batch = new RowBatch(r.p, schema, { columnsMax: ctx.settings.columnsMax });
    for await (const chunk of readCommitted(ctx.metadata, ctx.objects, topic, r.p, r.from, r.end)) {
      for (const row of chunk.rows) {
        const d = ctx.settings.decoder.decode(row.value);
        // Dead letters are not table rows, in the tail as in the files.
        if (d.ok) batch.add(row, d.fields);
      }
      if (batch.rowCount >= TAIL_BATCH_ROWS) {
        await flush(batch);
        batch = new RowBatch(r.p, schema, { columnsMax: ctx.settings.columnsMax });
      }
    }
    await flush(batch);
  }
  return { tables, schema, rows };
}

export async function runQuery(ctx: TableContext, sql: string, maxRows = 1_000_000): Promise<QueryResult> {
  const refs = await referencedTables(ctx, sql);
  const views: TopicView[] = [];
  let reader;
  try {
    for (const name of refs.tables) {
      if (refs.ctes.has(name)) continue;
      if ((await ctx.metadata.getTopic(name)) === null) throw new WeirError('not_found', `unknown topic ${JSON.stringify(name)}`);
      views.push(await defineTopicView(ctx, name, await pruningFor(ctx.duck, refs.statements, name)));
    }
    try {
      reader = await ctx.duck.runAndReadAll(sql);
    } catch (e) {
      throw new SqlError((e as Error).message);
    }
  } finally {
    // The result is materialized: the downloaded files are no longer needed.
    for (const v of views) await v.release();
  }
  const types = reader.columnTypes().map((t) => t.toString());
  if (reader.currentRowCount > maxRows) throw new WeirError('too_large', `the result has more than ${maxRows} rows; add a LIMIT`);
  const rows = reader.getRowsJson() as unknown[][];
  // DuckDB's JSON form writes every 64-bit integer as a string; counts and offsets that fit a
  // double exactly are more useful as numbers (JSON output, aligned numbers). Larger ones stay strings.
  const wide = types.map((t) => /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT)$/.test(t));
  if (wide.some(Boolean)) {
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        if (wide[i] && typeof v === 'string' && Number.isSafeInteger(Number(v))) row[i] = Number(v);
      }
    }
  }
  return { columns: reader.columnNames(), types, rows, filesRead: views.reduce((s, v) => s + v.filesRead, 0), filesSkipped: views.reduce((s, v) => s + v.filesSkipped, 0) };
}
