/**
 * Helpers for the table tests: the `weir` CLI as a child process (sync, query, tables), and the
 * DuckDB / manifest views of a data dir the tests check results against.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SqliteTableManifestStore } from '../../core/metadata/table-manifest-sqlite.js';
import { AGENT_CLI } from '../helpers/agent-process.js';
import { runProcess, type RunResult } from '../helpers/run-process.js';

/** The environment for CLI children: no WEIR_* from the developer's shell. */
export function cliEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEIR_')));
}

export function weir(args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return runProcess(process.execPath, { args: [AGENT_CLI, ...args], env: cliEnv(), timeoutMs });
}

/** A `weir` child the test can kill -9 at any moment. */
export function spawnWeir(args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [AGENT_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv() });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** The live data files of a topic's table, from the SQLite manifest in the data dir (as local paths). */
export async function manifestFiles(dataDir: string, topic: string): Promise<{ data: string[]; deadLetters: string[]; nextOffsets: Map<number, number> }> {
  const m = new SqliteTableManifestStore(join(dataDir, 'metadata.sqlite'));
  try {
    const t = await m.getTable(topic);
    const path = (k: string): string => join(dataDir, 'objects', ...k.split('/'));
    return {
      data: (t?.files ?? []).filter((f) => f.kind === 'data').map((f) => path(f.key)),
      deadLetters: (t?.files ?? []).filter((f) => f.kind === 'dead-letter').map((f) => path(f.key)),
      nextOffsets: t?.nextOffsets ?? new Map(),
    };
  } finally {
    await m.close();
  }
}

/** Runs SQL in a fresh DuckDB and returns the rows as JSON values. */
export async function duck(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowsJson() as unknown[][];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export function sqlList(paths: string[]): string {
  return `[${paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')}]`;
}
