/** Marble tests: each operator on its own, in virtual time, with RxJS's TestScheduler. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import {
  aggregateByKey,
  branch,
  count,
  dedupe,
  flatMapValue,
  joinTable,
  keyedProcess,
  MemoryTable,
  mapValue,
  OperatorTestContext,
  selectKey,
  session,
  sum,
  table,
  serdes,
  tumbling,
  window,
  type Rec,
} from '../../pipelines/index.js';

const scheduler = () => new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
const r = <V>(key: unknown, value: V, timestamp = 0): Rec<unknown, V> => ({ key, value, timestamp, headers: {}, topic: 't', partition: 0, offset: 0 });

describe('marbles: stateless operators', () => {
  it('mapValue keeps key, timestamp and provenance', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a-b|', { a: r('k', 1, 5), b: r('j', 2, 6) });
      expectObservable(src.pipe(mapValue((v: number) => v * 10))).toBe('a-b|', { a: r('k', 10, 5), b: r('j', 20, 6) });
    });
  });

  it('flatMapValue emits each derived value at the input frame', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('a--b|', { a: r('k', 'x y'), b: r('k', '') });
      expectObservable(src.pipe(flatMapValue((v: string) => v.split(' ').filter((w) => w !== '')))).toBe('(xy)|', { x: r('k', 'x'), y: r('k', 'y') });
    });
  });

  it('selectKey re-keys without changing anything else', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: r('k', { id: 7 }, 3) }).pipe(selectKey((x: Rec<unknown, { id: number }>) => x.value.id))).toBe('a|', { a: r(7, { id: 7 }, 3) });
    });
  });

  it('branch sends matches to side outputs and the rest on', () => {
    const ctx = new OperatorTestContext();
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc|', { a: r('k', 1), b: r('k', 100), c: r('k', -1) });
      expectObservable(ctx.subscribeIn(src.pipe(branch({ big: (x: Rec<unknown, number>) => x.value >= 100, neg: (x: Rec<unknown, number>) => x.value < 0 })))).toBe('a--|', { a: r('k', 1) });
    });
    assert.deepEqual(ctx.sideOutputs.get('big')!.map((x) => x.value), [100]);
    assert.deepEqual(ctx.sideOutputs.get('neg')!.map((x) => x.value), [-1]);
  });
});

describe('marbles: stateful operators', () => {
  it('window emits when the watermark passes the end, not when records arrive', () => {
    const ctx = new OperatorTestContext();
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const src = cold('a-b-c', { a: r('k', 1, 1), b: r('k', 1, 9), c: r('k', 1, 12) });
      s.schedule(() => ctx.setWatermark(9), 3);
      s.schedule(() => ctx.setWatermark(10), 5);
      expectObservable(ctx.subscribeIn(src.pipe(window(tumbling({ sizeMs: 10 }), count())))).toBe('-----w', {
        w: { key: 'k', value: { start: 0, end: 10, value: 2 }, timestamp: 9, headers: {}, topic: '', partition: 0, offset: -1 },
      });
    });
  });

  it('session windows merge before they fire', () => {
    const ctx = new OperatorTestContext();
    const s = scheduler();
    s.run(({ cold, expectObservable }) => {
      const src = cold('abc', { a: r('k', 1, 0), b: r('k', 2, 20), c: r('k', 4, 10) }); // [10,20) touches both [0,10) and [20,30)
      s.schedule(() => ctx.setWatermark(100), 4);
      expectObservable(ctx.subscribeIn(src.pipe(window(session({ gapMs: 10 }), sum())))).toBe('----w', {
        w: { key: 'k', value: { start: 0, end: 30, value: 7 }, timestamp: 29, headers: {}, topic: '', partition: 0, offset: -1 },
      });
    });
  });

  it('dedupe drops repeats of an id', () => {
    const ctx = new OperatorTestContext();
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abcd', { a: r('x', 1, 0), b: r('x', 2, 5), c: r('y', 3, 5), d: r('x', 4, 50) });
      expectObservable(ctx.subscribeIn(src.pipe(dedupe({ withinMs: 10 })))).toBe('a-cd', { a: r('x', 1, 0), c: r('y', 3, 5), d: r('x', 4, 50) });
    });
  });

  it('aggregateByKey emits a running result per key; keyedProcess sees its key’s state', () => {
    const ctx = new OperatorTestContext();
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc', { a: r('x', 1), b: r('y', 1), c: r('x', 1) });
      expectObservable(ctx.subscribeIn(src.pipe(aggregateByKey(count())))).toBe('abc', { a: r('x', 1), b: r('y', 1), c: r('x', 2) });
    });
    const ctx2 = new OperatorTestContext();
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc', { a: r('x', 5), b: r('x', 7), c: r('y', 1) });
      const op = keyedProcess<Rec<unknown, number>, number, string>((rec, state, emit) => {
        const prev = state.get();
        state.set(rec.value);
        if (prev !== undefined) emit(`${prev}->${rec.value}`);
      });
      expectObservable(ctx2.subscribeIn(src.pipe(op))).toBe('-b-', { b: r('x', '5->7') });
    });
  });

  it('joinTable looks up the current table value', () => {
    const ctx = new OperatorTestContext();
    const users = table('users', { key: serdes.string(), value: serdes.json<string>() });
    const t = new MemoryTable<string>();
    t.apply('u1', 'Ann');
    ctx.tables.set('users', t);
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('ab', { a: r('u1', 'click'), b: r('u2', 'click') });
      expectObservable(ctx.subscribeIn(src.pipe(joinTable(users, (c, name: string) => `${c.value}:${name}`)))).toBe('a-', { a: r('u1', 'click:Ann') });
    });
  });
});
