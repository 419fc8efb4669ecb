import { Observable, type OperatorFunction } from 'rxjs';
import type { Rec } from '../core/contracts.js';

/**
 * Maps each record's value to zero or more values, each a record with the input's key,
 * timestamp, headers and provenance (e.g. lines to words). Synchronous: an iterable, not an
 * Observable, so every derived record reaches the sinks before push() returns.
 */
export function flatMapValue<K, V, W>(fn: (value: V, rec: Rec<K, V>) => Iterable<W>): OperatorFunction<Rec<K, V>, Rec<K, W>> {
  return (source) =>
    new Observable<Rec<K, W>>((subscriber) =>
      source.subscribe({
        next: (r) => {
          let values: Iterable<W>;
          try {
            values = fn(r.value, r);
          } catch (e) {
            subscriber.error(e);
            return;
          }
          for (const value of values) subscriber.next({ key: r.key, value, timestamp: r.timestamp, headers: r.headers, topic: r.topic, partition: r.partition, offset: r.offset });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}
