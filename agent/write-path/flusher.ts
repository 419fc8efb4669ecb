/**
 * The write path. Produce handlers append validated record batches here; the flusher gathers the
 * appends of every client for lingerMs or until flushBytes are pending, writes them as ONE object
 * (core/storage/flush-object.ts), then commits that object to the metadata store, which assigns
 * the offsets. Only then do the appends resolve, so an acknowledged record is durable in both.
 *
 * Objects of consecutive flushes may be written concurrently (flushesInFlightMax), but commits
 * happen strictly in flush order: a producer with several requests in flight must see its
 * batches get offsets in the order it sent them.
 */
import { WeirError } from '../../core/errors.js';
import type { CommitChunk, CommitResult, MetadataStore, OffsetRun, PartResult } from '../../core/metadata/metadata-store.js';
import { ProducerStateError, type ProducerBatch } from '../../core/metadata/producer-state-store.js';
import type { ObjectStore } from '../../core/storage/object-store.js';
import { layoutFlushObject } from '../../core/storage/flush-object.js';
import { flushObjectKey } from '../../core/storage/paths.js';
import type { LogCache } from '../read-path/log-cache.js';

export interface AppendInput {
  topic: string;
  topicId: string;
  partition: number;
  /** One or more v2 batches, validated, exactly as the client sent them. */
  records: Buffer;
  /** Sum of (lastOffsetDelta + 1) over the batches. */
  offsetCount: number;
  maxTimestamp: number;
  /**
   * An idempotent producer's batch (then `records` is exactly that one batch): the commit checks
   * its sequence and the append may resolve as a duplicate or reject with a ProducerStateError.
   */
  producer?: ProducerBatch;
  /**
   * The mirror's writes (agent/handlers/weir-mirror-write.ts): `records` is these runs, committed
   * at their own offsets (CommitChunk.runs). Such appends go to a flusher of their own, so a
   * flush holds either these or producers' appends.
   */
  runs?: OffsetRun[];
  /**
   * Mirror appends only: not put in the log cache. A mirror's bulk copy is history nobody tails;
   * caching it would evict producers' hot tails and keep every request frame alive, so each new
   * one is fresh memory (docs/benchmarks.md, mirror). A caught-up mirror's small writes are cached.
   */
  uncached?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  logStartOffset: number;
  /** For appends with runs: the partition's high watermark after the commit. */
  highWatermark?: number;
  /** Set when the batch was a retry of one already committed: baseOffset is the original's, nothing was stored again. */
  duplicate?: { maxTimestamp: number };
}

interface PendingAppend {
  input: AppendInput;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export interface FlusherOptions {
  agentId: string;
  lingerMs: number;
  flushBytes: number;
  pendingBytesMax: number;
  flushesInFlightMax: number;
  /** Called after each commit with the partitions whose high watermark moved, and where to. */
  onCommitted: (partitions: { topic: string; partition: number; highWatermark: number }[]) => void;
  log: (level: 'error' | 'warn' | 'info' | 'debug', msg: string) => void;
}

export class Flusher {
  private pending = new Map<string, PendingAppend[]>();
  private pendingBatchBytes = 0;
  /** Bytes appended and not yet resolved (pending + flushing): the memory bound. */
  private heldBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushesInFlight = 0;
  private flushWanted = false;
  private lastCommit: Promise<void> = Promise.resolve();
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private drainListeners = new Set<() => void>();

  constructor(
    private readonly objects: ObjectStore,
    private readonly metadata: MetadataStore,
    private readonly cache: LogCache,
    private readonly opts: FlusherOptions,
  ) {}

  /** True while held bytes exceed the bound: the server pauses its sockets until onDrain fires. */
  get overLimit(): boolean {
    return this.heldBytes >= this.opts.pendingBytesMax;
  }

  onDrain(listener: () => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  append(input: AppendInput): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new WeirError('unavailable', 'agent is shutting down'));
    return new Promise<AppendResult>((resolve, reject) => {
      const k = `${input.topicId}\u0000${input.partition}`;
      let list = this.pending.get(k);
      if (!list) this.pending.set(k, (list = []));
      list.push({ input, resolve, reject });
      this.pendingBatchBytes += input.records.length;
      this.heldBytes += input.records.length;
      if (this.pendingBatchBytes >= this.opts.flushBytes) this.requestFlush();
      else if (!this.timer) this.timer = setTimeout(() => this.requestFlush(), this.opts.lingerMs);
    });
  }

  /**
   * Starts a flush of what is pending now instead of at the end of the linger (the mirror's large
   * requests, agent/handlers/weir-mirror-write.ts). Bounds as usual: at most flushBytes per
   * object, at most flushesInFlightMax flushes.
   */
  flushNow(): void {
    if (!this.closed && this.pending.size > 0) this.requestFlush();
  }

  /** Flushes everything pending now and waits until every flush has committed. */
  async close(): Promise<void> {
    this.closed = true;
    this.requestFlush();
    while (this.pending.size > 0 || this.flushesInFlight > 0) {
      await new Promise<void>((r) => this.idleWaiters.push(r));
      this.requestFlush();
    }
  }

  private requestFlush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.size === 0) return;
    if (this.flushesInFlight >= this.opts.flushesInFlightMax) {
      // Keep accumulating; the next flush to finish starts this one.
      this.flushWanted = true;
      return;
    }
    // A flush takes appends, oldest partitions first, until it reaches flushBytes; what
    // piled up while every flush slot was busy stays for the next flush, so objects stay near
    // flushBytes (one PUT each, below the S3 multipart threshold) instead of growing with load.
    let batch: Map<string, PendingAppend[]>;
    let bytes: number;
    if (this.pendingBatchBytes <= this.opts.flushBytes) {
      batch = this.pending;
      bytes = this.pendingBatchBytes;
      this.pending = new Map();
      this.pendingBatchBytes = 0;
    } else {
      batch = new Map();
      bytes = 0;
      for (const [k, group] of this.pending) {
        if (bytes >= this.opts.flushBytes) break;
        // A prefix of a partition's appends may go now and the rest later: commits happen in
        // flush order, so the partition's order still holds.
        let n = 0;
        while (n < group.length && (n === 0 || bytes < this.opts.flushBytes)) bytes += group[n++]!.input.records.length;
        batch.set(k, group.slice(0, n));
        if (n === group.length) this.pending.delete(k);
        else this.pending.set(k, group.slice(n));
      }
      this.pendingBatchBytes -= bytes;
    }
    this.flushesInFlight++;
    void this.runFlush(batch, bytes);
    // The rest was due too (its linger passed or the size was reached): start it now if a slot
    // is free, else the next flush to finish starts it (flushWanted).
    if (this.pending.size > 0) this.requestFlush();
  }

  private async runFlush(batch: Map<string, PendingAppend[]>, bytes: number): Promise<void> {
    const groups = [...batch.values()];
    const key = flushObjectKey(this.opts.agentId);
    const previousCommit = this.lastCommit;
    let releaseCommit!: () => void;
    this.lastCommit = new Promise<void>((r) => (releaseCommit = r));
    try {
      const { pieces, sizeBytes, placements } = layoutFlushObject(
        groups.map((g) => ({
          topicId: g[0]!.input.topicId,
          topic: g[0]!.input.topic,
          partition: g[0]!.input.partition,
          batches: g.map((p) => p.input.records),
        })),
      );
      const t0 = performance.now();
      await this.metadata.registerPendingObject(key);
      await this.objects.put(key, pieces);
      const t1 = performance.now();
      // Mirror chunks are indexed (and so read) per run, never as a whole: cacheRuns caches them
      // after the commit; a whole-chunk entry would never be hit and would halve the cache.
      placements.forEach((pl, i) => {
        const g = groups[i]!;
        if (!g.some((p) => p.input.runs !== undefined)) this.cache.put(key, pl.byteStart, pl.byteLength, g.map((p) => p.input.records));
      });
      await previousCommit;
      const results = await this.metadata.commitFlush(
        key,
        sizeBytes,
        groups.map((g, i): CommitChunk => {
          const chunk: CommitChunk = {
            topic: g[0]!.input.topic,
            topicId: g[0]!.input.topicId,
            partition: g[0]!.input.partition,
            offsetCount: g.reduce((n, p) => n + p.input.offsetCount, 0),
            maxTimestamp: g.reduce((m, p) => Math.max(m, p.input.maxTimestamp), -1),
            byteStart: placements[i]!.byteStart,
            byteLength: placements[i]!.byteLength,
          };
          if (g.some((p) => p.input.runs !== undefined)) chunk.runs = g.flatMap((p) => p.input.runs ?? []);
          // Only a chunk holding a producer batch gets parts: one per append, so results map straight back.
          if (g.some((p) => p.input.producer !== undefined)) {
            chunk.parts = g.map((p) => ({
              offsetCount: p.input.offsetCount,
              byteLength: p.input.records.length,
              maxTimestamp: p.input.maxTimestamp,
              producer: p.input.producer ?? null,
            }));
          }
          return chunk;
        }),
      );
      releaseCommit();
      const t2 = performance.now();
      this.opts.log('debug', `flush ${key}: ${sizeBytes} bytes, ${groups.length} chunks, register+put ${(t1 - t0).toFixed(1)} ms, commit ${(t2 - t1).toFixed(1)} ms`);
      const moved: { topic: string; partition: number; highWatermark: number }[] = [];
      results.forEach((r, i) => {
        const g = groups[i]!;
        if (!r.ok) {
          const err = chunkError(r);
          for (const p of g) p.reject(err);
          return;
        }
        if (r.runs !== undefined) {
          this.cacheRuns(key, placements[i]!.byteStart, g);
          for (const p of g) p.resolve({ baseOffset: p.input.runs?.[0]?.baseOffset ?? r.baseOffset, logStartOffset: r.logStartOffset, highWatermark: r.highWatermark! });
          moved.push({ topic: r.topic, partition: r.partition, highWatermark: r.highWatermark! });
          return;
        }
        let next = r.baseOffset;
        if (r.parts !== undefined) next = this.settleParts(key, placements[i]!.byteStart, g, r.parts, r.baseOffset, r.logStartOffset);
        else {
          for (const p of g) {
            p.resolve({ baseOffset: next, logStartOffset: r.logStartOffset });
            next += p.input.offsetCount;
          }
        }
        moved.push({ topic: r.topic, partition: r.partition, highWatermark: next });
      });
      if (moved.length > 0) this.opts.onCommitted(moved);
    } catch (e) {
      releaseCommit();
      this.opts.log('error', `flush of ${key} failed: ${(e as Error).message}`);
      // Whatever broke (the PUT, the store, a reply lost after the commit ran: a re-sent commit
      // then finds its object already committed), the producers cannot know whether their
      // records landed. That is a retriable storage error for them, never a definite one:
      // idempotent producers retry and get their original offsets back; others may duplicate
      // (at-least-once), as with any broker timeout.
      const err = e instanceof WeirError && e.kind === 'unavailable' ? e : new WeirError('unavailable', `flush failed: ${(e as Error).message}`, { cause: e });
      for (const g of groups) for (const p of g) p.reject(err);
    } finally {
      this.flushesInFlight--;
      const wasOver = this.overLimit;
      this.heldBytes -= bytes;
      if (wasOver && !this.overLimit) for (const l of this.drainListeners) l();
      if (this.flushWanted || this.closed || this.pendingBatchBytes >= this.opts.flushBytes) {
        this.flushWanted = false;
        this.requestFlush();
      }
      // close() re-checks after every flush; waking it when nothing is in flight is enough.
      if (this.flushesInFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /**
   * A mirror chunk is indexed one row per run (a gap in offsets must start a new row), so each
   * run's byte range is cached on its own: tail reads of mirrored partitions stay cache hits.
   * Runs never span appends; their bytes are subarrays of the append's buffer, not copies.
   */
  private cacheRuns(key: string, chunkStart: number, g: PendingAppend[]): void {
    let byte = chunkStart;
    for (const p of g) {
      let within = 0;
      if (p.input.uncached === true) {
        byte += p.input.records.length;
        continue;
      }
      for (const run of p.input.runs ?? []) {
        this.cache.put(key, byte + within, run.byteLength, [p.input.records.subarray(within, within + run.byteLength)]);
        within += run.byteLength;
      }
      byte += p.input.records.length;
    }
  }

  /**
   * Settles the appends of a chunk that went through the producer check (one part per append) and
   * returns the partition's next offset. When a part was left out of the index (duplicate or
   * refused), the index rows are narrower than the chunk cached before the commit, so their byte
   * ranges are cached as well: tail reads stay cache hits.
   */
  private settleParts(key: string, chunkStart: number, g: PendingAppend[], parts: PartResult[], baseOffset: number, logStartOffset: number): number {
    const rows: { start: number; length: number; pieces: Buffer[] }[] = [];
    let row: (typeof rows)[number] | null = null;
    let byte = chunkStart;
    let next = baseOffset;
    parts.forEach((part, j) => {
      const p = g[j]!;
      const length = p.input.records.length;
      if (part.kind === 'appended') {
        if (row === null) rows.push((row = { start: byte, length: 0, pieces: [] }));
        row.length += length;
        row.pieces.push(p.input.records);
        p.resolve({ baseOffset: part.baseOffset, logStartOffset });
        next = part.baseOffset + p.input.offsetCount;
      } else {
        row = null;
        if (part.kind === 'duplicate') p.resolve({ baseOffset: part.baseOffset, logStartOffset, duplicate: { maxTimestamp: part.maxTimestamp } });
        else p.reject(new ProducerStateError(part.error, part.message));
      }
      byte += length;
    });
    if (rows.length !== 1 || rows[0]!.length !== byte - chunkStart) for (const w of rows) this.cache.put(key, w.start, w.length, w.pieces);
    return next;
  }
}

/** The error for a chunk the commit refused alone. */
function chunkError(r: Extract<CommitResult, { ok: false }>): WeirError {
  switch (r.error) {
    case 'offset_conflict':
      return new WeirError('conflict', r.message ?? `offsets of ${r.topic}-${r.partition} conflict with the committed log`);
    case 'not_mirroring':
      return new WeirError('invalid_argument', r.message ?? `topic ${r.topic} takes no mirror writes`, { retriable: false });
    default:
      return new WeirError('not_found', `topic ${r.topic} partition ${r.partition} no longer exists`);
  }
}
