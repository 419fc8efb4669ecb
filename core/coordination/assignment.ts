/**
 * The target assignment of a coordination group: a pure function of the live worker ids and the
 * items, so every worker computes the same answer from the same view without talking to the
 * others. Items are dealt round-robin in the order given over the workers sorted by id, which
 * balances counts to within one (what Kafka's round-robin assignor does). The caller orders the
 * items so that related ones spread evenly (e.g. partitions in numeric order).
 */
export function assignItems(items: readonly string[], workerIds: readonly string[]): Map<string, string[]> {
  const workers = [...new Set(workerIds)].sort();
  const out = new Map<string, string[]>(workers.map((w) => [w, []]));
  if (workers.length === 0) return out;
  items.forEach((item, i) => out.get(workers[i % workers.length]!)!.push(item));
  return out;
}
