/**
 * kill -9 a `weir run` worker mid-run, restart it on the same checkpoint folder: the word-count
 * window results equal those of an uninterrupted run (computed independently from the input),
 * none is lost, and the only duplicates are re-emissions of a result with the same value (what
 * at-least-once output permits). The word count has a repartition stage, so this also covers
 * state staying exactly-once through the repartition topic when the upstream task replays.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KafkaClient } from '../../core/client/index.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { closingLines, compareResults, compiledExample, emittedCounts, expectedCounts, produce, readTopic, until, weirRun, wordCountLines } from './pipelines-support.js';

const WINDOW_MS = 60_000;
let agent: Agent;
let client: KafkaClient;
let dataDir: string;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'crash-test' });
  dataDir = mkdtempSync(join(tmpdir(), 'weir-pipeline-crash-'));
});
after(async () => {
  await client?.close();
  await stopAllAgents();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('pipelines: crash and restart', () => {
  it('kill -9 mid-run, restart: window results equal the uninterrupted ones, duplicates identical, none lost', async () => {
    await client.createTopics([{ name: 'lines', partitions: 2 }]);
    const lines = wordCountLines(2, 25_000, 150);
    await produce(client, 'lines', [...lines, ...closingLines(2)]);
    const expected = expectedCounts(lines, WINDOW_MS);

    const args = ['--brokers', agent.bootstrap, '--data-dir', dataDir, '--checkpoint-interval-ms', '300', '--status-interval-ms', '0', '--lease-ttl-ms', '2000'];
    const first = weirRun(compiledExample('word-count'), args);
    await first.waitFor(/running with 1 worker/);
    // Crash once results are flowing and checkpoints have been written, well before the end.
    await until('first window results', async () => (await client.topicExists('word-counts')) && (await readTopic(client, 'word-counts')).length >= 200, 120_000, 20);
    await first.kill9();
    // What the killed process got into the log: Produce requests it sent just before dying are
    // still committed by the agent after its linger (20 ms here), so the output is read once its
    // end offsets have stopped moving (unchanged across 500 ms, 25 agent lingers).
    let ends = '';
    const outputPartitions = (await client.topic('word-counts', true)).partitions.map((p) => p.partition);
    await until('the killed worker\'s last writes to land', async () => {
      const now = JSON.stringify([...(await client.listOffsets('word-counts', outputPartitions, 'latest'))]);
      const settled = now === ends;
      ends = now;
      return settled;
    }, 30_000, 500);
    const beforeCrash = emittedCounts(await readTopic(client, 'word-counts'));
    assert.ok(beforeCrash.size < expected.size, `the crash came after ${beforeCrash.size} of ${expected.size} results: not mid-run`);
    const manifests = readdirSync(join(dataDir, 'pipelines', 'word-count', 'tasks'), { recursive: true }).filter((f) => String(f).includes('manifest-'));
    assert.ok(manifests.length > 0, 'checkpoints were written before the crash');

    const second = weirRun(compiledExample('word-count'), args);
    await second.waitFor(/running with 1 worker/);
    await until('every window result', async () => {
      const got = emittedCounts(await readTopic(client, 'word-counts'));
      return [...expected.keys()].every((k) => got.has(k));
    }, 120_000);
    assert.equal(await second.stop(), 0);
    assert.match(second.output(), /started word-count\/1\/p\d \(token \d+\) from checkpoint/);

    const got = emittedCounts(await readTopic(client, 'word-counts'));
    const { wrong, duplicates } = compareResults(got, expected);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} wrong results`);
    // Duplicates can only be results emitted before the crash and emitted again after it.
    for (const [k, values] of got) if (values.length > 1) assert.ok(beforeCrash.has(k), `${k} duplicated without a crash in between`);
    process.stdout.write(`${expected.size} results, ${beforeCrash.size} before the crash, ${duplicates} re-emitted after it\n`);
  });
});
