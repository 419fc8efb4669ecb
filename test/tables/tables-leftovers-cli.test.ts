/**
 * The `weir tables` CLI's leftovers of issue 6, against a real agent: the backfill progress bar
 * (`sync --once --progress`: advancing offsets done of total, ending at 100%; none on a non-TTY
 * stderr unless asked; redraws bounded by --progress-interval-ms), and `weir tables list` /
 * `describe` showing files, rows, bytes, the last offset compacted and the lag.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { progressBar } from '../../agent/cli/tables-command.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { manifestFiles, weir } from './tables-helpers.js';

const TOPIC = 'backfill';
const PARTITIONS = 4;
const RECORDS = 8000;

let agent: Agent;
let producer: Producer;
const store = (): string[] => ['--data-dir', agent.dataDir];

before(async () => {
  agent = await startAgent({ lingerMs: 5 });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
  producer = await connectedProducer(agent.bootstrap);
});

after(async () => {
  await producer?.disconnect();
  await stopAllAgents();
});

async function produce(from: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, k) => ({ key: `k${from + k}`, value: JSON.stringify({ n: from + k }), partition: (from + k) % PARTITIONS }));
  await kafkajsProduce(producer, TOPIC, records, { chunk: 2000 });
}

/** The bar's states in stderr (each redraw starts with \r): percent, done, total. */
function barStates(stderr: string): { pct: number; done: number; total: number }[] {
  return [...stderr.matchAll(/\r\[[#.]{30}\]\s+(\d+)% (\d+)\/(\d+) offsets/g)].map((m) => ({ pct: Number(m[1]), done: Number(m[2]), total: Number(m[3]) }));
}

describe('weir tables: backfill progress bar', () => {
  it('sync --once --progress shows offsets done of total advancing to 100%; a non-TTY stderr shows no bar without it', async () => {
    await produce(0, RECORDS);
    // 500 rows per file: 4 ranges per partition, so the bar has intermediate states to show.
    const r = await weir(['tables', 'sync', TOPIC, '--once', '--progress', '--progress-interval-ms', '0', '--file-rows-max', '500', '--merge-min-files', '1000', ...store()]);
    assert.equal(r.code, 0, r.stderr);
    const states = barStates(r.stderr);
    assert.ok(states.length >= 3, `several redraws: ${JSON.stringify(r.stderr)}`);
    for (const s of states) assert.equal(s.total, RECORDS, 'the total is every offset to compact');
    for (let i = 1; i < states.length; i++) assert.ok(states[i]!.done >= states[i - 1]!.done, 'never goes back');
    assert.equal(states[0]!.done, 0);
    assert.ok(states.some((s) => s.pct > 0 && s.pct < 100), 'an intermediate state');
    assert.deepEqual(states[states.length - 1], { pct: 100, done: RECORDS, total: RECORDS });
    assert.match(r.stderr, /100% 8000\/8000 offsets\n/);
    assert.equal(states.filter((s) => s.pct === 100).length, 1, 'the final line once');
    // Honest: the done counts are what the manifest committed (multiples of the 500-offset ranges here).
    for (const s of states) assert.equal(s.done % 500, 0, `done ${s.done} is a sum of committed ranges`);
    const { nextOffsets } = await manifestFiles(agent.dataDir, TOPIC);
    assert.equal([...nextOffsets.values()].reduce((a, b) => a + b, 0), RECORDS);

    // Without --progress, a non-TTY stderr (this pipe) gets no bar.
    await produce(RECORDS, 400);
    const quiet = await weir(['tables', 'sync', TOPIC, '--once', '--file-rows-max', '500', '--merge-min-files', '1000', ...store()]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /\r|offsets|%/);
    assert.match(quiet.stderr, /committed \d+ ranges, 400 rows/);
  });

  it('redraws at most once per interval and only on change; the 100% line always, once', () => {
    let clock = 0;
    const out: string[] = [];
    const bar = progressBar((s) => out.push(s), 250, () => clock);
    bar(0, 1000);
    clock = 100;
    bar(100, 1000); // within the interval: not drawn
    clock = 260;
    bar(200, 1000);
    clock = 600;
    bar(200, 1000); // same text: not drawn
    clock = 610;
    bar(1000, 1000); // the end: drawn at once
    bar(1000, 1000);
    assert.deepEqual(
      out.map((s) => /(\d+)% (\d+)\/(\d+)/.exec(s)!.slice(1).map(Number)),
      [
        [0, 0, 1000],
        [20, 200, 1000],
        [100, 1000, 1000],
      ],
    );
    assert.ok(out.every((s) => s.startsWith('\r')));
    assert.ok(out[2]!.endsWith('\n'));
    const empty: string[] = [];
    progressBar((s) => empty.push(s), 250, () => 0)(0, 0);
    assert.match(empty[0]!, /100% 0\/0 offsets\n$/);
  });
});

describe('weir tables list / describe', () => {
  it('show files, rows, bytes, the last offset compacted and the lag, per table and per partition', async () => {
    // The table holds RECORDS + 400 rows; 100 more are in the log only (the lag).
    const compacted = RECORDS + 400;
    await produce(compacted, 100);
    const m = await manifestFiles(agent.dataDir, TOPIC);
    const bytes = m.data.reduce((n, p) => n + statSync(p).size, 0);
    const perPartition = compacted / PARTITIONS;

    const dj = JSON.parse((await weir(['tables', 'describe', TOPIC, '--json', ...store()])).stdout) as {
      files: number;
      rows: number;
      bytes: number;
      partitions: { partition: number; files: number; rows: number; bytes: number; lastCompacted: number | null; highWatermark: number; lag: number }[];
    };
    assert.deepEqual([dj.files, dj.rows, dj.bytes], [m.data.length, compacted, bytes]);
    for (const p of dj.partitions) {
      assert.equal(p.lastCompacted, perPartition - 1);
      assert.equal(p.highWatermark, perPartition + 25);
      assert.equal(p.lag, 25);
      assert.equal(p.rows, perPartition);
      assert.equal(p.files, m.data.filter((f) => new RegExp(`/${p.partition}-\\d+-\\d+\\.parquet$`).test(f)).length);
    }

    const d = await weir(['tables', 'describe', TOPIC, ...store()]);
    assert.equal(d.code, 0, d.stderr);
    const lines = d.stdout.trim().split('\n');
    assert.equal(lines[0], `table ${TOPIC}: ${m.data.length} files, ${compacted} rows, ${bytes} bytes, 0 dead letters`);
    assert.deepEqual(lines[1]!.split(/\s+/), ['PARTITION', 'FILES', 'ROWS', 'BYTES', 'LAST-COMPACTED', 'HIGH-WATERMARK', 'LAG']);
    for (const p of dj.partitions) {
      const cells = lines[2 + p.partition]!.trim().split(/\s+/).map(Number);
      assert.deepEqual(cells, [p.partition, p.files, perPartition, p.bytes, perPartition - 1, perPartition + 25, 25]);
    }

    const l = await weir(['tables', 'list', ...store()]);
    assert.equal(l.code, 0, l.stderr);
    const [header, row] = l.stdout.trim().split('\n');
    assert.deepEqual(header!.split(/\s+/), ['TABLE', 'FILES', 'ROWS', 'BYTES', 'DEAD-LETTERS', 'LAST-COMPACTED', 'LAG']);
    const last = Array.from({ length: PARTITIONS }, (_, p) => `${p}:${perPartition - 1}`).join(' ');
    assert.equal(row!.replace(/\s+/g, ' '), `${TOPIC} ${m.data.length} ${compacted} ${bytes} 0 ${last} 100`);
    const lj = JSON.parse((await weir(['tables', 'list', '--json', ...store()])).stdout) as Record<string, unknown>[];
    assert.deepEqual(lj, [
      { topic: TOPIC, files: m.data.length, rows: compacted, bytes, deadLetters: 0, lastCompacted: Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), perPartition - 1])), lag: 100 },
    ]);
  });
});
