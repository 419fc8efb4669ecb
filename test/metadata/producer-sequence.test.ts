/**
 * The pure sequence rules every backend's commit runs (core/metadata/producer-sequence.ts): the
 * edges that are awkward to reach through a store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkProducerBatch, lastSequenceOf, MAX_SEQUENCE, planChunkParts, withAppendedBatch } from '../../core/metadata/producer-sequence.js';
import type { ProducerBatch } from '../../core/metadata/producer-state-store.js';
import { plainPart, producerPart } from '../contracts/producer-state-contract.js';

const batch = (producerEpoch: number, baseSequence: number, count: number): ProducerBatch => ({
  producerId: 7,
  producerEpoch,
  baseSequence,
  lastSequence: lastSequenceOf(baseSequence, count - 1),
});

describe('producer sequences', () => {
  it('computes last sequences as Kafka does, wrapping after 2^31-1', () => {
    assert.equal(lastSequenceOf(0, 0), 0);
    assert.equal(lastSequenceOf(10, 4), 14);
    assert.equal(lastSequenceOf(MAX_SEQUENCE - 4, 4), MAX_SEQUENCE);
    assert.equal(lastSequenceOf(MAX_SEQUENCE - 4, 5), 0);
    assert.equal(lastSequenceOf(MAX_SEQUENCE, 2), 1);
  });

  it('asks whether the id was allocated only when there is no state', () => {
    let asked = 0;
    const allocated = (): boolean => {
      asked++;
      return true;
    };
    const state = withAppendedBatch(null, batch(0, 0, 3), 100, 3, 5);
    assert.deepEqual(checkProducerBatch(state, batch(0, 3, 1), allocated), { kind: 'append' });
    assert.equal(asked, 0);
    assert.deepEqual(checkProducerBatch(null, batch(0, 0, 1), allocated), { kind: 'append' });
    assert.equal(asked, 1);
    assert.equal(checkProducerBatch(null, batch(0, 0, 1), () => false).kind, 'rejected');
  });

  it('keeps the last 5 batches of the current epoch, and starts over with a new epoch', () => {
    let state = null;
    for (let i = 0; i < 7; i++) state = withAppendedBatch(state, batch(2, i, 1), i, 1, 0);
    assert.deepEqual(state!.batches.map((b) => b.firstSequence), [2, 3, 4, 5, 6]);
    state = withAppendedBatch(state, batch(3, 0, 2), 7, 2, 0);
    assert.deepEqual(state, { producerEpoch: 3, batches: [{ firstSequence: 0, lastSequence: 1, baseOffset: 7, offsetCount: 2, maxTimestamp: 0 }] });
  });

  it('plans one index row per run of appended parts', () => {
    const verdicts = ['append', 'duplicate', 'append', 'append', 'rejected'] as const;
    let call = 0;
    const parts = [producerPart(7, 0, 0, 1), producerPart(7, 0, 0, 1), plainPart(2, 50), producerPart(7, 0, 1, 3, 2000), producerPart(7, 0, 9, 1)];
    const plan = planChunkParts({ byteStart: 100, parts }, 40, (_part, at) => {
      const v = verdicts[[0, 1, 3, 4][call++]!]!;
      if (v === 'duplicate') return { kind: 'duplicate', baseOffset: 3, maxTimestamp: 9 };
      if (v === 'rejected') return { kind: 'rejected', error: 'out_of_order_sequence', message: `at ${at}` };
      return { kind: 'append' };
    });
    assert.equal(call, 4, 'plain parts are not checked');
    assert.deepEqual(plan.results, [
      { kind: 'appended', baseOffset: 40 },
      { kind: 'duplicate', baseOffset: 3, maxTimestamp: 9 },
      { kind: 'appended', baseOffset: 41 },
      { kind: 'appended', baseOffset: 43 },
      { kind: 'rejected', error: 'out_of_order_sequence', message: 'at 46' },
    ]);
    assert.deepEqual(plan.rows, [
      { baseOffset: 40, offsetCount: 1, byteStart: 100, byteLength: 10, maxTimestamp: 1000 },
      { baseOffset: 41, offsetCount: 5, byteStart: 120, byteLength: 50, maxTimestamp: 2000 },
    ]);
    assert.equal(plan.offsetCount, 6);
  });
});
