/**
 * Bounds on a topic's partition count, shared by every metadata backend. The upper bound is not a
 * Kafka rule: it stops one CreateTopics/CreatePartitions request from making the store write
 * millions of partition rows in a single transaction and stall every other request behind it.
 */
export const MAX_PARTITIONS_PER_TOPIC = 100_000;

/** Returns why `partitions` is not a usable partition count, or null when it is. */
export function partitionCountError(partitions: unknown): string | null {
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1) {
    return `partition count must be an integer >= 1, got ${String(partitions)}`;
  }
  if (partitions > MAX_PARTITIONS_PER_TOPIC) return `partition count ${partitions} exceeds the limit of ${MAX_PARTITIONS_PER_TOPIC}`;
  return null;
}
