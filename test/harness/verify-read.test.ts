/**
 * The e2e tests pass when verifyRead finds no problem, so verifyRead itself must find each kind
 * of problem it claims to: otherwise an e2e "pass" would prove nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProduceRecord } from '../helpers/py-clients.js';
import { deliveryProblems, makeRecords, verifyRead, type ReadRecord } from '../helpers/records.js';

const TAG = 'selftest';
const PARTITIONS = 2;

/** What a perfect consumer would read for `sent` (explicitly partitioned). */
function perfectRead(sent: ProduceRecord[]): ReadRecord[] {
  const next = new Map<number, number>();
  return sent.map((r) => {
    const p = r.partition!;
    const offset = next.get(p) ?? 0;
    next.set(p, offset + 1);
    return { partition: p, offset, key: r.key, value: r.value, headers: r.headers ?? [] };
  });
}

function problemsAfter(mutate: (read: ReadRecord[]) => ReadRecord[]): string[] {
  const sent = makeRecords({ count: 20, tag: TAG, explicitPartitions: PARTITIONS });
  return verifyRead({ sent, tag: TAG, read: mutate(perfectRead(sent)), partitions: PARTITIONS });
}

describe('verifyRead', () => {
  it('finds nothing wrong with a perfect read, in any partition interleaving', () => {
    assert.deepEqual(problemsAfter((r) => r), []);
    assert.deepEqual(problemsAfter((r) => [...r.filter((x) => x.partition === 1), ...r.filter((x) => x.partition === 0)]), []);
  });

  it('reports a missing record', () => {
    const problems = problemsAfter((r) => r.slice(0, -1));
    assert.ok(problems.some((p) => /never read/.test(p)), problems.join('\n'));
  });

  it('reports a duplicated record', () => {
    const problems = problemsAfter((r) => [...r, { ...r[r.length - 1]!, offset: 10 }]);
    assert.ok(problems.some((p) => /read twice/.test(p)), problems.join('\n'));
  });

  it('reports a gap in the offsets', () => {
    const problems = problemsAfter((r) => r.map((x, i) => (i === 4 ? { ...x, offset: x.offset + 1 } : x)));
    assert.ok(problems.some((p) => /contiguous/.test(p)), problems.join('\n'));
  });

  it('reports records of a partition out of send order', () => {
    const problems = problemsAfter((r) => {
      const p0 = r.filter((x) => x.partition === 0);
      const swapped = [p0[1]!, p0[0]!, ...p0.slice(2)].map((x, i) => ({ ...x, offset: i }));
      return [...swapped, ...r.filter((x) => x.partition === 1)];
    });
    assert.ok(problems.some((p) => /send order/.test(p)), problems.join('\n'));
  });

  it('reports a wrong key, value or header', () => {
    const key = problemsAfter((r) => r.map((x, i) => (i === 3 ? { ...x, key: 'other' } : x)));
    assert.ok(key.some((p) => /key/.test(p)), key.join('\n'));
    const value = problemsAfter((r) => r.map((x, i) => (i === 3 ? { ...x, value: `${x.value}!` } : x)));
    assert.ok(value.some((p) => /value/.test(p)), value.join('\n'));
    const headers = problemsAfter((r) => r.map((x, i) => (i === 3 ? { ...x, headers: x.headers.slice(1) } : x)));
    assert.ok(headers.some((p) => /headers/.test(p)), headers.join('\n'));
  });

  it('reports a record in another partition than it was sent to', () => {
    const problems = problemsAfter((r) => r.map((x) => ({ ...x, partition: 1 - x.partition })));
    assert.ok(problems.some((p) => /sent to/.test(p)), problems.join('\n'));
  });

  it('reports a key spread over two partitions when the client partitioned by key', () => {
    const sent = makeRecords({ count: 4, tag: TAG, distinctKeys: 1 });
    const read = sent.map((r, i) => ({ partition: i % 2, offset: Math.floor(i / 2), key: r.key, value: r.value, headers: r.headers ?? [] }));
    const problems = verifyRead({ sent, tag: TAG, read, partitions: 2 });
    assert.ok(problems.some((p) => /key hashing/.test(p)), problems.join('\n'));
  });

  it('reports a read position that differs from the delivery report', () => {
    const sent = makeRecords({ count: 4, tag: TAG, explicitPartitions: 1 });
    const delivered = sent.map((_, i) => ({ partition: 0, offset: i === 2 ? 7 : i }));
    const problems = verifyRead({ sent, tag: TAG, read: perfectRead(sent), partitions: 1, delivered });
    assert.ok(problems.some((p) => /producer was told/.test(p)), problems.join('\n'));
  });
});

describe('deliveryProblems', () => {
  it('reports errors and missing reports, and nothing for clean ones', () => {
    assert.deepEqual(deliveryProblems([{ partition: 0, offset: 0 }], 1), []);
    assert.equal(deliveryProblems([null], 1).length, 1);
    assert.equal(deliveryProblems([{ error: { name: 'X', str: 'boom' } }], 1).length, 1);
    assert.equal(deliveryProblems([], 1).length, 1);
  });
});
