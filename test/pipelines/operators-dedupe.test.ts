import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWeirError } from '../../core/errors.js';
import { dedupe, fromTopic, pipeline, serdes, TestDriver, toTopic } from '../../pipelines/index.js';

const build = (withinMs: number, idsMax?: number) =>
  pipeline('dd')
    .from(fromTopic('in', { value: serdes.json<{ id: string; n: number }>(), outOfOrdernessMs: 100 }))
    .pipe(dedupe({ withinMs, by: (r) => r.value.id, ...(idsMax !== undefined ? { idsMax } : {}) }))
    .to(toTopic('out', { value: serdes.json() }));

describe('dedupe', () => {
  it('passes the first record of an id and drops repeats within withinMs, in either time direction', () => {
    const d = new TestDriver(build(50));
    d.pipe('in', [
      { value: { id: 'x', n: 1 }, timestamp: 1000 },
      { value: { id: 'x', n: 2 }, timestamp: 1049 },
      { value: { id: 'x', n: 3 }, timestamp: 960 },
      { value: { id: 'y', n: 4 }, timestamp: 1001 },
      { value: { id: 'x', n: 5 }, timestamp: 1050 },
    ]);
    assert.deepEqual(d.output<string, { n: number }>('out').map((r) => r.value.n), [1, 4, 5]);
  });

  it('forgets ids once the watermark passes first sighting + withinMs, so state stays bounded', () => {
    const d = new TestDriver(build(50));
    d.pipe('in', [
      { value: { id: 'a', n: 1 }, timestamp: 0 },
      { value: { id: 'b', n: 2 }, timestamp: 10 },
    ]);
    assert.equal(d.stateStore('dedupe-0').size, 2);
    d.pipe('in', { value: { id: 'c', n: 3 }, timestamp: 155 }); // watermark 55: a (expires 50) goes
    assert.deepEqual(d.state('dedupe-0').map(([k]) => k).sort(), ['b', 'c']);
  });

  it('fails clearly instead of letting duplicates through when idsMax is reached', () => {
    const d = new TestDriver(build(1_000, 2));
    d.pipe('in', [{ value: { id: 'a', n: 1 } }, { value: { id: 'b', n: 2 } }]);
    assert.throws(() => d.pipe('in', { value: { id: 'c', n: 3 } }), (e: unknown) => isWeirError(e, 'too_large') && /dedupe-0/.test(e.message));
  });
});
