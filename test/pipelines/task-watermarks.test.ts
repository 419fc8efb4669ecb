import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { count, decodeWatermarkMark, encodeWatermarkMark, fromTopic, partitionForKey, pipeline, serdes, TestDriver, toTopic, tumbling, window, type WindowResult } from '../../pipelines/index.js';

/** Two keys that murmur2 puts in different partitions of 4. */
function keysOnDifferentPartitions(): [string, string] {
  const p = (k: string) => partitionForKey(Buffer.from(k), 4);
  for (let i = 1; ; i++) if (p(`k${i}`) !== p('k0')) return ['k0', `k${i}`];
}

const build = (upstreamIdleMs = 10_000) =>
  pipeline('wm')
    .from(fromTopic('in', { value: serdes.json<string>(), idleTimeoutMs: upstreamIdleMs }))
    .keyBy((r) => r.value, { key: serdes.string(), value: serdes.json<string>(), partitions: 4 })
    .pipe(window(tumbling({ sizeMs: 10 }), count()))
    .to(toTopic('out', { value: serdes.json() }));

const rows = (d: TestDriver) => d.output<string, WindowResult<number>>('out').map((r) => [r.key, r.value.start, r.value.value]);

describe('watermarks across a repartition', () => {
  it('a downstream partition that gets few keys still sees event time advance (marks from every upstream task)', () => {
    const [busy, rare] = keysOnDifferentPartitions();
    const d = new TestDriver(build());
    d.pipe('in', { value: rare, timestamp: 1 });
    for (let t = 2; t <= 25; t++) d.pipe('in', { value: busy, timestamp: t });
    // The rare key's partition saw one record at 1, but the upstream watermark (25) reached it.
    assert.deepEqual(rows(d).sort(), [[busy, 0, 8], [busy, 10, 10], [rare, 0, 1]].sort());
  });

  it('waits for every upstream task; an idle upstream task stops holding the next stage back', () => {
    const d = new TestDriver(build(1_000), { partitions: { in: 2 } });
    d.pipe('in', [
      { value: 'a', timestamp: 5, partition: 0 },
      { value: 'a', timestamp: 30, partition: 0 },
    ]);
    assert.deepEqual(rows(d), [], 'upstream partition 1 has not reported a watermark');
    assert.equal(d.watermark(1, 0), -Infinity);
    d.advanceTime(1_000); // upstream p1 idle: it says so, and is left out of the minimum
    assert.deepEqual(rows(d), [['a', 0, 1]]);
    // Both upstream tasks are idle now (no record for 1 s); p1 comes back with old data: the next
    // stage's watermark never goes back (30), so its record at 12 is late there, as in Flink.
    d.pipe('in', { value: 'a', timestamp: 12, partition: 1 });
    assert.deepEqual(d.sideOutput('late').map((r) => r.timestamp), [12]);
    d.pipe('in', { value: 'a', timestamp: 40, partition: 1 }); // p1 active at 40, p0 idle: 40
    assert.equal(d.watermark(1, 0), 40);
    assert.deepEqual(rows(d), [['a', 0, 1], ['a', 30, 1]]);
  });

  it('restores the marks with the state: a restored next stage continues where it was', () => {
    const [busy, rare] = keysOnDifferentPartitions();
    const first = new TestDriver(build());
    first.pipe('in', { value: rare, timestamp: 1 });
    first.pipe('in', { value: busy, timestamp: 5 });
    const second = new TestDriver(build()).restore(first.snapshot());
    second.pipe('in', { value: busy, timestamp: 12 });
    assert.deepEqual(rows(second).sort(), [[busy, 0, 1], [rare, 0, 1]].sort());
  });

  it('mark headers round-trip, infinities included, and garbage is a corrupt error', () => {
    for (const m of [
      { fromTaskId: 'p/0/p1', writers: 3, watermarkMs: 1_700_000_000_123, idle: false },
      { fromTaskId: 'x', writers: 1, watermarkMs: -Infinity, idle: true },
      { fromTaskId: 'y/z', writers: 2, watermarkMs: Infinity, idle: false },
    ]) {
      assert.deepEqual(decodeWatermarkMark(encodeWatermarkMark(m)), m);
    }
    assert.throws(() => decodeWatermarkMark(Buffer.from('nope')), /bad watermark mark header/);
  });
});
