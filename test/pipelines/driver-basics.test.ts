import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { filter } from 'rxjs';
import { isWeirError } from '../../core/errors.js';
import { branch, customSink, flatMapValue, fromTopic, mapValue, pipeline, pipelinesOf, serdes, TestDriver, toTopic, type Rec } from '../../pipelines/index.js';

describe('test driver: stateless pipelines', () => {
  it('runs map/filter through serdes and keeps timestamps and provenance', () => {
    const p = pipeline('upper')
      .from(fromTopic('in', { value: serdes.json<{ n: number; s: string }>() }))
      .pipe(
        filter((r) => r.value.n % 2 === 0),
        mapValue((v) => v.s.toUpperCase()),
      )
      .to(toTopic('out'));
    const d = new TestDriver(p);
    d.pipe('in', [
      { key: 'a', value: { n: 1, s: 'x' }, timestamp: 10 },
      { key: 'b', value: { n: 2, s: 'y' }, timestamp: 20 },
    ]);
    const out = d.output<string, string>('out');
    assert.deepEqual(
      out.map((r) => [r.key, r.value, r.timestamp, r.topic]),
      [['b', 'Y', 20, 'out']],
    );
  });

  it('keyBy repartitions by the new key with murmur2 across partitions, and every stage sees its records', () => {
    const seen: Rec[] = [];
    const p = pipeline('words')
      .from(fromTopic('lines'))
      .pipe(flatMapValue((line: string) => line.split(' ')))
      .keyBy((r) => r.value, { key: serdes.string(), value: serdes.string(), partitions: 4 })
      .to(customSink('collect', () => ({ name: 'collect', write: (r) => seen.push(r), flush: async () => {}, close: async () => {} })));
    assert.equal(p.stages.length, 2);
    assert.deepEqual(p.stages[0]!.sinks.map((s) => s.name), ['words-repartition-1']);
    assert.deepEqual(p.stages[1]!.source.topics, ['words-repartition-1']);
    const d = new TestDriver(p, { partitions: { lines: 2 } });
    d.pipe('lines', [{ key: 'l1', value: 'a b a c' }, { key: 'l2', value: 'b b' }]);
    assert.equal(seen.length, 6);
    // Same word -> same partition of the repartition topic.
    const partOf = new Map<string, Set<number>>();
    for (const r of seen) {
      assert.equal(r.key, r.value);
      assert.equal(r.topic, 'words-repartition-1');
      partOf.set(r.value as string, (partOf.get(r.value as string) ?? new Set()).add(r.partition));
    }
    for (const parts of partOf.values()) assert.equal(parts.size, 1);
    assert.equal(d.output('collect').length, 6);
  });

  it('branch routes to bound side sinks and keeps unmatched on the main output; unbound names stay readable', () => {
    const p = pipeline('branches')
      .from(fromTopic('n', { value: serdes.json<number>() }))
      .pipe(branch({ big: (r) => r.value >= 100, negative: (r) => r.value < 0, tiny: (r) => r.value === 0 }))
      .side('big', toTopic('big', { value: serdes.json<number>() }))
      .side('negative', toTopic('neg', { value: serdes.json<number>() }))
      .to(toTopic('rest', { value: serdes.json<number>() }));
    const d = new TestDriver(p);
    d.pipe('n', [5, 500, -1, 0, 7].map((value) => ({ value })));
    assert.deepEqual(d.output('big').map((r) => r.value), [500]);
    assert.deepEqual(d.output('neg').map((r) => r.value), [-1]);
    assert.deepEqual(d.output('rest').map((r) => r.value), [5, 7]);
    assert.deepEqual(d.sideOutput('tiny').map((r) => r.value), [0]);
  });

  it('an exception in an operator fails the task and surfaces from pipe()', () => {
    const p = pipeline('boom')
      .from(fromTopic('in'))
      .pipe(mapValue((v: string) => {
        if (v === 'bad') throw new Error('cannot handle bad');
        return v;
      }))
      .to(toTopic('out'));
    const d = new TestDriver(p);
    d.pipe('in', { value: 'ok' });
    assert.throws(() => d.pipe('in', { value: 'bad' }), /cannot handle bad/);
    assert.throws(() => d.pipe('in', { value: 'ok' }), /cannot handle bad/);
    assert.deepEqual(d.output('out').map((r) => r.value), ['ok']);
  });

  it('serde errors are clear: unparsable JSON is corrupt, a value of the wrong type fails the task naming the serde', () => {
    assert.throws(
      () => serdes.json().deserialize(Buffer.from('{not json')),
      (e: unknown) => isWeirError(e, 'corrupt') && /json serde/.test(e.message),
    );
    // The sink is a string topic, but the pipeline emits objects: the test fails, not production.
    const p = pipeline('serde').from(fromTopic('in', { value: serdes.json<{ a: number }>() })).to(toTopic('out'));
    const d = new TestDriver(p);
    assert.throws(() => d.pipe('in', { value: { a: 1 } }), (e: unknown) => isWeirError(e, 'invalid_argument') && /string serde: expected a string, got object/.test(e.message));
  });

  it('avro serde: typed round trip through a pipeline; a value off the schema fails naming the field', () => {
    interface Click {
      user: string;
      n: number;
    }
    const clickSerde = serdes.avro<Click>({ type: 'record', name: 'Click', fields: [{ name: 'user', type: 'string' }, { name: 'n', type: 'int' }] });
    const p = pipeline('avro')
      .from(fromTopic('in', { value: clickSerde }))
      .pipe(mapValue((c) => ({ user: c.user.toUpperCase(), n: c.n + 1 })))
      .to(toTopic('out', { value: clickSerde }));
    const d = new TestDriver(p);
    d.pipe('in', { value: { user: 'ann', n: 1 } });
    assert.deepEqual({ ...d.output<string, Click>('out')[0]!.value }, { user: 'ANN', n: 2 });
    assert.throws(
      () => clickSerde.serialize({ user: 'bob', n: 'x' as unknown as number }),
      (e: unknown) => isWeirError(e, 'invalid_argument') && /avro serde: value does not match the schema at n/.test(e.message),
    );
    assert.equal(clickSerde.deserialize(null), null);
    assert.throws(() => clickSerde.deserialize(Buffer.from([0xff])), (e: unknown) => isWeirError(e, 'corrupt'));
  });

  it('rejects bad definitions with one clear message', () => {
    assert.throws(() => pipeline('has space'), /pipeline name "has space"/);
    assert.throws(() => fromTopic('bad/topic'), /not a valid Kafka topic name/);
    assert.throws(() => fromTopic('t', { outOfOrdernessMs: -1 }), /outOfOrdernessMs must be/);
    assert.throws(() => pipeline('p').from(fromTopic('t')).to(), /at least one sink/);
    assert.throws(() => pipeline('p').from(fromTopic('t')).keyBy((r) => r.key, { key: serdes.string(), value: serdes.string(), partitions: 0 }), /partitions must be/);
    assert.throws(() => pipeline('p').from(fromTopic('t')).side('late', toTopic('a')).side('late', toTopic('b')), /bound twice/);
  });

  it('pipelinesOf finds default and named exports once each and refuses duplicates', () => {
    const a = pipeline('a').from(fromTopic('t')).to(toTopic('u'));
    const b = pipeline('b').from(fromTopic('t')).to(toTopic('u'));
    assert.deepEqual(pipelinesOf({ default: a, a, b, helper: 3 }).map((p) => p.name), ['a', 'b']);
    const a2 = pipeline('a').from(fromTopic('t')).to(toTopic('v'));
    assert.throws(() => pipelinesOf({ a, a2 }, 'x.ts'), /x.ts exports two different pipelines named "a"/);
    assert.throws(() => pipelinesOf({ nothing: 1 }, 'y.ts'), /y.ts exports no pipeline/);
  });
});
