/**
 * Rendezvous (highest-random-weight) hashing: every agent scores each candidate node for a key
 * and picks the highest score. Any two agents with the same view of the live nodes pick the same
 * owner without talking to each other, and when a node joins or leaves only the keys it wins or
 * held move (about 1/n of them), unlike `hash % n`, which would reshuffle almost everything.
 */
import { xxhash32 } from '../../core/records/xxhash32.js';

const encoder = new TextEncoder();

/**
 * The node that owns `key` among `nodeIds` (which must not be empty). The score is XXH32 of the
 * key seeded with the node id, so each node ranks keys independently; equal scores (rare with
 * 32 bits) go to the lower id, so the result never depends on the order of `nodeIds`.
 */
export function rendezvousOwner(key: string, nodeIds: readonly number[]): number {
  if (nodeIds.length === 0) throw new Error('rendezvousOwner: no nodes');
  const bytes = encoder.encode(key);
  let best = -1;
  let bestScore = -1;
  for (const id of nodeIds) {
    const score = xxhash32(bytes, 0, bytes.length, id);
    if (score > bestScore || (score === bestScore && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

/** The hash key of a partition; NUL cannot occur in a topic name, so keys never collide. */
export function partitionKey(topic: string, partition: number): string {
  return `p\u0000${topic}\u0000${partition}`;
}

/** The hash key of a consumer group; a different prefix so groups and partitions spread independently. */
export function groupKey(groupId: string): string {
  return `g\u0000${groupId}`;
}
