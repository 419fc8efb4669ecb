import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom } from 'rxjs';
import { isWeirError } from '../../core/errors.js';
import {
  count,
  createTask,
  currentContext,
  dedupe,
  fromTopic,
  hopping,
  intervalJoin,
  fromTopics,
  pipeline,
  serdes,
  session,
  sliding,
  sum,
  TestDriver,
  toTopic,
  tumbling,
  window,
  type PipelineSpec,
  type Rec,
  type SinkWriter,
  type WindowResult,
} from '../../pipelines/index.js';
import { decodeValue, encodeValue } from '../../pipelines/task/state-codec.js';
import { StateStore } from '../../pipelines/task/state-store.js';
import { map } from 'rxjs';

/** A small deterministic PRNG (mulberry32) so the inputs are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ev {
  user: string;
  id: number;
  amount: number;
}

function inputs(n: number, seed: number) {
  const rnd = prng(seed);
  const out: { key: string; value: Ev; timestamp: number; partition: number }[] = [];
  let t = 1_000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 40);
    const jitter = Math.floor(rnd() * 300); // out of order by up to 300 ms; ooo bound is 200, so some are late
    const user = `u${Math.floor(rnd() * 7)}`;
    // Every 10th event repeats an earlier id (a duplicate for dedupe).
    const id = i % 10 === 9 ? i - 3 : i;
    out.push({ key: user, value: { user, id, amount: Math.floor(rnd() * 100) }, timestamp: t - jitter, partition: i % 2 });
  }
  return out;
}

function stateful(): PipelineSpec {
  return pipeline('rt')
    .from(fromTopic('events', { value: serdes.json<Ev>(), outOfOrdernessMs: 200, idleTimeoutMs: 60_000 }))
    .pipe(dedupe({ withinMs: 5_000, by: (r) => r.value.id }))
    .keyBy((r) => r.value.user, { key: serdes.string(), value: serdes.json<Ev>(), partitions: 3 })
    .pipe(
      window(session({ gapMs: 150 }), sum((r: Rec<string, Ev>) => r.value.amount), { allowedLatenessMs: 100 }),
      map((r: Rec<string, WindowResult<number>>) => ({ ...r, value: { ...r.value, value: r.value.value * 2 } })),
      window(hopping({ sizeMs: 2_000, advanceMs: 500 }), count()),
    )
    .side('late', toTopic('late', { value: serdes.json() }))
    .to(toTopic('out', { value: serdes.json() }));
}

const rows = (recs: Rec[]) => recs.map((r) => JSON.stringify([r.key, r.value, r.timestamp]));

describe('snapshot and restore', () => {
  for (const [name, build] of [
    ['dedupe + keyBy + session (lateness) + hopping', stateful],
    [
      'sliding windows',
      () =>
        pipeline('sl')
          .from(fromTopic('events', { value: serdes.json<Ev>(), outOfOrdernessMs: 100 }))
          .pipe(window(sliding({ sizeMs: 300 }), sum((r: Rec<string, Ev>) => r.value.amount), { allowedLatenessMs: 50 }))
          .to(toTopic('out', { value: serdes.json() })),
    ],
    [
      'interval join',
      () =>
        pipeline('ij')
          .from(fromTopics({ events: { key: serdes.string(), value: serdes.json<Ev>() }, other: { key: serdes.string(), value: serdes.json<Ev>() } }, { outOfOrdernessMs: 200, idleTimeoutMs: 1 }))
          .pipe(intervalJoin({ left: (r) => r.value.id % 2 === 0, withinMs: 100, type: 'left', select: (l, r) => [l.value.id, r?.value.id ?? null] }))
          .to(toTopic('out', { value: serdes.json() })),
    ],
  ] as const) {
    it(`${name}: restoring a snapshot then continuing equals an uninterrupted run`, () => {
      const input = inputs(600, 7);
      const partitions = { events: 2, other: 2 };
      const whole = new TestDriver(build(), { partitions });
      whole.pipe('events', input);
      whole.endOfInput();
      const expected = rows(whole.output('out'));
      const expectedLate = rows(whole.output('late'));
      assert.ok(expected.length > 20, `the scenario produces output (${expected.length})`);

      for (const cut of [1, 150, 333, 599]) {
        const first = new TestDriver(build(), { partitions });
        first.pipe('events', input.slice(0, cut));
        const snap = first.snapshot();
        const second = new TestDriver(build(), { partitions }).restore(snap);
        second.pipe('events', input.slice(cut));
        second.endOfInput();
        assert.deepEqual([...rows(first.output('out')), ...rows(second.output('out'))], expected, `cut at ${cut}`);
        assert.deepEqual([...rows(first.output('late')), ...rows(second.output('late'))], expectedLate, `late records, cut at ${cut}`);
      }
    });
  }

  it('snapshots are deterministic: the same state gives the same bytes, whatever the insertion order', () => {
    const a = new StateStore<unknown>('s', 't');
    const b = new StateStore<unknown>('s', 't');
    a.set('x', { b: 2, a: [1, 2.5, 'three'], m: new Map<unknown, unknown>([[2, 'two'], ['one', 1]]) });
    a.set({ k: 1, j: 2 }, null);
    b.set({ j: 2, k: 1 }, null);
    b.set('x', { a: [1, 2.5, 'three'], m: new Map<unknown, unknown>([['one', 1], [2, 'two']]), b: 2 });
    assert.deepEqual(a.snapshot(), b.snapshot());
    const c = new StateStore<unknown>('s', 't');
    c.restore(a.snapshot());
    assert.deepEqual(c.get({ k: 1, j: 2 }), null);
    assert.deepEqual(c.snapshot(), a.snapshot());
  });

  it('the state codec round-trips every supported value, compactly', () => {
    const v = { u: undefined, n: null, t: true, f: false, i: -123456789, big: 2 ** 53 - 1, fl: -0.5, inf: -Infinity, nan: NaN, s: 'héllo', bi: 12345678901234567890n, b: Buffer.from([1, 2, 3]), d: new Date(5), set: new Set([3, 1]), arr: [[]] };
    const back = decodeValue(encodeValue(v)) as typeof v;
    assert.deepEqual(back, { ...v, set: new Set([1, 3]) });
    assert.ok(Object.is(decodeValue(encodeValue(-0)), -0));
    assert.equal(encodeValue(5).length, 2, 'small integers take a tag and one byte');
    assert.throws(() => encodeValue({ f: () => 1 }), (e: unknown) => isWeirError(e, 'invalid_argument') && /plain data; got a function/.test(e.message));
    assert.throws(() => decodeValue(Buffer.from([6, 10, 65])), (e: unknown) => isWeirError(e, 'corrupt'));
  });

  it('a snapshot keeps restored state of a store no operator has opened yet', () => {
    const spec = pipeline('p').from(fromTopic('t')).to(toTopic('u')).stages[0]!;
    const opts = { pipeline: 'p', stage: spec, partition: 0, inputs: [{ topic: 't', partition: 0 }], sinks: [], sideSinks: new Map(), tables: new Map(), clock: () => 0 };
    const task = createTask(opts);
    const store = new StateStore<number>('orphan', 'x');
    store.set('k', 1);
    task.restore(new Map([['orphan', store.snapshot()]]));
    assert.deepEqual(task.snapshot().get('orphan'), store.snapshot());
  });
});

describe('task runner', () => {
  const stage = (transform: (src: import('rxjs').Observable<Rec>) => import('rxjs').Observable<Rec>) =>
    ({ ...pipeline('p').from(fromTopic('t')).to(toTopic('u')).stages[0]!, transform });
  const sink = (into: Rec[]): SinkWriter => ({ name: 's', write: (r) => into.push(r), flush: async () => {}, close: async () => {} });
  const base = { pipeline: 'p', partition: 0, inputs: [{ topic: 't', partition: 0 }], sideSinks: new Map(), tables: new Map(), clock: () => 0 };
  const rec = (value: unknown, timestamp = 0): Rec => ({ key: null, value, timestamp, headers: {}, topic: 't', partition: 0, offset: 0 });

  it('gives operators their context at subscribe time and pushes synchronously to every sink', () => {
    const a: Rec[] = [];
    const b: Rec[] = [];
    let seen: string | undefined;
    const task = createTask({
      ...base,
      stage: stage((src) => {
        seen = undefined;
        return src.pipe((s) => {
          return new (s.constructor as typeof import('rxjs').Observable)<Rec>((sub) => {
            seen = currentContext().taskId;
            return s.subscribe(sub);
          });
        });
      }),
      sinks: [sink(a), sink(b)],
    });
    assert.equal(seen, 'p/0/p0');
    task.push([rec(1), rec(2)]);
    assert.deepEqual(a.map((r) => r.value), [1, 2]);
    assert.deepEqual(b.map((r) => r.value), [1, 2]);
    assert.throws(() => currentContext(), /must run inside a pipeline task/);
  });

  it('barrier waits for tracked async work; a rejected one fails the task on errors', async () => {
    let release!: () => void;
    const task = createTask({
      ...base,
      stage: stage((src) =>
        src.pipe((s) => new (s.constructor as typeof import('rxjs').Observable)<Rec>((sub) => {
          const ctx = currentContext();
          return s.subscribe((r) => {
            if (r.value === 'wait') ctx.track(new Promise<void>((res) => (release = res)));
            if (r.value === 'fail') ctx.track(Promise.reject(new Error('async boom')));
            sub.next(r);
          });
        })),
      ),
      sinks: [sink([])],
    });
    task.push([rec('wait')]);
    let done = false;
    const barrier = task.barrier().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    release();
    await barrier;
    assert.equal(done, true);
    const err = firstValueFrom(task.errors);
    task.push([rec('fail')]);
    assert.match((await err).message, /async boom/);
    await assert.rejects(task.barrier(), /async boom/);
  });

  it('a throwing sink fails the task instead of throwing asynchronously', async () => {
    const task = createTask({ ...base, stage: stage((s) => s), sinks: [{ name: 'bad', write: () => { throw new Error('sink down'); }, flush: async () => {}, close: async () => {} }] });
    const err = firstValueFrom(task.errors);
    task.push([rec(1)]);
    assert.match((await err).message, /sink down/);
    assert.throws(() => task.push([rec(2)]), /sink down/);
  });

  it('restore after the first push is refused; close() does not fire windows', () => {
    const out: Rec[] = [];
    const task = createTask({ ...base, stage: { ...stage((s) => s), transform: window(tumbling({ sizeMs: 10 }), count()) as never }, sinks: [sink(out)] });
    task.push([rec(1, 5)]);
    assert.throws(() => task.restore(new Map()), /restore after the first push/);
    task.close();
    assert.equal(out.length, 0);
    assert.throws(() => task.push([rec(1, 50)]), /push after close/);
  });
});
