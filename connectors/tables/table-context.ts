/**
 * What every part of the table connector works with: the two stores the log lives in, the
 * manifest, a DuckDB connection and the settings of the table output.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { MetadataStore } from '../../core/metadata/metadata-store.js';
import type { TableManifestStore, TableState } from '../../core/metadata/table-manifest.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { openDuckDB, type DuckDBSettings } from './duckdb-session.js';
import { EMPTY_SCHEMA, mergeSchemas, schemaFromJson, type ValueSchema } from './table-schema.js';
import type { ValueDecoder } from './value-decoder.js';

export type TableFormat = 'parquet' | 'arrow';

export interface TableSettings {
  format: TableFormat;
  decoder: ValueDecoder;
  /** Decoded-value columns per table at most. */
  columnsMax: number;
  /** Parquet compression codec. */
  compression: string;
}

export interface TableContext {
  metadata: MetadataStore;
  objects: ObjectStore;
  manifest: TableManifestStore;
  duck: DuckDBConnection;
  /**
   * Connections for ranges compacted at the same time in this process (work-queue.ts
   * InProcessQueue), `duck` first; more on the same DuckDB instance. A range's temp tables live on
   * its connection, so each range in flight needs its own.
   */
  laneConnections: DuckDBConnection[];
  settings: TableSettings;
  /** A private scratch folder (DuckDB output before upload, downloaded files). */
  tempDir: string;
  /**
   * A local path DuckDB can read for an object: the object store's own file when it is a folder
   * (no copy), else null (the caller downloads it).
   */
  localPathOf: (key: string) => string | null;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  close(): Promise<void>;
}

export interface ContextOptions {
  metadata: MetadataStore;
  objects: ObjectStore;
  manifest: TableManifestStore;
  settings: TableSettings;
  /** The fs object store's root folder, when the object store is a folder. */
  objectsRoot?: string;
  duckdb?: DuckDBSettings;
  /** Ranges compacted at once in this process (default 2: see laneConnections and docs/decisions.md). */
  lanes?: number;
  log?: TableContext['log'];
}

export async function openTableContext(o: ContextOptions): Promise<TableContext> {
  const tempDir = await mkdtemp(join(tmpdir(), 'weir-tables-'));
  let duck: { instance: DuckDBInstance; connection: DuckDBConnection };
  try {
    duck = await openDuckDB({ tempDirectory: join(tempDir, 'duckdb'), ...o.duckdb });
  } catch (e) {
    await rm(tempDir, { recursive: true, force: true });
    throw e;
  }
  const lanes = [duck.connection];
  try {
    for (let i = 1; i < Math.max(1, o.lanes ?? 2); i++) lanes.push(await duck.instance.connect());
  } catch (e) {
    for (const c of lanes) c.closeSync();
    duck.instance.closeSync();
    await rm(tempDir, { recursive: true, force: true });
    throw e;
  }
  const root = o.objectsRoot;
  return {
    metadata: o.metadata,
    objects: o.objects,
    manifest: o.manifest,
    duck: duck.connection,
    laneConnections: lanes,
    settings: o.settings,
    tempDir,
    localPathOf: (key) => (root === undefined ? null : join(root, ...key.split('/'))),
    log: o.log ?? ((level, msg) => process.stderr.write(`weir tables ${level}: ${msg}\n`)),
    async close() {
      for (const c of lanes) c.closeSync();
      duck.instance.closeSync();
      await rm(tempDir, { recursive: true, force: true });
    },
  };
}

/** The table's schema: the merge of every live data file's schema (order-independent, see table-schema.ts). */
export function tableSchema(state: TableState | null): ValueSchema {
  let s = EMPTY_SCHEMA;
  if (state === null) return s;
  for (const f of state.files) if (f.kind === 'data') s = mergeSchemas(s, schemaFromJson(f.schema));
  return s;
}
