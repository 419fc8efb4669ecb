/**
 * The Kafka runtime's topic sink: serializes with the sink's serdes, partitions by the
 * serialized key with Kafka's default partitioner (murmur2; round-robin for a null key), keeps
 * the record's event time as its Kafka timestamp and its headers, and appends to the worker's
 * shared batching Producer. write() never blocks (the runtime waits on producer.writable()
 * between pushes, which bounds memory); flush() resolves once everything written so far is
 * acknowledged by the brokers (acks=all), which is what the checkpoint waits for.
 *
 * A repartition topic's sink also carries the writing task's watermark to the next stage
 * (writeWatermark, see WatermarkMark in contracts.ts): a record with a null key and value and
 * the weir.watermark header, appended to every partition explicitly (not by key hash), in order
 * with the data records of that partition. Marks are bounded: the task offers one only when its
 * watermark advanced or its idleness changed, and the sink writes at most one per
 * watermarkIntervalMs (Flink's autoWatermarkInterval), keeping only the newest offered in between
 * (a later watermark is always a safe replacement for an earlier one: the writer's watermark
 * never goes back). The runtime calls writePendingMark() on its tick and before each checkpoint,
 * so the newest watermark always gets out. Marks carry no weir.up/weir.seq headers and take no
 * sequence number: they are idempotent (the reader keeps the maximum per writer), and numbering
 * them would make a replay's data numbers depend on timing.
 */
import type { HeaderInput } from '../../core/client/batch-builder.js';
import type { Producer } from '../../core/client/producer.js';
import { WATERMARK_HEADER, type Rec, type SinkSpec, type SinkWriter, type WatermarkMark } from '../core/contracts.js';
import { encodeWatermarkMark } from '../task/watermark-marks.js';

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
  /** Mark records written (one per partition per mark). */
  marksWritten = 0;
  /** Repartition sinks only (see above); undefined elsewhere, so tasks do not broadcast to output topics. */
  readonly writeWatermark?: (mark: WatermarkMark) => void;
  private readonly upstream: Buffer | null;
  private readonly valueText: ((v: unknown) => string | null) | undefined;
  private pendingMark: WatermarkMark | null = null;
  private lastMarkAtMs = -Infinity;

  constructor(
    private readonly spec: Extract<SinkSpec, { kind: 'topic' }>,
    private readonly producer: Producer,
    private readonly partitions: number,
    upstreamTaskId: string | null = null,
    private readonly watermarkIntervalMs = 200,
    private readonly clock: () => number = Date.now,
  ) {
    this.name = spec.name;
    this.valueText = spec.value.serializeText?.bind(spec.value);
    this.upstream = upstreamTaskId === null ? null : Buffer.from(upstreamTaskId, 'utf8');
    if (this.upstream !== null) {
      this.writeWatermark = (mark) => {
        this.pendingMark = mark;
        this.writePendingMark(false);
      };
    }
  }

  /** Writes the newest offered mark to every partition if the interval has passed (or `force`). */
  writePendingMark(force: boolean): void {
    const mark = this.pendingMark;
    if (mark === null) return;
    const now = this.clock();
    if (!force && now - this.lastMarkAtMs < this.watermarkIntervalMs) return;
    this.pendingMark = null;
    this.lastMarkAtMs = now;
    const headers = [{ key: WATERMARK_HEADER, value: encodeWatermarkMark(mark) }];
    // The Kafka timestamp is informational (readers take the header); the watermark itself when
    // it is a time, so retention and the runtime's event-time alignment treat it sensibly.
    const timestamp = Number.isFinite(mark.watermarkMs) ? Math.max(0, Math.floor(mark.watermarkMs)) : now;
    for (let p = 0; p < this.partitions; p++) this.producer.append(this.spec.topic, p, { key: null, value: null, headers, timestamp });
    this.marksWritten += this.partitions;
  }

  write(rec: Rec): void {
    const spec = this.spec;
    // Serdes that can give text are written as UTF-8 straight into the producer's batch (no
    // Buffer per value); the key's bytes are needed anyway for the partitioner.
    const key = spec.key.serialize(rec.key);
    const value = this.valueText !== undefined ? this.valueText(rec.value) : spec.value.serialize(rec.value);
    let headers: HeaderInput[] | undefined;
    for (const k in rec.headers) {
      (headers ??= []).push({ key: k, value: rec.headers[k] ?? null });
    }
    if (this.upstream !== null) {
      const seq = Buffer.allocUnsafe(8);
      seq.writeBigInt64BE(BigInt(this.sequence++));
      (headers ??= []).push({ key: UPSTREAM_HEADER, value: this.upstream }, { key: SEQUENCE_HEADER, value: seq });
    }
    this.producer.appendFields(spec.topic, this.producer.partitionFor(key, this.partitions), key, value, Number.isFinite(rec.timestamp) ? rec.timestamp : Date.now(), headers);
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
  /** Forwarded (uncounted: a mark is not an output record) when the inner sink takes marks. */
  readonly writeWatermark?: (mark: WatermarkMark) => void;
  constructor(readonly inner: SinkWriter) {
    if (inner.writeWatermark !== undefined) this.writeWatermark = (mark) => inner.writeWatermark!(mark);
  }
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
