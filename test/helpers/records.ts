/**
 * Test records and the one check every produce → consume test makes: what the consumer read is
 * exactly what the producer sent, partition by partition, in order, at offsets 0, 1, 2, ...
 */
import type { KcatRecord } from './kcat.js';
import { kcatHeaderPairs } from './kcat.js';
import type { DeliveryResult, ProduceRecord } from './py-clients.js';

export type Header = [string, string | null];

/** What a consumer read, normalized across clients. */
export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Header[];
  timestamp?: number;
}

export interface MakeRecordsOptions {
  count: number;
  /** Distinguishes runs; part of every value, so values are unique across producers. */
  tag: string;
  /** Set → record i goes to partition i % partitions; unset → the client partitions by key. */
  explicitPartitions?: number;
  /** How many distinct keys (keys repeat, so hashing must be consistent); default 97. */
  distinctKeys?: number;
  /** Default: per-record headers, including a repeated name and an empty value. */
  headers?: (i: number) => Header[];
}

/** Values embed the index (`<tag>:<i>:`) so a read record can be traced back to what was sent. */
export function makeRecords(o: MakeRecordsOptions): ProduceRecord[] {
  const keys = o.distinctKeys ?? 97;
  const records: ProduceRecord[] = [];
  for (let i = 0; i < o.count; i++) {
    const rec: ProduceRecord = {
      key: `key-${i % keys}`,
      // Some bulk so batches span several KB; deterministic so a mismatch is easy to read.
      value: `${o.tag}:${i}:${'abcdefghijklmnopqrstuvwxyz'.repeat(1 + (i % 3))}`,
      headers: o.headers ? o.headers(i) : [
        ['idx', String(i)],
        ['tag', o.tag],
        ['tag', 'repeated-name'],
        ['empty', ''],
      ],
    };
    if (o.explicitPartitions !== undefined) rec.partition = i % o.explicitPartitions;
    records.push(rec);
  }
  return records;
}

/** Index of the record a value was made from by makeRecords, or -1. */
export function indexOfValue(tag: string, value: string | null): number {
  if (value === null || !value.startsWith(`${tag}:`)) return -1;
  const n = Number(value.slice(tag.length + 1, value.indexOf(':', tag.length + 1)));
  return Number.isInteger(n) ? n : -1;
}

export function fromKcat(records: KcatRecord[]): ReadRecord[] {
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset,
    key: r.key,
    value: r.payload,
    headers: kcatHeaderPairs(r),
    ...(r.ts === undefined ? {} : { timestamp: r.ts }),
  }));
}

export interface VerifyOptions {
  /** What was sent, in send order; values made by makeRecords with `tag`. */
  sent: ProduceRecord[];
  tag: string;
  read: ReadRecord[];
  partitions: number;
  /** The producer's delivery reports, index-aligned with `sent`; each must match where the record was read. */
  delivered?: Array<DeliveryResult | null>;
  /** The headers the producer really attached, when it cannot send per-record ones (kcat). */
  expectedHeaders?: (i: number) => Header[];
}

const MAX_PROBLEMS = 10;

/**
 * Returns the problems found (empty when all is well), at most a few of each kind, so a failing
 * assert.deepEqual(problems, []) prints something readable instead of 10 000 records.
 */
export function verifyRead(o: VerifyOptions): string[] {
  const problems: string[] = [];
  const add = (p: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  if (o.read.length !== o.sent.length) add(`read ${o.read.length} records, sent ${o.sent.length}`);

  const byPartition = new Map<number, ReadRecord[]>();
  for (const r of o.read) {
    if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= o.partitions) {
      add(`record at partition ${r.partition} offset ${r.offset}: no such partition`);
      continue;
    }
    let list = byPartition.get(r.partition);
    if (!list) byPartition.set(r.partition, (list = []));
    list.push(r);
  }

  const seen = new Map<number, ReadRecord>();
  const partitionOfKey = new Map<string | null, number>();
  for (const [partition, list] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
    let lastIndex = -1;
    list.forEach((r, pos) => {
      if (r.offset !== pos) add(`partition ${partition}: record #${pos} read has offset ${r.offset}, want ${pos} (offsets must start at 0 and be contiguous, in order)`);
      const i = indexOfValue(o.tag, r.value);
      if (i < 0 || i >= o.sent.length) {
        add(`partition ${partition} offset ${r.offset}: value ${JSON.stringify(r.value?.slice(0, 80))} was never sent`);
        return;
      }
      const dup = seen.get(i);
      if (dup) {
        add(`record ${i} read twice: at ${dup.partition}/${dup.offset} and ${partition}/${r.offset}`);
        return;
      }
      seen.set(i, r);
      if (i <= lastIndex) add(`partition ${partition} offset ${r.offset}: record ${i} read after record ${lastIndex} (send order broken)`);
      lastIndex = Math.max(lastIndex, i);

      const want = o.sent[i]!;
      if (r.value !== want.value) add(`record ${i}: value ${JSON.stringify(r.value)} != sent ${JSON.stringify(want.value)}`);
      if (r.key !== want.key) add(`record ${i} at ${partition}/${r.offset}: key ${JSON.stringify(r.key)} != sent ${JSON.stringify(want.key)}`);
      const wantHeaders = o.expectedHeaders ? o.expectedHeaders(i) : (want.headers ?? []);
      if (JSON.stringify(r.headers) !== JSON.stringify(wantHeaders)) {
        add(`record ${i} at ${partition}/${r.offset}: headers ${JSON.stringify(r.headers)} != sent ${JSON.stringify(wantHeaders)}`);
      }
      if (want.partition !== undefined && want.partition !== partition) {
        add(`record ${i}: read from partition ${partition}, sent to ${want.partition}`);
      }
      if (want.partition === undefined) {
        const p = partitionOfKey.get(want.key);
        if (p === undefined) partitionOfKey.set(want.key, partition);
        else if (p !== partition) add(`key ${want.key} is in partitions ${p} and ${partition} (key hashing must be consistent)`);
      }
      const d = o.delivered?.[i];
      if (o.delivered && (d?.partition !== partition || d?.offset !== r.offset)) {
        add(`record ${i}: read at ${partition}/${r.offset}, producer was told ${JSON.stringify(d)}`);
      }
    });
  }
  const missing = o.sent.length - seen.size;
  if (missing > 0) {
    const firstMissing = o.sent.findIndex((_, i) => !seen.has(i));
    add(`${missing} sent records never read (first: record ${firstMissing})`);
  }
  return problems;
}

/** Problems in a producer's delivery reports: any error, any missing report. */
export function deliveryProblems(delivered: Array<DeliveryResult | null>, expectedCount: number): string[] {
  const problems: string[] = [];
  if (delivered.length !== expectedCount) problems.push(`${delivered.length} delivery reports for ${expectedCount} records`);
  delivered.forEach((d, i) => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (d === null) problems.push(`record ${i}: no delivery report`);
    else if (d.error) problems.push(`record ${i}: ${d.error.name}: ${d.error.str}`);
  });
  return problems;
}
