/**
 * A stand-alone TaskContext for testing one operator in isolation (marble tests with RxJS's
 * TestScheduler), where the test driver's whole-pipeline view is more than needed. The watermark
 * is set by hand; side outputs and state are inspectable.
 *
 *   const ctx = new OperatorTestContext();
 *   testScheduler.run(({ cold, expectObservable }) => {
 *     const out = ctx.subscribeIn(cold('a-b', recs).pipe(window(tumbling({ sizeMs: 10 }), count())));
 *     testScheduler.schedule(() => ctx.setWatermark(10), 3);
 *     expectObservable(out).toBe('---x', { x: ... });
 *   });
 */
import { Observable } from 'rxjs';
import { WeirError } from '../../core/errors.js';
import type { KeyedStateStore, Rec, StateOptions, TableView, TaskContext } from '../core/contracts.js';
import { withContext } from '../task/current-context.js';
import { StateStore } from '../task/state-store.js';
import { MemoryTable } from '../task/table.js';

export class OperatorTestContext implements TaskContext {
  readonly pipeline = 'test';
  readonly taskId = 'test/0/p0';
  readonly partition = 0;
  readonly sideOutputs = new Map<string, Rec[]>();
  readonly tables = new Map<string, MemoryTable>();
  private readonly stores = new Map<string, StateStore<unknown>>();
  private readonly listeners: ((wm: number) => void)[] = [];
  private wm = -Infinity;
  private clockMs = 0;

  watermark(): number {
    return this.wm;
  }

  /** Advances the watermark (never back) and runs the operators' listeners, as a task does after a batch. */
  setWatermark(ms: number): void {
    if (ms <= this.wm) return;
    this.wm = ms;
    withContext(this, () => {
      for (const l of [...this.listeners]) l(ms);
    });
  }

  onWatermark(listener: (watermarkMs: number) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  now(): number {
    return this.clockMs;
  }

  setNow(ms: number): void {
    this.clockMs = ms;
  }

  state<S>(name: string, options?: StateOptions): KeyedStateStore<S> {
    let s = this.stores.get(name);
    if (s === undefined) this.stores.set(name, (s = new StateStore<unknown>(name, this.taskId, options)));
    return s as StateStore<S>;
  }

  sideOutput(name: string): (rec: Rec) => void {
    return (rec) => {
      const list = this.sideOutputs.get(name) ?? [];
      list.push(rec);
      this.sideOutputs.set(name, list);
    };
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  table<V>(name: string): TableView<V> {
    const t = this.tables.get(name);
    if (t === undefined) throw new WeirError('not_found', `no table named ${JSON.stringify(name)}`);
    return t as TableView<V>;
  }

  /** The observable, subscribed with this as the current context (as a task subscribes its chain). */
  subscribeIn<T>(source: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => withContext(this, () => source.subscribe(subscriber)));
  }
}
