/**
 * One DuckDB instance per process for everything tables do with DuckDB (writing Parquet, merging
 * files, queries), bounded in threads and memory so a connector shares the machine with agents.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export interface DuckDBSettings {
  threads?: number;
  /** DuckDB's memory_limit, e.g. '1GB'; beyond it DuckDB spills to its temp directory. */
  memoryLimit?: string;
  /** Where DuckDB spills beyond memoryLimit (a query's staged log tail, big merges, sorts). */
  tempDirectory?: string;
}

export async function openDuckDB(settings: DuckDBSettings = {}): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(settings.threads ?? 2),
    memory_limit: settings.memoryLimit ?? '1GB',
    // Rows keep their order through COPY: files are in offset order, which readers and the
    // row-group min/max statistics of `offset` rely on.
    preserve_insertion_order: 'true',
    ...(settings.tempDirectory !== undefined ? { temp_directory: settings.tempDirectory } : {}),
  });
  const connection = await instance.connect();
  return { instance, connection };
}

/** A SQL identifier, quoted. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
