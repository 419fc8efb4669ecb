/**
 * Argument checks and config normalisation shared by every MetadataStore backend, so that the
 * backends accept and refuse exactly the same input (the contract tests pin it down).
 */
import { WeirError } from '../errors.js';
import type { CommitChunk } from './metadata-store.js';
import { producerBatchError } from './producer-sequence.js';
import { topicNameError } from './topic-name.js';

/** Applies a config change and returns the resulting configs, keys sorted so the stored JSON is canonical. */
export function normalizeConfigs(
  changes: Record<string, string | null>,
  mode: 'replace' | 'incremental',
  current: Record<string, string>,
): Record<string, string> {
  if (typeof changes !== 'object' || changes === null) throw new WeirError('invalid_argument', 'configs must be an object');
  const next = new Map<string, string>(mode === 'replace' ? [] : Object.entries(current));
  for (const [key, value] of Object.entries(changes)) {
    if (key.length === 0) throw new WeirError('invalid_argument', 'config name must not be empty');
    if (value === null) next.delete(key);
    else if (typeof value === 'string') next.set(key, value);
    else throw new WeirError('invalid_argument', `config ${key} must be a string or null`);
  }
  return Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function assertTopicName(name: string): void {
  const error = topicNameError(name);
  if (error !== null) throw new WeirError('invalid_argument', error);
}

export function assertObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new WeirError('invalid_argument', 'object key must be a non-empty string');
}

export function assertOffset(offset: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new WeirError('invalid_argument', `${what} ${offset} is not an offset`);
}

/** A malformed chunk is a bug in the caller, so it fails the whole commit rather than that chunk. */
export function assertCommitChunk(chunk: CommitChunk, i: number, objectSizeBytes: number): void {
  const bad = (why: string): never => {
    throw new WeirError('invalid_argument', `commit chunk ${i} (${String(chunk.topic)}-${String(chunk.partition)}): ${why}`);
  };
  if (typeof chunk.topic !== 'string' || typeof chunk.topicId !== 'string') bad('topic and topicId must be strings');
  if (!Number.isInteger(chunk.partition) || chunk.partition < 0) bad('partition must be an integer >= 0');
  if (!Number.isSafeInteger(chunk.offsetCount) || chunk.offsetCount < 1) bad(`offsetCount ${chunk.offsetCount} must be >= 1`);
  if (!Number.isSafeInteger(chunk.maxTimestamp)) bad(`maxTimestamp ${chunk.maxTimestamp} is not an integer`);
  if (!Number.isSafeInteger(chunk.byteStart) || chunk.byteStart < 0 || !Number.isSafeInteger(chunk.byteLength) || chunk.byteLength < 0) {
    bad('byteStart and byteLength must be integers >= 0');
  }
  if (chunk.byteStart + chunk.byteLength > objectSizeBytes) bad(`byte range ends past the object's ${objectSizeBytes} bytes`);
  if (chunk.parts === undefined) return;
  if (!Array.isArray(chunk.parts) || chunk.parts.length === 0) bad('parts must be a non-empty array when given');
  let offsets = 0;
  let bytes = 0;
  chunk.parts.forEach((part, j) => {
    if (!Number.isSafeInteger(part.offsetCount) || part.offsetCount < 1) bad(`part ${j}: offsetCount ${part.offsetCount} must be >= 1`);
    if (!Number.isSafeInteger(part.byteLength) || part.byteLength < 0) bad(`part ${j}: byteLength ${part.byteLength} must be >= 0`);
    if (!Number.isSafeInteger(part.maxTimestamp)) bad(`part ${j}: maxTimestamp ${part.maxTimestamp} is not an integer`);
    if (part.producer === undefined) bad(`part ${j}: producer must be given (null for none)`);
    const producerError = part.producer === null ? null : producerBatchError(part.producer, part.offsetCount);
    if (producerError !== null) bad(`part ${j}: ${producerError}`);
    offsets += part.offsetCount;
    bytes += part.byteLength;
  });
  if (offsets !== chunk.offsetCount || bytes !== chunk.byteLength) bad(`parts add up to ${offsets} offsets and ${bytes} bytes, not ${chunk.offsetCount} and ${chunk.byteLength}`);
}
