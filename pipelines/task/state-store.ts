/**
 * A task's bounded, in-memory keyed state store (KeyedStateStore in contracts.ts).
 *
 * Entries live in one Map keyed by the canonical key string, holding the original key next to
 * the value (entries() must give back keys, and canonical strings are one-way for JSON keys).
 * Operators on hot paths use the `*C` methods with a canonical key they computed once.
 *
 * Snapshot format (version 1): magic "WKS1", entry count, then the entries sorted by canonical key,
 * each as key value, value value in the state codec. Sorted, so equal state gives equal bytes.
 */
import { WeirError } from '../../core/errors.js';
import type { KeyedStateStore, StateOptions } from '../core/contracts.js';
import { canonicalKey } from './canonical-key.js';
import { Reader, Writer } from './state-codec.js';

const MAGIC = 'WKS1';
export const DEFAULT_STATE_ENTRIES_MAX = 1_000_000;

interface Entry<S> {
  key: unknown;
  value: S;
}

export class StateStore<S> implements KeyedStateStore<S> {
  private readonly map = new Map<string, Entry<S>>();
  private readonly restoreListeners: (() => void)[] = [];
  readonly entriesMax: number;

  constructor(
    readonly name: string,
    private readonly taskId: string,
    options?: StateOptions,
  ) {
    this.entriesMax = options?.entriesMax ?? DEFAULT_STATE_ENTRIES_MAX;
    if (!(this.entriesMax >= 1)) throw new WeirError('invalid_argument', `state store ${name}: entriesMax must be >= 1, got ${this.entriesMax}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: unknown): S | undefined {
    return this.map.get(canonicalKey(key))?.value;
  }

  set(key: unknown, value: S): void {
    this.setC(canonicalKey(key), key, value);
  }

  delete(key: unknown): void {
    this.map.delete(canonicalKey(key));
  }

  getC(ck: string): S | undefined {
    return this.map.get(ck)?.value;
  }

  entryC(ck: string): Entry<S> | undefined {
    return this.map.get(ck);
  }

  setC(ck: string, key: unknown, value: S): void {
    const e = this.map.get(ck);
    if (e !== undefined) {
      e.value = value;
      return;
    }
    if (this.map.size >= this.entriesMax) {
      throw new WeirError(
        'too_large',
        `state store "${this.name}" of task ${this.taskId} is full (${this.entriesMax} entries); raise its entriesMax, or shorten windows/retention so state expires`,
        { retriable: false },
      );
    }
    this.map.set(ck, { key, value });
  }

  deleteC(ck: string): void {
    this.map.delete(ck);
  }

  *entries(): IterableIterator<[unknown, S]> {
    for (const e of this.map.values()) yield [e.key, e.value];
  }

  /** Called after restore() so operators can rebuild their in-memory indexes (timers). */
  onRestore(listener: () => void): void {
    this.restoreListeners.push(listener);
  }

  snapshot(): Buffer {
    const keys = [...this.map.keys()].sort();
    const w = new Writer();
    w.string(MAGIC);
    w.uvarint(keys.length);
    for (const ck of keys) {
      const e = this.map.get(ck)!;
      w.value(e.key);
      w.value(e.value);
    }
    return w.finish();
  }

  restore(bytes: Buffer): void {
    const r = new Reader(bytes);
    const magic = r.string();
    if (magic !== MAGIC) throw new WeirError('corrupt', `state store ${this.name}: snapshot has magic ${JSON.stringify(magic)}, expected ${MAGIC}`);
    const n = r.uvarint();
    this.map.clear();
    for (let i = 0; i < n; i++) {
      const key = r.value();
      const value = r.value() as S;
      this.map.set(canonicalKey(key), { key, value });
    }
    for (const l of this.restoreListeners) l();
  }
}
