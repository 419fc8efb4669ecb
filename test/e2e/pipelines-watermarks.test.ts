/**
 * Watermarks across a keyBy in `weir run` (a real agent, a real child process): the upstream
 * tasks write watermark marks to every partition of the repartition topic, so a downstream
 * partition that (almost) no key hashes to still closes its windows. Here every key but one
 * hashes to repartition partition 0; the one other key has a single early event on partition 2,
 * and nothing at all goes to partition 1. Partition 2's window can only close through the marks:
 * from its own records its event time never passes that one event (Kafka Streams' stream time),
 * so without marks this test times out waiting for that window.
 *
 * It also checks the marks as written: null key and value, the weir.watermark header, on every
 * partition, never carrying the repartition dedup headers (weir.up/weir.seq number data records
 * only, so a replay renumbers nothing), and per writer and partition only when the watermark
 * advanced or the writer's idleness changed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Fetcher, KafkaClient, partitionForKey, type ProducedRecord } from '../../core/client/index.js';
import type { KafkaRecord } from '../../core/records/records.js';
import { WATERMARK_HEADER } from '../../pipelines/core/contracts.js';
import { decodeWatermarkMark } from '../../pipelines/task/watermark-marks.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { SKEW_REPARTITIONS, SKEW_WINDOW_MS } from './pipelines-skew-pipeline.js';
import { emittedCounts, produce, readTopic, until, WC_BASE_MS, weirRun } from './pipelines-support.js';

const REPARTITION_TOPIC = 'wm-skew-repartition-1';
let agent: Agent;
let client: KafkaClient;
let dataDir: string;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'watermarks-test' });
  dataDir = mkdtempSync(join(tmpdir(), 'weir-pipeline-watermarks-'));
});
after(async () => {
  await client?.close();
  await stopAllAgents();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Keys whose murmur2 partition among the repartition topic's partitions is `p`. */
function keysOn(p: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (partitionForKey(Buffer.from(`key${i}`), SKEW_REPARTITIONS) === p) out.push(`key${i}`);
  return out;
}

async function readAll(topic: string): Promise<(KafkaRecord & { partition: number })[]> {
  const partitions = (await client.topic(topic, true)).partitions.map((p) => p.partition);
  const ends = await client.listOffsets(topic, partitions, 'latest');
  const at = new Map(partitions.map((p) => [p, 0]));
  const fetcher = new Fetcher(client, { maxWaitMs: 50 });
  const out: (KafkaRecord & { partition: number })[] = [];
  for (;;) {
    const pending = partitions.filter((p) => at.get(p)! < ends.get(p)!);
    if (pending.length === 0) return out;
    for (const f of await fetcher.fetch(pending.map((partition) => ({ topic, partition, offset: at.get(partition)! })))) {
      for (const r of f.records) if (Number(r.offset) < ends.get(f.partition)!) out.push({ ...r, partition: f.partition });
      at.set(f.partition, Math.min(ends.get(f.partition)!, f.nextOffset));
    }
  }
}

describe('pipelines: watermarks across keyBy (weir run)', () => {
  it('a repartition partition that only one early event hashes to still closes its window; marks reach every partition', async () => {
    const hot = keysOn(0, 8);
    const [cold] = keysOn(2, 1);
    assert.ok(cold !== undefined && hot.length === 8);
    await client.createTopics([{ name: 'wm-events', partitions: 2 }]);
    const events: (ProducedRecord & { partition: number })[] = [];
    const ev = (partition: number, k: string, t: number) => events.push({ partition, key: Buffer.from(k), value: Buffer.from(JSON.stringify({ k, t })), timestamp: t });
    ev(0, cold, WC_BASE_MS + 500);
    const STEPS = 1200;
    for (let i = 0; i < STEPS; i++) for (let p = 0; p < 2; p++) ev(p, hot[(i + p) % hot.length]!, WC_BASE_MS + i * 100);
    await produce(client, 'wm-events', events);

    // Independently: the upstream watermark ends at min over source partitions of (max t) - 1 s;
    // every window ending at or before it closes, and no other.
    const finalWatermark = WC_BASE_MS + (STEPS - 1) * 100 - 1_000;
    const expected = new Map<string, number>();
    for (const e of events) {
      const { k, t } = JSON.parse(e.value!.toString()) as { k: string; t: number };
      const start = Math.floor(t / SKEW_WINDOW_MS) * SKEW_WINDOW_MS;
      if (start + SKEW_WINDOW_MS > finalWatermark) continue;
      expected.set(`${k}@${start}`, (expected.get(`${k}@${start}`) ?? 0) + 1);
    }
    const coldKey = `${cold}@${WC_BASE_MS}`;
    assert.equal(expected.get(coldKey), 1);

    const fixture = fileURLToPath(new URL('./pipelines-skew-pipeline.js', import.meta.url));
    const run = weirRun(fixture, ['--brokers', agent.bootstrap, '--data-dir', dataDir, '--checkpoint-interval-ms', '1000', '--status-interval-ms', '0']);
    await run.waitFor(/running with 1 worker/);
    // The hot keys' windows close from partition 0's own records, with or without marks.
    await until('the hot keys\' window results', async () => {
      if (!(await client.topicExists('wm-counts'))) return false;
      const got = emittedCounts(await readTopic(client, 'wm-counts'));
      return [...expected.keys()].filter((k) => k !== coldKey).every((k) => got.has(k));
    }, 90_000).catch((e: Error) => assert.fail(`${e.message}\n${run.output()}`));
    // Partition 2's window: only the marks can close it.
    await until(`the window of ${cold} on repartition partition 2`, async () => emittedCounts(await readTopic(client, 'wm-counts')).has(coldKey), 45_000)
      .catch(async (e: Error) => {
        await run.stop();
        assert.fail(`${e.message}\n${run.output()}`);
      });
    assert.equal(await run.stop(), 0, run.output());

    const got = emittedCounts(await readTopic(client, 'wm-counts'));
    assert.deepEqual(
      [...got].map(([k, v]) => [k, v]).sort(),
      [...expected].map(([k, v]) => [k, [v]]).sort(),
      'every closable window exactly once, with its count; no window past the watermark',
    );

    const rep = await readAll(REPARTITION_TOPIC);
    const marks = rep.filter((r) => r.headers.some((h) => h.key === WATERMARK_HEADER));
    const data = rep.filter((r) => !r.headers.some((h) => h.key === WATERMARK_HEADER));
    assert.equal(data.length, events.length, 'every event repartitioned once (no restart)');
    assert.deepEqual([...new Set(data.map((r) => r.partition))].sort(), [0, 2]);
    for (const r of data) assert.deepEqual(r.headers.map((h) => h.key).sort(), ['weir.seq', 'weir.up']);
    for (const m of marks) {
      assert.equal(m.key, null);
      assert.equal(m.value, null);
      assert.deepEqual(m.headers.map((h) => h.key), [WATERMARK_HEADER], 'a mark carries no dedup headers');
    }
    // Per writer and partition: a mark only when the watermark advanced or idleness changed.
    const writers = new Set<string>();
    for (let p = 0; p < SKEW_REPARTITIONS; p++) {
      const byWriter = new Map<string, { w: number; idle: boolean }[]>();
      for (const r of marks.filter((x) => x.partition === p)) {
        const m = decodeWatermarkMark(r.headers[0]!.value!);
        assert.equal(m.writers, 2);
        writers.add(m.fromTaskId);
        const l = byWriter.get(m.fromTaskId) ?? [];
        l.push({ w: m.watermarkMs, idle: m.idle });
        byWriter.set(m.fromTaskId, l);
      }
      assert.deepEqual([...byWriter.keys()].sort(), ['wm-skew/0/p0', 'wm-skew/0/p1'], `partition ${p} has marks from both upstream tasks`);
      for (const [writer, l] of byWriter) {
        for (let i = 1; i < l.length; i++) {
          assert.ok(l[i]!.w > l[i - 1]!.w || (l[i]!.w === l[i - 1]!.w && l[i]!.idle !== l[i - 1]!.idle), `${writer} -> p${p}: mark ${i} (${l[i]!.w}) does not advance on ${l[i - 1]!.w}`);
        }
        assert.ok(l.at(-1)!.w >= finalWatermark, `${writer} -> p${p}: the last mark carries the final watermark`);
      }
    }
    process.stdout.write(`${data.length} repartitioned records, ${marks.length} marks over ${SKEW_REPARTITIONS} partitions\n`);
  });
});
