import { randomFillSync } from 'node:crypto';
import { WeirError } from '../errors.js';

/**
 * Every object key Weir writes is built in this module and nowhere else, so the layout of a
 * bucket can be read (and changed) in one place and GC/recovery tools can rely on it. Keys obey
 * the rules of object-key.ts. Later kinds of object (checkpoints, tables) get their builders here.
 *
 * Flush objects: log/<yyyy>/<mm>/<dd>/<hh>/<agentId>-<sequence>-<random>.wobj
 * - the UTC hour directories make keys sort roughly by time, let GC and operators list one hour
 *   at a time, and keep any directory of the fs store small;
 * - agentId + a per-process sequence make keys unique among live agents, and the random part
 *   makes them unique across restarts of the same agent (whose sequence starts over) without any
 *   coordination; the sequence is zero-padded so one agent's objects sort in write order.
 */
export const LOG_PREFIX = 'log/';
export const FLUSH_OBJECT_SUFFIX = '.wobj';

const SEQUENCE_DIGITS = 12;
const RANDOM_HEX_DIGITS = 16;
const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const flushKeyPattern = /^log\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})-(\d{12})-([0-9a-f]{16})\.wobj$/;

export interface FlushObjectKeyParts {
  agentId: string;
  sequence: number;
  /** When the flush was cut; only its UTC hour is kept in the key. */
  timeMs: number;
  /** 16 lowercase hex digits. */
  random: string;
}

/** Returns why the agent id cannot be used in keys, or null. */
export function agentIdError(agentId: string): string | null {
  return agentIdPattern.test(agentId)
    ? null
    : `agent id ${JSON.stringify(agentId)} must be 1..64 of [A-Za-z0-9_-], starting with a letter or digit`;
}

let nextSequence = 0;

/**
 * A fresh key for a flush object written now by this process. The sequence is process-wide and
 * only ever increases, so one agent's keys within an hour sort in the order it cut its flushes.
 */
export function flushObjectKey(agentId: string, timeMs: number = Date.now()): string {
  const sequence = nextSequence++;
  return formatFlushObjectKey({ agentId, sequence, timeMs, random: uniqueHex() });
}

/**
 * The random part only has to make keys unique (the agent id already differs per process), not
 * unpredictable, and a getrandom() call per flush is measurable on small flushes: draw from a
 * buffer refilled 1024 keys at a time.
 */
const randomPool = Buffer.alloc((RANDOM_HEX_DIGITS / 2) * 1024);
let randomPoolAt = randomPool.length;
function uniqueHex(): string {
  const n = RANDOM_HEX_DIGITS / 2;
  if (randomPoolAt + n > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolAt = 0;
  }
  randomPoolAt += n;
  return randomPool.toString('hex', randomPoolAt - n, randomPoolAt);
}

/** The key for exactly these parts (deterministic; for tests and tools). */
export function formatFlushObjectKey(parts: FlushObjectKeyParts): string {
  const { agentId, sequence, timeMs, random } = parts;
  const idError = agentIdError(agentId);
  if (idError !== null) throw new WeirError('invalid_argument', idError);
  if (!Number.isSafeInteger(sequence) || sequence < 0 || sequence >= 10 ** SEQUENCE_DIGITS) {
    throw new WeirError('invalid_argument', `flush sequence ${sequence} out of range`);
  }
  if (!/^[0-9a-f]{16}$/.test(random)) throw new WeirError('invalid_argument', `flush key random part must be ${RANDOM_HEX_DIGITS} hex digits`);
  return `${hourPrefix(timeMs)}${agentId}-${String(sequence).padStart(SEQUENCE_DIGITS, '0')}-${random}${FLUSH_OBJECT_SUFFIX}`;
}

/** Parses a flush object key (for GC and recovery tools); null if it is not one. timeMs is the start of its hour. */
export function parseFlushObjectKey(key: string): FlushObjectKeyParts | null {
  const m = flushKeyPattern.exec(key);
  if (m === null) return null;
  const [, yyyy, mm, dd, hh, agentId, sequence, random] = m;
  const timeMs = Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh));
  return { agentId, sequence: Number(sequence), timeMs, random };
}

/** The key prefix of all flush objects written in the UTC hour containing timeMs ("log/2025/01/31/23/"). */
export function flushObjectHourPrefix(timeMs: number): string {
  return hourPrefix(timeMs);
}

function hourPrefix(timeMs: number): string {
  const t = new Date(timeMs);
  const year = t.getUTCFullYear();
  if (Number.isNaN(t.getTime()) || year < 1970 || year > 9999) throw new WeirError('invalid_argument', `time ${timeMs} out of range`);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${LOG_PREFIX}${year}/${two(t.getUTCMonth() + 1)}/${two(t.getUTCDate())}/${two(t.getUTCHours())}/`;
}

// ------------------------------------------------------------------------------------------------
// Tables (connectors/tables): Parquet / Arrow IPC files compacted from topics, and their
// dead-letter files.
//
//   tables/<topic>/date=YYYY-MM-DD/hour=HH/<partition>-<firstOffset>-<lastOffset>.parquet|.arrow
//   tables/<topic>/_dead-letter/<partition>-<firstOffset>-<lastOffset>.jsonl
//
// - The name is the offset range the file covers (inclusive), so a range compacted twice (a
//   connector killed after its PUT and before its manifest commit) rewrites the same key instead
//   of adding a second copy; the manifest (core/metadata/table-manifest.ts) decides which files
//   are part of the table.
// - date=/hour= are Hive-style partition directories (UTC hour of the file's first record), so
//   DuckDB, Spark or Trino reading the folder directly get `date` and `hour` columns to prune on.
// - Dead letters sit beside the data under a '_' directory that Hive-style readers skip.

export const TABLES_PREFIX = 'tables/';
export type TableFileFormat = 'parquet' | 'arrow';
const TABLE_FILE_EXTENSIONS: Readonly<Record<TableFileFormat, string>> = { parquet: '.parquet', arrow: '.arrow' };
const tableFileKeyPattern = /^tables\/([A-Za-z0-9_-][A-Za-z0-9._-]*)\/date=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})\/(\d+)-(\d+)-(\d+)\.(parquet|arrow)$/;

export interface TableFileKeyParts {
  topic: string;
  partition: number;
  firstOffset: number;
  /** Inclusive. */
  lastOffset: number;
  /** Any time inside the hour directory; only its UTC hour is kept. */
  timeMs: number;
  format: TableFileFormat;
}

/** Why a topic's table cannot be stored under tables/<topic>/, or null (a key segment may not start with '.'). */
export function tableTopicError(topic: string): string | null {
  // Topic names are [a-zA-Z0-9._-] (topic-name.ts); of those, object-key.ts only refuses a leading '.'.
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(topic)) return `topic ${JSON.stringify(topic)} cannot name a table folder (it must be a topic name not starting with '.')`;
  return null;
}

/** "tables/<topic>/": every file of the topic's table, data and dead letters. */
export function tableTopicPrefix(topic: string): string {
  const error = tableTopicError(topic);
  if (error !== null) throw new WeirError('invalid_argument', error);
  return `${TABLES_PREFIX}${topic}/`;
}

function assertOffsetRange(partition: number, firstOffset: number, lastOffset: number): void {
  if (!Number.isSafeInteger(partition) || partition < 0) throw new WeirError('invalid_argument', `table partition ${partition} out of range`);
  if (!Number.isSafeInteger(firstOffset) || firstOffset < 0 || !Number.isSafeInteger(lastOffset) || lastOffset < firstOffset) {
    throw new WeirError('invalid_argument', `table offset range ${firstOffset}-${lastOffset} is not a range of offsets`);
  }
}

/** The key of the table file holding offsets firstOffset..lastOffset of a partition. */
export function tableFileKey(parts: TableFileKeyParts): string {
  const { topic, partition, firstOffset, lastOffset, timeMs, format } = parts;
  assertOffsetRange(partition, firstOffset, lastOffset);
  const t = new Date(timeMs);
  const year = t.getUTCFullYear();
  if (Number.isNaN(t.getTime()) || year < 1970 || year > 9999) throw new WeirError('invalid_argument', `time ${timeMs} out of range`);
  const two = (n: number): string => String(n).padStart(2, '0');
  const dir = `date=${year}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}/hour=${two(t.getUTCHours())}/`;
  return `${tableTopicPrefix(topic)}${dir}${partition}-${firstOffset}-${lastOffset}${TABLE_FILE_EXTENSIONS[format]}`;
}

/** Parses a table data file key; null if it is not one. timeMs is the start of its hour. */
export function parseTableFileKey(key: string): TableFileKeyParts | null {
  const m = tableFileKeyPattern.exec(key);
  if (m === null) return null;
  const [, topic, yyyy, mm, dd, hh, partition, first, last, ext] = m;
  return {
    topic: topic!,
    partition: Number(partition),
    firstOffset: Number(first),
    lastOffset: Number(last),
    timeMs: Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh)),
    format: ext as TableFileFormat,
  };
}

/** The dead-letter file (JSON lines) of the records of firstOffset..lastOffset that could not be decoded. */
export function tableDeadLetterKey(topic: string, partition: number, firstOffset: number, lastOffset: number): string {
  assertOffsetRange(partition, firstOffset, lastOffset);
  return `${tableTopicPrefix(topic)}_dead-letter/${partition}-${firstOffset}-${lastOffset}.jsonl`;
}

// ------------------------------------------------------------------------------------------------
// Pipeline checkpoints (pipelines/runtime/checkpoint-store.ts)
//
// pipelines/<pipeline>/tasks/s<stage>-p<partition>/manifest-<token>-<sequence>.json
// pipelines/<pipeline>/tasks/s<stage>-p<partition>/state-<token>-<sequence>.bin
// - one folder per task (stage x partition), so restoring a task is one LIST of a small prefix;
// - <token> is the fencing token of the lease the writer held and <sequence> the task's
//   checkpoint number under it, both zero-padded, so the newest manifest sorts last and a stale
//   holder's late manifest (lower token) sorts before the new holder's and is never restored;
// - the manifest is written last and names its state object: a crash between the two leaves an
//   unreferenced state object (garbage), never a manifest pointing at nothing.

const CHECKPOINT_DIGITS = 12;
const checkpointKeyPattern = /^pipelines\/([A-Za-z0-9._-]+)\/tasks\/s(\d+)-p(\d+)\/(manifest|state)-(\d{12})-(\d{12})\.(json|bin)$/;

export interface CheckpointKeyParts {
  pipeline: string;
  stage: number;
  partition: number;
  token: number;
  sequence: number;
}

function checkpointNumber(what: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 10 ** CHECKPOINT_DIGITS) throw new WeirError('invalid_argument', `checkpoint ${what} ${n} out of range`);
  return String(n).padStart(CHECKPOINT_DIGITS, '0');
}

/** The folder of one task's checkpoints (a LIST prefix). */
export function taskCheckpointPrefix(pipeline: string, stage: number, partition: number): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(pipeline)) throw new WeirError('invalid_argument', `pipeline name ${JSON.stringify(pipeline)} cannot be used in object keys`);
  return `pipelines/${pipeline}/tasks/s${checkpointNumber('stage', stage)}-p${checkpointNumber('partition', partition)}/`;
}

export function checkpointManifestKey(p: CheckpointKeyParts): string {
  return `${taskCheckpointPrefix(p.pipeline, p.stage, p.partition)}manifest-${checkpointNumber('token', p.token)}-${checkpointNumber('sequence', p.sequence)}.json`;
}

export function checkpointStateKey(p: CheckpointKeyParts): string {
  return `${taskCheckpointPrefix(p.pipeline, p.stage, p.partition)}state-${checkpointNumber('token', p.token)}-${checkpointNumber('sequence', p.sequence)}.bin`;
}

/** Parses a checkpoint key; null if it is not one. */
export function parseCheckpointKey(key: string): (CheckpointKeyParts & { kind: 'manifest' | 'state' }) | null {
  const m = checkpointKeyPattern.exec(key);
  if (m === null) return null;
  return { pipeline: m[1]!, stage: Number(m[2]), partition: Number(m[3]), kind: m[4] as 'manifest' | 'state', token: Number(m[5]), sequence: Number(m[6]) };
}
