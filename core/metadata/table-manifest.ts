/**
 * The table manifest: which files make up a topic's table (connectors/tables), and up to which
 * offset each partition is compacted. It lives in the metadata store (SQLite beside the log's
 * index, or Redis), because it is what makes compaction exactly-once:
 *
 * - A file becomes part of the table only when commitAppend records it, in the same atomic step
 *   that moves its partition's next offset from `fromOffset` to `nextOffset`. The step succeeds
 *   only if the partition's next offset is still `fromOffset`, so two writers of the same range
 *   (a restarted connector and a zombie, two BullMQ workers) cannot both commit: the second gets
 *   'conflict' and commits nothing. A writer killed before its commit leaves only an unreferenced
 *   object, which the next writer of that range overwrites (file names are the offset range).
 * - commitMerge swaps small files for the one file that merges them, atomically; the swapped-out
 *   files are kept as "retired" (still readable by queries that listed them a moment ago) until
 *   purgeRetired, after a grace period.
 * - A reader takes getTable() as a snapshot: files plus next offsets, consistent with each other.
 *   Everything below a partition's next offset is in those files; the rest is still in the log.
 *
 * The store treats file entries as opaque apart from the fields below; `schema` is the JSON the
 * connector writes (connectors/tables/table-schema.ts). Backends: table-manifest-sqlite.ts,
 * table-manifest-redis.ts; test/contracts/table-manifest-contract.ts pins their shared behaviour.
 * Errors: 'invalid_argument' for malformed input (checked before anything is written).
 */
import { WeirError } from '../errors.js';
import { topicNameError } from './topic-name.js';

export type TableFileKind = 'data' | 'dead-letter';
export type TableFileFormat = 'parquet' | 'arrow' | 'jsonl';

export interface TableFile {
  /** Object key (core/storage/paths.ts tableFileKey / tableDeadLetterKey). */
  key: string;
  kind: TableFileKind;
  format: TableFileFormat;
  partition: number;
  /** The offset range the file covers, inclusive (control records and dead letters included). */
  firstOffset: number;
  lastOffset: number;
  rowCount: number;
  sizeBytes: number;
  /** Smallest and largest record timestamp in the file; null when it has no rows. */
  minTimestampMs: number | null;
  maxTimestampMs: number | null;
  /** The decoded value columns of the file, as JSON (opaque to the store). */
  schema: string;
}

export interface CommittedTableFile extends TableFile {
  /** Commit order within the table: later files have larger numbers. */
  seq: number;
  committedAtMs: number;
}

export interface RetiredTableFile {
  key: string;
  retiredAtMs: number;
}

export interface TableState {
  topic: string;
  /** The topic id the table was built from: a topic deleted and re-created gets a new table. */
  topicId: string;
  createdAtMs: number;
  /** partition → the first offset not yet in a file. Partitions never compacted are absent. */
  nextOffsets: Map<number, number>;
  /** Live files (data and dead letters), in commit order. */
  files: CommittedTableFile[];
  /** Files swapped out by merges, not yet purged. */
  retired: RetiredTableFile[];
}

export interface AppendCommit {
  topicId: string;
  partition: number;
  /** Must equal the partition's current next offset (any value when the partition has none yet). */
  fromOffset: number;
  /** The partition's next offset after this commit; greater than fromOffset. */
  nextOffset: number;
  /** The data file and/or dead-letter file of the range; none when the range held no rows. */
  files: TableFile[];
}

export type AppendResult =
  | { ok: true }
  /** Someone else committed this partition first; nothing was written. */
  | { ok: false; reason: 'offset_mismatch'; nextOffset: number }
  /** The table was built from another incarnation of the topic. */
  | { ok: false; reason: 'topic_id_mismatch'; topicId: string };

export interface MergeCommit {
  /** Live data files of one partition to swap out. */
  remove: string[];
  /** The merged file: exactly their offset range. */
  add: TableFile;
}

export interface TableManifestStore {
  readonly kind: string;
  getTable(topic: string): Promise<TableState | null>;
  /** Topics that have a table, sorted. */
  listTables(): Promise<string[]>;
  /** Creates the table on first use (with commit.topicId). */
  commitAppend(topic: string, commit: AppendCommit): Promise<AppendResult>;
  /** false (and nothing changes) unless every key in `remove` is a live file of the table. */
  commitMerge(topic: string, merge: MergeCommit): Promise<boolean>;
  /** Forgets retired files (after their objects were deleted). Unknown keys are ignored. */
  purgeRetired(topic: string, keys: string[]): Promise<void>;
  /** Removes the table; returns the keys of its live and retired files, for the caller to delete. */
  dropTable(topic: string): Promise<string[]>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------
// Validation shared by the backends, so a malformed commit is refused the same way everywhere.

const MAX_SCHEMA_JSON_CHARS = 1 << 20;

function bad(message: string): never {
  throw new WeirError('invalid_argument', message);
}

export function assertTableTopic(topic: string): void {
  const error = topicNameError(topic);
  if (error !== null) bad(error);
}

function isOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function assertTableFile(file: TableFile, partition?: number): void {
  if (typeof file.key !== 'string' || file.key.length === 0 || file.key.length > 1024) bad(`table file key ${JSON.stringify(file.key)} is invalid`);
  if (file.kind !== 'data' && file.kind !== 'dead-letter') bad(`table file ${file.key}: kind ${JSON.stringify(file.kind)} is invalid`);
  if (!['parquet', 'arrow', 'jsonl'].includes(file.format)) bad(`table file ${file.key}: format ${JSON.stringify(file.format)} is invalid`);
  if (!isOffset(file.partition) || (partition !== undefined && file.partition !== partition)) bad(`table file ${file.key}: partition ${file.partition} is invalid`);
  if (!isOffset(file.firstOffset) || !isOffset(file.lastOffset) || file.lastOffset < file.firstOffset) {
    bad(`table file ${file.key}: offsets ${file.firstOffset}-${file.lastOffset} are not a range`);
  }
  if (!isOffset(file.rowCount) || !isOffset(file.sizeBytes)) bad(`table file ${file.key}: row count and size must be non-negative integers`);
  for (const t of [file.minTimestampMs, file.maxTimestampMs]) {
    if (t !== null && (typeof t !== 'number' || !Number.isSafeInteger(t))) bad(`table file ${file.key}: timestamp ${t} is invalid`);
  }
  if (typeof file.schema !== 'string' || file.schema.length > MAX_SCHEMA_JSON_CHARS) bad(`table file ${file.key}: schema must be a string of at most ${MAX_SCHEMA_JSON_CHARS} characters`);
}

export function assertAppendCommit(commit: AppendCommit): void {
  if (typeof commit.topicId !== 'string' || commit.topicId.length === 0) bad('table commit needs the topic id');
  if (!isOffset(commit.partition)) bad(`table commit partition ${commit.partition} is invalid`);
  if (!isOffset(commit.fromOffset) || !isOffset(commit.nextOffset) || commit.nextOffset <= commit.fromOffset) {
    bad(`table commit offsets ${commit.fromOffset} → ${commit.nextOffset} do not advance`);
  }
  const keys = new Set<string>();
  for (const f of commit.files) {
    assertTableFile(f, commit.partition);
    if (f.firstOffset < commit.fromOffset || f.lastOffset >= commit.nextOffset) {
      bad(`table file ${f.key} (offsets ${f.firstOffset}-${f.lastOffset}) is outside the committed range ${commit.fromOffset}-${commit.nextOffset - 1}`);
    }
    if (keys.has(f.key)) bad(`table file ${f.key} appears twice in one commit`);
    keys.add(f.key);
  }
}

export function assertMergeCommit(merge: MergeCommit): void {
  assertTableFile(merge.add);
  if (merge.add.kind !== 'data') bad('a merge produces a data file');
  if (merge.remove.length < 1) bad('a merge removes at least one file');
  if (new Set(merge.remove).size !== merge.remove.length) bad('a merge removes each file once');
  for (const k of merge.remove) if (typeof k !== 'string' || k.length === 0) bad(`merge removes an invalid key ${JSON.stringify(k)}`);
}

/** Files as the stores keep them: the entry minus its key, as JSON (both backends use the same encoding). */
export function encodeTableFile(file: TableFile): string {
  const { key: _key, ...rest } = file;
  return JSON.stringify(rest);
}

export function decodeTableFile(key: string, json: string, seq: number, committedAtMs: number): CommittedTableFile {
  const rest = JSON.parse(json) as Omit<TableFile, 'key'>;
  return { key, ...rest, seq, committedAtMs };
}
