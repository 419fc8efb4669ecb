import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromTopic, fromTopics, intervalJoin, joinTable, mapValue, pipeline, serdes, table, TestDriver, toTopic, tumbling, windowJoin } from '../../pipelines/index.js';

interface Click {
  page: string;
}
interface View {
  ad: string;
}

const sides = () =>
  fromTopics(
    {
      clicks: { key: serdes.string(), value: serdes.json<Click>() },
      views: { key: serdes.string(), value: serdes.json<View>() },
    },
    { outOfOrdernessMs: 0 },
  );

describe('intervalJoin (stream-stream, Kafka Streams JoinWindows)', () => {
  const build = (type: 'inner' | 'left') =>
    pipeline('ij')
      .from(sides())
      .pipe(
        intervalJoin({
          left: 'clicks',
          withinMs: 10,
          type,
          select: (c, v) => `${(c.value as Click).page}+${v === null ? 'null' : (v.value as View).ad}`,
        }),
      )
      .to(toTopic('joined'));

  it('joins records of the same key within withinMs in either order, stamping the later timestamp', () => {
    const d = new TestDriver(build('inner'));
    d.pipe('views', { key: 'u1', value: { ad: 'A' }, timestamp: 100 });
    d.pipe('clicks', { key: 'u1', value: { page: 'p1' }, timestamp: 105 }); // |105-100| <= 10
    d.pipe('clicks', { key: 'u2', value: { page: 'p2' }, timestamp: 106 }); // other key
    d.pipe('views', { key: 'u1', value: { ad: 'B' }, timestamp: 116 }); // |116-105| = 11: no
    d.pipe('views', { key: 'u1', value: { ad: 'C' }, timestamp: 115 }); // |115-105| = 10: yes (and late by 1 is still within the join window)
    assert.deepEqual(
      d.output<string, string>('joined').map((r) => [r.key, r.value, r.timestamp]),
      [
        ['u1', 'p1+A', 105],
        ['u1', 'p1+C', 115],
      ],
    );
  });

  it("type 'left' emits an unmatched left record with null once no match can come; records too old go to 'late'", () => {
    const d = new TestDriver(build('left'));
    d.pipe('clicks', { key: 'u1', value: { page: 'p1' }, timestamp: 100 });
    d.pipe('clicks', { key: 'u2', value: { page: 'p2' }, timestamp: 101 });
    d.pipe('views', { key: 'u2', value: { ad: 'A' }, timestamp: 103 });
    assert.deepEqual(d.output('joined').map((r) => r.value), ['p2+A']);
    // The watermark is the minimum over both topics, so both move on.
    d.pipe('views', { key: 'zz', value: { ad: 'Z' }, timestamp: 110 });
    d.pipe('clicks', { key: 'zz', value: { page: 'z' }, timestamp: 110 });
    assert.equal(d.watermark(), 110);
    assert.deepEqual(d.output('joined').map((r) => r.value), ['p2+A', 'z+Z'], 'u1 at 100 can still match a view at 110');
    d.pipe('views', { key: 'zy', value: { ad: 'Y' }, timestamp: 111 });
    d.pipe('clicks', { key: 'zy', value: { page: 'y' }, timestamp: 111 });
    assert.deepEqual(d.output('joined').map((r) => [r.value, r.timestamp]), [['p2+A', 103], ['z+Z', 110], ['y+Y', 111], ['p1+null', 100]]);
    d.pipe('views', { key: 'u1', value: { ad: 'old' }, timestamp: 99 }); // 99 + 10 < 111
    assert.deepEqual(d.sideOutput('late').map((r) => r.timestamp), [99]);
  });

  it('keeps buffered records in state and forgets them when they expire', () => {
    const d = new TestDriver(build('inner'));
    d.pipe('clicks', { key: 'u1', value: { page: 'p1' }, timestamp: 100 });
    assert.deepEqual(d.stateStoreNames(), ['join-0.left', 'join-0.right']);
    assert.equal(d.stateStore('join-0.left').size, 1);
    d.pipe('views', { key: 'u9', value: { ad: 'x' }, timestamp: 200 });
    assert.equal(d.stateStore('join-0.left').size, 1, 'the clicks input still holds the watermark at 100');
    d.pipe('clicks', { key: 'u8', value: { page: 'y' }, timestamp: 200 });
    assert.deepEqual(d.state('join-0.left').map(([k]) => k), ['u8']);
    assert.deepEqual(d.state('join-0.right').map(([k]) => k), ['u9']);
  });
});

describe('windowJoin (Flink window join)', () => {
  it('joins every pair of the same key in the same window when it closes', () => {
    const p = pipeline('wj')
      .from(sides())
      .pipe(windowJoin({ left: 'clicks', window: tumbling({ sizeMs: 10 }), select: (c, v, w) => `${(c.value as Click).page}+${(v.value as View).ad}@${w.start}` }))
      .to(toTopic('joined'));
    const d = new TestDriver(p);
    d.pipe('clicks', [
      { key: 'u1', value: { page: 'p1' }, timestamp: 1 },
      { key: 'u1', value: { page: 'p2' }, timestamp: 2 },
    ]);
    d.pipe('views', [
      { key: 'u1', value: { ad: 'A' }, timestamp: 9 },
      { key: 'u1', value: { ad: 'B' }, timestamp: 10 }, // next window: no pair
      { key: 'u2', value: { ad: 'C' }, timestamp: 10 },
    ]);
    d.endOfInput();
    assert.deepEqual(d.output<string, string>('joined').map((r) => [r.key, r.value, r.timestamp]), [
      ['u1', 'p1+A@0', 9],
      ['u1', 'p2+A@0', 9],
    ]);
  });
});

describe('joinTable (stream-table)', () => {
  interface User {
    country: string;
  }
  const users = table('users', { key: serdes.string(), value: serdes.json<User>() });

  it('declares the table on the stage and joins with the latest value per key; null deletes; inner drops misses', () => {
    const p = pipeline('enrich')
      .from(fromTopic('clicks', { value: serdes.json<Click>() }))
      .pipe(joinTable(users, (c, u) => `${c.value.page}:${u.country}`))
      .to(toTopic('enriched'));
    assert.deepEqual(p.stages[0]!.tables.map((t) => [t.name, t.topic]), [['users', 'users']]);
    const d = new TestDriver(p);
    d.pipeTable('users', 'u1', { country: 'NL' });
    d.pipe('clicks', { key: 'u1', value: { page: 'a' } });
    d.pipe('clicks', { key: 'u2', value: { page: 'b' } });
    d.pipeTable('users', 'u1', { country: 'FR' });
    d.pipe('clicks', { key: 'u1', value: { page: 'c' } });
    d.pipeTable('users', 'u1', null);
    d.pipe('clicks', { key: 'u1', value: { page: 'd' } });
    assert.deepEqual(d.output('enriched').map((r) => r.value), ['a:NL', 'c:FR']);
  });

  it("'left' keeps misses, and a key function looks up by a field", () => {
    const p = pipeline('enrich')
      .from(fromTopic('clicks', { value: serdes.json<Click & { user: string }>() }))
      .pipe(
        joinTable(users, (c, u) => `${c.value.page}:${u?.country ?? '?'}`, { type: 'left', key: (r) => r.value.user }),
        mapValue((v: string) => v.toUpperCase()),
      )
      .to(toTopic('enriched'));
    const d = new TestDriver(p);
    d.pipeTable('users', 'u1', { country: 'nl' });
    d.pipe('clicks', [{ value: { page: 'a', user: 'u1' } }, { value: { page: 'b', user: 'u2' } }]);
    assert.deepEqual(d.output('enriched').map((r) => r.value), ['A:NL', 'B:?']);
  });
});
