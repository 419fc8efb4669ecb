/**
 * A batching producer on KafkaClient. `append()` is synchronous and cheap (no promise per
 * record): records collect in one open batch per partition, which is sealed when it reaches
 * batchBytesMax or when its linger expires; sealed batches of all partitions led by the same
 * broker go out together in one Produce request (up to requestBytesMax). `flush()` seals
 * everything and resolves once every record appended before it is acknowledged (acks=all by
 * default), which is what a pipeline's sink needs before offsets may be committed.
 *
 * Bounds: bufferBytesMax over everything appended and not yet acknowledged (callers wait on
 * `writable()` before appending more), maxInFlightPerPartition sealed batches in flight per
 * partition, the connection's in-flight bound per broker, requestBytesMax per request.
 *
 * Retries: a retriable error (leader moved, storage hiccup, timeout) puts the batch back at its
 * place in its partition's queue, in order, and it is re-sent byte for byte until
 * deliveryTimeoutMs. With `idempotent`, the producer gets a producer id (InitProducerId) and
 * stamps per-partition sequence numbers when a batch is sealed, so a re-sent batch the broker
 * already stored is answered as a duplicate instead of stored twice; without it, a retry after
 * a lost answer may duplicate (at-least-once), exactly as Kafka's producer.
 */
import { WeirError } from '../errors.js';
import { InitProducerId, Produce } from '../protocol/generated/index.js';
import { BatchBuilder, BufferPool, type HeaderInput, type TextOrBytes } from './batch-builder.js';
import { Compression } from '../records/compression.js';
import { checkCode, isRetriable, KafkaCode, KafkaError } from './kafka-error.js';
import type { KafkaClient } from './kafka-client.js';
import { partitionForKey } from './murmur2.js';

export interface ProducerOptions {
  /** How long a non-full batch waits for more records (default 5). */
  lingerMs?: number;
  /** A batch is sealed at this size (default 1 MiB, Kafka's default max.message.bytes). */
  batchBytesMax?: number;
  /** Bound on one Produce request (default 8 MiB). */
  requestBytesMax?: number;
  /** Bound on appended-but-unacknowledged bytes (default 64 MiB). */
  bufferBytesMax?: number;
  /** -1 (all, default), 1 (leader). acks=0 is not offered: flush() could not mean anything. */
  acks?: -1 | 1;
  /** Sealed batches in flight per partition (default 5; Kafka's max.in.flight). */
  maxInFlightPerPartition?: number;
  idempotent?: boolean;
  compression?: Compression;
  /** A batch not acknowledged within this fails (default 120 s, Kafka's delivery.timeout.ms). */
  deliveryTimeoutMs?: number;
  /** The broker-side timeout sent in each request (default 30 s). */
  produceTimeoutMs?: number;
}

export interface ProducedRecord {
  /** Bytes, or a string written as UTF-8 straight into the batch. */
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: { key: string; value: Buffer | null }[];
  /** ms; default now. */
  timestamp?: number;
}

interface Batch {
  topic: string;
  partition: number;
  /** The records, encoded as they are appended (batch-builder.ts). */
  builder: BatchBuilder;
  bytes: number;
  createdAtMs: number;
  /** Order within the partition, for in-order re-queueing. */
  order: number;
  baseSequence: number;
  encoded: Buffer | null;
  firstSentAtMs: number;
  done: Promise<number>;
  resolve: (baseOffset: number) => void;
  reject: (e: Error) => void;
}

interface PartitionState {
  topic: string;
  partition: number;
  open: Batch | null;
  /** Sealed, waiting to be sent, in order. */
  queue: Batch[];
  inFlight: number;
  nextOrder: number;
  nextSequence: number;
}


export class Producer {
  private readonly o: Required<ProducerOptions>;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly byTopic = new Map<string, PartitionState[]>();
  private readonly outstanding = new Set<Batch>();
  private bufferedBytes = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private draining = false;
  private drainAgain = false;
  private failure: Error | null = null;
  private producerId = -1n;
  private producerEpoch = -1;
  private idReady: Promise<void> | null = null;
  /**
   * Encoding and writing of requests, one drain's requests after another's: requests reach each
   * broker in the order their batches were taken, so an idempotent partition's sequences arrive
   * in order (encoding is async; without this a later drain's request could overtake).
   */
  private sendChain: Promise<void> = Promise.resolve();
  private readonly writableWaiters: (() => void)[] = [];
  private roundRobin = 0;
  private readonly pool = new BufferPool();
  private closed = false;
  /** Totals for metrics. */
  recordsAcked = 0;
  bytesAcked = 0;

  constructor(
    readonly client: KafkaClient,
    options: ProducerOptions = {},
  ) {
    this.o = {
      lingerMs: 5,
      batchBytesMax: 1024 * 1024,
      requestBytesMax: 8 * 1024 * 1024,
      bufferBytesMax: 64 * 1024 * 1024,
      acks: -1,
      maxInFlightPerPartition: 5,
      idempotent: false,
      compression: Compression.None,
      deliveryTimeoutMs: 120_000,
      produceTimeoutMs: 30_000,
      ...options,
    };
    if (this.o.batchBytesMax > this.o.requestBytesMax) throw new WeirError('invalid_argument', 'batchBytesMax must not exceed requestBytesMax');
  }

  /** The partition Kafka's default partitioner picks for the key (round-robin for a null key). */
  partitionFor(key: Buffer | string | null | undefined, partitions: number): number {
    if (key === null || key === undefined) return this.roundRobin++ % partitions;
    return partitionForKey(typeof key === 'string' ? Buffer.from(key, 'utf8') : key, partitions);
  }

  /** Bytes appended and not yet acknowledged. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** What the producer holds and waits on, for a stalled run's diagnostics. */
  diagnostics(): { bufferedBytes: number; outstandingBatches: number; queuedBatches: number; inFlightBatches: number; draining: boolean; producerId: string; failure: string | null } {
    let queued = 0;
    let inFlight = 0;
    for (const p of this.partitions.values()) {
      queued += p.queue.length;
      inFlight += p.inFlight;
    }
    return {
      bufferedBytes: this.bufferedBytes,
      outstandingBatches: this.outstanding.size,
      queuedBatches: queued,
      inFlightBatches: inFlight,
      draining: this.draining,
      producerId: String(this.producerId),
      failure: this.failure?.message ?? null,
    };
  }

  /** Resolves when the buffer is below bufferBytesMax (at once if it is). */
  writable(): Promise<void> {
    if (this.bufferedBytes < this.o.bufferBytesMax || this.failure) return Promise.resolve();
    return new Promise((r) => this.writableWaiters.push(r));
  }

  /** Appends one record to the partition's open batch. Never blocks; see writable(). */
  append(topic: string, partition: number, rec: ProducedRecord): void {
    this.appendFields(topic, partition, rec.key, rec.value, rec.timestamp ?? Date.now(), rec.headers);
  }

  /**
   * append() without a record object: the hot path of sinks that write many records. Key and
   * value are encoded into the batch at once (strings as UTF-8), so the caller may reuse them.
   */
  appendFields(topic: string, partition: number, key: TextOrBytes, value: TextOrBytes, timestamp: number, headers?: readonly HeaderInput[]): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new WeirError('invalid_argument', 'producer closed');
    const p = this.state(topic, partition);
    if (p.open === null) p.open = this.newBatch(p);
    let size = p.open.builder.append(key, value, timestamp, headers, this.o.batchBytesMax);
    if (size < 0) {
      // Would take the batch over its bound: seal it, the record opens the next one.
      this.seal(p);
      p.open = this.newBatch(p);
      size = p.open.builder.append(key, value, timestamp, headers, Infinity);
    }
    p.open.bytes += size;
    this.bufferedBytes += size;
    if (p.open.bytes >= this.o.batchBytesMax) {
      this.seal(p);
      this.kick(0);
    } else {
      this.kick(this.o.lingerMs);
    }
  }

  /** Appends and resolves with the record batch's base offset once acknowledged (tests, tools). */
  async send(topic: string, records: readonly ProducedRecord[], partition?: number): Promise<void> {
    const partitions = (await this.client.topic(topic)).partitions.length;
    for (const r of records) {
      await this.writable();
      this.append(topic, partition ?? this.partitionFor(r.key, partitions), r);
    }
    await this.flush();
  }

  /** Seals all open batches and resolves when everything appended so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    for (const p of this.partitions.values()) if (p.open !== null && p.open.builder.count > 0) this.seal(p);
    const waitFor = [...this.outstanding].map((b) => b.done);
    this.kick(0);
    await Promise.all(waitFor);
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    try {
      if (!this.failure) await this.flush();
    } finally {
      this.closed = true;
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
    }
  }

  private state(topic: string, partition: number): PartitionState {
    // Per record on the append path: an array per topic, no key string built each time.
    let byPartition = this.byTopic.get(topic);
    if (byPartition === undefined) this.byTopic.set(topic, (byPartition = []));
    let p = byPartition[partition];
    if (p === undefined) {
      p = { topic, partition, open: null, queue: [], inFlight: 0, nextOrder: 0, nextSequence: 0 };
      byPartition[partition] = p;
      this.partitions.set(`${topic}\u0000${partition}`, p);
    }
    return p;
  }

  private newBatch(p: PartitionState): Batch {
    let resolve!: (o: number) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // flush() awaits these; one that fails also sets this.failure, so no unhandled rejections.
    done.catch(() => {});
    const b: Batch = {
      topic: p.topic,
      partition: p.partition,
      builder: new BatchBuilder(this.pool),
      bytes: 0,
      createdAtMs: Date.now(),
      order: p.nextOrder++,
      baseSequence: -1,
      encoded: null,
      firstSentAtMs: 0,
      done,
      resolve,
      reject,
    };
    this.outstanding.add(b);
    return b;
  }

  private seal(p: PartitionState): void {
    const b = p.open;
    if (b === null) return;
    p.open = null;
    if (b.builder.count === 0) {
      b.builder.release();
      this.outstanding.delete(b);
      b.resolve(-1);
      return;
    }
    p.queue.push(b);
  }

  private kick(delayMs: number): void {
    if (delayMs <= 0) {
      if (this.lingerTimer) {
        clearTimeout(this.lingerTimer);
        this.lingerTimer = null;
      }
      void this.drain();
      return;
    }
    if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        void this.drain();
      }, delayMs);
    }
  }

  private async ensureProducerId(): Promise<void> {
    if (!this.o.idempotent || this.producerId >= 0n) return;
    this.idReady ??= this.client.retry('InitProducerId', async () => {
      const c = await this.client.anyConnection();
      const res = await c.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      checkCode(res.errorCode, 'InitProducerId');
      this.producerId = res.producerId!;
      this.producerEpoch = res.producerEpoch!;
    });
    await this.idReady;
  }

  private async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain && !this.failure);
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.draining = false;
    }
  }

  private async drainOnce(): Promise<void> {
    await this.ensureProducerId();
    const now = Date.now();
    let nextLingerMs = Infinity;
    for (const p of this.partitions.values()) {
      if (p.open !== null && p.open.builder.count > 0) {
        const age = now - p.open.createdAtMs;
        if (age >= this.o.lingerMs) this.seal(p);
        else nextLingerMs = Math.min(nextLingerMs, this.o.lingerMs - age);
      }
    }
    // Take sendable batches per leader, partitions in order, up to the in-flight bound. The k-th
    // batch taken from a partition goes into round k: a Produce request carries at most one batch
    // per partition (the answer has one entry per partition, so two batches of one partition in
    // one request could not be told apart), and rounds go out in order.
    const byLeader = new Map<number, Batch[][]>();
    for (const p of this.partitions.values()) {
      let round = 0;
      while (p.queue.length > 0 && p.inFlight < this.o.maxInFlightPerPartition) {
        let leader: number;
        try {
          leader = await this.client.leaderOf(p.topic, p.partition);
        } catch (e) {
          if (!isRetriable(e)) throw e;
          this.client.invalidateMetadata();
          this.retryLater();
          break;
        }
        const b = p.queue.shift()!;
        p.inFlight++;
        // Sequences are assigned here, synchronously and in the partition's order, the first time
        // a batch is taken; a retried batch keeps its own.
        if (this.o.idempotent && b.baseSequence < 0) {
          b.baseSequence = p.nextSequence;
          p.nextSequence = (p.nextSequence + b.builder.count) % 0x80000000;
        }
        let rounds = byLeader.get(leader);
        if (rounds === undefined) byLeader.set(leader, (rounds = []));
        (rounds[round++] ??= []).push(b);
      }
    }
    for (const [leader, rounds] of byLeader) {
      // Requests up to requestBytesMax each, round after round.
      const requests: Batch[][] = [];
      for (const round of rounds) {
        let chunk: Batch[] = [];
        let bytes = 0;
        for (const b of round) {
          if (chunk.length > 0 && bytes + b.bytes > this.o.requestBytesMax) {
            requests.push(chunk);
            chunk = [];
            bytes = 0;
          }
          chunk.push(b);
          bytes += b.bytes;
        }
        if (chunk.length > 0) requests.push(chunk);
      }
      this.sendInOrder(leader, requests);
    }
    if (nextLingerMs < Infinity) this.kick(Math.max(1, Math.ceil(nextLingerMs)));
  }

  /**
   * Encodes the requests' batches, then writes the requests to the leader's connection one after
   * another without waiting for answers (brokers work on them while the next is written), all
   * after the previous drain's requests were written (sendChain).
   */
  private sendInOrder(leader: number, requests: Batch[][]): void {
    this.sendChain = this.sendChain.then(async () => {
      const ready: Batch[][] = [];
      for (const batches of requests) {
        try {
          for (const b of batches) await this.encode(b);
          ready.push(batches);
        } catch (e) {
          for (const b of batches) this.batchFailed(b, e as Error);
        }
      }
      let c: Awaited<ReturnType<KafkaClient['brokerConnection']>>;
      try {
        c = await this.client.brokerConnection(leader, 'produce');
      } catch (e) {
        for (const batches of ready) for (const b of batches) this.batchFailed(b, e as Error);
        void this.drain();
        return;
      }
      // Each call writes its request before returning (the connection queues writes in call order).
      for (const batches of ready) void this.sendRequest(c, batches);
    });
  }

  private retryLater(): void {
    setTimeout(() => void this.drain(), this.client.options.retryBackoffMs).unref?.();
  }

  private async encode(b: Batch): Promise<Buffer> {
    if (b.encoded !== null) return b.encoded;
    b.encoded = await b.builder.finish(this.producerId, this.producerEpoch, b.baseSequence, this.o.compression);
    b.firstSentAtMs = Date.now();
    return b.encoded;
  }

  private async sendRequest(c: Awaited<ReturnType<KafkaClient['brokerConnection']>>, batches: Batch[]): Promise<void> {
    const topics = new Map<string, { index: number; records: Buffer }[]>();
    try {
      for (const b of batches) {
        let l = topics.get(b.topic);
        if (l === undefined) topics.set(b.topic, (l = []));
        l.push({ index: b.partition, records: b.encoded! });
      }
      const res = await c.request(Produce, 9, {
        transactionalId: null,
        acks: this.o.acks,
        timeoutMs: this.o.produceTimeoutMs,
        topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
      }, 3);
      const answers = new Map<string, { errorCode: number; baseOffset: number; message: string | null }>();
      for (const t of res.responses ?? []) {
        for (const p of t.partitionResponses ?? []) {
          answers.set(`${t.name}\u0000${p.index}`, { errorCode: p.errorCode ?? 0, baseOffset: Number(p.baseOffset ?? -1n), message: p.errorMessage ?? null });
        }
      }
      for (const b of batches) {
        const a = answers.get(`${b.topic}\u0000${b.partition}`);
        if (a === undefined) this.batchFailed(b, new KafkaError(KafkaCode.NETWORK_EXCEPTION, `Produce: no answer for ${b.topic}/${b.partition}`));
        else if (a.errorCode === 0 || a.errorCode === KafkaCode.DUPLICATE_SEQUENCE_NUMBER) this.batchDone(b, a.baseOffset);
        else {
          const retriable = a.errorCode === KafkaCode.OUT_OF_ORDER_SEQUENCE_NUMBER && this.o.idempotent;
          const err = new KafkaError(a.errorCode, `Produce ${b.topic}/${b.partition}: ${a.message ?? ''}`);
          this.batchFailed(b, retriable ? Object.assign(err, { retriable: true }) : err);
        }
      }
    } catch (e) {
      for (const b of batches) this.batchFailed(b, e as Error);
    }
    void this.drain();
  }

  private batchDone(b: Batch, baseOffset: number): void {
    const p = this.state(b.topic, b.partition);
    p.inFlight--;
    this.outstanding.delete(b);
    this.bufferedBytes -= b.bytes;
    this.recordsAcked += b.builder.count;
    this.bytesAcked += b.bytes;
    // The Produce request copied the batch into its frame, and no retry can need it any more.
    b.encoded = null;
    b.builder.release();
    b.resolve(baseOffset);
    if (this.bufferedBytes < this.o.bufferBytesMax) for (const w of this.writableWaiters.splice(0)) w();
  }

  private batchFailed(b: Batch, e: Error): void {
    const p = this.state(b.topic, b.partition);
    p.inFlight--;
    const expired = Date.now() - (b.firstSentAtMs || b.createdAtMs) > this.o.deliveryTimeoutMs;
    if (isRetriable(e) && !expired && !this.failure) {
      if (e instanceof KafkaError && e.staleRouting) this.client.invalidateMetadata();
      // Back in its place: batches of a partition are sent in order (with idempotence the
      // broker insists on it; without, it keeps most orderings intact).
      let i = 0;
      while (i < p.queue.length && p.queue[i]!.order < b.order) i++;
      p.queue.splice(i, 0, b);
      this.retryLater();
      return;
    }
    this.outstanding.delete(b);
    this.bufferedBytes -= b.bytes;
    b.reject(e);
    this.fail(e);
  }

  /** A batch that cannot be delivered fails the producer: flush() rejects from now on. */
  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.writableWaiters.splice(0)) w();
    for (const b of this.outstanding) if (!this.isInFlight(b)) b.reject(this.failure);
  }

  private isInFlight(b: Batch): boolean {
    const p = this.state(b.topic, b.partition);
    return p.open !== b && !p.queue.includes(b);
  }
}
