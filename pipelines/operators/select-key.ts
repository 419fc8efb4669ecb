import { map, type OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';

/**
 * Sets a new key without repartitioning: the record stays in this task. Use it when the new key
 * is a function of the partitioning key (e.g. adding a field to it), so every record of a new
 * key is already in the same task; otherwise use `.keyBy()`, which repartitions. Keyed
 * operators (windows, dedupe, joins) group by `rec.key`.
 */
export function selectKey<K, V, K2>(fn: (rec: Rec<K, V>) => K2): OperatorFunction<Rec<K, V>, Rec<K2, V>> {
  return map((r) => ({ key: fn(r), value: r.value, timestamp: r.timestamp, headers: r.headers, topic: r.topic, partition: r.partition, offset: r.offset }));
}
