/**
 * ListOffsets — serves v1–v9.
 *
 * Timestamp -2 (earliest) → log start offset; -1 (latest) → high watermark; -3 (max timestamp,
 * KIP-734) → the offset and timestamp of the record with the largest timestamp; -4 (earliest
 * local, KIP-405) → log start offset, as all of Weir's log is "local"; a timestamp t >= 0 → the
 * first offset whose record timestamp is >= t, or offset -1 when there is none. Timestamp
 * look-ups find the candidate batch range in the metadata index by max timestamp, then decode
 * only those batches to get the exact record. No transactions yet: read_committed is the same.
 */
import type { IndexEntry } from '../../core/metadata/metadata-store.js';
import { ListOffsets } from '../../core/protocol/generated/index.js';
import { scanBatches } from '../../core/records/batch.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import type { AgentContext } from '../agent-context.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const EARLIEST = -2n;
const LATEST = -1n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;

/** The first record in the entry (at or after minOffset) matching `pick`, decoded on demand. */
async function findInEntry(agent: AgentContext, entry: IndexEntry, minOffset: number, pick: (ts: number, batchMax: number) => boolean): Promise<{ offset: number; timestamp: number } | null> {
  const buf = await agent.reader.entryBytes(entry);
  for (const b of scanBatches(buf, { verifyCrc: false, allowCompacted: true })) {
    if (!pick(b.maxTimestamp, b.maxTimestamp)) continue;
    const records = await decodeBatchRecords(buf.subarray(b.position, b.position + b.sizeBytes), { ...b, position: 0 });
    for (const r of records) {
      const offset = Number(r.offset);
      if (offset >= minOffset && pick(r.timestamp, b.maxTimestamp)) return { offset, timestamp: r.timestamp };
    }
  }
  return null;
}

export const listOffsetsHandler = defineHandler({
  api: ListOffsets,
  minVersion: 1,
  maxVersion: 9,
  async handle(req, ctx) {
    const { agent } = ctx;
    const topics = await Promise.all(
      req.topics.map(async (t) => {
        const topic = await agent.topics.get(t.name);
        const partitions = await Promise.all(
          t.partitions.map(async (p) => {
            const out = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: 0 };
            if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            try {
              // The acknowledged state (the store may hold a commit whose sync is still running).
              const state = await agent.partitionStates.get(topic.name, p.partitionIndex);
              if (!state) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
              const ts = p.timestamp;
              if (ts === EARLIEST || ts === EARLIEST_LOCAL) return { ...out, offset: BigInt(state.logStartOffset) };
              if (ts === LATEST) return { ...out, offset: BigInt(state.highWatermark) };
              if (ts === MAX_TIMESTAMP) {
                const entry = await agent.metadata.findMaxTimestamp(topic.name, p.partitionIndex);
                if (!entry) return out;
                const hit = await findInEntry(agent, entry, state.logStartOffset, (rts) => rts === entry.maxTimestamp);
                return hit ? { ...out, offset: BigInt(hit.offset), timestamp: BigInt(hit.timestamp) } : out;
              }
              if (ts < 0n) return { ...out, errorCode: ErrorCode.INVALID_REQUEST };
              const target = Number(ts);
              // The entry's max timestamp guarantees a matching record inside it, unless that record
              // sits before the log start (DeleteRecords cut the entry); then walk forward.
              let entry = await agent.metadata.findByTimestamp(topic.name, p.partitionIndex, target);
              while (entry) {
                if (entry.maxTimestamp >= target) {
                  const hit = await findInEntry(agent, entry, state.logStartOffset, (rts) => rts >= target);
                  if (hit) return { ...out, offset: BigInt(hit.offset), timestamp: BigInt(hit.timestamp) };
                }
                entry = (await agent.metadata.readIndex(topic.name, p.partitionIndex, entry.lastOffset + 1, 1))[0] ?? null;
              }
              return out;
            } catch (e) {
              return { ...out, errorCode: errorCodeOf(e) };
            }
          }),
        );
        return { name: t.name, partitions };
      }),
    );
    return { throttleTimeMs: 0, topics };
  },
});
