/**
 * The JSON path into DuckDB: records of one partition range staged so that DuckDB, not
 * JavaScript, parses the JSON values, infers their schema and builds the columns.
 *
 * Why: JSON.parse per record, a JS object per row and one DuckDB value per cell made the JS side
 * ~85% of a compaction; a later version staged the values as an NDJSON scratch file that DuckDB
 * then read four times (docs/benchmarks.md, Tables). Here:
 *  - the JS side only moves bytes: offset, timestamp and the value's bytes (the raw value column
 *    as it is, a BLOB) go to one DuckDB temp table through the appender, a data chunk of 2048 rows
 *    at a time; the key and headers columns appear once a record has some. No scratch file.
 *  - inference covers every row (never a sample: a field that appears once still becomes a
 *    column). Usually it happens during the scan itself (JsonShapes, below: a strict JSON check
 *    per value in JS that notes the top-level keys and their types, ~4x cheaper than asking
 *    DuckDB). When a range has a value that check does not fully understand (malformed, not an
 *    object, an escaped or duplicate key, ...), DuckDB infers in one aggregate pass in C++:
 *    `SELECT DISTINCT json_keys(v), json_type(v, '$.*')` gives a handful of distinct (keys, types)
 *    shapes, merged in JS with table-schema.ts's lattice; the same pass finds the unparsable
 *    values (json_keys fails: NULL under try()), which are read back only when there are some.
 *    (json_structure / json_group_structure are slower: they build a structure per row.)
 *  - the typed columns are one `json_transform(v, '<struct of the merged schema>')` per row
 *    inside the COPY that writes the Parquet file: one parse, no intermediate table.
 *
 * Every value keeps its exact bytes (the value column is the staged BLOB itself). The JSON text
 * is the value decoded as UTF-8; a value that is not valid UTF-8 (rare) gets its text in JS with
 * U+FFFD replacement, as JSON.parse would see it. A null value (tombstone) is a row without
 * decoded fields; so is valid JSON that is not an object (a number, an array, a string).
 *
 * Type inference (DuckDB's json_type names → table-schema.ts's lattice): BIGINT/UBIGINT → bigint,
 * DOUBLE (a fraction, an exponent, or beyond uint64) → double (an int field that gets one
 * widens), VARCHAR → string (no date detection), OBJECT/ARRAY → json, BOOLEAN → boolean, NULL →
 * no information; fields meeting with conflicting types → string, holding strings as they are
 * and other values as JSON text. A field that is only ever null makes no column. DuckDB's parser
 * (yyjson) also accepts trailing commas and NaN/Infinity, so such values are rows, not dead letters.
 */
import { isUtf8 } from 'node:buffer';
import {
  DuckDBBlobType,
  DuckDBDataChunk,
  DuckDBDoubleType,
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
import { columnNameFor, duckdbType, mergeSchemas, mergeType, type ValueColumn, type ValueSchema, type ValueType } from './table-schema.js';

const CHUNK_ROWS = 2048;
/** Appends one full data chunk serves (see JsonStage.dataChunk): 32k rows. */
const CHUNK_REUSES = 16;
const HEADERS_SQL = 'STRUCT("key" VARCHAR, "value" BLOB)[]';
const HEADERS_TYPE = new DuckDBListType(new DuckDBStructType(['key', 'value'], [DuckDBVarCharType.instance, DuckDBBlobType.instance]));
const NO_HEADERS = listValue([]);
/** Staged columns every range has: o (offset), ts (timestamp ms), v (the value's bytes). */
const FIXED_TYPES: DuckDBType[] = [DuckDBDoubleType.instance, DuckDBDoubleType.instance, DuckDBBlobType.instance];
/** Staged columns added when first needed: k (key), fx (text of a value that is not valid UTF-8), h (headers). */
type OptionalColumn = 'k' | 'fx' | 'h';
const OPTIONAL_SQL: Record<OptionalColumn, string> = { k: 'BLOB', fx: 'VARCHAR', h: HEADERS_SQL };
const OPTIONAL_TYPES: Record<OptionalColumn, DuckDBType> = { k: DuckDBBlobType.instance, fx: DuckDBVarCharType.instance, h: HEADERS_TYPE };

export interface StagedDeadLetter {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  error: string;
}

interface Chunk {
  n: number;
  offsets: Float64Array;
  timestamps: Float64Array;
  keys: (Buffer | null)[];
  values: (Buffer | null)[];
  /** The value's text when its bytes are not valid UTF-8; else undefined. */
  fixed: (string | undefined)[] | null;
  headers: (RecordHeader[] | null)[] | null;
}

function newChunk(): Chunk {
  return { n: 0, offsets: new Float64Array(CHUNK_ROWS), timestamps: new Float64Array(CHUNK_ROWS), keys: [], values: [], fixed: null, headers: null };
}

let stageCounter = 0;

/** What a staged range gives: the typed SELECT over it, and what DuckDB refused. */
export interface StagedRows {
  /** SELECT list + FROM (+ WHERE) giving the table's columns (fixed, then `schema`'s) for every valid row. */
  sql: string;
  rows: number;
  minTimestampMs: number | null;
  maxTimestampMs: number | null;
  /** Rows whose value DuckDB's JSON parser refused. */
  deadLetters: StagedDeadLetter[];
}

export class JsonStage {
  readonly name = `weir_json_${process.pid}_${stageCounter++}`;
  private chunk: Chunk = newChunk();
  private readonly full: Chunk[] = [];
  private appender: DuckDBAppender | null = null;
  /** The full data chunk appends reuse (dataChunk()). */
  private reusable: { chunk: DuckDBDataChunk; columns: number; uses: number } | null = null;
  /** Optional columns of the staged table, in the order they were added. */
  private readonly optional: OptionalColumn[] = [];
  private sealed = false;
  /** After inferSchema: whether some value failed to parse, and the columns this range's values fill. */
  private inferred: { refused: boolean; schema: ValueSchema } | null = null;
  /** Inference during the scan (JsonShapes): used unless it gave up on some value. */
  private readonly shapes = new JsonShapes();
  private minTs = Infinity;
  private maxTs = -Infinity;
  /** Rows staged. */
  rows = 0;
  /** Dead letters found on the JS side (none since DuckDB judges every value; kept for the callers' shape). */
  readonly deadLetters: StagedDeadLetter[] = [];
  /** Bytes of keys and values staged: a size estimate for the file to come. */
  payloadBytes = 0;
  firstTimestampMs: number | null = null;

  private constructor(private readonly conn: DuckDBConnection, readonly partition: number) {}

  /** The value's JSON text: its bytes as UTF-8, or the JS-repaired text when they are not valid UTF-8. */
  private text(): string {
    return this.optional.includes('fx') ? 'CASE WHEN fx IS NULL THEN decode(v) ELSE fx END' : 'decode(v)';
  }

  /** `_dir` is unused (no scratch file any more); kept so callers need not change. */
  static async open(conn: DuckDBConnection, _dir: string, partition: number): Promise<JsonStage> {
    const s = new JsonStage(conn, partition);
    try {
      await conn.run(`CREATE TEMP TABLE ${s.name} (o DOUBLE, ts DOUBLE, v BLOB)`);
      s.appender = await conn.createAppender(s.name);
    } catch (e) {
      await s.dispose();
      throw e;
    }
    return s;
  }

  /** The record visitor (scanCommitted): synchronous, no object per record on the common path. */
  readonly visit: RecordVisitor = (offset, timestamp, data, keyStart, keyLength, valueStart, valueLength, headersAt, headerCount, recordEnd) => {
    const c = this.chunk;
    const i = c.n++;
    c.offsets[i] = offset;
    c.timestamps[i] = timestamp;
    c.keys[i] = keyLength < 0 ? null : data.subarray(keyStart, keyStart + keyLength);
    const value = valueLength < 0 ? null : data.subarray(valueStart, valueStart + valueLength);
    c.values[i] = value;
    // The shape scan also tells whether the value is all ASCII (then valid UTF-8 without asking).
    if (value !== null && this.shapes.scan(data, valueStart, valueStart + valueLength) !== SHAPE_ASCII && !isUtf8(value)) {
      (c.fixed ??= [])[i] = value.toString('utf8');
      this.shapes.giveUp();
    }
    if (headerCount > 0) (c.headers ??= [])[i] = decodeHeaders(data, headersAt, headerCount, recordEnd);
    this.rows++;
    this.payloadBytes += (keyLength > 0 ? keyLength : 0) + (valueLength > 0 ? valueLength : 0) + 24;
    this.firstTimestampMs ??= timestamp;
    if (timestamp < this.minTs) this.minTs = timestamp;
    if (timestamp > this.maxTs) this.maxTs = timestamp;
    if (c.n === CHUNK_ROWS) {
      this.full.push(c);
      this.chunk = newChunk();
    }
  };

  /** Appends the full chunks to DuckDB (call between log entries: it awaits only for the rare ALTER). */
  async drain(): Promise<void> {
    for (const c of this.full.splice(0)) await this.appendChunk(c);
  }

  private async appendChunk(c: Chunk): Promise<void> {
    if (c.n === 0) return;
    // Key, repaired text and headers are columns only once some record needs them (earlier rows
    // read NULL): a null in a data chunk costs a validity update per row in node-api, and topics
    // without keys or headers are common.
    const need: OptionalColumn[] = [];
    if (!this.optional.includes('k') && c.keys.some((k) => k !== null)) need.push('k');
    if (!this.optional.includes('fx') && c.fixed !== null) need.push('fx');
    if (!this.optional.includes('h') && c.headers !== null) need.push('h');
    if (need.length > 0) {
      this.appender!.closeSync();
      for (const col of need) await this.conn.run(`ALTER TABLE ${this.name} ADD COLUMN ${col} ${OPTIONAL_SQL[col]}`);
      this.appender = await this.conn.createAppender(this.name);
      this.optional.push(...need);
    }
    const chunk = this.dataChunk(c.n);
    const vo = chunk.getColumnVector(0);
    const vt = chunk.getColumnVector(1);
    const vv = chunk.getColumnVector(2);
    for (let i = 0; i < c.n; i++) {
      vo.setItem(i, c.offsets[i]!);
      vt.setItem(i, c.timestamps[i]!);
      const v = c.values[i];
      vv.setItem(i, v == null ? null : blobValue(v));
    }
    vo.flush();
    vt.flush();
    vv.flush();
    this.optional.forEach((col, j) => {
      const vec = chunk.getColumnVector(FIXED_TYPES.length + j);
      for (let i = 0; i < c.n; i++) {
        if (col === 'k') {
          const k = c.keys[i];
          vec.setItem(i, k == null ? null : blobValue(k));
        } else if (col === 'fx') {
          vec.setItem(i, c.fixed?.[i] ?? null);
        } else {
          const h = c.headers?.[i];
          vec.setItem(i, h ? listValue(h.map((x) => structValue({ key: x.key, value: x.value === null ? null : blobValue(x.value) }))) : NO_HEADERS);
        }
      }
      vec.flush();
    });
    this.appender!.appendDataChunk(chunk);
  }

  /**
   * A data chunk for n rows of the staged columns. A full one is reused for up to CHUNK_REUSES
   * appends (the appender copies what it is given, and every row of every column is written
   * again): fresh native chunks are costly on this VM, and the node-api vector wrappers are kept
   * with them. Its string heap grows with each reuse, hence the bound. A headers column (a list
   * vector) is never reused.
   */
  private dataChunk(n: number): DuckDBDataChunk {
    const columns = FIXED_TYPES.length + this.optional.length;
    const dc = this.reusable;
    if (n === CHUNK_ROWS && dc !== null && dc.columns === columns && dc.uses < CHUNK_REUSES) {
      dc.uses++;
      return dc.chunk;
    }
    const chunk = DuckDBDataChunk.create([...FIXED_TYPES, ...this.optional.map((col) => OPTIONAL_TYPES[col])], n);
    this.reusable = n === CHUNK_ROWS && !this.optional.includes('h') ? { chunk, columns, uses: 1 } : null;
    return chunk;
  }

  /** Ends staging: the last rows go to DuckDB. */
  async seal(): Promise<void> {
    if (this.sealed) return;
    this.full.push(this.chunk);
    this.chunk = newChunk();
    await this.drain();
    this.appender!.flushSync();
    this.appender!.closeSync();
    this.appender = null;
    this.reusable = null;
    this.sealed = true;
  }

  /**
   * The schema of the staged values alone, inferred over every row: from the scan (JsonShapes)
   * when it understood every value, else by DuckDB in one aggregate pass.
   */
  async inferSchema(): Promise<ValueSchema> {
    await this.seal();
    if (this.inferred !== null) return this.inferred.schema;
    this.inferred = this.shapes.ok ? { refused: false, schema: columnsOf(this.shapes.types) } : await this.inferInDuckDB();
    return this.inferred.schema;
  }

  /** True when the scan inferred the schema (JsonShapes), false when DuckDB had to (for tests and the bench). */
  get inferredWhileScanning(): boolean {
    return this.shapes.ok;
  }

  /** DuckDB's inference over every staged row (the fallback; public so tests can compare both). */
  async inferInDuckDB(): Promise<{ refused: boolean; schema: ValueSchema }> {
    await this.seal();
    // Two parses per value (keys, then their types), a handful of distinct shapes out. A value
    // that does not parse makes json_keys fail: NULL under try(). A value that is not an object
    // has no keys (a top-level array's element types are ignored with them).
    const shapes = this.rows === 0
      ? []
      : ((await this.conn.runAndReadAll(
          `SELECT DISTINCT try(json_keys(t)), try(json_type(t, '$.*')) FROM (SELECT ${this.text()} AS t FROM ${this.name} WHERE v IS NOT NULL)`,
        )).getRows() as [{ items: string[] } | null, { items: (string | null)[] } | null][]);
    const types = new Map<string, ValueType | null>();
    let refused = false;
    for (const [ks, ts] of shapes) {
      if (ks === null) {
        refused = true;
        continue;
      }
      // No keys: {} or not an object (an array's element types are not fields).
      if (ts === null || ks.items.length === 0) continue;
      ks.items.forEach((field, i) => {
        const t = valueTypeOf(ts.items[i] ?? 'NULL');
        types.set(field, types.has(field) ? mergeType(types.get(field)!, t) : t);
      });
    }
    return { refused, schema: columnsOf(types) };
  }

  /**
   * Returns the columns this range's values fill (at least one non-null value). Nothing is read:
   * json_transform in rowsOf's SELECT reads the values with the final schema's types.
   */
  async load(_schema: ValueSchema): Promise<Set<string>> {
    return new Set((await this.inferSchema()).columns.map((c) => c.name));
  }

  /**
   * The SELECT giving the table's rows with `schema`'s columns (a column no value here holds
   * reads as NULL), the rows' count and time range, and the refused rows.
   */
  async rowsOf(schema: ValueSchema): Promise<StagedRows> {
    await this.inferSchema();
    const deadLetters = this.inferred!.refused ? await this.refused() : [];
    const fields = new Set(this.inferred!.schema.columns.map((c) => c.field));
    const read = schema.columns.filter((c) => fields.has(c.field));
    const cols = [
      `${this.partition}::INTEGER AS partition`,
      `o::BIGINT AS "offset"`,
      `make_timestamptz(ts::BIGINT * 1000) AS "timestamp"`,
      this.optional.includes('k') ? `k AS "key"` : `NULL::BLOB AS "key"`,
      this.optional.includes('h') ? `coalesce(h, []::${HEADERS_SQL}) AS headers` : `[]::${HEADERS_SQL} AS headers`,
      `v AS "value"`,
      ...schema.columns.map((c) => `${fields.has(c.field) ? outputCast(`struct_extract(s, ${literal(c.field)})`, c.type) : `CAST(NULL AS ${duckdbType(c.type)})`} AS ${ident(c.name)}`),
    ];
    const spec = JSON.stringify(Object.fromEntries(read.map((c) => [c.field, transformType(c.type)])));
    // Refused values would make json_transform fail: filtered out only when there are some.
    const where = deadLetters.length > 0 ? ` WHERE v IS NULL OR try(json_keys(${this.text()})) IS NOT NULL` : '';
    const inner = `SELECT *${read.length > 0 ? `, json_transform(${this.text()}, ${literal(spec)}) AS s` : ''} FROM ${this.name}${where}`;
    const rows = this.rows - deadLetters.length;
    return {
      sql: `SELECT ${cols.join(', ')} FROM (${inner})`,
      rows,
      minTimestampMs: rows === 0 || deadLetters.length > 0 ? await this.timeRange('min', where) : this.minTs,
      maxTimestampMs: rows === 0 || deadLetters.length > 0 ? await this.timeRange('max', where) : this.maxTs,
      deadLetters,
    };
  }

  private async timeRange(fn: 'min' | 'max', where: string): Promise<number | null> {
    const v = (await this.conn.runAndReadAll(`SELECT ${fn}(ts) FROM ${this.name}${where}`)).getRows()[0]![0];
    return v === null ? null : Number(v);
  }

  /** Rows whose value DuckDB's JSON parser refused, with their bytes and JSON.parse's error. */
  private async refused(): Promise<StagedDeadLetter[]> {
    const rows = (await this.conn.runAndReadAll(
      `SELECT o, ts, ${this.optional.includes('k') ? 'k' : 'NULL::BLOB'}, v FROM ${this.name} WHERE v IS NOT NULL AND try(json_keys(${this.text()})) IS NULL`,
    )).getRows() as [number, number, { bytes: Uint8Array } | null, { bytes: Uint8Array }][];
    return rows.map(([o, ts, k, v]) => {
      const value = Buffer.from(v.bytes);
      let error = 'malformed JSON: refused by the JSON parser';
      try {
        JSON.parse(value.toString('utf8'));
      } catch (e) {
        error = `malformed JSON: ${(e as Error).message}`;
      }
      return { offset: Number(o), timestamp: Number(ts), key: k === null ? null : Buffer.from(k.bytes), value, error };
    });
  }

  /** Drops the temp table. */
  async dispose(): Promise<void> {
    try {
      this.appender?.closeSync();
    } catch {
      // already closed
    }
    this.appender = null;
    this.reusable = null;
    await this.conn.run(`DROP TABLE IF EXISTS ${this.name}`);
  }
}

/** The columns of inferred field types: fields only ever null make none; names that collide case-insensitively keep the first. */
function columnsOf(types: Map<string, ValueType | null>): ValueSchema {
  const columns: ValueColumn[] = [];
  const seen = new Set<string>();
  for (const [field, t] of types) {
    if (t === null) continue;
    const column = columnNameFor(field);
    // DuckDB names (and struct fields) are case-insensitive: a field differing from an earlier
    // one only by case stays in the raw value.
    if (seen.has(column.toLowerCase())) continue;
    seen.add(column.toLowerCase());
    columns.push({ name: column, field, type: t });
  }
  return { columns };
}

/**
 * Schema inference while the log is scanned, in JS, without building a value: a strict JSON
 * (RFC 8259) check of each value that also notes its top-level keys and their JSON types. It
 * replaces DuckDB's inference pass (`DISTINCT json_keys, json_type` over every row, the range's
 * second full parse) whenever every value of the range is an object it fully understands; the
 * first value that is anything else (not an object, a trailing comma, an escaped or duplicate key,
 * an integer of 19+ digits, a lone surrogate escape, nesting deeper than 64, invalid UTF-8...)
 * makes it give up for the range, and DuckDB infers as before. Strict JSON is a subset of what
 * DuckDB's parser (yyjson) accepts and both type numbers alike (no fraction or exponent and within
 * int64 → an integer), so when it does not give up it finds exactly what DuckDB would: every value
 * parses (no dead letters) and the same (field, type) pairs. Most values share their predecessor's
 * keys: those rows cost one byte comparison per key byte, no string and no map lookup.
 */
const T_NULL = 0;
const T_BOOLEAN = 1;
const T_BIGINT = 2;
const T_DOUBLE = 3;
const T_STRING = 4;
const T_JSON = 5;
const TYPE_OF_CODE: (ValueType | null)[] = [null, 'boolean', 'bigint', 'double', 'string', 'json'];
const NESTING_MAX = 64;
/** scan() results. */
export const SHAPE_ASCII = 0;
export const SHAPE_NON_ASCII = 1;
export const SHAPE_GAVE_UP = -1;

export class JsonShapes {
  /** Field → merged type, in order of first appearance (null: only ever null so far). */
  readonly types = new Map<string, ValueType | null>();
  /** False once a value was outside what this scanner understands: DuckDB must infer. */
  ok = true;
  private high = false;
  private keyStarts = new Int32Array(64);
  private keyEnds = new Int32Array(64);
  private keyTypes = new Int8Array(64);
  /** The previous value's keys (bytes) and their fields, by position. */
  private readonly lastKeys: Uint8Array[] = [];
  private readonly lastFields: (FieldShape | undefined)[] = [];
  private readonly fields = new Map<string, FieldShape>();
  private rowNo = 0;

  /** Scans data[start, end) (a non-null value). Returns SHAPE_ASCII, SHAPE_NON_ASCII (some byte ≥ 0x80) or SHAPE_GAVE_UP. */
  scan(data: Uint8Array, start: number, end: number): number {
    if (!this.ok) return SHAPE_GAVE_UP;
    this.high = false;
    const n = this.object(data, start, end);
    if (n < 0) {
      this.ok = false;
      return SHAPE_GAVE_UP;
    }
    if (!this.record(data, n)) {
      this.ok = false;
      return SHAPE_GAVE_UP;
    }
    return this.high ? SHAPE_NON_ASCII : SHAPE_ASCII;
  }

  /** Gives up for this range (a value the caller found it cannot judge, e.g. invalid UTF-8). */
  giveUp(): void {
    this.ok = false;
  }

  private ws(d: Uint8Array, p: number, end: number): number {
    while (p < end) {
      const c = d[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    return p;
  }

  /** The top-level object; returns its key count, or -1. */
  private object(d: Uint8Array, start: number, end: number): number {
    let p = this.ws(d, start, end);
    if (p >= end || d[p] !== 0x7b) return -1;
    p = this.ws(d, p + 1, end);
    let k = 0;
    if (p < end && d[p] === 0x7d) {
      p++;
    } else {
      for (;;) {
        if (p >= end || d[p] !== 0x22) return -1;
        const ks = p + 1;
        p = ks;
        for (;;) {
          if (p >= end) return -1;
          const c = d[p]!;
          if (c === 0x22) break;
          if (c === 0x5c || c < 0x20) return -1;
          if (c >= 0x80) this.high = true;
          p++;
        }
        const ke = p;
        p = this.ws(d, p + 1, end);
        if (p >= end || d[p] !== 0x3a) return -1;
        p = this.value(d, this.ws(d, p + 1, end), end, 0);
        if (p < 0) return -1;
        if (k === this.keyStarts.length) this.grow();
        this.keyStarts[k] = ks;
        this.keyEnds[k] = ke;
        this.keyTypes[k] = this.lastType;
        k++;
        p = this.ws(d, p, end);
        if (p >= end) return -1;
        const c = d[p]!;
        if (c === 0x7d) {
          p++;
          break;
        }
        if (c !== 0x2c) return -1;
        p = this.ws(d, p + 1, end);
      }
    }
    if (this.ws(d, p, end) !== end) return -1;
    return k;
  }

  private grow(): void {
    const n = this.keyStarts.length * 2;
    const s = new Int32Array(n);
    s.set(this.keyStarts);
    this.keyStarts = s;
    const e = new Int32Array(n);
    e.set(this.keyEnds);
    this.keyEnds = e;
    const t = new Int8Array(n);
    t.set(this.keyTypes);
    this.keyTypes = t;
  }

  /** The type code of the last value() read. */
  private lastType = T_NULL;

  /** A value at d[p]; returns the position after it (or -1) and sets lastType. */
  private value(d: Uint8Array, p: number, end: number, depth: number): number {
    if (p >= end) return -1;
    const c = d[p]!;
    if (c === 0x22) {
      this.lastType = T_STRING;
      return this.string(d, p + 1, end);
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number(d, p, end);
    if (c === 0x74) {
      this.lastType = T_BOOLEAN;
      return p + 4 <= end && d[p + 1] === 0x72 && d[p + 2] === 0x75 && d[p + 3] === 0x65 ? p + 4 : -1;
    }
    if (c === 0x66) {
      this.lastType = T_BOOLEAN;
      return p + 5 <= end && d[p + 1] === 0x61 && d[p + 2] === 0x6c && d[p + 3] === 0x73 && d[p + 4] === 0x65 ? p + 5 : -1;
    }
    if (c === 0x6e) {
      this.lastType = T_NULL;
      return p + 4 <= end && d[p + 1] === 0x75 && d[p + 2] === 0x6c && d[p + 3] === 0x6c ? p + 4 : -1;
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth >= NESTING_MAX) return -1;
      const q = c === 0x7b ? this.nestedObject(d, p + 1, end, depth + 1) : this.nestedArray(d, p + 1, end, depth + 1);
      this.lastType = T_JSON;
      return q;
    }
    return -1;
  }

  private nestedObject(d: Uint8Array, p: number, end: number, depth: number): number {
    p = this.ws(d, p, end);
    if (p < end && d[p] === 0x7d) return p + 1;
    for (;;) {
      if (p >= end || d[p] !== 0x22) return -1;
      p = this.string(d, p + 1, end);
      if (p < 0) return -1;
      p = this.ws(d, p, end);
      if (p >= end || d[p] !== 0x3a) return -1;
      p = this.value(d, this.ws(d, p + 1, end), end, depth);
      if (p < 0) return -1;
      p = this.ws(d, p, end);
      if (p >= end) return -1;
      if (d[p] === 0x7d) return p + 1;
      if (d[p] !== 0x2c) return -1;
      p = this.ws(d, p + 1, end);
    }
  }

  private nestedArray(d: Uint8Array, p: number, end: number, depth: number): number {
    p = this.ws(d, p, end);
    if (p < end && d[p] === 0x5d) return p + 1;
    for (;;) {
      p = this.value(d, p, end, depth);
      if (p < 0) return -1;
      p = this.ws(d, p, end);
      if (p >= end) return -1;
      if (d[p] === 0x5d) return p + 1;
      if (d[p] !== 0x2c) return -1;
      p = this.ws(d, p + 1, end);
    }
  }

  /** A string's body from p (after the opening quote); returns the position after the closing quote, or -1. */
  private string(d: Uint8Array, p: number, end: number): number {
    while (p < end) {
      const c = d[p]!;
      if (c === 0x22) return p + 1;
      if (c < 0x20) return -1;
      if (c === 0x5c) {
        if (p + 1 >= end) return -1;
        const e = d[p + 1]!;
        if (e === 0x75) {
          let u = 0;
          for (let i = p + 2; i < p + 6; i++) {
            if (i >= end) return -1;
            const h = hexValue(d[i]!);
            if (h < 0) return -1;
            u = u * 16 + h;
          }
          // Surrogate escapes: pairs and lone halves are judged differently by parsers; DuckDB decides.
          if (u >= 0xd800 && u <= 0xdfff) return -1;
          p += 6;
          continue;
        }
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1;
        p += 2;
        continue;
      }
      if (c >= 0x80) this.high = true;
      p++;
    }
    return -1;
  }

  /** A number: an integer (no fraction or exponent, at most 18 digits: always within int64) or a double. */
  private number(d: Uint8Array, p: number, end: number): number {
    const neg = d[p] === 0x2d;
    if (neg) p++;
    if (p >= end) return -1;
    const first = p;
    if (d[p] === 0x30) {
      p++;
    } else {
      while (p < end && d[p]! >= 0x30 && d[p]! <= 0x39) p++;
      if (p === first) return -1;
    }
    const digits = p - first;
    let real = false;
    if (p < end && d[p] === 0x2e) {
      real = true;
      const f = ++p;
      while (p < end && d[p]! >= 0x30 && d[p]! <= 0x39) p++;
      if (p === f) return -1;
    }
    if (p < end && (d[p] === 0x65 || d[p] === 0x45)) {
      real = true;
      p++;
      if (p < end && (d[p] === 0x2b || d[p] === 0x2d)) p++;
      const f = p;
      while (p < end && d[p]! >= 0x30 && d[p]! <= 0x39) p++;
      // No exponent at all is invalid; 3+ digits may overflow a double (inf): DuckDB decides.
      if (p === f || p - f > 2) return -1;
    }
    if (!real) {
      // 19+ digits may be beyond int64 (DuckDB then types a DOUBLE); -0 is a parser corner.
      if (digits > 18 || (neg && digits === 1 && d[first] === 0x30)) return -1;
      this.lastType = T_BIGINT;
    } else {
      this.lastType = T_DOUBLE;
    }
    // A number must end at a delimiter (the caller checks which one).
    return p;
  }

  /**
   * Merges a scanned value's keys; false on a duplicate key (parsers differ on those: DuckDB
   * decides). A key equal to the previous value's key at the same position resolves to its field
   * without decoding it, and a type the field already had changes nothing (the lattice merge is
   * idempotent), so a row like its predecessor costs a byte comparison per key byte.
   */
  private record(d: Uint8Array, k: number): boolean {
    const row = ++this.rowNo;
    for (let i = 0; i < k; i++) {
      const s = this.keyStarts[i]!;
      const len = this.keyEnds[i]! - s;
      let f: FieldShape | undefined = this.lastFields[i];
      if (f !== undefined) {
        const key = this.lastKeys[i]!;
        if (len !== key.length) f = undefined;
        else {
          for (let j = 0; j < len; j++) {
            if (d[s + j] !== key[j]) {
              f = undefined;
              break;
            }
          }
        }
      }
      if (f === undefined) {
        const field = Buffer.from(d.buffer, d.byteOffset + s, len).toString('utf8');
        f = this.fields.get(field);
        if (f === undefined) {
          f = { field, mask: 0, row: 0 };
          this.fields.set(field, f);
        }
        this.lastFields[i] = f;
        this.lastKeys[i] = new Uint8Array(d.subarray(s, s + len));
      }
      if (f.row === row) return false;
      f.row = row;
      const bit = 1 << this.keyTypes[i]!;
      if ((f.mask & bit) === 0) {
        f.mask |= bit;
        const t = TYPE_OF_CODE[this.keyTypes[i]!]!;
        const have = this.types.get(f.field);
        this.types.set(f.field, have === undefined ? t : mergeType(have, t));
      }
    }
    return true;
  }
}

interface FieldShape {
  field: string;
  /** Bit per type code already merged into the field's type. */
  mask: number;
  /** The last row (rowNo) that had the key: a second sighting in one row is a duplicate. */
  row: number;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Our lattice type for a JSON value type as DuckDB's json_type names it; null for JSON null (no information). */
export function valueTypeOf(duck: string): ValueType | null {
  if (duck === 'NULL') return null;
  if (duck === 'BOOLEAN') return 'boolean';
  if (/^(U?(TINYINT|SMALLINT|INTEGER|BIGINT))$/.test(duck)) return 'bigint';
  if (/^(U?HUGEINT|DOUBLE|FLOAT|DECIMAL.*)$/.test(duck)) return 'double';
  if (duck === 'JSON') return 'string';
  if (duck === 'OBJECT' || duck === 'ARRAY' || duck.endsWith(']') || /^(STRUCT|MAP|UNION)\b/.test(duck)) return 'json';
  return 'string';
}

/** How json_transform reads a column of this type (it is lenient: an integer beyond int64 reads as NULL, not an error). */
function transformType(t: ValueType): string {
  switch (t) {
    case 'boolean':
      return 'BOOLEAN';
    case 'bigint':
      return 'BIGINT';
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
