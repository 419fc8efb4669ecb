/**
 * The Kafka runtime's topic sink: serializes with the sink's serdes, partitions by the
 * serialized key with Kafka's default partitioner (murmur2; round-robin for a null key), keeps
 * the record's event time as its Kafka timestamp and its headers, and appends to the worker's
 * shared batching Producer. write() never blocks (the runtime waits on producer.writable()
 * between pushes, which bounds memory); flush() resolves once everything written so far is
 * acknowledged by the brokers (acks=all), which is what the checkpoint waits for.
 */
import type { Producer } from '../../core/client/producer.js';
import type { Rec, SinkSpec, SinkWriter } from '../core/contracts.js';

/** Headers on repartition records: the writing task and its output sequence number (see below). */
export const UPSTREAM_HEADER = 'weir.up';
export const SEQUENCE_HEADER = 'weir.seq';

export class TopicSink implements SinkWriter {
  readonly name: string;
  written = 0;
  /**
   * For repartition topics: the next output sequence number of the writing task. It is part of
   * the task's checkpoint, so after a restore the replayed outputs carry the same numbers as the
   * first time, and the downstream task drops the ones it already counted (see the worker's
   * decode): state stays exactly-once through repartition topics despite at-least-once writes.
   */
  sequence = 0;
  private readonly upstream: Buffer | null;

  constructor(
    private readonly spec: Extract<SinkSpec, { kind: 'topic' }>,
    private readonly producer: Producer,
    private readonly partitions: number,
    upstreamTaskId: string | null = null,
  ) {
    this.name = spec.name;
    this.upstream = upstreamTaskId === null ? null : Buffer.from(upstreamTaskId, 'utf8');
  }

  write(rec: Rec): void {
    const key = this.spec.key.serialize(rec.key);
    const value = this.spec.value.serialize(rec.value);
    const headerNames = Object.keys(rec.headers);
    let headers = headerNames.length === 0 ? undefined : headerNames.map((k) => ({ key: k, value: rec.headers[k] ?? null }));
    if (this.upstream !== null) {
      const seq = Buffer.allocUnsafe(8);
      seq.writeBigInt64BE(BigInt(this.sequence++));
      headers = [...(headers ?? []), { key: UPSTREAM_HEADER, value: this.upstream }, { key: SEQUENCE_HEADER, value: seq }];
    }
    this.producer.append(this.spec.topic, this.producer.partitionFor(key, this.partitions), {
      key,
      value,
      headers,
      timestamp: Number.isFinite(rec.timestamp) ? rec.timestamp : Date.now(),
    });
    this.written++;
  }

  flush(): Promise<void> {
    return this.producer.flush();
  }

  async close(): Promise<void> {
    // The producer is shared by the worker's tasks and closed by the worker.
  }
}

/** Counts what a task's sink receives (records out, per task, for metrics). */
export class CountingSink implements SinkWriter {
  count = 0;
  constructor(readonly inner: SinkWriter) {}
  get name(): string {
    return this.inner.name;
  }
  write(rec: Rec): void {
    this.count++;
    this.inner.write(rec);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
