/**
 * Argument checks of GroupOffsetStore methods, shared by every backend so that they refuse
 * exactly the same input.
 */
import { WeirError } from '../errors.js';
import type { OffsetCommitEntry, TopicPartitionRef } from './group-offset-store.js';

export function assertGroup(group: string): void {
  if (typeof group !== 'string') throw new WeirError('invalid_argument', 'group id must be a string');
}

export function assertRef(p: TopicPartitionRef, i: number): void {
  if (typeof p !== 'object' || p === null || typeof p.topic !== 'string' || !Number.isInteger(p.partition) || p.partition < 0) {
    throw new WeirError('invalid_argument', `partition ${i} must be a topic name and a partition index >= 0`);
  }
}

/** A malformed entry is a bug in the caller, so it fails the whole commit, not just that entry. */
export function assertEntry(e: OffsetCommitEntry, i: number): void {
  assertRef(e, i);
  const bad = (why: string): never => {
    throw new WeirError('invalid_argument', `offset commit entry ${i} (${e.topic}-${e.partition}): ${why}`);
  };
  if (!Number.isSafeInteger(e.offset)) bad(`offset ${e.offset} is not an integer`);
  if (!Number.isInteger(e.leaderEpoch) || e.leaderEpoch < -1 || e.leaderEpoch > 2 ** 31 - 1) bad(`leader epoch ${e.leaderEpoch}`);
  if (e.metadata !== null && typeof e.metadata !== 'string') bad('metadata must be a string or null');
  if (!Number.isSafeInteger(e.commitTimestampMs)) bad(`commit timestamp ${e.commitTimestampMs} is not an integer`);
}
