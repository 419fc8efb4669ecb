/**
 * The JSON path into DuckDB: records of one partition range staged so that DuckDB, not
 * JavaScript, parses the JSON values, infers their schema and builds the columns.
 *
 * Why: JSON.parse per record, a JS object per row and one DuckDB value per cell made the JS side
 * ~85% of a compaction (docs/benchmarks.md, Tables). Here the JS side only moves bytes:
 *  - each value is copied, as it is, as one line of a newline-delimited JSON file (a scratch file);
 *  - row number, offset, timestamp and key go to a DuckDB temp table through the appender, in
 *    data chunks (numbers and the key's bytes; headers only once a record has some);
 *  - DuckDB then reads the file three ways, each in C++: read_json with sample_size=-1 infers the
 *    schema from every row (never a sample: a field that appears once still becomes a column),
 *    read_json with the merged schema's explicit columns gives the typed values, and
 *    read_ndjson_objects gives each line's text (the raw value) and NULL for a line that does not
 *    parse (a dead letter). The three are put side by side with POSITIONAL JOIN.
 *
 * Lines must correspond 1:1 to rows and hold exactly the value, so values that would break that
 * take a slow path in JS (rare in practice): a null value (tombstone), a value that is not a JSON
 * object (JSON.parse decides: a number, array or string is a row without decoded fields, anything
 * unparsable is a dead letter), a value holding a newline (valid JSON only has newlines as
 * whitespace, so they become spaces in the line), leading or trailing whitespace (the reader trims
 * it), invalid UTF-8 (decoded with U+FFFD, as JSON.parse would). Those rows keep their exact bytes
 * in the staged `xv` column instead of the line.
 *
 * Type inference follows table-schema.ts's lattice, read from DuckDB's types: integers → bigint,
 * numbers with a fraction or exponent → double (an int field that gets one widens), strings →
 * string (DuckDB's date/time detection is undone: those are read back as the original text),
 * objects and arrays → json, a field with conflicting types (DuckDB: JSON) → string holding
 * strings as they are and other values as JSON text. A field that is only ever null makes no
 * column. JSON objects are judged by DuckDB's reader, which also accepts trailing commas and
 * NaN/Infinity; other values by JSON.parse.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import {
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
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
} from '@duckdb/node-api';
import type { RecordHeader } from '../../core/records/records.js';
import { ident, literal } from './duckdb-session.js';
import { decodeHeaders, type RecordVisitor } from './log-source.js';
import { columnNameFor, duckdbType, mergeSchemas, type ValueColumn, type ValueSchema, type ValueType } from './table-schema.js';

const CHUNK_ROWS = 2048;
const FILE_BUFFER_BYTES = 1 << 20;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const EMPTY_OBJECT = Buffer.from('{}');
const HEADERS_SQL = 'STRUCT("key" VARCHAR, "value" BLOB)[]';
const HEADERS_TYPE = new DuckDBListType(new DuckDBStructType(['key', 'value'], [DuckDBVarCharType.instance, DuckDBBlobType.instance]));
const NO_HEADERS = listValue([]);
/** DuckDB's read_json refuses a line longer than this unless told (its default is 16 MiB). */
const DEFAULT_OBJECT_BYTES = 16 * 1024 * 1024;

export interface StagedDeadLetter {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  error: string;
}

interface Chunk {
  n: number;
  rowBase: number;
  offsets: Float64Array;
  timestamps: Float64Array;
  keys: (Buffer | null)[];
  /** The value, for a row whose line is not exactly its value (a null value, or rewritten); else undefined. */
  xv: (Buffer | null | undefined)[];
  /** 1 when the value is xv (null included), 0 when it is the line. */
  x: Uint8Array;
  headers: (RecordHeader[] | null)[] | null;
}

function newChunk(rowBase: number): Chunk {
  return { n: 0, rowBase, offsets: new Float64Array(CHUNK_ROWS), timestamps: new Float64Array(CHUNK_ROWS), keys: [], xv: [], x: new Uint8Array(CHUNK_ROWS), headers: null };
}

let stageCounter = 0;

/** What a staged range gives: the typed SELECT over it, and what DuckDB refused. */
export interface StagedRows {
  /** SELECT list + FROM + WHERE giving the table's columns (fixed, then `schema`'s) for every valid row. */
  sql: string;
  rows: number;
  minTimestampMs: number | null;
  maxTimestampMs: number | null;
  /** Rows whose value DuckDB's JSON reader refused. */
  deadLetters: StagedDeadLetter[];
}

export class JsonStage {
  readonly name = `weir_json_${process.pid}_${stageCounter++}`;
  private readonly path: string;
  private fd: number;
  private readonly out = Buffer.allocUnsafe(FILE_BUFFER_BYTES);
  private outPos = 0;
  private filePos = 0;
  /** File position of each staged row's line (row i is [lineAt[i], lineAt[i + 1] - 1)): dead letters are read back from it. */
  private lineAt = new Float64Array(1024);
  private chunk: Chunk = newChunk(0);
  private readonly full: Chunk[] = [];
  private appender: DuckDBAppender | null = null;
  private hasHeaderColumn = false;
  private longestLine = 0;
  private closed = false;
  /** Rows staged (dead letters found in JS excluded). */
  rows = 0;
  /** Dead letters found on the JS side (not staged). */
  readonly deadLetters: StagedDeadLetter[] = [];
  /** Bytes of keys and values staged: a size estimate for the file to come. */
  payloadBytes = 0;
  firstTimestampMs: number | null = null;

  private constructor(private readonly conn: DuckDBConnection, dir: string, readonly partition: number) {
    this.path = join(dir, `${this.name}.ndjson`);
    this.fd = openSync(this.path, 'w');
  }

  static async open(conn: DuckDBConnection, dir: string, partition: number): Promise<JsonStage> {
    const s = new JsonStage(conn, dir, partition);
    try {
      await conn.run(`CREATE TEMP TABLE ${s.name}_f (i INTEGER, o DOUBLE, ts DOUBLE, k BLOB, x BOOLEAN, xv BLOB)`);
      s.appender = await conn.createAppender(`${s.name}_f`);
    } catch (e) {
      await s.dispose();
      throw e;
    }
    return s;
  }

  /** The record visitor (scanCommitted): synchronous, no object per record on the common path. */
  readonly visit: RecordVisitor = (offset, timestamp, data, keyStart, keyLength, valueStart, valueLength, headersAt, headerCount, recordEnd) => {
    let line: Buffer;
    let xv: Buffer | null | undefined;
    const value = valueLength < 0 ? null : data.subarray(valueStart, valueStart + valueLength);
    if (value === null) {
      line = EMPTY_OBJECT;
      xv = null;
    } else if (valueLength > 1 && value[0] === OPEN_BRACE && value[valueLength - 1] === CLOSE_BRACE && value.indexOf(NEWLINE) === -1 && isUtf8(value)) {
      line = value;
    } else {
      const slow = slowLine(value);
      if (typeof slow === 'string') {
        this.deadLetters.push({ offset, timestamp, key: keyLength < 0 ? null : Buffer.from(data.subarray(keyStart, keyStart + keyLength)), value: Buffer.from(value), error: slow });
        return;
      }
      line = slow;
      // The reader trims whitespace around a line: keep the exact bytes whenever the line differs.
      if (slow !== value || value[0] !== OPEN_BRACE || value[valueLength - 1] !== CLOSE_BRACE) xv = value;
    }
    const c = this.chunk;
    const i = c.n++;
    c.offsets[i] = offset;
    c.timestamps[i] = timestamp;
    c.keys[i] = keyLength < 0 ? null : data.subarray(keyStart, keyStart + keyLength);
    c.xv[i] = xv;
    c.x[i] = xv === undefined ? 0 : 1;
    if (headerCount > 0) {
      c.headers ??= [];
      c.headers[i] = decodeHeaders(data, headersAt, headerCount, recordEnd);
    }
    this.payloadBytes += (keyLength > 0 ? keyLength : 0) + (valueLength > 0 ? valueLength : 0) + 24;
    this.firstTimestampMs ??= timestamp;
    this.writeLine(line);
    if (c.n === CHUNK_ROWS) {
      this.full.push(c);
      this.chunk = newChunk(c.rowBase + c.n);
    }
  };

  private writeLine(line: Buffer): void {
    const row = this.rows++;
    if (row + 1 >= this.lineAt.length) {
      const grown = new Float64Array(this.lineAt.length * 2);
      grown.set(this.lineAt);
      this.lineAt = grown;
    }
    this.lineAt[row] = this.filePos + this.outPos;
    this.lineAt[row + 1] = this.filePos + this.outPos + line.length + 1;
    if (line.length > this.longestLine) this.longestLine = line.length;
    if (this.outPos + line.length + 1 > this.out.length) this.flushFile();
    if (line.length + 1 > this.out.length) {
      writeSync(this.fd, line);
      writeSync(this.fd, '\n');
      this.filePos += line.length + 1;
      return;
    }
    this.out.set(line, this.outPos);
    this.outPos += line.length;
    this.out[this.outPos++] = NEWLINE;
  }

  private flushFile(): void {
    if (this.outPos === 0) return;
    writeSync(this.fd, this.out, 0, this.outPos);
    this.filePos += this.outPos;
    this.outPos = 0;
  }

  /** Appends the full chunks to DuckDB (call between log entries: it awaits only for the rare ALTER). */
  async drain(): Promise<void> {
    for (const c of this.full.splice(0)) await this.appendChunk(c);
  }

  private async appendChunk(c: Chunk): Promise<void> {
    if (c.n === 0) return;
    if (c.headers && !this.hasHeaderColumn) {
      // The first record with headers: the column appears now (earlier rows read an empty list).
      this.appender!.closeSync();
      await this.conn.run(`ALTER TABLE ${this.name}_f ADD COLUMN h ${HEADERS_SQL}`);
      this.appender = await this.conn.createAppender(`${this.name}_f`);
      this.hasHeaderColumn = true;
    }
    const types: DuckDBType[] = [DuckDBIntegerType.instance, DuckDBDoubleType.instance, DuckDBDoubleType.instance, DuckDBBlobType.instance, DuckDBBooleanType.instance, DuckDBBlobType.instance];
    if (this.hasHeaderColumn) types.push(HEADERS_TYPE);
    const chunk = DuckDBDataChunk.create(types, c.n);
    const vi = chunk.getColumnVector(0);
    const vo = chunk.getColumnVector(1);
    const vt = chunk.getColumnVector(2);
    const vk = chunk.getColumnVector(3);
    const vx = chunk.getColumnVector(4);
    const vxv = chunk.getColumnVector(5);
    for (let i = 0; i < c.n; i++) {
      vi.setItem(i, c.rowBase + i);
      vo.setItem(i, c.offsets[i]!);
      vt.setItem(i, c.timestamps[i]!);
      const k = c.keys[i];
      vk.setItem(i, k == null ? null : blobValue(k));
      const xv = c.xv[i];
      vx.setItem(i, c.x[i] === 1);
      vxv.setItem(i, xv == null ? null : blobValue(xv));
    }
    vi.flush();
    vo.flush();
    vt.flush();
    vk.flush();
    vx.flush();
    vxv.flush();
    if (this.hasHeaderColumn) {
      const vh = chunk.getColumnVector(6);
      for (let i = 0; i < c.n; i++) {
        const h = c.headers?.[i];
        vh.setItem(i, h ? listValue(h.map((x) => structValue({ key: x.key, value: x.value === null ? null : blobValue(x.value) }))) : NO_HEADERS);
      }
      vh.flush();
    }
    this.appender!.appendDataChunk(chunk);
  }

  /** Ends staging: the last rows go to DuckDB and the file is complete. */
  async seal(): Promise<void> {
    if (this.closed) return;
    this.full.push(this.chunk);
    this.chunk = newChunk(this.rows);
    await this.drain();
    this.appender!.flushSync();
    this.appender!.closeSync();
    this.appender = null;
    this.flushFile();
    closeSync(this.fd);
    this.closed = true;
  }

  private objectBytes(): number {
    return Math.max(DEFAULT_OBJECT_BYTES, this.longestLine + 1024);
  }

  private readJsonOptions(): string {
    return `format = 'newline_delimited', records = true, ignore_errors = true, maximum_object_size = ${this.objectBytes()}`;
  }

  /** The schema of the staged values alone, inferred by DuckDB over every row. */
  async inferSchema(): Promise<ValueSchema> {
    await this.seal();
    if (this.rows === 0) return { columns: [] };
    let described: unknown[][];
    try {
      described = (await this.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_json(${literal(this.path)}, ${this.readJsonOptions()}, sample_size = -1, maximum_depth = 2)`)).getRows() as unknown[][];
    } catch (e) {
      // Every line is {} or unparsable: there are no fields to infer.
      if (/expected records/.test((e as Error).message)) return { columns: [] };
      throw e;
    }
    const columns: ValueColumn[] = [];
    const seen = new Set<string>();
    for (const [name, type] of described) {
      const field = String(name);
      const t = valueTypeOf(String(type));
      if (t === null) continue;
      const column = columnNameFor(field);
      // DuckDB names are case-insensitive: a field differing from an earlier one only by case
      // stays in the raw value (DuckDB also renames it, e.g. A_1, which then finds no values).
      if (seen.has(column.toLowerCase())) continue;
      seen.add(column.toLowerCase());
      columns.push({ name: column, field, type: t });
    }
    return { columns };
  }

  /**
   * Reads the staged file with `schema`'s types (every column of `schema` is read; one the values
   * never hold reads as NULL), and each line's text. Returns the columns that had at least one
   * value here, so a caller can leave out new columns that turned out empty (a field only ever null).
   */
  async load(schema: ValueSchema): Promise<Set<string>> {
    await this.seal();
    const f = `${this.name}_f`;
    const r = `${this.name}_r`;
    const t = `${this.name}_t`;
    const read = schema.columns;
    this.loaded = read;
    // The line's text, exactly (NULL when it does not parse: a dead letter).
    await this.conn.run(`CREATE TEMP TABLE ${r} AS SELECT json FROM read_ndjson_objects(${literal(this.path)}, ignore_errors = true, maximum_object_size = ${this.objectBytes()})`);
    if (read.length > 0) {
      const spec = `{${read.map((c) => `${literal(c.field)}: ${literal(readType(c.type))}`).join(', ')}}`;
      await this.conn.run(`CREATE TEMP TABLE ${t} AS SELECT * FROM read_json(${literal(this.path)}, ${this.readJsonOptions()}, columns = ${spec})`);
    }
    const counts = (await this.conn.runAndReadAll(
      `SELECT (SELECT count(*) FROM ${f}), (SELECT count(*) FROM ${r})${read.length > 0 ? `, (SELECT count(*) FROM ${t})` : ''}`,
    )).getRows()[0]!.map(Number);
    if (counts.some((n) => n !== this.rows)) throw new Error(`internal: staged ${this.rows} rows but DuckDB read ${counts.join('/')} (fixed/raw/typed)`);
    const used = new Set<string>();
    if (read.length > 0) {
      const nonNull = (await this.conn.runAndReadAll(`SELECT ${read.map((c) => `count(${ident(c.field)})`).join(', ')} FROM ${t}`)).getRows()[0]!.map(Number);
      read.forEach((c, i) => {
        if (nonNull[i]! > 0) used.add(c.name);
      });
    }
    return used;
  }

  private loaded: ValueColumn[] = [];

  private from(): string {
    return `${this.name}_f f POSITIONAL JOIN ${this.name}_r r${this.loaded.length > 0 ? ` POSITIONAL JOIN ${this.name}_t t` : ''}`;
  }

  /**
   * The SELECT giving the table's rows with `schema`'s columns (after load; a column of `schema`
   * that was not loaded reads as NULL), the rows' count and time range, and the refused rows.
   */
  async rowsOf(schema: ValueSchema): Promise<StagedRows> {
    const loaded = new Set(this.loaded.map((c) => c.field));
    const where = ' WHERE r.json IS NOT NULL';
    const [valid, minTs, maxTs] = (await this.conn.runAndReadAll(`SELECT count(*), min(f.ts), max(f.ts) FROM ${this.from()}${where}`)).getRows()[0]!;
    const deadLetters = Number(valid) === this.rows ? [] : await this.refused();
    const cols = [
      `${this.partition}::INTEGER AS partition`,
      `f.o::BIGINT AS "offset"`,
      `make_timestamptz(f.ts::BIGINT * 1000) AS "timestamp"`,
      `f.k AS "key"`,
      this.hasHeaderColumn ? `coalesce(f.h, []::${HEADERS_SQL}) AS headers` : `[]::${HEADERS_SQL} AS headers`,
      `CASE WHEN f.x THEN f.xv ELSE encode(r.json::VARCHAR) END AS "value"`,
      ...schema.columns.map((c) => `${loaded.has(c.field) ? outputCast(`t.${ident(c.field)}`, c.type) : `CAST(NULL AS ${duckdbType(c.type)})`} AS ${ident(c.name)}`),
    ];
    return {
      sql: `SELECT ${cols.join(', ')} FROM ${this.from()}${where}`,
      rows: Number(valid),
      minTimestampMs: minTs === null ? null : Number(minTs),
      maxTimestampMs: maxTs === null ? null : Number(maxTs),
      deadLetters,
    };
  }

  /** Rows whose line DuckDB's JSON reader refused, with their bytes (from xv, or read back from the file). */
  private async refused(): Promise<StagedDeadLetter[]> {
    const rows = (await this.conn.runAndReadAll(`SELECT f.i, f.o, f.ts, f.k, f.x, f.xv FROM ${this.from()} WHERE r.json IS NULL ORDER BY f.i`)).getRows() as unknown[][];
    if (rows.length === 0) return [];
    const fd = openSync(this.path, 'r');
    try {
      return rows.map(([i, o, ts, k, x, xv]) => {
        let value: Buffer;
        if (x === true) value = Buffer.from((xv as { bytes: Uint8Array }).bytes);
        else {
          const row = Number(i);
          const start = this.lineAt[row]!;
          value = Buffer.alloc(this.lineAt[row + 1]! - 1 - start);
          readSync(fd, value, 0, value.length, start);
        }
        let error = 'malformed JSON: refused by the JSON reader';
        try {
          JSON.parse(value.toString('utf8'));
        } catch (e) {
          error = `malformed JSON: ${(e as Error).message}`;
        }
        return { offset: Number(o), timestamp: Number(ts), key: k === null ? null : Buffer.from((k as { bytes: Uint8Array }).bytes), value, error };
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Drops the temp tables and deletes the scratch file. */
  async dispose(): Promise<void> {
    try {
      this.appender?.closeSync();
    } catch {
      // already closed
    }
    this.appender = null;
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.closed = true;
    }
    rmSync(this.path, { force: true });
    for (const s of ['f', 'r', 't']) await this.conn.run(`DROP TABLE IF EXISTS ${this.name}_${s}`);
  }
}

/**
 * The line for a value that is not plainly `{...}` on one line of valid UTF-8, or the dead-letter
 * error (a string) when it does not parse.
 */
function slowLine(value: Buffer): Buffer | string {
  const text = value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // An object may still be accepted by DuckDB's reader (trailing commas...): every object is
    // judged by the same reader, so only non-objects are refused here.
    if (text.trimStart().startsWith('{') && !text.includes('\n') && isUtf8(value)) return value;
    return `malformed JSON: ${(e as Error).message}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return EMPTY_OBJECT;
  // Valid JSON has newlines only as whitespace: spaces read the same. U+FFFD stands for invalid UTF-8.
  return Buffer.from(text.replace(/[\r\n]/g, ' ').trim(), 'utf8');
}

/** Our lattice type for a type DuckDB's read_json inferred (top level; nested as maximum_depth 2 gives them). */
export function valueTypeOf(duck: string): ValueType | null {
  if (duck === 'NULL') return null;
  if (duck === 'BOOLEAN') return 'boolean';
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT))$/.test(duck)) return 'bigint';
  if (/^(U?HUGEINT|DOUBLE|FLOAT|DECIMAL.*)$/.test(duck)) return 'double';
  if (duck === 'JSON') return 'string';
  if (duck.endsWith(']') || /^(STRUCT|MAP|UNION)\b/.test(duck)) return 'json';
  return 'string';
}

/** How read_json reads a column of this type (bigint via HUGEINT, so a value beyond int64 reads as NULL, not a refused row). */
function readType(t: ValueType): string {
  switch (t) {
    case 'boolean':
      return 'BOOLEAN';
    case 'bigint':
      return 'HUGEINT';
    case 'double':
      return 'DOUBLE';
    case 'string':
      return 'VARCHAR';
    case 'json':
      return 'JSON';
  }
}

function outputCast(expr: string, t: ValueType): string {
  switch (t) {
    case 'bigint':
      return `TRY_CAST(${expr} AS BIGINT)`;
    case 'json':
      return `CAST(${expr} AS VARCHAR)`;
    default:
      return `CAST(${expr} AS ${duckdbType(t)})`;
  }
}

/** base's columns widened by `batch`'s, then batch's new columns while there is room (columnsMax). */
export function growSchema(base: ValueSchema, batch: ValueSchema, columnsMax: number): ValueSchema {
  const names = new Set(base.columns.map((c) => c.name.toLowerCase()));
  const allowed: ValueColumn[] = [];
  let room = columnsMax - base.columns.length;
  for (const c of batch.columns) {
    if (names.has(c.name.toLowerCase())) {
      if (base.columns.some((b) => b.name === c.name)) allowed.push(c);
      continue;
    }
    if (room <= 0) continue;
    room--;
    allowed.push(c);
  }
  return mergeSchemas(base, { columns: allowed });
}

