/**
 * ProducerStateStore on SQLite: the statements behind SqliteMetadataStore's producer methods and
 * the sequence check its commitFlush runs (tables producers and producer_partitions, migration 3).
 * This module only runs statements and transactions; the store wraps each call in its error
 * mapping and makes writes durable (WAL sync) before they resolve, as for every other write.
 */
import type Database from 'better-sqlite3';
import { WeirError } from '../errors.js';
import type { ChunkPart } from './metadata-store.js';
import { checkProducerBatch, withAppendedBatch, type SequenceVerdict } from './producer-sequence.js';
import {
  MAX_PRODUCER_EPOCH,
  type BumpEpochResult,
  type ProducerBatch,
  type ProducerIdAndEpoch,
  type ProducerPartitionState,
} from './producer-state-store.js';

interface ProducerRow {
  epoch: number;
  last_epoch: number;
}

interface PartitionStateRow {
  epoch: number;
  batches_json: string;
}

/** [firstSequence, lastSequence, baseOffset, offsetCount, maxTimestamp]: compact, as the row is rewritten on every commit. */
type StoredBatch = [number, number, number, number, number];

export class SqliteProducerState {
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly inWriteTx: <T>(fn: () => T) => T;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmt = prepare(db);
    const tx = db.transaction((fn: () => unknown) => fn());
    // IMMEDIATE, like the store's other writes: take the write lock up front.
    this.inWriteTx = <T>(fn: () => T): T => tx.immediate(fn) as T;
  }

  allocate(): ProducerIdAndEpoch {
    return this.inWriteTx(() => this.allocateInTx());
  }

  bumpEpoch(producerId: number, producerEpoch: number): BumpEpochResult {
    if (!Number.isSafeInteger(producerId) || producerId < 0) throw new WeirError('invalid_argument', `producer id ${producerId}`);
    if (!Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > MAX_PRODUCER_EPOCH) {
      throw new WeirError('invalid_argument', `producer epoch ${producerEpoch}`);
    }
    return this.inWriteTx((): BumpEpochResult => {
      const row = this.stmt.producer.get(producerId);
      if (row === undefined) return { ok: true, ...this.allocateInTx() };
      if (producerEpoch >= row.epoch) {
        // Kafka's isEpochExhausted: the last two epochs are never handed out; a new id starts at 0.
        if (producerEpoch >= MAX_PRODUCER_EPOCH - 1) return { ok: true, ...this.allocateInTx() };
        this.stmt.setEpoch.run(producerEpoch + 1, producerEpoch, this.now(), producerId);
        return { ok: true, producerId, producerEpoch: producerEpoch + 1 };
      }
      if (producerEpoch === row.last_epoch) return { ok: true, producerId, producerEpoch: row.epoch };
      return { ok: false, error: 'producer_fenced', message: `producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${row.epoch}` };
    });
  }

  get(topicNum: number, partition: number, producerId: number): ProducerPartitionState | null {
    const row = this.stmt.partitionState.get(topicNum, partition, producerId);
    return row === undefined ? null : toState(row);
  }

  /** The check for one commitFlush; call only inside the store's commit transaction. */
  beginCommit(): ProducerCommit {
    return new ProducerCommit(this.stmt, this.now);
  }

  private allocateInTx(): ProducerIdAndEpoch {
    const t = this.now();
    return { producerId: Number(this.stmt.insertProducer.run(t, t).lastInsertRowid), producerEpoch: 0 };
  }
}

/**
 * One commit's view of producer state: each (partition, producer) row is read once, updated in
 * memory batch by batch (so two batches of one producer in one flush are checked in order), and
 * written once by finish().
 */
export class ProducerCommit {
  private readonly slots = new Map<string, { topicNum: number; partition: number; producerId: number; state: ProducerPartitionState | null; dirty: boolean }>();
  private readonly allocated = new Map<number, boolean>();

  constructor(
    private readonly stmt: ReturnType<typeof prepare>,
    private readonly now: () => number,
  ) {}

  admit(topicNum: number, partition: number, part: ChunkPart & { producer: ProducerBatch }, baseOffset: number): SequenceVerdict {
    const batch = part.producer;
    const key = `${topicNum}:${partition}:${batch.producerId}`;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const row = this.stmt.partitionState.get(topicNum, partition, batch.producerId);
      slot = { topicNum, partition, producerId: batch.producerId, state: row === undefined ? null : toState(row), dirty: false };
      this.slots.set(key, slot);
    }
    const verdict = checkProducerBatch(slot.state, batch, () => this.isAllocated(batch.producerId));
    if (verdict.kind === 'append') {
      slot.state = withAppendedBatch(slot.state, batch, baseOffset, part.offsetCount, part.maxTimestamp);
      slot.dirty = true;
    }
    return verdict;
  }

  finish(): void {
    const t = this.now();
    for (const s of this.slots.values()) {
      if (!s.dirty || s.state === null) continue;
      const batches: StoredBatch[] = s.state.batches.map((b) => [b.firstSequence, b.lastSequence, b.baseOffset, b.offsetCount, b.maxTimestamp]);
      this.stmt.upsertPartitionState.run(s.topicNum, s.partition, s.producerId, s.state.producerEpoch, JSON.stringify(batches), t);
    }
  }

  private isAllocated(producerId: number): boolean {
    let known = this.allocated.get(producerId);
    if (known === undefined) this.allocated.set(producerId, (known = this.stmt.producer.get(producerId) !== undefined));
    return known;
  }
}

function toState(row: PartitionStateRow): ProducerPartitionState {
  const batches = JSON.parse(row.batches_json) as StoredBatch[];
  return {
    producerEpoch: row.epoch,
    batches: batches.map(([firstSequence, lastSequence, baseOffset, offsetCount, maxTimestamp]) => ({ firstSequence, lastSequence, baseOffset, offsetCount, maxTimestamp })),
  };
}

function prepare(db: Database.Database) {
  return {
    insertProducer: db.prepare<[number, number]>('INSERT INTO producers (epoch, last_epoch, created_at_ms, updated_at_ms) VALUES (0, -1, ?, ?)'),
    producer: db.prepare<[number], ProducerRow>('SELECT epoch, last_epoch FROM producers WHERE id = ?'),
    setEpoch: db.prepare<[number, number, number, number]>('UPDATE producers SET epoch = ?, last_epoch = ?, updated_at_ms = ? WHERE id = ?'),
    partitionState: db.prepare<[number, number, number], PartitionStateRow>(
      'SELECT epoch, batches_json FROM producer_partitions WHERE topic_num = ? AND partition = ? AND producer_id = ?',
    ),
    upsertPartitionState: db.prepare<[number, number, number, number, string, number]>(
      `INSERT INTO producer_partitions (topic_num, partition, producer_id, epoch, batches_json, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (topic_num, partition, producer_id) DO UPDATE SET
          epoch = excluded.epoch, batches_json = excluded.batches_json, updated_at_ms = excluded.updated_at_ms`,
    ),
  };
}
