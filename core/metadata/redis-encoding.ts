/**
 * How the Redis store's values are written as strings, the TypeScript half (the Lua half is in
 * lua/prelude.lua and lua/commit-flush.lua; change both together). Plain delimited strings, not
 * JSON: Lua's cjson writes numbers with 14 significant digits, which would corrupt offsets and
 * timestamps beyond 10^14, and these strings are parsed on every read of the index.
 */
import { WeirError } from '../errors.js';
import type { CommittedOffset, OffsetCommitEntry } from './group-offset-store.js';
import type { IndexEntry, TopicInfo } from './metadata-store.js';
import type { ProducerPartitionState } from './producer-state-store.js';
import { decodeMirrorState } from './mirror-runs.js';

const ENTRY = /^(-?\d+)\|(-?\d+)\|(-?\d+)\|(-?\d+)\|(\d+)\|(\d+)\|(.*)$/s;

/** An index sorted-set member: "base|last|maxts|runmax|byteStart|byteLength|objectKey". */
export function decodeIndexEntry(member: string): IndexEntry {
  const m = ENTRY.exec(member);
  if (m === null) throw new WeirError('corrupt', `malformed index entry ${JSON.stringify(member)}`);
  return { baseOffset: Number(m[1]), lastOffset: Number(m[2]), maxTimestamp: Number(m[3]), objectKey: m[7]!, byteStart: Number(m[5]), byteLength: Number(m[6]) };
}

/** A producer's state on a partition: "epoch;first,last,base,count,maxts;..." (oldest batch first). */
export function decodeProducerState(value: string): ProducerPartitionState {
  const [epoch, ...batches] = value.split(';');
  return {
    producerEpoch: Number(epoch),
    batches: batches.map((b) => {
      const [firstSequence, lastSequence, baseOffset, offsetCount, maxTimestamp] = b.split(',').map(Number) as [number, number, number, number, number];
      return { firstSequence, lastSequence, baseOffset, offsetCount, maxTimestamp };
    }),
  };
}

/** A committed offset: "offset|leaderEpoch|commitTimestampMs|" then '-' (null metadata) or '+' and the metadata. */
export function encodeGroupOffset(e: OffsetCommitEntry): string {
  return `${e.offset}|${e.leaderEpoch}|${e.commitTimestampMs}|${e.metadata === null ? '-' : `+${e.metadata}`}`;
}

export function decodeGroupOffset(topic: string, partition: number, value: string): CommittedOffset {
  const m = /^(-?\d+)\|(-?\d+)\|(-?\d+)\|([-+])(.*)$/s.exec(value);
  if (m === null) throw new WeirError('corrupt', `malformed committed offset ${JSON.stringify(value)}`);
  return { topic, partition, offset: Number(m[1]), leaderEpoch: Number(m[2]), metadata: m[4] === '-' ? null : m[5]!, commitTimestampMs: Number(m[3]) };
}

/** A topic hash as a flat HGETALL reply (as the scripts return it), or null if it is empty. */
export function decodeTopic(name: string, flat: string[] | Record<string, string>): TopicInfo | null {
  const f: Record<string, string> = Array.isArray(flat) ? Object.fromEntries(pairs(flat)) : flat;
  if (f['id'] === undefined) return null;
  const configs = JSON.parse(f['configs'] ?? '{}') as Record<string, string>;
  const topic: TopicInfo = {
    name,
    id: f['id'],
    partitions: Number(f['partitions']),
    // Sorted: a script's cjson writes keys in hash order.
    configs: Object.fromEntries(Object.entries(configs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    createdAtMs: Number(f['created']),
  };
  // Mirror topics (mirror-topic.lua) carry their state in the field `mirror`.
  const mirror = decodeMirrorState(f['mirror']);
  if (mirror !== undefined) topic.mirror = mirror;
  return topic;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
