/**
 * `weir mirror` end to end, between two separate Weir agents (no Apache Kafka here; the source
 * agent's Kafka compatibility is proven by the real-client tests). Three topics: `many` (12
 * partitions, compressed batches with keys, headers and timestamps, and a DeleteRecords gap at
 * the start of one partition), `gappy` (gaps inside and between batches, written to the source
 * at chosen offsets through the mirror API itself, a compacted-style sparse batch, a
 * LogAppendTime batch, and a DeleteRecords'd start) and `late` (created while the mirror runs).
 * The mirror is killed with SIGKILL twice during the copy; afterwards every batch and record,
 * offsets included, is the same on both sides. Then produces to a mirror topic are refused
 * (kafkajs and kcat) until `weir mirror promote`, and `weir mirror status` reports the lag.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompressionTypes } from 'kafkajs';
import type { BrokerConnection } from '../../core/client/broker-connection.js';
import { WeirMirrorTopics, WeirMirrorWrite } from '../../core/protocol/generated/index.js';
import { buildBatch, buildBatchSync } from '../../core/records/records.js';
import { Compression } from '../../core/records/compression.js';
import { AGENT_CLI, startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedAdmin, connectedProducer, createTopics } from '../helpers/kafkajs.js';
import { runKcat } from '../helpers/kcat.js';
import { runProcess } from '../helpers/run-process.js';
import { connect, offsets, readPartition, startMirror, stopMirror, TOKEN, waitFor, type MirrorProcess } from './mirror-helpers.js';

const MANY_PARTITIONS = 12;
const RECORDS_PER_PARTITION = 600;

let source: Agent;
let weir: Agent;
let src: BrokerConnection;
let dst: BrokerConnection;
let mirror: MirrorProcess | null = null;

/** The gappy topic's batches on the source: [base offset, offset deltas of its records, last delta]. */
const GAPPY_LAYOUT: [number, number[], number][] = [
  [0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 9],
  [20, [0, 1, 2, 3, 4], 4], // a gap of 10 offsets before it
  [25, [0, 3, 7], 9], // compacted-style: 10 offsets, 3 records left
  [35, [], 4], // an empty batch, as compaction keeps for producer state
  [52, [0, 1], 1],
];

function mirrorArgs(extra: string[] = []): string[] {
  return [
    '--source-brokers', source.bootstrap,
    '--bootstrap-server', weir.bootstrap,
    '--topics', 'many|gappy|late',
    '--discovery-interval-ms', '300',
    // Small fetches: the copy takes many rounds, so the kills below land in the middle of it.
    '--fetch-max-bytes', '96KiB',
    '--partition-fetch-max-bytes', '16KiB',
    '--fetch-max-wait-ms', '100',
    ...extra,
  ];
}

async function weirEnds(topic: string, partitions: number): Promise<number> {
  return (await offsets(dst, topic, partitions, -1n).catch(() => [] as number[])).reduce((a, b) => a + b, 0);
}

describe('weir mirror between two agents', { timeout: 150_000 }, () => {
  before(async () => {
    [source, weir] = await Promise.all([
      startAgent({ lingerMs: 5, extraArgs: ['--mirror-token', TOKEN] }),
      startAgent({ lingerMs: 5, extraArgs: ['--mirror-token', TOKEN] }),
    ]);
    [src, dst] = await Promise.all([connect(source.bootstrap), connect(weir.bootstrap)]);

    await createTopics(source.bootstrap, [{ topic: 'many', numPartitions: MANY_PARTITIONS, configEntries: [{ name: 'retention.ms', value: '86400000' }, { name: 'max.message.bytes', value: '2000000' }] }]);
    const producer = await connectedProducer(source.bootstrap);
    const payload = 'x'.repeat(900);
    for (let round = 0; round < 6; round++) {
      await producer.sendBatch({
        compression: round % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None,
        topicMessages: [{
          topic: 'many',
          messages: Array.from({ length: MANY_PARTITIONS * (RECORDS_PER_PARTITION / 6) }, (_, i) => ({
            partition: i % MANY_PARTITIONS,
            key: `k-${round}-${i}`,
            value: `${round}-${i}-${payload}`,
            timestamp: String(1_700_000_000_000 + round * 1000 + i),
            headers: { round: String(round), i: String(i) },
          })),
        }],
      });
    }
    await producer.disconnect();
    // A gap at the start of one partition: the mirror must start at the source's log start.
    const admin = await connectedAdmin(source.bootstrap);
    // kafkajs's deleteTopicRecords needs the topic's metadata loaded first.
    await admin.fetchTopicMetadata({ topics: ['many'] });
    await admin.deleteTopicRecords({ topic: 'many', partitions: [{ partition: 3, offset: '57' }] });
    await admin.disconnect();

    // `gappy`: written at chosen offsets through the mirror API of the source itself.
    const ensured = await src.send(WeirMirrorTopics, 0, { token: TOKEN, topics: [{ name: 'gappy', action: 0, sourceCluster: 'upstream', numPartitions: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    assert.equal(ensured.topics?.[0]?.errorCode, 0);
    const batches = await Promise.all(GAPPY_LAYOUT.map(([base, deltas, lastDelta], b) =>
      buildBatch({
        baseOffset: BigInt(base),
        lastOffsetDelta: lastDelta,
        compression: b === 0 ? Compression.Zstd : Compression.None,
        records: deltas.map((d) => ({ key: `g${base + d}`, value: `gappy-${base + d}`, offsetDelta: d, timestamp: 1_600_000_000_000 + base + d, headers: [{ key: 'at', value: String(base + d) }] })),
        ...(b === 4 ? { timestampType: 'log-append' as const, maxTimestamp: 1_650_000_000_000 } : {}),
      }),
    ));
    const written = await src.send(WeirMirrorWrite, 0, { token: TOKEN, topics: [{ name: 'gappy', topicId: ensured.topics![0]!.topicId!, partitions: [{ partitionIndex: 0, records: Buffer.concat(batches) }] }] });
    assert.equal(written.topics?.[0]?.partitions?.[0]?.errorCode, 0, written.topics?.[0]?.partitions?.[0]?.errorMessage ?? '');
    assert.equal(written.topics?.[0]?.partitions?.[0]?.highWatermark, 54n);
    const admin2 = await connectedAdmin(source.bootstrap);
    await admin2.fetchTopicMetadata({ topics: ['gappy'] });
    await admin2.deleteTopicRecords({ topic: 'gappy', partitions: [{ partition: 0, offset: '3' }] });
    await admin2.disconnect();
  });

  after(async () => {
    if (mirror) await stopMirror(mirror, 'SIGKILL');
    src?.close();
    dst?.close();
    await stopAllAgents();
  });

  it('copies while being killed with SIGKILL twice, then matches the source batch for batch, offsets included', async () => {
    const total = MANY_PARTITIONS * RECORDS_PER_PARTITION;
    const kills: number[] = [];
    for (const fraction of [0.15, 0.5]) {
      mirror = startMirror(mirrorArgs());
      const m = mirror;
      await waitFor(`the copy to pass ${fraction * 100}%`, async () => (await weirEnds('many', MANY_PARTITIONS)) >= fraction * total || m.child.exitCode !== null, 60_000, 20);
      assert.equal(m.child.exitCode, null, `the mirror exited early:\n${m.output()}`);
      await stopMirror(m, 'SIGKILL');
      kills.push(await weirEnds('many', MANY_PARTITIONS));
    }
    // The kills landed mid-copy: neither had everything yet.
    assert.ok(kills.every((n) => n < total), `killed at ${kills.join(', ')} of ${total} records`);

    mirror = startMirror(mirrorArgs());
    const sourceEnds = await offsets(src, 'many', MANY_PARTITIONS, -1n);
    await waitFor('the copy of many to finish', async () => (await weirEnds('many', MANY_PARTITIONS)) === sourceEnds.reduce((a, b) => a + b, 0));
    await waitFor('the copy of gappy to finish', async () => (await weirEnds('gappy', 1)) === 54);

    // A topic created while the mirror runs, with a partition added later.
    await createTopics(source.bootstrap, [{ topic: 'late', numPartitions: 2 }]);
    const producer = await connectedProducer(source.bootstrap);
    await producer.send({ topic: 'late', messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 2, key: `l${i}`, value: `late-${i}` })) });
    const admin = await connectedAdmin(source.bootstrap);
    await admin.createPartitions({ topicPartitions: [{ topic: 'late', count: 3 }] });
    await admin.disconnect();
    await producer.disconnect();
    // A new producer: kafkajs silently drops records for a partition its metadata does not know yet.
    const fresh = await connectedProducer(source.bootstrap);
    const [sent] = await fresh.send({ topic: 'late', messages: [{ partition: 2, key: 'l-new', value: 'late-new-partition' }] });
    assert.equal(sent?.partition, 2);
    await fresh.disconnect();
    await waitFor('late to be mirrored with 3 partitions', async () => (await weirEnds('late', 3)) === 41, 30_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}: Weir has ${JSON.stringify(await offsets(dst, 'late', 3, -1n).catch((x: Error) => x.message))}\n${mirror!.output().slice(-3000)}`);
    });

    for (const [topic, partitions] of [['many', MANY_PARTITIONS], ['gappy', 1], ['late', 3]] as const) {
      const [srcStart, dstStart, srcEnd, dstEnd] = await Promise.all([offsets(src, topic, partitions, -2n), offsets(dst, topic, partitions, -2n), offsets(src, topic, partitions, -1n), offsets(dst, topic, partitions, -1n)]);
      assert.deepEqual(dstEnd, srcEnd, `${topic}: high watermarks`);
      await waitFor(`${topic}: log starts to follow the source`, async () => JSON.stringify(await offsets(dst, topic, partitions, -2n)) === JSON.stringify(srcStart), 15_000, 100).catch(() => {
        assert.deepEqual(dstStart, srcStart, `${topic}: log start offsets`);
      });
      for (let p = 0; p < partitions; p++) {
        const a = await readPartition(src, topic, p, srcStart[p]!);
        const b = await readPartition(dst, topic, p, srcStart[p]!);
        assert.ok(a.records.length > 0 || topic === 'late', `${topic}-${p} has records`);
        assert.deepEqual(b.records, a.records, `${topic}-${p}: records (offset, timestamp, key, value, headers)`);
        assert.deepEqual(b.batches.map((x) => x.baseOffset), a.batches.map((x) => x.baseOffset), `${topic}-${p}: batch offsets`);
        b.batches.forEach((x, i) => assert.ok(x.body.equals(a.batches[i]!.body), `${topic}-${p}: batch at ${x.baseOffset} stored byte for byte (CRC, codec, timestamps)`));
      }
    }
    // The gaps are still gaps: a read inside one starts at the next batch, and the sparse batch kept its offsets.
    const gappy = await readPartition(dst, 'gappy', 0, 12);
    assert.equal(gappy.batches[0]!.baseOffset, 20);
    assert.deepEqual(gappy.records.filter((r) => r.offset >= 25 && r.offset < 35).map((r) => r.offset), [25, 28, 32]);
    assert.equal(gappy.records.find((r) => r.offset === 52)!.timestamp, 1_650_000_000_000, 'LogAppendTime batch keeps the source append time');
    assert.equal((await offsets(dst, 'many', MANY_PARTITIONS, -2n))[3], 57, 'log start follows DeleteRecords on the source');
  });

  it('refuses produces to a mirror topic with a clear error (kafkajs, kcat) until `weir mirror promote`', async () => {
    const producer = await connectedProducer(weir.bootstrap, { retry: { retries: 0 } });
    try {
      await assert.rejects(producer.send({ topic: 'late', messages: [{ value: 'direct' }] }), (e: Error & { type?: string }) => {
        assert.equal(e.type, 'POLICY_VIOLATION', e.message);
        return true;
      });
      const kcat = await runKcat(['-P', '-b', weir.bootstrap, '-t', 'late', '-p', '0', '-X', 'message.timeout.ms=10000'], { stdin: 'direct\n' });
      assert.notEqual(kcat.code, 0);
      assert.match(kcat.stderr, /read-only mirror of .*weir mirror promote late|Policy violation/i);

      const promoted = await runProcess(process.execPath, { args: [AGENT_CLI, 'mirror', 'promote', 'late', '--bootstrap-server', weir.bootstrap, '--mirror-token', TOKEN], timeoutMs: 30_000 });
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.match(promoted.stdout, /promoted late/);
      const [r] = await producer.send({ topic: 'late', messages: [{ partition: 0, value: 'after promotion' }] });
      assert.equal(r!.errorCode, 0);
      const kcatAfter = await runKcat(['-P', '-b', weir.bootstrap, '-t', 'late', '-p', '1', '-X', 'message.timeout.ms=10000'], { stdin: 'kcat after promotion\n' });
      assert.equal(kcatAfter.code, 0, kcatAfter.stderr);
      // Promotion is persisted: it holds after the agent restarts, and mirror writes are now refused.
      weir = await weir.restart();
      dst.close();
      dst = await connect(weir.bootstrap);
      const described = await dst.send(WeirMirrorTopics, 0, { token: TOKEN, topics: [{ name: 'late', action: 2, sourceCluster: '', numPartitions: 0, configs: [] }] });
      assert.equal(described.topics?.[0]?.mirrorState, 2);
      const refused = await dst.send(WeirMirrorWrite, 0, { token: TOKEN, topics: [{ name: 'late', topicId: described.topics![0]!.topicId!, partitions: [{ partitionIndex: 0, records: buildBatchSync({ baseOffset: 100n, records: [{ value: 'x' }] }) }] }] });
      assert.equal(refused.topics?.[0]?.partitions?.[0]?.errorCode, 44);
    } finally {
      await producer.disconnect();
    }
  });

  it('`weir mirror status` shows per-partition lag in records and time, and throughput', async () => {
    if (mirror) await stopMirror(mirror);
    mirror = null;
    const producer = await connectedProducer(source.bootstrap);
    await producer.send({ topic: 'many', messages: Array.from({ length: 30 }, (_, i) => ({ partition: 5, value: `behind-${i}`, timestamp: String(Date.now() - 60_000) })) });
    await producer.disconnect();
    const r = await runProcess(process.execPath, { args: [AGENT_CLI, 'mirror', 'status', '--source-brokers', source.bootstrap, '--bootstrap-server', weir.bootstrap, '--mirror-token', TOKEN, '--topics', 'many|gappy', '--interval-ms', '200', '--json'], timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as { partitions: { topic: string; partition: number; lagRecords: number; lagMs: number | null; recordsPerSecond: number; state: string }[] };
    assert.equal(status.partitions.length, MANY_PARTITIONS + 1);
    const behind = status.partitions.find((p) => p.topic === 'many' && p.partition === 5)!;
    assert.equal(behind.lagRecords, 30);
    assert.ok(behind.lagMs !== null && behind.lagMs >= 59_000, `lag in time ${behind.lagMs}`);
    assert.ok(status.partitions.filter((p) => p.partition !== 5 || p.topic !== 'many').every((p) => p.lagRecords === 0 && p.lagMs === 0 && p.state === 'mirroring'));
    const table = await runProcess(process.execPath, { args: [AGENT_CLI, 'mirror', 'status', '--source-brokers', source.bootstrap, '--bootstrap-server', weir.bootstrap, '--mirror-token', TOKEN, '--topics', 'many', '--interval-ms', '100'], timeoutMs: 30_000 });
    assert.match(table.stdout, /^TOPIC\s+PARTITION\s+STATE\s+SOURCE-END\s+WEIR-END\s+LAG\s+LAG-TIME\s+RECORDS\/S/m);
    assert.match(table.stdout, /12 partitions of 1 mirror topics; lag 30 records/);
  });
});
