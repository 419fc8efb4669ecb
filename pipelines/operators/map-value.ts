import { map, type OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';

/** Maps each record's value, keeping key, timestamp, headers and provenance. */
export function mapValue<K, V, W>(fn: (value: V, rec: Rec<K, V>) => W): OperatorFunction<Rec<K, V>, Rec<K, W>> {
  return map((r) => ({ key: r.key, value: fn(r.value, r), timestamp: r.timestamp, headers: r.headers, topic: r.topic, partition: r.partition, offset: r.offset }));
}
