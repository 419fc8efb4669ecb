/**
 * Fetch — serves v4–v16 (v4 brings LastStableOffset; v13+ names topics by id).
 *
 * Reads whole batches from the offset asked, honouring the per-partition and per-response byte
 * limits; the first batch of the response is returned even when it is larger (KIP-74) so
 * consumers always progress. A fetch offset inside a batch returns that whole batch (clients skip
 * the records before their offset). When fewer than minBytes are available it long-polls up to
 * maxWaitMs (capped by --fetch-wait-max-ms), woken by commits on its partitions.
 * Fetch sessions (KIP-227) are not kept: every response has sessionId 0, which tells clients to
 * send full fetch requests. There are no transactions yet, so LastStableOffset = HighWatermark
 * and read_committed sees the same records as read_uncommitted.
 * Errors per partition: UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID, OFFSET_OUT_OF_RANGE,
 * KAFKA_STORAGE_ERROR when the object store fails.
 * Bounded, whatever the stores do: the topic lookups, and each read pass over the partitions,
 * get one deadline of LogReader.readTimeoutMs (10 s) for all their waits on the metadata and
 * object stores; a partition still waiting then fails with KAFKA_STORAGE_ERROR (retriable). So a
 * Fetch answers by its max wait plus those bounds, never later: a Fetch that never answered would
 * hold every later response of its connection (they go out in request order).
 */
import { Fetch } from '../../core/protocol/generated/index.js';
import type { TopicInfo } from '../../core/metadata/metadata-store.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { Deadline } from '../read-path/deadline.js';

const EMPTY: Buffer[] = [];

interface Wanted {
  topicKey: string;
  topic: TopicInfo | null;
  /** Set when looking the topic up failed (the metadata store is down or stuck): every partition gets it. */
  lookupErrorCode?: number;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: null;
  preferredReadReplica: number;
  records: Buffer[];
}

async function readOnce(wanted: Wanted[], maxBytes: number, ctx: RequestContext): Promise<{ results: PartitionResult[]; bytes: number; anyError: boolean }> {
  const { agent } = ctx;
  const results: PartitionResult[] = [];
  let bytes = 0;
  let anyError = false;
  // One bound for the whole pass: partitions are read one after another (the byte budget is
  // shared), so per-partition bounds would add up.
  const deadline = Deadline.in(agent.reader.readTimeoutMs);
  try {
    for (const w of wanted) {
      const base = { partitionIndex: w.partition, abortedTransactions: null, preferredReadReplica: -1, records: EMPTY };
      if (w.lookupErrorCode !== undefined) {
        anyError = true;
        results.push({ ...base, errorCode: w.lookupErrorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n });
        continue;
      }
      if (!w.topic || w.partition < 0 || w.partition >= w.topic.partitions) {
        anyError = true;
        results.push({ ...base, errorCode: ctx.apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n });
        continue;
      }
      try {
        const state = await deadline.race(agent.partitionStates.get(w.topic.name, w.partition), () => `partition state of ${w.topic!.name}-${w.partition}`);
        if (!state) throw Object.assign(new Error('partition vanished'), { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        const hw = BigInt(state.highWatermark);
        const lso = BigInt(state.logStartOffset);
        if (w.fetchOffset < state.logStartOffset || w.fetchOffset > state.highWatermark) {
          anyError = true;
          results.push({ ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: hw, lastStableOffset: hw, logStartOffset: lso });
          continue;
        }
        const budget = Math.min(w.partitionMaxBytes, Math.max(0, maxBytes - bytes));
        let records: Buffer[] = EMPTY;
        if (w.fetchOffset < state.highWatermark && (budget > 0 || bytes === 0)) {
          const read = await agent.reader.read(w.topic.name, w.partition, w.fetchOffset, budget, bytes === 0, state.highWatermark, deadline);
          // Pieces go to the encoder by reference; the connection writes them without a copy.
          records = read.records;
          bytes += read.sizeBytes;
        }
        results.push({ ...base, errorCode: ErrorCode.NONE, highWatermark: hw, lastStableOffset: hw, logStartOffset: lso, records });
      } catch (e) {
        anyError = true;
        const code = (e as { code?: number }).code ?? errorCodeOf(e);
        agent.log('warn', `fetch ${w.topicKey}-${w.partition} failed: ${(e as Error).message}`);
        results.push({ ...base, errorCode: typeof code === 'number' ? code : ErrorCode.KAFKA_STORAGE_ERROR, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n });
      }
    }
  } finally {
    deadline.clear();
  }
  return { results, bytes, anyError };
}

export const fetchHandler = defineHandler({
  api: Fetch,
  minVersion: 4,
  maxVersion: 16,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const byId = apiVersion >= 13;
    const wanted: Wanted[] = [];
    const order: { key: string; topicId: string; name: string; count: number }[] = [];
    // Topic lookups are bounded like reads: a stuck metadata store must not hold the connection.
    const lookups = Deadline.in(agent.reader.readTimeoutMs);
    for (const t of req.topics) {
      const key = byId ? t.topicId : t.topic;
      let topic: TopicInfo | null = null;
      let lookupErrorCode: number | undefined;
      try {
        topic = await lookups.race(byId ? agent.topics.getById(t.topicId) : agent.topics.get(t.topic), () => `lookup of topic ${key}`);
      } catch (e) {
        agent.log('warn', `fetch ${key} failed: ${(e as Error).message}`);
        lookupErrorCode = errorCodeOf(e) === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : errorCodeOf(e);
      }
      order.push({ key, topicId: t.topicId, name: t.topic, count: t.partitions.length });
      for (const p of t.partitions) {
        const w: Wanted = { topicKey: key, topic, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: Math.max(0, p.partitionMaxBytes) };
        if (lookupErrorCode !== undefined) w.lookupErrorCode = lookupErrorCode;
        wanted.push(w);
      }
    }
    lookups.clear();
    const maxBytes = req.maxBytes > 0 ? req.maxBytes : 0x7fffffff;
    const deadline = Date.now() + Math.min(Math.max(0, req.maxWaitMs), agent.config.fetchWaitMaxMs);
    const parts = wanted.filter((w) => w.topic).map((w) => ({ topic: w.topic!.name, partition: w.partition }));
    // Taken before reading, so a commit that lands while we read still wakes the wait below.
    let seen = agent.waiters.sequence;
    let r = await readOnce(wanted, maxBytes, ctx);
    // Long poll: park until a commit on one of our partitions, the deadline, or the connection closes.
    while (r.bytes < req.minBytes && !r.anyError && parts.length > 0 && !ctx.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const woken = await agent.waiters.wait(parts, left, ctx.signal, seen);
      if (!woken) break;
      seen = agent.waiters.sequence;
      r = await readOnce(wanted, maxBytes, ctx);
    }
    let i = 0;
    const responses = order.map((o) => {
      const partitions = r.results.slice(i, i + o.count);
      i += o.count;
      return { topic: o.name, topicId: o.topicId, partitions };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
  },
});
