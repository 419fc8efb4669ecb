/**
 * Writes a RowBatch's Arrow table as one table file: Parquet (through DuckDB) or Arrow IPC.
 *
 * Parquet through DuckDB: the Arrow columns are appended to a DuckDB temp table in data chunks
 * (one native call per column per 2048 rows for fixed-width columns) and DuckDB's own Parquet
 * writer does the encoding and compression in C++, with its statistics, dictionary and zstd.
 * Measured against parquetjs-lite and DuckDB's COPY alone in bench/tables.ts (docs/decisions.md).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DuckDBBigIntType,
  DuckDBBlobType,
  DuckDBBooleanType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBIntegerType,
  DuckDBListType,
  DuckDBStructType,
  DuckDBVarCharType,
  blobValue,
  listValue,
  structValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { Field, makeData, RecordBatch, Schema, Struct, Table, tableFromIPC, tableToIPC, vectorFromArray, type Data, type DataType, type Vector } from 'apache-arrow';
import { WeirError } from '../../core/errors.js';
import { ident, literal } from './duckdb-session.js';
import { arrowType } from './row-batch.js';
import { duckdbType, FIXED_COLUMNS, type ValueSchema, type ValueType } from './table-schema.js';

const CHUNK_ROWS = 2048;

export interface ParquetOptions {
  /** Parquet compression codec (DuckDB names): zstd (default), snappy, gzip, uncompressed. */
  compression?: string;
  rowGroupRows?: number;
}

/** How each kind of Arrow column travels into DuckDB, and the SQL that gives it its final type. */
interface ColumnPlan {
  name: string;
  stagingType: DuckDBType;
  stagingSql: string;
  select: string;
  fill: (data: Data, start: number, n: number, set: (i: number, v: DuckDBValue) => void) => void;
}

const HEADERS_DUCKDB = new DuckDBListType(new DuckDBStructType(['key', 'value'], [DuckDBVarCharType.instance, DuckDBBlobType.instance]));
const NO_HEADERS = listValue([]);

function isValid(data: Data, i: number): boolean {
  const bm = data.nullBitmap;
  if (!bm || bm.length === 0 || data.nullCount === 0) return true;
  const j = data.offset + i;
  return (bm[j >> 3]! & (1 << (j & 7))) !== 0;
}

function fixedFill(convert: (v: never) => DuckDBValue) {
  return (data: Data, start: number, n: number, set: (i: number, v: DuckDBValue) => void): void => {
    const values = data.values as unknown as ArrayLike<never>;
    for (let i = 0; i < n; i++) set(i, isValid(data, start + i) ? convert(values[data.offset + start + i]!) : null);
  };
}

function bytesFill(data: Data, start: number, n: number, set: (i: number, v: DuckDBValue) => void): void {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  for (let i = 0; i < n; i++) {
    const j = data.offset + start + i;
    set(i, isValid(data, start + i) ? blobValue(bytes.subarray(offsets[j]!, offsets[j + 1]!)) : null);
  }
}

function boolFill(data: Data, start: number, n: number, set: (i: number, v: DuckDBValue) => void): void {
  const bits = data.values as Uint8Array;
  for (let i = 0; i < n; i++) {
    const j = data.offset + start + i;
    set(i, isValid(data, start + i) ? (bits[j >> 3]! & (1 << (j & 7))) !== 0 : null);
  }
}

function headersFill(data: Data, start: number, n: number, set: (i: number, v: DuckDBValue) => void): void {
  const offsets = data.valueOffsets as Int32Array;
  const child = data.children[0]!;
  const [keys, values] = child.children as [Data, Data];
  const kOff = keys.valueOffsets as Int32Array;
  const kBytes = keys.values as Uint8Array;
  const vOff = values.valueOffsets as Int32Array;
  const vBytes = values.values as Uint8Array;
  for (let i = 0; i < n; i++) {
    const j = data.offset + start + i;
    const a = offsets[j]!;
    const b = offsets[j + 1]!;
    if (a === b) {
      set(i, NO_HEADERS);
      continue;
    }
    const items: DuckDBValue[] = [];
    for (let h = a; h < b; h++) {
      const key = Buffer.from(kBytes.buffer, kBytes.byteOffset + kOff[h]!, kOff[h + 1]! - kOff[h]!).toString('utf8');
      const value = isValid(values, h) ? blobValue(vBytes.subarray(vOff[h]!, vOff[h + 1]!)) : null;
      items.push(structValue({ key, value }));
    }
    set(i, listValue(items));
  }
}

function plan(schema: ValueSchema): ColumnPlan[] {
  const p: ColumnPlan[] = [
    { name: 'partition', stagingType: DuckDBIntegerType.instance, stagingSql: 'INTEGER', select: 'partition', fill: fixedFill((v: number) => v) },
    { name: 'offset', stagingType: DuckDBBigIntType.instance, stagingSql: 'BIGINT', select: '"offset"', fill: fixedFill((v: bigint) => v) },
    // Milliseconds as BIGINT, made a TIMESTAMP WITH TIME ZONE (an instant: Parquet isAdjustedToUTC) by the COPY.
    { name: 'timestamp', stagingType: DuckDBBigIntType.instance, stagingSql: 'BIGINT', select: 'epoch_ms("timestamp")::TIMESTAMPTZ AS "timestamp"', fill: fixedFill((v: bigint) => v) },
    { name: 'key', stagingType: DuckDBBlobType.instance, stagingSql: 'BLOB', select: '"key"', fill: bytesFill },
    { name: 'headers', stagingType: HEADERS_DUCKDB, stagingSql: 'STRUCT("key" VARCHAR, "value" BLOB)[]', select: '"headers"', fill: headersFill },
    { name: 'value', stagingType: DuckDBBlobType.instance, stagingSql: 'BLOB', select: '"value"', fill: bytesFill },
  ];
  for (const c of schema.columns) {
    const q = ident(c.name);
    switch (c.type) {
      case 'boolean':
        p.push({ name: c.name, stagingType: DuckDBBooleanType.instance, stagingSql: 'BOOLEAN', select: q, fill: boolFill });
        break;
      case 'bigint':
        p.push({ name: c.name, stagingType: DuckDBBigIntType.instance, stagingSql: 'BIGINT', select: q, fill: fixedFill((v: bigint) => v) });
        break;
      case 'double':
        p.push({ name: c.name, stagingType: DuckDBDoubleType.instance, stagingSql: 'DOUBLE', select: q, fill: fixedFill((v: number) => v) });
        break;
      case 'string':
      case 'json':
        // UTF-8 bytes straight from the Arrow buffer (no JS string per value); decode() makes them VARCHAR.
        p.push({ name: c.name, stagingType: DuckDBBlobType.instance, stagingSql: 'BLOB', select: `decode(${q}) AS ${q}`, fill: bytesFill });
        break;
    }
    void duckdbType;
  }
  return p;
}

let stagingCounter = 0;

/**
 * Loads the Arrow table into a new DuckDB temp table; returns its name and the SELECT list that
 * gives every column its table type. The caller drops the table.
 */
export async function stageInDuckDB(conn: DuckDBConnection, table: Table, schema: ValueSchema): Promise<{ name: string; select: string }> {
  const cols = plan(schema);
  const name = `weir_stage_${process.pid}_${stagingCounter++}`;
  await conn.run(`CREATE TEMP TABLE ${name} (${cols.map((c) => `${ident(c.name)} ${c.stagingSql}`).join(', ')})`);
  const appender = await conn.createAppender(name);
  try {
    const types = cols.map((c) => c.stagingType);
    for (const batch of table.batches) {
      const columnData = cols.map((c) => batch.getChild(c.name)!.data[0]!);
      for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
        const n = Math.min(CHUNK_ROWS, batch.numRows - start);
        const chunk = DuckDBDataChunk.create(types, n);
        cols.forEach((c, ci) => {
          const vector = chunk.getColumnVector(ci);
          c.fill(columnData[ci]!, start, n, (i, v) => vector.setItem(i, v as never));
          vector.flush();
        });
        appender.appendDataChunk(chunk);
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return { name, select: cols.map((c) => c.select).join(', ') };
}

/** Writes the table as a Parquet file at path (a local file) and returns its bytes. */
export async function writeParquet(conn: DuckDBConnection, table: Table, schema: ValueSchema, path: string, opts: ParquetOptions = {}): Promise<Buffer> {
  const staged = await stageInDuckDB(conn, table, schema);
  try {
    await conn.run(
      `COPY (SELECT ${staged.select} FROM ${staged.name}) TO ${literal(path)} (FORMAT parquet, COMPRESSION ${opts.compression ?? 'zstd'}, ROW_GROUP_SIZE ${opts.rowGroupRows ?? 122_880})`,
    );
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${staged.name}`);
  }
  try {
    return await readFile(path);
  } finally {
    await rm(path, { force: true });
  }
}

/** The Arrow IPC file format (random-access, with footer), as `pyarrow.ipc.open_file` and DuckDB's arrow extension read it. */
export function writeArrowIpc(table: Table): Uint8Array {
  return tableToIPC(table, 'file');
}

/**
 * Several Arrow IPC table files (of one partition, in offset order) as one Arrow IPC file with the
 * merged schema. Record batches are kept as they are (no copy of their buffers before the
 * output's own), with the fixed columns taken over unchanged; a value column is rebuilt only where
 * a file lacks it (all null) or holds a narrower type. Widening follows what one compaction of the
 * whole range would have written (table-schema.ts coerce): an integer becomes a double; under a
 * string column a number, boolean or JSON value becomes its JSON text.
 */
export function mergeArrowFiles(sources: readonly Uint8Array[], schema: ValueSchema): Uint8Array {
  const tables = sources.map((b) => tableFromIPC(b));
  const fixedFields = FIXED_COLUMNS.map((name) => {
    const f = tables[0]?.schema.fields.find((x) => x.name === name);
    if (f === undefined) throw new WeirError('corrupt', `an Arrow table file lacks the column ${name}`);
    return new Field(name, f.type, true);
  });
  const fields = [...fixedFields, ...schema.columns.map((c) => new Field(c.name, arrowType(c.type), true))];
  const outSchema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (const table of tables) {
    for (const batch of table.batches) {
      const n = batch.numRows;
      if (n === 0) continue;
      const children: Data[] = fixedFields.map((f) => {
        const data = batch.getChild(f.name)?.data[0];
        if (data === undefined || String(data.type) !== String(f.type)) throw new WeirError('corrupt', `an Arrow table file's column ${f.name} is not ${String(f.type)}`);
        return data;
      });
      for (const c of schema.columns) children.push(columnAs(batch.getChild(c.name), c.type, n));
      batches.push(new RecordBatch(outSchema, makeData({ type: new Struct(fields), length: n, children, nullCount: 0 })));
    }
  }
  return tableToIPC(new Table(outSchema, batches), 'file');
}

/** A file's value column as the merged type (see mergeArrowFiles). */
function columnAs(source: Vector | null, type: ValueType, n: number): Data {
  const target: DataType = arrowType(type);
  if (source === null) return vectorFromArray(new Array<null>(n).fill(null), target).data[0]!;
  if (String(source.type) === String(target)) return source.data[0]!;
  const from = String(source.type);
  const convert = ((): ((v: unknown) => unknown) => {
    if (type === 'double' && from === 'Int64') return (v) => Number(v as bigint);
    if (type === 'string') return (v) => (typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : JSON.stringify(v));
    throw new WeirError('corrupt', `an Arrow table file's column of type ${from} cannot become ${type}`);
  })();
  const values = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = source.get(i);
    values[i] = v === null || v === undefined ? null : convert(v);
  }
  return vectorFromArray(values, target).data[0]!;
}

export function tempFilePath(dir: string, name: string): string {
  return join(dir, name);
}
