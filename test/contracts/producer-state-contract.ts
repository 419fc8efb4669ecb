/**
 * The idempotent producer behaviour every MetadataStore backend must share: producer ids and
 * epoch bumps (ProducerStateStore), and the sequence check commitFlush runs on chunks with parts
 * (core/metadata/producer-sequence.ts). Each backend's test file calls producerStateContract with
 * a factory; a fresh, empty store is made for every test, with `reopen` to open the same data
 * again once it was closed: producer state must survive an agent restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import type { ChunkPart, CommitChunk, MetadataStore, PartResult, TopicInfo } from '../../core/metadata/metadata-store.js';
import { lastSequenceOf } from '../../core/metadata/producer-sequence.js';
import { MAX_PRODUCER_EPOCH } from '../../core/metadata/producer-state-store.js';
import { flushObjectKey } from '../../core/storage/paths.js';
import { commit } from './metadata-store-contract.js';

export type ProducerStateStoreFactory = () => Promise<{
  store: MetadataStore;
  cleanup: () => Promise<void>;
  /** Opens the same data again (a new process would); called only after `store` was closed. */
  reopen: () => Promise<MetadataStore>;
}>;

/** A part holding one batch of `count` records of a producer; 10 bytes per record, so ranges are easy to read. */
export function producerPart(producerId: number, producerEpoch: number, baseSequence: number, count: number, maxTimestamp = 1000): ChunkPart {
  return {
    offsetCount: count,
    byteLength: count * 10,
    maxTimestamp,
    producer: { producerId, producerEpoch, baseSequence, lastSequence: lastSequenceOf(baseSequence, count - 1) },
  };
}

/** A part of a non-idempotent producer. */
export function plainPart(count: number, maxTimestamp = 1000): ChunkPart {
  return { offsetCount: count, byteLength: count * 10, maxTimestamp, producer: null };
}

/** A chunk made of parts, its totals derived from them. */
export function partsChunk(topic: TopicInfo, partition: number, parts: ChunkPart[], byteStart = 0): CommitChunk {
  return {
    topic: topic.name,
    topicId: topic.id,
    partition,
    offsetCount: parts.reduce((n, p) => n + p.offsetCount, 0),
    maxTimestamp: parts.reduce((m, p) => Math.max(m, p.maxTimestamp), -1),
    byteStart,
    byteLength: parts.reduce((n, p) => n + p.byteLength, 0),
    parts,
  };
}

/** Commits one flush of chunks and returns each chunk's part results. */
async function commitParts(store: MetadataStore, chunks: CommitChunk[]): Promise<PartResult[][]> {
  const { results } = await commit(store, chunks);
  return results.map((r) => {
    assert.ok(r.ok, `chunk of ${r.topic}-${r.partition} failed`);
    assert.ok(r.parts, 'a chunk with parts gets part results');
    return r.parts;
  });
}

/** Part results in a compact form: an offset for appended, 'dup@<offset>', or the error. */
function brief(results: PartResult[]): (number | string)[] {
  return results.map((r) => (r.kind === 'appended' ? r.baseOffset : r.kind === 'duplicate' ? `dup@${r.baseOffset}` : r.error));
}

async function one(store: MetadataStore, topic: TopicInfo, partition: number, parts: ChunkPart[]): Promise<(number | string)[]> {
  return brief((await commitParts(store, [partsChunk(topic, partition, parts)]))[0]!);
}

export function producerStateContract(name: string, make: ProducerStateStoreFactory): void {
  const withStore = async (fn: (store: MetadataStore) => Promise<void>): Promise<void> => {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`ProducerStateStore contract: ${name}`, () => {
    describe('producer ids and epochs', () => {
      it('allocates distinct ids at epoch 0', () =>
        withStore(async (store) => {
          const ids = [];
          for (let i = 0; i < 5; i++) {
            const p = await store.allocateProducerId();
            assert.equal(p.producerEpoch, 0);
            assert.ok(Number.isSafeInteger(p.producerId) && p.producerId >= 0);
            ids.push(p.producerId);
          }
          assert.equal(new Set(ids).size, 5);
        }));

      it('bumps the current epoch, answers a retried bump without bumping again, fences older epochs', () =>
        withStore(async (store) => {
          const { producerId } = await store.allocateProducerId();
          assert.deepEqual(await store.bumpEpoch(producerId, 0), { ok: true, producerId, producerEpoch: 1 });
          // The answer to that bump was lost and the producer asks again with epoch 0.
          assert.deepEqual(await store.bumpEpoch(producerId, 0), { ok: true, producerId, producerEpoch: 1 });
          assert.deepEqual(await store.bumpEpoch(producerId, 1), { ok: true, producerId, producerEpoch: 2 });
          const fenced = await store.bumpEpoch(producerId, 0);
          assert.equal(fenced.ok, false);
          assert.equal(!fenced.ok && fenced.error, 'producer_fenced');
          // Clients also bump locally (librdkafka, the Java client): a higher epoch is accepted.
          assert.deepEqual(await store.bumpEpoch(producerId, 7), { ok: true, producerId, producerEpoch: 8 });
        }));

      it('hands out a new id for an unknown id or an exhausted epoch; rejects malformed arguments', () =>
        withStore(async (store) => {
          const { producerId } = await store.allocateProducerId();
          const unknown = await store.bumpEpoch(producerId + 1000, 3);
          assert.ok(unknown.ok);
          assert.notEqual(unknown.producerId, producerId);
          assert.equal(unknown.producerEpoch, 0);
          const exhausted = await store.bumpEpoch(producerId, MAX_PRODUCER_EPOCH - 1);
          assert.ok(exhausted.ok);
          assert.ok(![producerId, unknown.producerId].includes(exhausted.producerId));
          assert.equal(exhausted.producerEpoch, 0);
          for (const [id, epoch] of [[-1, 0], [1.5, 0], [producerId, -1], [producerId, MAX_PRODUCER_EPOCH + 1], [producerId, 0.5]] as const) {
            await assert.rejects(store.bumpEpoch(id, epoch), (e) => isWeirError(e, 'invalid_argument'), `${id}/${epoch}`);
          }
        }));
    });

    describe('sequence checks in commitFlush', () => {
      it('appends in-sequence batches and remembers them', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 0, 3, 1100)]), [0]);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 3, 2, 1200), producerPart(pid, 0, 5, 4, 1300)]), [3, 5]);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 9 });
          assert.deepEqual(await store.getProducerState('t', 0, pid), {
            producerEpoch: 0,
            batches: [
              { firstSequence: 0, lastSequence: 2, baseOffset: 0, offsetCount: 3, maxTimestamp: 1100 },
              { firstSequence: 3, lastSequence: 4, baseOffset: 3, offsetCount: 2, maxTimestamp: 1200 },
              { firstSequence: 5, lastSequence: 8, baseOffset: 5, offsetCount: 4, maxTimestamp: 1300 },
            ],
          });
          assert.equal(await store.getProducerState('t', 0, pid + 1), null);
          assert.equal(await store.getProducerState('t', 1, pid), null);
          assert.equal(await store.getProducerState('nope', 0, pid), null);
        }));

      it('refuses a gap with out_of_order_sequence and stores nothing of it', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          await one(store, t, 0, [producerPart(pid, 0, 0, 2)]);
          const [rejected] = (await commitParts(store, [partsChunk(t, 0, [producerPart(pid, 0, 5, 2)])]))[0]!;
          assert.equal(rejected!.kind, 'rejected');
          assert.ok(rejected!.kind === 'rejected' && rejected!.error === 'out_of_order_sequence' && rejected!.message.length > 0);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 2 });
          assert.equal((await store.readIndex('t', 0, 0, 10)).length, 1);
          // The producer goes on where it really was.
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 2, 1)]), [2]);
          // A sequence that was already used but is not one of the remembered batches is a gap too.
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 1, 2)]), ['out_of_order_sequence']);
        }));

      it('answers a retry of any of the last 5 batches with its original offsets, storing nothing', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          for (let i = 0; i < 6; i++) await one(store, t, 0, [producerPart(pid, 0, i * 2, 2, 1000 + i)]); // offsets 0, 2, ..., 10
          const before = await store.readIndex('t', 0, 0, 100);
          // Batches 1..5 are remembered; batch 0 has dropped out of the window.
          for (let i = 1; i < 6; i++) assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, i * 2, 2)]), [`dup@${i * 2}`], `batch ${i}`);
          const [dup] = (await commitParts(store, [partsChunk(t, 0, [producerPart(pid, 0, 6, 2)])]))[0]!;
          assert.deepEqual(dup, { kind: 'duplicate', baseOffset: 6, maxTimestamp: 1003 });
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 0, 2)]), ['out_of_order_sequence']);
          // Same first sequence, different length: not the same batch.
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 10, 1)]), ['out_of_order_sequence']);
          assert.deepEqual(await store.readIndex('t', 0, 0, 100), before);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 12 });
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 12, 1)]), [12]);
        }));

      it('checks batches of one flush in order: within a chunk, across chunks, and a retry in the same flush', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 2, {});
          const { producerId: pid } = await store.allocateProducerId();
          const results = await commitParts(store, [
            partsChunk(t, 0, [producerPart(pid, 0, 0, 2), plainPart(3), producerPart(pid, 0, 2, 1), producerPart(pid, 0, 0, 2)]),
            partsChunk(t, 1, [producerPart(pid, 0, 0, 4)]), // sequences are per partition
            partsChunk(t, 0, [producerPart(pid, 0, 3, 1), producerPart(pid, 0, 2, 1), producerPart(pid, 0, 9, 1)], 200),
          ]);
          assert.deepEqual(results.map(brief), [[0, 2, 5, 'dup@0'], [0], [6, 'dup@5', 'out_of_order_sequence']]);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 7 });
          assert.deepEqual(await store.getPartitionState('t', 1), { logStartOffset: 0, highWatermark: 4 });
          // Index rows cover the appended parts' bytes only: the duplicate's bytes end the first row.
          assert.deepEqual(
            (await store.readIndex('t', 0, 0, 10)).map((e) => [e.baseOffset, e.lastOffset, e.byteStart, e.byteLength]),
            [
              [0, 5, 0, 60],
              [6, 6, 200, 10],
            ],
          );
        }));

      it('fences older epochs; a new epoch must start at sequence 0 and starts a new history', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          await one(store, t, 0, [producerPart(pid, 0, 0, 2)]);
          await store.bumpEpoch(pid, 0);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 1, 2, 1)]), ['out_of_order_sequence']);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 1, 0, 1)]), [2]);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 2, 1)]), ['invalid_producer_epoch']);
          // The old epoch's batches are no longer duplicates either: the epoch is gone.
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 0, 2)]), ['invalid_producer_epoch']);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 1, 1, 1)]), [3]);
          assert.deepEqual((await store.getProducerState('t', 0, pid))?.producerEpoch, 1);
          // A client's local epoch bump, never seen by bumpEpoch, works the same.
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 5, 0, 1)]), [4]);
        }));

      it('wants sequence 0 first from a known producer, and refuses ids never allocated', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 4, 1)]), ['out_of_order_sequence']);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid + 1000, 0, 0, 1)]), ['unknown_producer_id']);
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 0 });
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 0, 1)]), [0]);
        }));

      it('wraps sequences from 2^31-1 to 0', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          const max = 0x7fffffff;
          // One part of 2^31 - 2 records (only counts matter to the store): sequences 0 .. 2^31-3.
          const big = producerPart(pid, 0, 0, max - 1);
          assert.deepEqual(await one(store, t, 0, [{ ...big, byteLength: 10 }]), [0]);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, max - 1, 3)]), [max - 1]); // max-1, max, 0
          assert.equal((await store.getProducerState('t', 0, pid))!.batches.at(-1)!.lastSequence, 0);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 1, 1)]), [max + 2]);
        }));

      it('forgets a topic\'s producer state with the topic', () =>
        withStore(async (store) => {
          const old = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          await one(store, old, 0, [producerPart(pid, 0, 0, 3)]);
          await store.deleteTopic('t');
          const fresh = await store.createTopic('t', 1, {});
          assert.equal(await store.getProducerState('t', 0, pid), null);
          assert.deepEqual(await one(store, fresh, 0, [producerPart(pid, 0, 3, 1)]), ['out_of_order_sequence']);
          assert.deepEqual(await one(store, fresh, 0, [producerPart(pid, 0, 0, 1)]), [0]);
        }));

      it('leaves chunks without parts unchecked and without part results', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { results } = await commit(store, [{ topic: 't', topicId: t.id, partition: 0, offsetCount: 2, maxTimestamp: 1, byteStart: 0, byteLength: 20 }]);
          assert.deepEqual(results, [{ ok: true, topic: 't', partition: 0, baseOffset: 0, logStartOffset: 0 }]);
        }));

      it('fails parts of a topic that is gone with the chunk, checking nothing', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          const { results } = await commit(store, [partsChunk(t, 1, [producerPart(pid, 0, 0, 1)])]);
          assert.deepEqual(results, [{ ok: false, topic: 't', partition: 1, error: 'unknown_topic_or_partition' }]);
          assert.deepEqual(await one(store, t, 0, [producerPart(pid, 0, 0, 1)]), [0]);
        }));

      it('rejects malformed parts as a whole flush, committing nothing', () =>
        withStore(async (store) => {
          const t = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          const key = flushObjectKey('x');
          await store.registerPendingObject(key);
          const good = producerPart(pid, 0, 0, 2);
          const bad: CommitChunk[] = [
            { ...partsChunk(t, 0, [good]), offsetCount: 3 }, // totals disagree with the parts
            { ...partsChunk(t, 0, [good]), byteLength: 21 },
            { ...partsChunk(t, 0, [good]), parts: [] },
            partsChunk(t, 0, [{ ...good, producer: { ...good.producer!, lastSequence: 5 } }]),
            partsChunk(t, 0, [{ ...good, producer: { ...good.producer!, baseSequence: -1, lastSequence: 0 } }]),
            partsChunk(t, 0, [{ ...good, producer: { ...good.producer!, producerEpoch: -1 } }]),
            partsChunk(t, 0, [{ ...good, producer: { ...good.producer!, producerId: -1 } }]),
            partsChunk(t, 0, [{ ...good, offsetCount: 0 }]),
          ];
          for (const chunk of bad) {
            await assert.rejects(store.commitFlush(key, 1000, [chunk]), (e) => isWeirError(e, 'invalid_argument'), JSON.stringify(chunk.parts));
          }
          assert.deepEqual(await store.getPartitionState('t', 0), { logStartOffset: 0, highWatermark: 0 });
          assert.equal(await store.getProducerState('t', 0, pid), null);
          // The object is still pending and commits properly.
          assert.deepEqual(await store.commitFlush(key, 1000, [partsChunk(t, 0, [good])]), [
            { ok: true, topic: 't', partition: 0, baseOffset: 0, logStartOffset: 0, parts: [{ kind: 'appended', baseOffset: 0 }] },
          ]);
        }));
    });

    describe('persistence', () => {
      it('keeps producer ids, epochs and sequences across close and reopen', async () => {
        const { store, cleanup, reopen } = await make();
        let again: MetadataStore | null = null;
        try {
          const topic = await store.createTopic('t', 1, {});
          const { producerId: pid } = await store.allocateProducerId();
          await store.bumpEpoch(pid, 0);
          await one(store, topic, 0, [producerPart(pid, 1, 0, 2)]);
          await one(store, topic, 0, [producerPart(pid, 1, 2, 3)]);
          const state = await store.getProducerState('t', 0, pid);
          await store.close();

          again = await reopen();
          assert.deepEqual(await again.getProducerState('t', 0, pid), state);
          // A retry after the restart is still a duplicate; the next batch still follows on.
          assert.deepEqual(await one(again, topic, 0, [producerPart(pid, 1, 2, 3)]), ['dup@2']);
          assert.deepEqual(await one(again, topic, 0, [producerPart(pid, 1, 6, 1)]), ['out_of_order_sequence']);
          assert.deepEqual(await one(again, topic, 0, [producerPart(pid, 1, 5, 1)]), [5]);
          assert.deepEqual(await one(again, topic, 0, [producerPart(pid, 0, 6, 1)]), ['invalid_producer_epoch']);
          // The epoch bump and the id counter survived too.
          assert.deepEqual(await again.bumpEpoch(pid, 0), { ok: true, producerId: pid, producerEpoch: 1 });
          assert.ok((await again.allocateProducerId()).producerId > pid);
        } finally {
          await store.close();
          await again?.close();
          await cleanup();
        }
      });
    });
  });
}
