/**
 * Which table files a query can skip: Hive-style partition pruning for `weir query`, from the
 * query's own WHERE clause. On S3 every file a query reads is downloaded first, so a query on one
 * partition or one hour should not fetch the whole table.
 *
 * It reads DuckDB's parse tree of the statement (json_serialize_sql) and is conservative:
 * - the topic must be read exactly once in the whole statement, directly in a SELECT's FROM
 *   (not inside a join), since its view is shared by every reference;
 * - only top-level AND terms of that SELECT's WHERE are used, each comparing `partition`,
 *   `offset` or `timestamp` (bare, or qualified by the table's name or alias) with a constant:
 *   =, <, <=, >, >=, IN (...) and BETWEEN. Everything else is left for DuckDB to filter;
 *   dropping a term only keeps more files;
 * - timestamp constants are evaluated by DuckDB in the query's session (the same casts and time
 *   zone the query uses), then widened to whole milliseconds, which is what file ranges hold.
 * A file is skipped only when its partition, offset range or timestamp range (manifest) cannot
 * hold a row the terms allow. The log tail is narrowed by partition the same way.
 */
import type { TableFile } from '../../core/metadata/table-manifest.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { literal } from './duckdb-session.js';

type DuckSession = Pick<DuckDBConnection, 'runAndReadAll'>;

export interface Pruning {
  /** Partitions a row may be in (IN lists and =); null: any. */
  partitions: Set<number> | null;
  /** Bounds on the partition number (comparisons), inclusive. */
  partitionMin: number;
  partitionMax: number;
  offsetMin: number;
  offsetMax: number;
  timestampMinMs: number;
  timestampMaxMs: number;
}

type Node = Record<string, unknown>;

const FLIP: Record<string, string> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
  COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
};

/** DuckDB type ids of timestamp-like casts, as SQL type names. */
const TIME_TYPES: Record<string, string> = {
  TIMESTAMP: 'TIMESTAMP',
  'TIMESTAMP WITH TIME ZONE': 'TIMESTAMPTZ',
  TIMESTAMPWITHTIMEZONE: 'TIMESTAMPTZ',
  TIMESTAMP_TZ: 'TIMESTAMPTZ',
  TIMESTAMP_MS: 'TIMESTAMP_MS',
  TIMESTAMP_S: 'TIMESTAMP_S',
  TIMESTAMP_NS: 'TIMESTAMP_NS',
  DATE: 'DATE',
  VARCHAR: 'TIMESTAMPTZ',
};

/** A constant of the query, or a cast of one: its value and (for casts) the target type id. */
interface Constant {
  value: unknown;
  typeId: string;
  castTo: string | null;
}

function isNode(x: unknown): x is Node {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** The SELECT nodes whose FROM is the topic's table, and how many times the topic is read. */
function findReads(statements: unknown, topic: string): { count: number; selects: { select: Node; names: Set<string> }[] } {
  const want = topic.toLowerCase();
  const isTopic = (n: unknown): n is Node =>
    isNode(n) && n.type === 'BASE_TABLE' && typeof n.table_name === 'string' && n.table_name.toLowerCase() === want && !n.schema_name && !n.catalog_name;
  let count = 0;
  const selects: { select: Node; names: Set<string> }[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!isNode(n)) return;
    if (isTopic(n)) count++;
    if (n.type === 'SELECT_NODE' && isTopic(n.from_table)) {
      const t = n.from_table;
      const alias = typeof t.alias === 'string' && t.alias !== '' ? t.alias.toLowerCase() : null;
      selects.push({ select: n, names: new Set([alias ?? want]) });
    }
    for (const v of Object.values(n)) walk(v);
  };
  walk(statements);
  return { count, selects };
}

function columnOf(n: unknown, names: Set<string>): 'partition' | 'offset' | 'timestamp' | null {
  if (!isNode(n) || n.class !== 'COLUMN_REF' || !Array.isArray(n.column_names)) return null;
  const parts = (n.column_names as unknown[]).map((x) => String(x).toLowerCase());
  if (parts.length === 2 && !names.has(parts[0]!)) return null;
  if (parts.length !== 1 && parts.length !== 2) return null;
  const c = parts[parts.length - 1]!;
  return c === 'partition' || c === 'offset' || c === 'timestamp' ? c : null;
}

function constantOf(n: unknown): Constant | null {
  if (!isNode(n)) return null;
  if (n.class === 'CONSTANT' && isNode(n.value)) {
    const v = n.value as { is_null?: boolean; value?: unknown; type?: { id?: string } };
    if (v.is_null) return null;
    return { value: v.value, typeId: String(v.type?.id ?? ''), castTo: null };
  }
  if (n.class === 'CAST' && !n.try_cast && isNode(n.cast_type)) {
    const inner = constantOf(n.child);
    if (inner === null || inner.castTo !== null) return null;
    return { ...inner, castTo: String((n.cast_type as { id?: unknown }).id ?? '') };
  }
  return null;
}

function numberOf(c: Constant): number | null {
  if (c.castTo !== null || typeof c.value === 'boolean') return null;
  if (typeof c.value === 'number') return Number.isFinite(c.value) ? c.value : null;
  if (typeof c.value !== 'string') return null;
  // A numeric literal DuckDB hands over as text (BIGINT, DECIMAL); a quoted string only when it is
  // a plain integer, since DuckDB casts it to the column's integer type (and would refuse '2.5').
  const pattern = c.typeId === 'VARCHAR' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
  return pattern.test(c.value) ? Number(c.value) : null;
}

/** A timestamp constant as [floor, ceil] epoch milliseconds, evaluated by DuckDB; null if it is not one. */
async function instantOf(duck: DuckSession, c: Constant): Promise<[number, number] | null> {
  const type = TIME_TYPES[(c.castTo ?? c.typeId).toUpperCase()];
  if (type === undefined || typeof c.value !== 'string') return null;
  try {
    const r = await duck.runAndReadAll(`SELECT epoch_us(CAST(CAST(${literal(c.value)} AS ${type}) AS TIMESTAMPTZ))`);
    const us = Number(r.getRows()[0]![0]);
    if (!Number.isFinite(us)) return null;
    return [Math.floor(us / 1000), Math.ceil(us / 1000)];
  } catch {
    return null;
  }
}

function conjuncts(n: unknown): unknown[] {
  if (isNode(n) && n.class === 'CONJUNCTION' && n.type === 'CONJUNCTION_AND' && Array.isArray(n.children)) return (n.children as unknown[]).flatMap(conjuncts);
  return n === null || n === undefined ? [] : [n];
}

/**
 * What the statement's WHERE allows of `topic`'s rows, or null when nothing can be pruned (the
 * topic read more than once, inside a join, or no usable terms).
 */
export async function pruningFor(duck: DuckSession, statements: unknown, topic: string): Promise<Pruning | null> {
  const { count, selects } = findReads(statements, topic);
  if (count !== 1 || selects.length !== 1) return null;
  const { select, names } = selects[0]!;
  const p: Pruning = { partitions: null, partitionMin: -Infinity, partitionMax: Infinity, offsetMin: -Infinity, offsetMax: Infinity, timestampMinMs: -Infinity, timestampMaxMs: Infinity };
  let used = false;
  const bound = async (col: 'partition' | 'offset' | 'timestamp', op: string, c: Constant): Promise<void> => {
    if (col === 'timestamp') {
      const t = await instantOf(duck, c);
      if (t === null) return;
      const [lo, hi] = t;
      // Widened to whole milliseconds: a strict bound is kept as a non-strict one (never loses a file).
      if (op === 'COMPARE_EQUAL') {
        p.timestampMinMs = Math.max(p.timestampMinMs, lo);
        p.timestampMaxMs = Math.min(p.timestampMaxMs, hi);
      } else if (op === 'COMPARE_GREATERTHAN' || op === 'COMPARE_GREATERTHANOREQUALTO') p.timestampMinMs = Math.max(p.timestampMinMs, lo);
      else if (op === 'COMPARE_LESSTHAN' || op === 'COMPARE_LESSTHANOREQUALTO') p.timestampMaxMs = Math.min(p.timestampMaxMs, hi);
      else return;
      used = true;
      return;
    }
    const v = numberOf(c);
    if (v === null) return;
    const lower = op === 'COMPARE_GREATERTHAN' || op === 'COMPARE_GREATERTHANOREQUALTO' || op === 'COMPARE_EQUAL';
    const upper = op === 'COMPARE_LESSTHAN' || op === 'COMPARE_LESSTHANOREQUALTO' || op === 'COMPARE_EQUAL';
    if (col === 'partition') {
      if (lower) p.partitionMin = Math.max(p.partitionMin, v);
      if (upper) p.partitionMax = Math.min(p.partitionMax, v);
    } else {
      if (lower) p.offsetMin = Math.max(p.offsetMin, v);
      if (upper) p.offsetMax = Math.min(p.offsetMax, v);
    }
    used = true;
  };
  for (const term of conjuncts(select.where_clause)) {
    if (!isNode(term)) continue;
    if (term.class === 'COMPARISON' && typeof term.type === 'string' && FLIP[term.type] !== undefined) {
      const lc = columnOf(term.left, names);
      const rc = columnOf(term.right, names);
      if (lc !== null && rc === null) {
        const c = constantOf(term.right);
        if (c !== null) await bound(lc, term.type, c);
      } else if (rc !== null && lc === null) {
        const c = constantOf(term.left);
        if (c !== null) await bound(rc, FLIP[term.type]!, c);
      }
    } else if (term.class === 'OPERATOR' && term.type === 'COMPARE_IN' && Array.isArray(term.children)) {
      const [first, ...rest] = term.children as unknown[];
      if (columnOf(first, names) !== 'partition') continue;
      const values = rest.map((x) => {
        const c = constantOf(x);
        return c === null ? null : numberOf(c);
      });
      if (values.some((v) => v === null)) continue;
      const set = new Set(values as number[]);
      p.partitions = p.partitions === null ? set : new Set([...p.partitions].filter((x) => set.has(x)));
      used = true;
    } else if (term.class === 'BETWEEN') {
      const col = columnOf(term.input, names);
      const lo = constantOf(term.lower);
      const hi = constantOf(term.upper);
      if (col === null || lo === null || hi === null) continue;
      await bound(col, 'COMPARE_GREATERTHANOREQUALTO', lo);
      await bound(col, 'COMPARE_LESSTHANOREQUALTO', hi);
    }
  }
  return used ? p : null;
}

/** Whether rows of partition `partition` can satisfy the terms. */
export function allowsPartition(p: Pruning, partition: number): boolean {
  if (p.partitions !== null && !p.partitions.has(partition)) return false;
  return partition >= p.partitionMin && partition <= p.partitionMax;
}

/** Whether the file can hold a row the terms allow (from its manifest entry). */
export function mayMatch(p: Pruning, f: TableFile): boolean {
  if (!allowsPartition(p, f.partition)) return false;
  if (f.lastOffset < p.offsetMin || f.firstOffset > p.offsetMax) return false;
  if (f.minTimestampMs !== null && f.maxTimestampMs !== null && (f.maxTimestampMs < p.timestampMinMs || f.minTimestampMs > p.timestampMaxMs)) return false;
  return true;
}
