/**
 * An in-memory table view (TableView in contracts.ts): latest value per key, a null value deletes.
 * Both the test driver and the Kafka runtime fill one per declared table, by calling apply() with
 * each deserialized table-topic record in offset order.
 */
import type { TableView } from '../core/contracts.js';
import { canonicalKey } from './canonical-key.js';

export class MemoryTable<V = unknown> implements TableView<V> {
  private readonly map = new Map<string, V>();

  get(key: unknown): V | undefined {
    return this.map.get(canonicalKey(key));
  }

  get size(): number {
    return this.map.size;
  }

  /** Upsert; null or undefined is a tombstone. */
  apply(key: unknown, value: V | null | undefined): void {
    const ck = canonicalKey(key);
    if (value === null || value === undefined) this.map.delete(ck);
    else this.map.set(ck, value);
  }
}
