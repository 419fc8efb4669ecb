/**
 * `weir query "SELECT ... FROM <topic>"`: SQL with DuckDB over a topic's table files plus the tail
 * of the log not compacted yet (connectors/tables/query-engine.ts), so the answer covers every
 * committed record exactly once. Finds the stores with the agent's flags (--data-dir,
 * --object-store, --metadata, --redis-url, --config ...). Topic names that are not plain SQL
 * identifiers are quoted: SELECT * FROM "my-topic".
 *
 * Output: an aligned table (default), CSV (RFC 4180) or JSON (an array of objects).
 * Bad SQL: DuckDB's message, exit 1. An unknown topic: one line, exit 1.
 */
import { isWeirError } from '../../core/errors.js';
import { SCRATCH_BYTES_MAX_DEFAULT, setScratchBytesMax } from '../../connectors/tables/file-access.js';
import { runQuery, SqlError, type QueryResult } from '../../connectors/tables/query-engine.js';
import { flagsHelp, parseFlags, UsageError, type FlagDef } from './flags.js';
import { alignTable, decodeFlags, openTableEnv, storeFlags } from './tables-command.js';

const queryFlags: Record<string, FlagDef> = {
  output: { type: 'string', default: 'table', oneOf: ['table', 'csv', 'json'], env: false, description: 'result format: table, csv or json' },
  'scratch-bytes-max': {
    type: 'bytes',
    default: SCRATCH_BYTES_MAX_DEFAULT,
    min: 0,
    env: false,
    description: 'with a non-folder object store (S3): table files downloaded for one query at most (a clear error beyond)',
  },
  'max-rows': { type: 'int', default: 1_000_000, min: 1, max: 100_000_000, env: false, description: 'refuse results with more rows (add a LIMIT)' },
};

const usage = `usage: weir query "SQL" [flags]

Runs SQL (DuckDB's dialect) where every topic is a table with the columns partition, offset,
timestamp, key, headers, value, plus one column per field of JSON (or Avro) values.

flags:
${flagsHelp(queryFlags)}
store flags (as for weir agent):
${flagsHelp(storeFlags)}
decoding:
${flagsHelp(decodeFlags)}`;

function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatResult(r: QueryResult, output: string): string {
  switch (output) {
    case 'csv':
      return [r.columns.map(csvCell).join(','), ...r.rows.map((row) => row.map(csvCell).join(','))].join('\r\n') + '\r\n';
    case 'json':
      return `${JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null]))))}\n`;
    default: {
      const numeric = r.types.map((t) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/.test(t));
      return alignTable(r.columns, r.rows.map((row) => row.map(text)), numeric) + `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})\n`;
    }
  }
}

export async function queryCommand(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const defs = { ...storeFlags, ...decodeFlags, ...queryFlags };
  const { flags: f, positionals } = parseFlags(argv.filter((a, i) => a !== '--config' && argv[i - 1] !== '--config' && !a.startsWith('--config=')), defs);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'weir query needs the SQL as one argument' : `weir query takes the SQL as one argument (quote it), got ${positionals.length}`);
  const env = await openTableEnv(argv, f);
  try {
    setScratchBytesMax(env.ctx, f['scratch-bytes-max'] as number);
    const result = await runQuery(env.ctx, positionals[0]!, f['max-rows'] as number);
    process.stdout.write(formatResult(result, f.output as string));
    return 0;
  } catch (e) {
    if (e instanceof SqlError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (isWeirError(e, 'not_found') || isWeirError(e, 'too_large')) {
      process.stderr.write(`weir: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await env.close();
  }
}
