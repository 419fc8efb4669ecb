/**
 * The rules of committing at given offsets (the mirror's write path, CommitChunk.runs), as pure
 * functions so every backend applies the same ones: SQLite calls them directly, and
 * lua/mirror-commit-flush.lua is a line-for-line port held to them by the shared contract suite
 * (test/contracts/metadata-store-contract.ts).
 */
import { WeirError } from '../errors.js';
import type { CommitChunk, MirrorState, OffsetRun } from './metadata-store.js';

/** At most this many runs per chunk: each becomes an index row, and a commit must stay bounded. */
export const MIRROR_RUNS_MAX = 100_000;
/** A source cluster's name as stored with a mirror topic. */
export const MIRROR_SOURCE_MAX_CHARS = 256;

/** What becomes of one run, given the partition as committed so far. */
export type RunVerdict = 'append' | 'duplicate' | 'conflict';

/**
 * `covered(offset)` says whether an index entry holds the offset. A run at or above the high
 * watermark is appended (the offsets skipped stay a gap, as in the source). A run wholly below it
 * is a re-send of a write whose answer was lost: acknowledged when its first and last offsets are
 * committed (or gone below the log start) — a run is contiguous and the committed log only has
 * gaps where the source had them, so both ends held means every offset of it is; anything else
 * (a run starting or ending in a gap, or straddling the high watermark) would rewrite the
 * committed log and is a conflict.
 */
export function judgeRun(run: OffsetRun, logStartOffset: number, highWatermark: number, covered: (offset: number) => boolean): RunVerdict {
  if (run.baseOffset >= highWatermark) return 'append';
  const last = run.baseOffset + run.offsetCount - 1;
  if (last >= highWatermark) return 'conflict';
  const held = (o: number): boolean => o < logStartOffset || covered(o);
  return held(run.baseOffset) && held(last) ? 'duplicate' : 'conflict';
}

/** The conflict message both backends give, naming the run and the partition's state. */
export function conflictMessage(topic: string, partition: number, run: OffsetRun, highWatermark: number): string {
  const last = run.baseOffset + run.offsetCount - 1;
  return `offsets ${run.baseOffset}..${last} of ${topic}-${partition} overlap the committed log (high watermark ${highWatermark}) and are not a re-send of committed batches`;
}

export function notMirroringMessage(topic: string, mirror: MirrorState | undefined): string {
  return mirror === undefined
    ? `topic ${topic} is not a mirror topic; mirror writes only go to topics the mirror created`
    : `topic ${topic} was promoted and takes no more mirror writes`;
}

/** A malformed runs list is a bug in the caller: it fails the whole commit, as assertCommitChunk does. */
export function assertRuns(chunk: CommitChunk, i: number): void {
  if (chunk.runs === undefined) return;
  const bad = (why: string): never => {
    throw new WeirError('invalid_argument', `commit chunk ${i} (${String(chunk.topic)}-${String(chunk.partition)}): ${why}`);
  };
  if (chunk.parts !== undefined) bad('a chunk has either parts or runs');
  if (!Array.isArray(chunk.runs) || chunk.runs.length === 0) bad('runs must be a non-empty array when given');
  if (chunk.runs.length > MIRROR_RUNS_MAX) bad(`${chunk.runs.length} runs, at most ${MIRROR_RUNS_MAX}`);
  let offsets = 0;
  let bytes = 0;
  let next = 0;
  chunk.runs.forEach((run, j) => {
    if (!Number.isSafeInteger(run.baseOffset) || run.baseOffset < 0) bad(`run ${j}: baseOffset ${run.baseOffset} is not an offset`);
    if (!Number.isSafeInteger(run.offsetCount) || run.offsetCount < 1) bad(`run ${j}: offsetCount ${run.offsetCount} must be >= 1`);
    if (!Number.isSafeInteger(run.byteLength) || run.byteLength < 1) bad(`run ${j}: byteLength ${run.byteLength} must be >= 1`);
    if (!Number.isSafeInteger(run.maxTimestamp)) bad(`run ${j}: maxTimestamp ${run.maxTimestamp} is not an integer`);
    if (run.baseOffset < next) bad(`run ${j} starts at ${run.baseOffset}, before the end of the run before it (${next})`);
    next = run.baseOffset + run.offsetCount;
    offsets += run.offsetCount;
    bytes += run.byteLength;
  });
  if (offsets !== chunk.offsetCount || bytes !== chunk.byteLength) {
    bad(`runs add up to ${offsets} offsets and ${bytes} bytes, not ${chunk.offsetCount} and ${chunk.byteLength}`);
  }
}

export function assertMirrorState(mirror: MirrorState | null | undefined): void {
  if (mirror === null || mirror === undefined) return;
  if (mirror.state !== 'mirroring' && mirror.state !== 'promoted') throw new WeirError('invalid_argument', `mirror state ${String(mirror.state)} must be mirroring or promoted`);
  if (typeof mirror.source !== 'string' || mirror.source.length === 0 || mirror.source.length > MIRROR_SOURCE_MAX_CHARS || /[|\n]/.test(mirror.source)) {
    throw new WeirError('invalid_argument', `mirror source ${JSON.stringify(mirror.source)} must be 1..${MIRROR_SOURCE_MAX_CHARS} characters without '|' or newlines`);
  }
}

/** Stored form (SQLite column, Redis hash field): "<state>|<source>". */
export function encodeMirrorState(mirror: MirrorState): string {
  return `${mirror.state}|${mirror.source}`;
}

export function decodeMirrorState(value: string | null | undefined): MirrorState | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const bar = value.indexOf('|');
  const state = value.slice(0, bar);
  if (bar < 0 || (state !== 'mirroring' && state !== 'promoted')) throw new WeirError('corrupt', `malformed mirror state ${JSON.stringify(value)}`);
  return { state, source: value.slice(bar + 1) };
}

/**
 * A flush is either all mirror chunks (runs) or none: the mirror's writes go through their own
 * flushes (agent/handlers/weir-mirror-write.ts), and the Redis store commits them with their own
 * script (lua/mirror-commit-flush.lua) rather than growing the producers' commit script.
 */
export function assertFlushKinds(chunks: readonly CommitChunk[]): void {
  const withRuns = chunks.filter((c) => c.runs !== undefined).length;
  if (withRuns !== 0 && withRuns !== chunks.length) {
    throw new WeirError('invalid_argument', `a flush mixes ${withRuns} mirror chunks (runs) with ${chunks.length - withRuns} ordinary ones`);
  }
}
