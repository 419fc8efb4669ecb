/**
 * The decoded-value columns of a table and how they evolve. Every row has the fixed columns
 * (partition, offset, timestamp, key, headers, value: the record as stored); a JSON or Avro value
 * that decodes to an object also fills one column per top-level field.
 *
 * Types form a small lattice, so merging is order-independent (two partitions compacted in
 * parallel, or files merged later, always agree on the table's schema):
 *   null < boolean, null < bigint < double, null < json; anything else meeting → string.
 * - an integer field that later holds a fraction widens to double;
 * - conflicting types (a number then a string, a bool then an object) fall back to string, which
 *   holds strings as they are and every other value as its JSON text;
 * - nested objects and arrays are one `json` column (VARCHAR holding JSON text; DuckDB's
 *   json_extract / ->> reach inside), so a schema is bounded by the top-level fields.
 * A new field is appended as a new column; files written before it simply lack the column and
 * read as null (the query layer unions files by name and casts to the table's merged types).
 */
export type ValueType = 'boolean' | 'bigint' | 'double' | 'string' | 'json';

export interface ValueColumn {
  /** The column's name in files and queries. */
  name: string;
  /** The top-level field of the decoded value it comes from. */
  field: string;
  type: ValueType;
}

export interface ValueSchema {
  /** In order of first appearance. */
  columns: ValueColumn[];
}

/** The columns every table has, in this order. */
export const FIXED_COLUMNS = ['partition', 'offset', 'timestamp', 'key', 'headers', 'value'] as const;
const fixed = new Set<string>(FIXED_COLUMNS);

/** A field named like a fixed column gets the prefix, so `{"offset": 3}` is the column value_offset. */
export const COLLISION_PREFIX = 'value_';

export const EMPTY_SCHEMA: ValueSchema = { columns: [] };

export function columnNameFor(field: string): string {
  return fixed.has(field.toLowerCase()) ? `${COLLISION_PREFIX}${field}` : field;
}

/** The type a JS value (from JSON.parse or Avro) asks for; null for null/undefined (no information). */
export function typeOf(v: unknown): ValueType | null {
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isSafeInteger(v) ? 'bigint' : Number.isFinite(v) ? 'double' : 'string';
    case 'bigint':
      return 'bigint';
    case 'string':
      return 'string';
    case 'object':
      return v === null ? null : 'json';
    default:
      return v === undefined ? null : 'string';
  }
}

export function mergeType(a: ValueType | null, b: ValueType | null): ValueType | null {
  if (a === null) return b;
  if (b === null || a === b) return a;
  if ((a === 'bigint' && b === 'double') || (a === 'double' && b === 'bigint')) return 'double';
  return 'string';
}

/** a's columns (types merged with b's), then b's new columns, in b's order. Associative and commutative up to column order. */
export function mergeSchemas(a: ValueSchema, b: ValueSchema): ValueSchema {
  const byName = new Map(a.columns.map((c) => [c.name, { ...c }]));
  for (const c of b.columns) {
    const have = byName.get(c.name);
    if (have === undefined) byName.set(c.name, { ...c });
    else have.type = mergeType(have.type, c.type)!;
  }
  return { columns: [...byName.values()] };
}

export function schemaToJson(s: ValueSchema): string {
  return JSON.stringify({ columns: s.columns.map((c) => [c.name, c.field, c.type]) });
}

export function schemaFromJson(json: string): ValueSchema {
  if (json === '') return EMPTY_SCHEMA;
  const parsed = JSON.parse(json) as { columns?: [string, string, ValueType][] };
  return { columns: (parsed.columns ?? []).map(([name, field, type]) => ({ name, field, type })) };
}

/** The DuckDB type of a column of this type. */
export function duckdbType(t: ValueType): string {
  switch (t) {
    case 'boolean':
      return 'BOOLEAN';
    case 'bigint':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'string':
    case 'json':
      return 'VARCHAR';
  }
}

/** How a value is written into a column of type t (string columns take any value as text). */
export function coerce(v: unknown, t: ValueType): boolean | number | string | null {
  if (v === null || v === undefined) return null;
  switch (t) {
    case 'boolean':
      return v as boolean;
    case 'bigint':
    case 'double':
      return typeof v === 'bigint' ? Number(v) : (v as number);
    case 'string':
      // A bigint (an Avro long) reads as its digits, like a number does; not as a JSON string.
      return typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : stringify(v);
    case 'json':
      return stringify(v);
  }
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x));
}
