/**
 * Rows of one partition on their way into a table file, gathered column by column and turned
 * into an Apache Arrow table: Arrow is the in-memory columnar form every output is written from
 * (Arrow IPC files directly, Parquet through DuckDB).
 *
 * Decoded fields are kept sparse (row index + value per column) while rows arrive, so a row costs
 * work only for the fields it has, whatever the number of columns the table has grown; the dense
 * Arrow vectors are built once, at the end, with the column's final (merged) type.
 */
import {
  Binary,
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { RecordHeader } from '../../core/records/records.js';
import type { LogRow } from './log-source.js';
import { coerce, columnNameFor, mergeType, typeOf, type ValueColumn, type ValueSchema, type ValueType } from './table-schema.js';

interface SparseColumn {
  column: ValueColumn;
  rows: number[];
  values: unknown[];
}

export interface RowBatchOptions {
  /** Decoded columns beyond this many are not created (their fields stay in the raw value). */
  columnsMax?: number;
}

export class RowBatch {
  readonly offsets: number[] = [];
  readonly timestamps: number[] = [];
  readonly keys: (Buffer | null)[] = [];
  readonly values: (Buffer | null)[] = [];
  readonly headers: (RecordHeader[] | null)[] = [];
  private readonly columns = new Map<string, SparseColumn>();
  private readonly columnsMax: number;
  /** Bytes of keys, values and headers held, the main part of the file to come. */
  payloadBytes = 0;
  minTimestampMs: number | null = null;
  maxTimestampMs: number | null = null;

  /** base: the table's schema so far; its columns come first, in its order, and its types only widen. */
  constructor(readonly partition: number, base: ValueSchema, opts: RowBatchOptions = {}) {
    this.columnsMax = opts.columnsMax ?? 1000;
    for (const c of base.columns) this.columns.set(c.field, { column: { ...c }, rows: [], values: [] });
  }

  get rowCount(): number {
    return this.offsets.length;
  }

  add(row: LogRow, fields: Record<string, unknown> | null): void {
    const i = this.offsets.length;
    this.offsets.push(row.offset);
    this.timestamps.push(row.timestamp);
    // Record fields are views into the batch buffers: keep them (no copy); the batch lives until the file is written.
    this.keys.push(row.key);
    this.values.push(row.value);
    this.headers.push(row.headers.length === 0 ? null : row.headers);
    this.payloadBytes += (row.key?.length ?? 0) + (row.value?.length ?? 0) + 24;
    if (this.minTimestampMs === null || row.timestamp < this.minTimestampMs) this.minTimestampMs = row.timestamp;
    if (this.maxTimestampMs === null || row.timestamp > this.maxTimestampMs) this.maxTimestampMs = row.timestamp;
    if (fields === null) return;
    for (const field in fields) {
      const v = fields[field];
      const t = typeOf(v);
      // A null says nothing about the field's type; a column is created by its first real value.
      if (t === null) continue;
      let col = this.columns.get(field);
      if (col === undefined) {
        if (this.columns.size >= this.columnsMax) continue;
        col = { column: { name: columnNameFor(field), field, type: t }, rows: [], values: [] };
        this.columns.set(field, col);
      } else col.column.type = mergeType(col.column.type, t)!;
      col.rows.push(i);
      col.values.push(v);
    }
  }

  /** The table's schema after this batch: the base columns, widened, then the new ones. */
  schema(): ValueSchema {
    return { columns: [...this.columns.values()].map((c) => ({ ...c.column })) };
  }

  toArrow(): Table {
    const n = this.rowCount;
    const fields: Field[] = [];
    const children: Data[] = [];
    const push = (name: string, data: Data): void => {
      fields.push(new Field(name, data.type, true));
      children.push(data);
    };
    push('partition', makeData({ type: new Int32(), length: n, data: new Int32Array(n).fill(this.partition) }));
    const off = new BigInt64Array(n);
    const ts = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      off[i] = BigInt(this.offsets[i]!);
      ts[i] = BigInt(this.timestamps[i]!);
    }
    push('offset', makeData({ type: new Int64(), length: n, data: off }));
    push('timestamp', makeData({ type: new TimestampMillisecond('UTC'), length: n, data: ts }));
    push('key', binaryData(this.keys));
    push('headers', headersData(this.headers));
    push('value', binaryData(this.values));
    for (const c of this.columns.values()) push(c.column.name, valueData(c, n));
    const schema = new Schema(fields);
    const struct = makeData({ type: new Struct(fields), length: n, children, nullCount: 0 });
    return new Table(schema, [new RecordBatch(schema, struct)]);
  }
}

function bitmap(n: number): Uint8Array {
  return new Uint8Array((n + 7) >> 3);
}

function binaryData(items: readonly (Uint8Array | null)[]): Data<Binary> {
  const n = items.length;
  const offsets = new Int32Array(n + 1);
  const valid = bitmap(n);
  let total = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const b = items[i];
    if (b === null || b === undefined) nulls++;
    else {
      valid[i >> 3]! |= 1 << (i & 7);
      total += b.length;
    }
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    const b = items[i];
    if (b) data.set(b, offsets[i]!);
  }
  return makeData({ type: new Binary(), length: n, valueOffsets: offsets, data, nullBitmap: nulls === 0 ? null : valid, nullCount: nulls });
}

function utf8Data(items: readonly (string | null)[]): Data<Utf8> {
  const encoded = items.map((s) => (s === null ? null : Buffer.from(s, 'utf8')));
  const b = binaryData(encoded);
  return makeData({ type: new Utf8(), length: b.length, valueOffsets: b.valueOffsets, data: b.values, nullBitmap: b.nullBitmap, nullCount: b.nullCount });
}

export const HEADER_TYPE = new Struct([new Field('key', new Utf8(), false), new Field('value', new Binary(), true)]);

/** headers: list<struct<key: utf8, value: binary>>; a record without headers has an empty list. */
function headersData(items: readonly (RecordHeader[] | null)[]): Data<List> {
  const n = items.length;
  const offsets = new Int32Array(n + 1);
  const flat: RecordHeader[] = [];
  for (let i = 0; i < n; i++) {
    const h = items[i];
    if (h) for (const x of h) flat.push(x);
    offsets[i + 1] = flat.length;
  }
  const keys = utf8Data(flat.map((h) => h.key));
  const values = binaryData(flat.map((h) => h.value));
  const child = makeData({ type: HEADER_TYPE, length: flat.length, children: [keys, values], nullCount: 0 });
  return makeData({ type: new List(new Field('item', HEADER_TYPE, false)), length: n, valueOffsets: offsets, child, nullCount: 0 });
}

export function arrowType(t: ValueType): DataType {
  switch (t) {
    case 'boolean':
      return new Bool();
    case 'bigint':
      return new Int64();
    case 'double':
      return new Float64();
    case 'string':
    case 'json':
      return new Utf8();
  }
}

function valueData(c: SparseColumn, n: number): Data {
  const t = c.column.type;
  const valid = bitmap(n);
  for (const i of c.rows) valid[i >> 3]! |= 1 << (i & 7);
  const nullCount = n - c.rows.length;
  const nullBitmap = nullCount === 0 ? null : valid;
  switch (t) {
    case 'boolean': {
      const bits = bitmap(n);
      c.rows.forEach((i, k) => {
        if (c.values[k] === true) bits[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type: new Bool(), length: n, data: bits, nullBitmap, nullCount });
    }
    case 'bigint': {
      const a = new BigInt64Array(n);
      c.rows.forEach((i, k) => {
        const v = c.values[k];
        a[i] = typeof v === 'bigint' ? v : BigInt(v as number);
      });
      return makeData({ type: new Int64(), length: n, data: a, nullBitmap, nullCount });
    }
    case 'double': {
      const a = new Float64Array(n);
      c.rows.forEach((i, k) => {
        a[i] = coerce(c.values[k], 'double') as number;
      });
      return makeData({ type: new Float64(), length: n, data: a, nullBitmap, nullCount });
    }
    case 'string':
    case 'json': {
      const s: (string | null)[] = new Array(n).fill(null);
      c.rows.forEach((i, k) => {
        s[i] = coerce(c.values[k], t) as string;
      });
      return utf8Data(s);
    }
  }
}
