/**
 * WeirMirrorWrite (Weir's own API, key 10000, weir-specs/) — serves v0.
 *
 * The mirror's write path (connectors/mirror/): record batches committed at the offsets they
 * carry, the source cluster's, with the source's gaps kept (compaction, transaction markers,
 * DeleteRecords). Batches are stored as sent, timestamps included (LogAppendTime batches keep the
 * source's append time); each is checked for framing, magic 2 and CRC-32C, and a partition's
 * batches must come in increasing, non-overlapping offset order (CRC-checked once, here, on
 * receipt; the records are then stored by reference, never copied). A request's partitions are
 * appended together into a flusher of its own (a flush holds either producers' appends or the
 * mirror's; many partitions per object, 250 ms / 8 MiB as for producers, a large request at once:
 * MIRROR_FLUSH_NOW_BYTES) and answered once committed, with the high watermark.
 *
 * Commit rules (core/metadata/mirror-runs.ts): a batch at or above the high watermark is
 * appended there; a batch whose offsets are all committed already (a re-send after a lost answer)
 * is acknowledged without being stored again; any other overlap is OFFSET_OUT_OF_RANGE, as is a
 * partition with batches out of order.
 *
 * Who may write: only a client presenting the agent's mirror token (--mirror-token; without one
 * the API refuses everything) gets CLUSTER_AUTHORIZATION_FAILED otherwise; and only into topics
 * the mirror created (WeirMirrorTopics) and that are not promoted, else POLICY_VIOLATION. The store
 * checks the topic's state again inside the commit, so a promotion racing a write wins.
 * Other errors per partition: UNKNOWN_TOPIC_ID (no topic with that name and id),
 * UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE, UNSUPPORTED_FOR_MESSAGE_FORMAT, INVALID_RECORD,
 * KAFKA_STORAGE_ERROR (retriable: the mirror re-reads the high watermark and resends).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isWeirError, WeirError } from '../../core/errors.js';
import type { OffsetRun } from '../../core/metadata/metadata-store.js';
import { MIRROR_RUNS_MAX } from '../../core/metadata/mirror-runs.js';
import { WeirMirrorWrite } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import type { AgentContext } from '../agent-context.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { Flusher, type AppendInput } from '../write-path/flusher.js';

/**
 * A mirror request carrying at least this many bytes is a bulk copy's: flushed at once, with
 * whatever else is pending, and kept out of the log cache. Smaller ones wait for the producers'
 * linger (--linger-ms) or flushBytes, like produce requests, and are cached.
 * A bulk copy sends requests of several MiB (a fetch's worth of several partitions): such a
 * request amortizes an object's PUT and commit on its own, and waiting would only stall the copy;
 * its records are history nobody tails, and caching them would evict producers' hot tails and
 * keep every request frame alive (each new frame then costs fresh memory: measured, most of the
 * target agent's CPU per GiB; docs/benchmarks.md). A caught-up mirror sends many small requests
 * (its fetches return what just arrived): those are gathered, many partitions per object, so the
 * tail costs no more PUTs and commits per second than producers do, and cached for consumers
 * tailing the mirror topic.
 */
export const MIRROR_FLUSH_NOW_BYTES = 1024 * 1024;

/** Why a mirror request is not authorized, or null. Compares digests in constant time. */
export function mirrorTokenError(agent: AgentContext, token: string): string | null {
  const expected = agent.config.mirrorToken;
  if (expected === undefined) return 'mirror writes are disabled on this agent: start it with --mirror-token (WEIR_MIRROR_TOKEN)';
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(token), digest(expected)) ? null : 'wrong mirror token';
}

const mirrorFlushers = new WeakMap<AgentContext, Flusher>();

/** The agent's flusher for mirror writes, made on first use with the same bounds as the producers'. */
function mirrorFlusher(agent: AgentContext): Flusher {
  let f = mirrorFlushers.get(agent);
  if (f === undefined) {
    f = new Flusher(agent.objects, agent.metadata, agent.cache, {
      agentId: `${agent.config.nodeId}-mirror-${Math.random().toString(16).slice(2, 10)}`,
      lingerMs: agent.config.lingerMs,
      flushBytes: agent.config.flushBytes,
      pendingBytesMax: agent.config.pendingBytesMax,
      flushesInFlightMax: agent.config.flushesInFlightMax,
      // As the producers' flusher: wake long polls here and on the other agents.
      onCommitted: (parts) => {
        for (const p of parts) {
          agent.partitionStates.advance(p.topic, p.partition, p.highWatermark);
          agent.waiters.notify(p.topic, p.partition);
        }
        agent.cluster.publishCommitted(parts);
      },
      log: agent.log,
    });
    mirrorFlushers.set(agent, f);
  }
  return f;
}

/** Splits a partition's batches into runs of consecutive offsets; throws on disorder or overlap. */
export function runsOf(records: Buffer): { runs: OffsetRun[]; offsetCount: number; maxTimestamp: number } {
  if (records.length === 0) throw new WeirError('corrupt', 'empty record set');
  // Compacted sources hold batches with fewer records than offsets, and empty ones.
  const batches = scanBatches(records, { allowCompacted: true });
  const runs: OffsetRun[] = [];
  let next = -1;
  let offsetCount = 0;
  let maxTimestamp = -1;
  for (const b of batches) {
    const base = Number(b.baseOffset);
    if (!Number.isSafeInteger(base) || base < 0) throw new WeirError('invalid_argument', `batch at byte ${b.position} has base offset ${b.baseOffset}`);
    if (base < next) throw new WeirError('offset_out_of_range', `batch at byte ${b.position} starts at offset ${base}, before the end of the batch before it (${next})`);
    const count = b.lastOffsetDelta + 1;
    const last = runs[runs.length - 1];
    if (last !== undefined && base === next) {
      last.offsetCount += count;
      last.byteLength += b.sizeBytes;
      last.maxTimestamp = Math.max(last.maxTimestamp, b.maxTimestamp);
    } else {
      if (runs.length >= MIRROR_RUNS_MAX) throw new WeirError('too_large', `more than ${MIRROR_RUNS_MAX} runs of offsets in one partition's records`);
      runs.push({ baseOffset: base, offsetCount: count, byteLength: b.sizeBytes, maxTimestamp: b.maxTimestamp });
    }
    next = base + count;
    offsetCount += count;
    maxTimestamp = Math.max(maxTimestamp, b.maxTimestamp);
  }
  return { runs, offsetCount, maxTimestamp };
}

function codeOf(e: unknown): number {
  if (isWeirError(e, 'unsupported')) return ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
  // From the commit, the only per-chunk invalid_argument is a topic that stopped being mirrored.
  if (isWeirError(e, 'invalid_argument')) return ErrorCode.POLICY_VIOLATION;
  if (isWeirError(e, 'conflict') || isWeirError(e, 'offset_out_of_range')) return ErrorCode.OFFSET_OUT_OF_RANGE;
  if (isWeirError(e, 'too_large')) return ErrorCode.RECORD_LIST_TOO_LARGE;
  return errorCodeOf(e);
}

interface PartitionAnswer {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
  highWatermark: bigint;
  logStartOffset: bigint;
}

export const weirMirrorWriteHandler = defineHandler({
  api: WeirMirrorWrite,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { agent } = ctx;
    const failed = (partitionIndex: number, errorCode: number, errorMessage: string | null): PartitionAnswer => ({
      partitionIndex,
      errorCode,
      errorMessage,
      highWatermark: -1n,
      logStartOffset: -1n,
    });
    const refusal = mirrorTokenError(agent, req.token);
    if (refusal !== null) {
      agent.log('warn', `refused WeirMirrorWrite from ${ctx.peer}: ${refusal}`);
      return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => failed(p.partitionIndex, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, refusal)) })) };
    }
    const flusher = mirrorFlusher(agent);
    // First every check (topic lookups, CRCs), then all the request's appends in one go, so its
    // partitions land in the same flush, and a large request is flushed without lingering.
    const checked = await Promise.all(
      req.topics.map(async (t) => {
        const topic = await agent.topics.get(t.name).catch(() => null);
        const partitions = t.partitions.map((p): PartitionAnswer | { input: AppendInput } => {
          if (!topic || topic.id !== t.topicId) return failed(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_ID, `no topic ${t.name} with id ${t.topicId}`);
          if (p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) return failed(p.partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
          if (topic.mirror?.state !== 'mirroring') {
            const why = topic.mirror === undefined ? `topic ${t.name} is not a mirror topic` : `topic ${t.name} was promoted`;
            return failed(p.partitionIndex, ErrorCode.POLICY_VIOLATION, `${why}: mirror writes go only to topics being mirrored`);
          }
          if (!p.records) return failed(p.partitionIndex, ErrorCode.CORRUPT_MESSAGE, 'null record set');
          let split: ReturnType<typeof runsOf>;
          try {
            split = runsOf(p.records);
          } catch (e) {
            return failed(p.partitionIndex, isWeirError(e, 'invalid_argument') ? ErrorCode.INVALID_RECORD : codeOf(e), errorMessageOf(e));
          }
          return {
            input: { topic: topic.name, topicId: topic.id, partition: p.partitionIndex, records: p.records, offsetCount: split.offsetCount, maxTimestamp: split.maxTimestamp, runs: split.runs },
          };
        });
        return { name: t.name, partitions };
      }),
    );
    let bytes = 0;
    for (const t of checked) for (const c of t.partitions) if ('input' in c) bytes += c.input.records.length;
    // A bulk copy's request: flushed at once, and kept out of the log cache (AppendInput.uncached).
    const bulk = bytes >= MIRROR_FLUSH_NOW_BYTES;
    const answers = checked.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((c): Promise<PartitionAnswer> => {
        if (!('input' in c)) return Promise.resolve(c);
        if (bulk) c.input.uncached = true;
        return flusher.append(c.input).then(
          (r) => ({ partitionIndex: c.input.partition, errorCode: ErrorCode.NONE, errorMessage: null, highWatermark: BigInt(r.highWatermark ?? -1), logStartOffset: BigInt(r.logStartOffset) }),
          (e: unknown) => failed(c.input.partition, codeOf(e), errorMessageOf(e)),
        );
      }),
    }));
    if (bulk) flusher.flushNow();
    const topics = await Promise.all(answers.map(async (t) => ({ name: t.name, partitions: await Promise.all(t.partitions) })));
    return { throttleTimeMs: 0, topics };
  },
});
