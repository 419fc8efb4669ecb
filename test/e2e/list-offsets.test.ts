/**
 * ListOffsets: earliest, latest, and by timestamp (the first offset whose timestamp is >= the
 * one asked; none when every record is older), as kafka-python, confluent-kafka-python and kcat
 * ask for them. Records carry producer-set timestamps, in several batches, including a batch whose
 * timestamps are out of order. This file runs the agent at its default linger (250 ms).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { runKcat } from '../helpers/kcat.js';
import { createTopics } from '../helpers/kafkajs.js';
import { confluentOffsets, confluentProduce, kafkaPythonOffsets, kafkaPythonProduce, type ProduceRecord } from '../helpers/py-clients.js';
import { deliveryProblems } from '../helpers/records.js';

const TOPIC = 'lo-times';
// Recent, so no time-based retention can touch the records; whole seconds for readable offsets.
const BASE = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

/** Partition 0: offset i has timestamp BASE + i s, offsets 0-9 and 10-19 from two clients. */
const P0 = Array.from({ length: 20 }, (_, i) => BASE + i * 1000);
/** Partition 1 stays empty. Partition 2: one batch, timestamps out of order. */
const P2 = [BASE + 5000, BASE + 1000, BASE + 3000];

/** The timestamps asked about, and the answer per partition (null: no such record). */
const QUERIES: Array<{ ts: number; expect: [number | null, number | null, number | null] }> = [
  { ts: BASE - 1, expect: [0, null, 0] },
  { ts: BASE, expect: [0, null, 0] },
  { ts: BASE + 1, expect: [1, null, 0] },
  { ts: BASE + 2500, expect: [3, null, 0] },
  { ts: BASE + 4000, expect: [4, null, 0] },
  { ts: BASE + 5001, expect: [6, null, null] },
  { ts: BASE + 9000, expect: [9, null, null] },
  { ts: BASE + 9001, expect: [10, null, null] },
  { ts: BASE + 19000, expect: [19, null, null] },
  { ts: BASE + 19001, expect: [null, null, null] },
];

/** Timestamp of the record at an offset, for checking the timestamp ListOffsets returns. */
function timestampAt(partition: number, offset: number): number {
  return partition === 0 ? P0[offset]! : P2[offset]!;
}

let agent: Agent;

before(async () => {
  agent = await startAgent();
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: 3 }]);
  const rec = (partition: number, i: number, ts: number): ProduceRecord => ({
    key: `k${i}`,
    value: `p${partition}-${i}`,
    partition,
    timestamp: ts,
  });
  // A longer client linger puts each run's records in one batch.
  const first = await confluentProduce({
    bootstrap: agent.bootstrap,
    topic: TOPIC,
    records: P0.slice(0, 10).map((ts, i) => rec(0, i, ts)),
    config: { 'linger.ms': 50 },
  });
  assert.deepEqual(deliveryProblems(first.results, 10), []);
  const second = await kafkaPythonProduce({
    bootstrap: agent.bootstrap,
    topic: TOPIC,
    records: P0.slice(10).map((ts, i) => rec(0, i + 10, ts)),
    config: { linger_ms: 50 },
  });
  assert.deepEqual(deliveryProblems(second.results, 10), []);
  const third = await confluentProduce({
    bootstrap: agent.bootstrap,
    topic: TOPIC,
    records: P2.map((ts, i) => rec(2, i, ts)),
    config: { 'linger.ms': 50 },
  });
  assert.deepEqual(deliveryProblems(third.results, 3), []);
  assert.deepEqual(
    [...first.results, ...second.results, ...third.results].map((r) => [r?.partition, r?.offset, r?.timestamp]),
    [
      ...P0.map((ts, i) => [0, i, ts]),
      ...P2.map((ts, i) => [2, i, ts]),
    ],
    'delivery reports: partition, offset, create timestamp',
  );
});
after(stopAllAgents);

describe('ListOffsets', () => {
  it('kafka-python: beginning_offsets, end_offsets and offsets_for_times', async () => {
    const r = await kafkaPythonOffsets({ bootstrap: agent.bootstrap, topic: TOPIC, timestamps: QUERIES.map((q) => q.ts) });
    assert.deepEqual(r.partitions, [0, 1, 2]);
    assert.deepEqual(r.beginning, { 0: 0, 1: 0, 2: 0 });
    assert.deepEqual(r.end, { 0: P0.length, 1: 0, 2: P2.length });
    QUERIES.forEach((q, n) => {
      const want = Object.fromEntries(
        q.expect.map((offset, partition) => [String(partition), offset === null ? null : { offset, timestamp: timestampAt(partition, offset) }]),
      );
      assert.deepEqual(r.forTimes[n], want, `offsets_for_times(BASE + ${q.ts - BASE} ms)`);
    });
  });

  it('confluent-kafka-python: get_watermark_offsets and offsets_for_times', async () => {
    const r = await confluentOffsets({ bootstrap: agent.bootstrap, topic: TOPIC, timestamps: QUERIES.map((q) => q.ts) });
    assert.deepEqual(r.partitions, [0, 1, 2]);
    assert.deepEqual(r.watermarks, {
      0: { low: 0, high: P0.length },
      1: { low: 0, high: 0 },
      2: { low: 0, high: P2.length },
    });
    QUERIES.forEach((q, n) => {
      // librdkafka reports "no such offset" as -1 (OFFSET_END).
      const want = Object.fromEntries(q.expect.map((offset, partition) => [String(partition), { offset: offset ?? -1, error: null }]));
      assert.deepEqual(r.forTimes[n], want, `offsets_for_times(BASE + ${q.ts - BASE} ms)`);
    });
  });

  it('kcat -Q: offset for a timestamp', async () => {
    for (const q of QUERIES) {
      const args = ['-Q', '-b', agent.bootstrap, '-J', '-t', `${TOPIC}:0:${q.ts}`, '-t', `${TOPIC}:2:${q.ts}`];
      const r = await runKcat(args);
      assert.equal(r.code, 0, `kcat ${args.join(' ')}\n${r.stderr}`);
      const out = JSON.parse(r.stdout) as Record<string, Record<string, { partition: number; offset: number; error?: string }>>;
      const t = out[TOPIC]!;
      assert.deepEqual(
        [t['0']?.offset, t['2']?.offset],
        [q.expect[0] ?? -1, q.expect[2] ?? -1],
        `kcat -Q at BASE + ${q.ts - BASE} ms: ${r.stdout}`,
      );
    }
  });
});
