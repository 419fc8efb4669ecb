/**
 * Fetcher: reads record batches at given offsets, grouped into one Fetch per partition leader,
 * long-polling (maxWaitMs/minBytes) and bounded in bytes (per request and per partition). It
 * keeps no positions of its own: the caller (a pipeline source, a consumer loop) says what to
 * fetch from where each round, which is how a source refills only the partitions whose bounded
 * buffers have room.
 *
 * Decoding: batches are scanned with their CRCs checked; a trailing partial batch (brokers cut
 * responses at the byte bound) is dropped and fetched again next round; control batches
 * (transaction markers) are skipped but still advance the position; records before the asked
 * offset (a batch that starts earlier) are dropped. Compressed batches are inflated here.
 */
import { Fetch, type FetchRequest, type FetchResponsePartitionData } from '../protocol/generated/index.js';
import { readBatchHeader, computeBatchCrc, LOG_OVERHEAD, type BatchHeader } from '../records/batch.js';
import { decodeBatchRecords, type KafkaRecord } from '../records/records.js';
import { decompress } from '../records/compression.js';
import { BATCH_HEADER_BYTES } from '../records/batch.js';
import { RecordColumns } from './record-columns.js';
import { WeirError } from '../errors.js';
import { checkCode, isRetriable, KafkaCode, KafkaError } from './kafka-error.js';
import type { ConnectionLane, KafkaClient } from './kafka-client.js';

export interface FetchPosition {
  topic: string;
  partition: number;
  offset: number;
  /** Per-partition byte bound for this round (default: the fetcher's partitionBytesMax). */
  maxBytes?: number;
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  records: KafkaRecord[];
  /** Where the next fetch of this partition starts (after the last record or skipped control batch). */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
  /** Set when the asked offset is out of range; the caller decides where to reset. */
  outOfRange?: boolean;
  /** A non-retriable per-partition error. */
  error?: Error;
}

/** A fetched partition with its records as columns (see record-columns.ts). */
export interface FetchedColumns extends Omit<FetchedPartition, 'records'> {
  columns: RecordColumns;
  /**
   * With pooledFrames: call once nothing refers to these columns' bytes any more (the columns
   * read, and nothing kept that views them); the response frame goes back to the client's
   * FramePool when every partition of the response has been released. Not calling it is safe
   * (the frame is then garbage collected). Without pooledFrames it does nothing.
   */
  release: () => void;
}

export interface FetcherOptions {
  /** Long-poll wait when nothing is available (default 500). */
  maxWaitMs?: number;
  minBytes?: number;
  /** Bound on one response (default 16 MiB). */
  maxBytes?: number;
  /** Bound per partition per round (default 4 MiB). */
  partitionBytesMax?: number;
  /** Bound on a batch's decompressed size (default 128 MiB). */
  decompressedBytesMax?: number;
  /** 0 read_uncommitted (default), 1 read_committed. */
  isolationLevel?: 0 | 1;
  /**
   * The broker connections this fetcher's long polls go on (default 'fetch': apart from produces
   * and commits). Give a second fetcher on the same client its own, so neither waits behind the
   * other's long poll.
   */
  lane?: ConnectionLane;
  /**
   * fetchColumns answers large responses in buffers from the client's FramePool (KafkaClient's
   * framePool), handed back through each FetchedColumns' release. Fresh multi-megabyte
   * allocations are what copying a response out of its TCP chunks mostly costs on a VM (page
   * faults): 6-9% of a pipeline thread's CPU in bench/pipeline-topic. Only for callers that call
   * release after they stop using the bytes.
   */
  pooledFrames?: boolean;
}

export class Fetcher {
  private readonly o: Required<FetcherOptions>;

  constructor(
    readonly client: KafkaClient,
    options: FetcherOptions = {},
  ) {
    this.o = { maxWaitMs: 500, minBytes: 1, maxBytes: 16 * 1024 * 1024, partitionBytesMax: 4 * 1024 * 1024, decompressedBytesMax: 128 * 1024 * 1024, isolationLevel: 0, lane: 'fetch', pooledFrames: false, ...options };
  }

  /**
   * One round: a Fetch to each leader of the given partitions, in parallel. Partitions whose
   * leader is unknown or moved are left out of the result (metadata is refreshed for next
   * round); a broker that fails leaves its partitions out too, after a retriable error.
   */
  async fetch(positions: readonly FetchPosition[], maxWaitMs = this.o.maxWaitMs): Promise<FetchedPartition[]> {
    return this.round(positions, maxWaitMs, false) as Promise<FetchedPartition[]>;
  }

  /** As fetch(), with each partition's records as columns instead of objects (no per-record allocation). */
  async fetchColumns(positions: readonly FetchPosition[], maxWaitMs = this.o.maxWaitMs): Promise<FetchedColumns[]> {
    return this.round(positions, maxWaitMs, true) as Promise<FetchedColumns[]>;
  }

  private async round(positions: readonly FetchPosition[], maxWaitMs: number, columns: boolean): Promise<(FetchedPartition | FetchedColumns)[]> {
    const byLeader = new Map<number, FetchPosition[]>();
    for (const pos of positions) {
      let leader: number;
      try {
        leader = await this.client.leaderOf(pos.topic, pos.partition);
      } catch (e) {
        if (!isRetriable(e)) throw e;
        this.client.invalidateMetadata();
        continue;
      }
      let l = byLeader.get(leader);
      if (l === undefined) byLeader.set(leader, (l = []));
      l.push(pos);
    }
    const rounds = await Promise.all([...byLeader].map(([leader, ps]) => this.fetchFrom(leader, ps, maxWaitMs, columns)));
    return rounds.flat();
  }

  private async fetchFrom(leader: number, positions: FetchPosition[], maxWaitMs: number, columns: boolean): Promise<(FetchedPartition | FetchedColumns)[]> {
    const topics = new Map<string, FetchPosition[]>();
    for (const p of positions) {
      let l = topics.get(p.topic);
      if (l === undefined) topics.set(p.topic, (l = []));
      l.push(p);
    }
    const request: FetchRequest = {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs,
      minBytes: this.o.minBytes,
      maxBytes: this.o.maxBytes,
      isolationLevel: this.o.isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...topics].map(([topic, ps]) => ({
        topic,
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: ps.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: -1,
          fetchOffset: BigInt(p.offset),
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: p.maxBytes ?? this.o.partitionBytesMax,
          replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    };
    const pooled = columns && this.o.pooledFrames;
    let res;
    let releaseFrame = noRelease;
    try {
      const c = await this.client.brokerConnection(leader, this.o.lane);
      const timeoutMs = this.client.options.requestTimeoutMs + maxWaitMs;
      if (pooled) ({ body: res, release: releaseFrame } = await c.requestFrame(Fetch, 12, request, 4, timeoutMs));
      else res = await c.request(Fetch, 12, request, 4, timeoutMs);
    } catch (e) {
      if (!isRetriable(e)) throw e;
      this.client.invalidateMetadata();
      return [];
    }
    if (res.errorCode) releaseFrame();
    checkCode(res.errorCode, 'Fetch');
    const asked = new Map(positions.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
    const out: (FetchedPartition | FetchedColumns)[] = [];
    for (const t of res.responses ?? []) {
      for (const pd of t.partitions ?? []) {
        const pos = asked.get(`${t.topic}\u0000${pd.partitionIndex}`);
        if (pos === undefined) continue;
        const got = columns ? await this.decodeColumns(pos, pd) : await this.decode(pos, pd);
        if (got !== null) out.push(got);
      }
    }
    // (A decode that throws leaves the frame to the garbage collector.)
    if (pooled) shareRelease(out as FetchedColumns[], releaseFrame);
    return out;
  }

  /**
   * What the partition's error code means for this round: null when the data can be read, 'retry'
   * for a retriable error (stale routing refreshed), or the answer to give without reading.
   */
  private partitionOutcome(pos: FetchPosition, pd: FetchResponsePartitionData): null | 'retry' | { outOfRange: true } | { error: KafkaError } {
    const code = pd.errorCode ?? 0;
    if (code === 0) return null;
    if (code === KafkaCode.OFFSET_OUT_OF_RANGE) return { outOfRange: true };
    const e = new KafkaError(code, `Fetch ${pos.topic}/${pos.partition} at ${pos.offset}`);
    if (!e.retriable) return { error: e };
    if (e.staleRouting) this.client.invalidateMetadata();
    return 'retry';
  }

  /**
   * The complete batches of a partition's records, headers read and CRCs checked; a partial
   * trailing batch is left for the next round. `scannedBytes` is how far the complete ones reach.
   */
  private checkedBatches(pos: FetchPosition, pd: FetchResponsePartitionData): { buf: Buffer; headers: BatchHeader[]; scannedBytes: number } {
    const raw = pd.records;
    const buf = raw == null ? Buffer.alloc(0) : Array.isArray(raw) ? Buffer.concat(raw as Buffer[]) : (raw as Buffer);
    const headers: BatchHeader[] = [];
    let at = 0;
    while (at + LOG_OVERHEAD + 49 <= buf.length) {
      const size = buf.readInt32BE(at + 8) + LOG_OVERHEAD;
      if (at + size > buf.length) break; // partial trailing batch: next round re-fetches it
      let h: BatchHeader;
      try {
        h = readBatchHeader(buf, at);
      } catch (e) {
        if (e instanceof WeirError && e.kind === 'unsupported') throw new WeirError('unsupported', `Fetch ${pos.topic}/${pos.partition}: ${e.message} (message format v0/v1 is not read)`);
        throw e;
      }
      if (computeBatchCrc(buf, at, h.sizeBytes) !== h.crc) {
        throw new WeirError('corrupt', `Fetch ${pos.topic}/${pos.partition}: batch at offset ${h.baseOffset} fails its CRC`);
      }
      headers.push(h);
      at += h.sizeBytes;
    }
    return { buf, headers, scannedBytes: at };
  }

  /**
   * A single batch larger than the partition bound: Kafka returns it whole (KIP-74), so this only
   * happens with a broker that cuts it; ask for more next round rather than spin.
   */
  private batchTooLarge(pos: FetchPosition): WeirError {
    return new WeirError('too_large', `Fetch ${pos.topic}/${pos.partition}: a batch at ${pos.offset} exceeds ${pos.maxBytes ?? this.o.partitionBytesMax} bytes`);
  }

  private async decodeColumns(pos: FetchPosition, pd: FetchResponsePartitionData): Promise<FetchedColumns | null> {
    const base = { topic: pos.topic, partition: pos.partition, highWatermark: Number(pd.highWatermark ?? -1n), logStartOffset: Number(pd.logStartOffset ?? -1n) };
    const outcome = this.partitionOutcome(pos, pd);
    if (outcome === 'retry') return null;
    if (outcome !== null) return { ...base, columns: new RecordColumns(0), nextOffset: pos.offset, release: noRelease, ...outcome };
    const { buf, headers, scannedBytes } = this.checkedBatches(pos, pd);
    // The columns are sized exactly from the headers before any record is read.
    let capacity = 0;
    for (const h of headers) if (!h.isControl) capacity += h.recordCount;
    const cols = new RecordColumns(capacity);
    let next = pos.offset;
    for (const h of headers) {
      const last = Number(h.baseOffset) + h.lastOffsetDelta;
      if (last < next) continue;
      if (!h.isControl) {
        const start = h.position + BATCH_HEADER_BYTES;
        const end = h.position + h.sizeBytes;
        if (h.compression === 0) cols.appendBatch(buf, start, end, h, next);
        else {
          const data = await decompress(h.compression, buf.subarray(start, end), { maxBytes: this.o.decompressedBytesMax });
          cols.appendBatch(data, 0, data.length, h, next);
        }
      }
      next = last + 1;
    }
    if (cols.length === 0 && scannedBytes === 0 && buf.length > 0 && next === pos.offset) {
      return { ...base, columns: cols, nextOffset: next, release: noRelease, error: this.batchTooLarge(pos) };
    }
    return { ...base, columns: cols, nextOffset: next, release: noRelease };
  }

  private async decode(pos: FetchPosition, pd: FetchResponsePartitionData): Promise<FetchedPartition | null> {
    const base = { topic: pos.topic, partition: pos.partition, highWatermark: Number(pd.highWatermark ?? -1n), logStartOffset: Number(pd.logStartOffset ?? -1n) };
    const outcome = this.partitionOutcome(pos, pd);
    if (outcome === 'retry') return null;
    if (outcome !== null) return { ...base, records: [], nextOffset: pos.offset, ...outcome };
    const { buf, headers, scannedBytes } = this.checkedBatches(pos, pd);
    const records: KafkaRecord[] = [];
    let next = pos.offset;
    for (const h of headers) {
      const last = Number(h.baseOffset) + h.lastOffsetDelta;
      if (last < next) continue;
      if (!h.isControl) {
        for (const r of await decodeBatchRecords(buf, h, { maxBytes: this.o.decompressedBytesMax })) {
          if (Number(r.offset) >= next) records.push(r);
        }
      }
      next = last + 1;
    }
    if (records.length === 0 && scannedBytes === 0 && buf.length > 0 && next === pos.offset) {
      return { ...base, records, nextOffset: next, error: this.batchTooLarge(pos) };
    }
    return { ...base, records, nextOffset: next };
  }
}

const noRelease = (): void => undefined;

/**
 * Gives each partition of one response its own release (each works once); the frame goes back
 * when the last of them is called, at once when the response had no partition for the caller.
 */
function shareRelease(parts: FetchedColumns[], releaseFrame: () => void): void {
  let left = parts.length;
  if (left === 0) return releaseFrame();
  for (const p of parts) {
    let done = false;
    p.release = () => {
      if (done) return;
      done = true;
      if (--left === 0) releaseFrame();
    };
  }
}
