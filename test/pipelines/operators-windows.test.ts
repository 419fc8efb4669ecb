import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWeirError } from '../../core/errors.js';
import {
  aggregate,
  count,
  fromTopic,
  hopping,
  max,
  min,
  pipeline,
  reduce,
  serdes,
  session,
  sliding,
  sum,
  TestDriver,
  toTopic,
  tumbling,
  window,
  type Rec,
  type WindowResult,
  type WindowSpec,
  type WindowOptions,
  type Aggregator,
} from '../../pipelines/index.js';

type Out = [string, number, number, unknown]; // key, start, end, value

function windowed<A, O>(spec: WindowSpec, agg: Aggregator<Rec<string, number>, A, O>, opts: WindowOptions = {}, src: { outOfOrdernessMs?: number; idleTimeoutMs?: number } = {}) {
  return pipeline('w')
    .from(fromTopic('in', { value: serdes.json<number>(), ...src }))
    .pipe(window(spec, agg, opts))
    .to(toTopic('out', { value: serdes.json<WindowResult<O>>() }));
}

function rows(d: TestDriver): Out[] {
  return d.output<string, WindowResult<unknown>>('out').map((r) => [r.key, r.value.start, r.value.end, r.value.value]);
}

const rec = (key: string, timestamp: number, value = 1) => ({ key, value, timestamp });

describe('window: tumbling', () => {
  it('assigns by [start, end): a record at end - 1 is in the window, at end in the next; fires when the watermark reaches end', () => {
    const d = new TestDriver(windowed(tumbling({ sizeMs: 10 }), count()));
    d.pipe('in', [rec('a', 0), rec('a', 9), rec('b', 5)]);
    assert.deepEqual(rows(d), [], 'nothing fires before the watermark reaches 10');
    d.pipe('in', rec('a', 10));
    assert.deepEqual(rows(d), [['a', 0, 10, 2], ['b', 0, 10, 1]]);
    const out = d.output<string, WindowResult<number>>('out');
    assert.equal(out[0]!.timestamp, 9, 'a window result is stamped end - 1');
    d.endOfInput();
    assert.deepEqual(rows(d).slice(2), [['a', 10, 20, 1]]);
  });

  it('out-of-order records within outOfOrdernessMs count; beyond it they go to the late side output', () => {
    const d = new TestDriver(windowed(tumbling({ sizeMs: 10 }), count(), {}, { outOfOrdernessMs: 5 }));
    d.pipe('in', [rec('a', 12), rec('a', 3), rec('a', 14)]); // wm 7, then 9: window [0,10) still open
    assert.deepEqual(rows(d), []);
    d.pipe('in', rec('a', 15)); // wm 10: fires [0,10) with the out-of-order record
    assert.deepEqual(rows(d), [['a', 0, 10, 1]]);
    d.pipe('in', rec('a', 8)); // window [0,10) is gone: late
    assert.deepEqual(d.sideOutput('late').map((r) => [r.key, r.timestamp]), [['a', 8]]);
    d.endOfInput();
    assert.deepEqual(rows(d), [['a', 0, 10, 1], ['a', 10, 20, 3]]);
  });

  it('allowedLateness keeps a fired window and re-emits it per late record; after it, records are late', () => {
    const d = new TestDriver(windowed(tumbling({ sizeMs: 10 }), sum((r) => r.value), { allowedLatenessMs: 5 }));
    d.pipe('in', [rec('a', 1, 1), rec('a', 11, 10)]); // wm 11: [0,10) fired with 1
    assert.deepEqual(rows(d), [['a', 0, 10, 1]]);
    d.pipe('in', rec('a', 4, 100)); // late but within lateness: late firing
    assert.deepEqual(rows(d), [['a', 0, 10, 1], ['a', 0, 10, 101]]);
    d.pipe('in', rec('a', 15, 10)); // wm 15 = end + lateness: [0,10) purged
    d.pipe('in', rec('a', 5, 1000));
    assert.deepEqual(d.sideOutput('late').map((r) => r.value), [1000]);
    assert.equal(rows(d).length, 2);
  });

  it('late records go to a bound side sink under a custom side-output name', () => {
    const p = pipeline('w')
      .from(fromTopic('in', { value: serdes.json<number>() }))
      .pipe(window(tumbling({ sizeMs: 10 }), count(), { lateOutput: 'too-late' }))
      .side('too-late', toTopic('late-topic', { value: serdes.json<number>() }))
      .to(toTopic('out', { value: serdes.json() }));
    const d = new TestDriver(p);
    d.pipe('in', [rec('a', 20), rec('a', 3, 7)]);
    assert.deepEqual(d.output('late-topic').map((r) => [r.key, r.value, r.timestamp]), [['a', 7, 3]]);
  });

  it("emit: 'update' emits every change and nothing more at close", () => {
    const d = new TestDriver(windowed(tumbling({ sizeMs: 10 }), count(), { emit: 'update' }));
    d.pipe('in', [rec('a', 1), rec('a', 2), rec('b', 3), rec('a', 12)]);
    assert.deepEqual(rows(d), [['a', 0, 10, 1], ['a', 0, 10, 2], ['b', 0, 10, 1], ['a', 10, 20, 1]]);
    d.endOfInput();
    assert.equal(rows(d).length, 4);
  });
});

describe('window: hopping', () => {
  it('puts each record in size/advance windows and fires them in end order', () => {
    const d = new TestDriver(windowed(hopping({ sizeMs: 10, advanceMs: 5 }), count()));
    d.pipe('in', [rec('a', 7), rec('a', 12)]);
    // windows: [0,10) {7}, [5,15) {7,12}, [10,20) {12}
    assert.deepEqual(rows(d), [['a', 0, 10, 1]]);
    d.endOfInput();
    assert.deepEqual(rows(d), [['a', 0, 10, 1], ['a', 5, 15, 2], ['a', 10, 20, 1]]);
  });

  it('handles negative timestamps on the grid', () => {
    const d = new TestDriver(windowed(hopping({ sizeMs: 10, advanceMs: 5 }), count()));
    d.pipe('in', [rec('a', -3)]);
    d.endOfInput();
    assert.deepEqual(rows(d), [['a', -10, 0, 1], ['a', -5, 5, 1]]);
  });
});

describe('window: session', () => {
  it('separates sessions by the gap and merges two sessions when a record bridges them', () => {
    const d = new TestDriver(windowed(session({ gapMs: 10 }), sum((r) => r.value), {}, { outOfOrdernessMs: 100 }));
    d.pipe('in', [rec('a', 0, 1), rec('a', 5, 2), rec('a', 30, 4), rec('b', 0, 100)]);
    // a: [0,15) and [30,40) so far; a record at 18 makes [18,28) which touches neither... at 20 -> [20,30) touches [30,40)
    d.pipe('in', rec('a', 14, 8)); // [14,24) overlaps [0,15) -> [0,24)
    d.pipe('in', rec('a', 22, 16)); // [22,32) overlaps [0,24) and [30,40) -> [0,40)
    d.endOfInput();
    assert.deepEqual(rows(d).sort(), [['a', 0, 40, 31], ['b', 0, 10, 100]]);
  });

  it('a late record that bridges into a still-open session is not late', () => {
    const d = new TestDriver(windowed(session({ gapMs: 10 }), count()));
    d.pipe('in', [rec('a', 100), rec('b', 125)]); // wm 125: a's [100,110) fired
    assert.deepEqual(rows(d), [['a', 100, 110, 1]]);
    d.pipe('in', rec('b', 118)); // late by 7 but merges with b's open [125,135) -> [118,135)
    assert.deepEqual(d.sideOutput('late'), []);
    d.pipe('in', rec('a', 95)); // [95,105): a's session is gone -> late
    assert.deepEqual(d.sideOutput('late').map((r) => [r.key, r.timestamp]), [['a', 95]]);
    d.endOfInput();
    assert.deepEqual(rows(d), [['a', 100, 110, 1], ['b', 118, 135, 2]]);
  });

  it('refuses an aggregator without merge', () => {
    const noMerge = aggregate<Rec<string, number>, number>({ init: () => 0, add: (a) => a + 1 });
    assert.throws(() => window(session({ gapMs: 5 }), noMerge), /need an aggregator with merge/);
  });
});

describe('window: sliding', () => {
  it('emits the window ending at each record and the non-empty windows starting after each record', () => {
    const d = new TestDriver(windowed(sliding({ sizeMs: 10 }), sum((r) => r.value)));
    d.pipe('in', [rec('a', 0, 1), rec('a', 5, 2), rec('a', 12, 4)]);
    d.endOfInput();
    // left windows: [-9,1) {0}=1, [-4,6) {0,5}=3, [3,13) {5,12}=6
    // right windows: after 0: [1,11) {5}=2, after 5: [6,16) {12}=4, after 12: empty
    assert.deepEqual(rows(d).sort((x, y) => x[1] - y[1]), [
      ['a', -9, 1, 1],
      ['a', -4, 6, 3],
      ['a', 1, 11, 2],
      ['a', 3, 13, 6],
      ['a', 6, 16, 4],
    ]);
  });

  it('fires a left window when the watermark passes its record and re-emits fired windows a late record changes', () => {
    const d = new TestDriver(windowed(sliding({ sizeMs: 10 }), count(), { allowedLatenessMs: 30 }));
    d.pipe('in', [rec('a', 0), rec('a', 5)]);
    assert.deepEqual(rows(d), [['a', -9, 1, 1]]);
    d.pipe('in', rec('a', 30)); // wm 30: fires left(5) and right(0)
    const before = rows(d).length;
    assert.deepEqual(rows(d).slice(1), [['a', -4, 6, 2], ['a', 1, 11, 1]], 'left(5) = {0,5}, right(0) = {5}; right(5) is empty');
    d.pipe('in', rec('a', 3)); // late within lateness: every fired window holding 3 is re-emitted
    const after = rows(d).slice(before);
    assert.deepEqual(after.sort((x, y) => x[1] - y[1]), [
      ['a', -6, 4, 2], // left(3) = {0,3}
      ['a', -4, 6, 3], // left(5) = {0,3,5}
      ['a', 1, 11, 2], // right(0) = {3,5}
      ['a', 4, 14, 1], // right(3) = {5}
    ]);
  });
});

describe("emit: 'update' for sessions and sliding windows", () => {
  it('session: every record emits the session it is in now, merges included; nothing more at close', () => {
    const d = new TestDriver(windowed(session({ gapMs: 10 }), count(), { emit: 'update' }, { outOfOrdernessMs: 100 }));
    d.pipe('in', [rec('a', 0), rec('a', 30), rec('a', 10), rec('a', 20)]);
    assert.deepEqual(rows(d), [['a', 0, 10, 1], ['a', 30, 40, 1], ['a', 0, 20, 2], ['a', 0, 40, 4]]);
    d.endOfInput();
    assert.equal(rows(d).length, 4);
  });

  it('sliding: every record emits each window it changed', () => {
    const d = new TestDriver(windowed(sliding({ sizeMs: 10 }), count(), { emit: 'update' }, { outOfOrdernessMs: 100 }));
    d.pipe('in', [rec('a', 0), rec('a', 5)]);
    // 0: left(0)={0}. 5: left(5)={0,5}, right(0)={5}.
    assert.deepEqual(rows(d), [['a', -9, 1, 1], ['a', -4, 6, 2], ['a', 1, 11, 1]]);
    d.endOfInput();
    assert.equal(rows(d).length, 3);
  });
});

describe('window aggregates', () => {
  it('count, sum, min, max, reduce and aggregate over one window', () => {
    const vals = [5, -2, 9, 4];
    const run = <A, O>(agg: Aggregator<Rec<string, number>, A, O>): unknown => {
      const d = new TestDriver(windowed(tumbling({ sizeMs: 100 }), agg));
      d.pipe('in', vals.map((v, i) => rec('k', i, v)));
      d.endOfInput();
      return rows(d)[0]![3];
    };
    assert.equal(run(count()), 4);
    assert.equal(run(sum()), 16);
    assert.equal(run(min()), -2);
    assert.equal(run(max()), 9);
    assert.equal(run(reduce((a: number, b: number) => a * 10 + b)), ((5 * 10 - 2) * 10 + 9) * 10 + 4);
    assert.deepEqual(
      run(aggregate<Rec<string, number>, { n: number; total: number }, number>({ init: () => ({ n: 0, total: 0 }), add: (a, r) => ({ n: a.n + 1, total: a.total + r.value }), result: (a) => a.total / a.n })),
      4,
    );
  });
});

describe('watermarks across partitions', () => {
  it('an idle input stops holding the watermark back once idleTimeoutMs of processing time passes', () => {
    // One task reading two co-partitioned topics: its watermark is the min over both inputs.
    const p = pipeline('j')
      .from(fromTopic(['left', 'right'], { value: serdes.json<number>(), idleTimeoutMs: 1_000 }))
      .pipe(window(tumbling({ sizeMs: 10 }), count()))
      .to(toTopic('out', { value: serdes.json() }));
    const d = new TestDriver(p);
    d.pipe('left', rec('a', 5));
    d.pipe('right', rec('a', 3));
    d.pipe('left', rec('a', 25));
    assert.equal(d.watermark(), 3, 'right holds the watermark at its max');
    assert.deepEqual(rows(d), []);
    d.advanceTime(999);
    d.pipe('left', rec('a', 26));
    assert.equal(d.watermark(), 3, 'not idle yet');
    d.advanceTime(1);
    assert.equal(d.watermark(), 26, 'right is idle: left alone decides');
    assert.deepEqual(rows(d), [['a', 0, 10, 2]]);
    d.pipe('right', rec('a', 27)); // right is active again; the watermark never goes back
    assert.equal(d.watermark(), 26);
  });

  it('an input that never had a record stops holding the watermark after idleTimeoutMs from the start', () => {
    const p = pipeline('j')
      .from(fromTopic(['left', 'right'], { value: serdes.json<number>(), idleTimeoutMs: 500 }))
      .pipe(window(tumbling({ sizeMs: 10 }), count()))
      .to(toTopic('out', { value: serdes.json() }));
    const d = new TestDriver(p);
    d.pipe('left', [rec('a', 5), rec('a', 15)]);
    assert.equal(d.watermark(), -Infinity);
    d.advanceTime(500);
    assert.equal(d.watermark(), 15);
    assert.deepEqual(rows(d), [['a', 0, 10, 1]]);
  });
});

describe('window state', () => {
  it('lives in a named keyed state store the driver can inspect, and is purged after firing', () => {
    const p = pipeline('w')
      .from(fromTopic('in', { value: serdes.json<number>() }))
      .pipe(window(tumbling({ sizeMs: 10 }), count(), { name: 'counts' }))
      .to(toTopic('out', { value: serdes.json() }));
    const d = new TestDriver(p);
    d.pipe('in', [rec('a', 1), rec('b', 2)]);
    assert.deepEqual(d.stateStoreNames(), ['counts']);
    assert.equal(d.stateStore('counts').size, 2);
    assert.deepEqual(d.state('counts').map(([k]) => k).sort(), ['a', 'b']);
    d.pipe('in', rec('c', 10));
    assert.deepEqual(d.state('counts').map(([k]) => k), ['c']);
  });

  it('fails the task with a clear too_large error when keys exceed keysMax', () => {
    const d = new TestDriver(windowed(tumbling({ sizeMs: 10 }), count(), { keysMax: 2 }));
    d.pipe('in', [rec('a', 1), rec('b', 1)]);
    assert.throws(
      () => d.pipe('in', rec('c', 1)),
      (e: unknown) => isWeirError(e, 'too_large') && !e.retriable && /state store "window-0" of task w\/0\/p0 is full \(2 entries\)/.test(e.message),
    );
  });
});
