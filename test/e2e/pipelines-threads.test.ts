/**
 * `weir run --threads N`: the workers run on worker threads (each loads the pipeline file itself;
 * coordination and the checkpoint store are served by the main thread), against a real agent.
 * - word-count.ts (TypeScript, compiled on every thread) on 2 threads: the tasks are split over
 *   both threads' workers, the results equal those computed from the input, metrics and the
 *   status line cover every task, and SIGTERM writes final checkpoints;
 * - the same checkpoints then resume on 1 thread with more input: state crosses from threads to
 *   the main thread through the checkpoint, and every window result is still exact;
 * - a pipeline that throws on a thread makes `weir run` exit 1 with one line naming the error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { KafkaClient } from '../../core/client/index.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { repoRoot } from '../helpers/repo-root.js';
import { closingLines, compareResults, emittedCounts, expectedCounts, produce, readTopic, until, wordCountLines, weirRun } from './pipelines-support.js';

const WINDOW_MS = 60_000;
let agent: Agent;
let client: KafkaClient;
let dataDir: string;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'threads-test' });
  dataDir = mkdtempSync(join(tmpdir(), 'weir-pipeline-threads-'));
});
after(async () => {
  await client?.close();
  await stopAllAgents();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('weir run --threads', () => {
  it('word count on 2 threads, then resumed from its checkpoints on 1 thread: exact results', async () => {
    await client.createTopics([{ name: 'lines', partitions: 4 }]);
    const first = wordCountLines(4, 3_000, 200);
    await produce(client, 'lines', first);
    const file = join(repoRoot(import.meta.url), 'examples', 'word-count.ts');
    const ckpt = join(dataDir, 'ckpt');
    const common = ['--brokers', agent.bootstrap, '--data-dir', ckpt, '--checkpoint-interval-ms', '300', '--lease-ttl-ms', '2000'];

    const threaded = weirRun(file, [...common, '--threads', '2', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--status-interval-ms', '300']);
    const ready = await threaded.waitFor(/running with 2 worker\(s\) on 2 threads/, 120_000);
    const port = Number(/metrics on :(\d+)/.exec(ready)?.[1]);
    assert.ok(port > 0, ready);
    // Every input record processed: stage 0's four tasks report all of them in.
    const total = first.length;
    await until('every line read', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const ins = [...text.matchAll(/^weir_pipeline_records_in_total\{pipeline="word-count",task="word-count\/0\/p\d".*\} (\d+)$/gm)];
      return ins.length === 4 && ins.reduce((n, m) => n + Number(m[1]), 0) === total;
    }, 120_000);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.equal([...text.matchAll(/^weir_pipeline_records_in_total\{pipeline="word-count",task="word-count\/1\/p\d"/gm)].length, 4, 'stage 1 tasks reported too');
    await threaded.waitFor(/^word-count: tasks 8 in\/s \d+ out\/s \d+ lag \d+ wm-delay \d+ms checkpoint \d+ms \d+B$/);
    assert.equal(await threaded.stop(), 0);
    const out1 = threaded.output();
    assert.match(out1, /stopped \(SIGTERM\); final checkpoint written/);
    // Both threads' workers ran tasks.
    for (const w of ['w0', 'w1']) assert.match(out1, new RegExp(`-${w}\\] started word-count/\\d/p\\d`), `worker ${w} started tasks\n${out1}`);

    // More input, then the same pipeline on one thread from the same checkpoints.
    const second = wordCountLines(4, 1_000, 200, 3_000);
    await produce(client, 'lines', [...second, ...closingLines(4)]);
    const expected = expectedCounts([...first, ...second], WINDOW_MS);
    const single = weirRun(file, [...common, '--status-interval-ms', '0']);
    await single.waitFor(/running with 1 worker\(s\) \(embedded\)/, 120_000);
    await until('every window result', async () => {
      const got = emittedCounts(await readTopic(client, 'word-counts'));
      return [...expected.keys()].every((k) => got.has(k));
    }, 120_000);
    assert.equal(await single.stop(), 0);
    assert.match(single.output(), /started word-count\/1\/p\d \(token \d+\) from checkpoint/);
    const { wrong } = compareResults(emittedCounts(await readTopic(client, 'word-counts')), expected);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} wrong results`);
  });

  it('a pipeline that throws on a thread: exit 1, one line naming the error', async () => {
    await client.createTopics([{ name: 'boom-in', partitions: 2 }]);
    await produce(client, 'boom-in', [{ partition: 0, value: Buffer.from('fine') }, { partition: 1, value: Buffer.from('poison') }]);
    const index = pathToFileURL(join(repoRoot(import.meta.url), 'dist', 'pipelines', 'index.js')).href;
    const file = join(dataDir, 'boom.mjs');
    writeFileSync(
      file,
      `import { fromTopic, mapValue, pipeline, serdes, toTopic } from ${JSON.stringify(index)};
export default pipeline('boom')
  .from(fromTopic('boom-in', { value: serdes.string() }))
  .pipe(mapValue((v) => { if (v === 'poison') throw new Error('poison record seen'); return v; }))
  .to(toTopic('boom-out', { value: serdes.string() }));
`,
    );
    const run = weirRun(file, ['--brokers', agent.bootstrap, '--data-dir', join(dataDir, 'boom-ckpt'), '--threads', '2', '--status-interval-ms', '0']);
    const code = await run.exited;
    assert.equal(code, 1, run.output());
    const errorLines = run.output().split('\n').filter((l) => l.startsWith('weir run: '));
    assert.ok(errorLines.some((l) => /poison record seen/.test(l)), run.output());
  });
});
