/**
 * `weir run` as a user meets it: bad command lines get one line naming the bad value and exit
 * 2; a file that exports no pipeline or does not compile is refused in one line with exit 1;
 * a running pipeline prints its status line and serves Prometheus metrics per task.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KafkaClient } from '../../core/client/index.js';
import { AGENT_CLI, startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { runProcess } from '../helpers/run-process.js';
import { compiledExample, produce, until, weirRun, wordCountLines } from '../e2e/pipelines-support.js';

let agent: Agent;
let dir: string;

before(async () => {
  agent = await startAgent({ lingerMs: 20 });
  dir = mkdtempSync(join(tmpdir(), 'weir-run-cli-'));
});
after(async () => {
  await stopAllAgents();
  rmSync(dir, { recursive: true, force: true });
});

async function weir(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const r = await runProcess(process.execPath, { args: [AGENT_CLI, ...args], timeoutMs: 60_000 });
  return { code: r.code, stderr: r.stderr };
}

describe('weir run command line', () => {
  it('refuses bad flags and values in one line with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['run'], /needs a pipeline file/],
      [['run', 'a.js', '--workers', '0'], /--workers.*at least 1/],
      [['run', 'a.js', '--brokers', 'nohostport'], /--brokers: expected host:port/],
      [['run', 'a.js', '--redis', 'localhost:6379'], /--redis: expected redis:\/\//],
      [['run', 'a.js', '--object-store', 's3'], /needs --s3-bucket/],
      [['run', 'a.js', '--bogus'], /unknown flag --bogus/],
    ];
    for (const [args, re] of cases) {
      const r = await weir(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
  });

  it('refuses a missing file, a file without pipelines and a file that does not compile (exit 1, one line)', async () => {
    writeFileSync(join(dir, 'empty.mjs'), 'export const x = 1;\n');
    writeFileSync(join(dir, 'broken.ts'), 'export default pipeline(\n');
    const missing = await weir(['run', join(dir, 'nope.js'), '--data-dir', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.js does not exist/);
    const empty = await weir(['run', join(dir, 'empty.mjs'), '--data-dir', dir]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /exports no pipeline/);
    const broken = await weir(['run', join(dir, 'broken.ts'), '--data-dir', dir]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /cannot compile .*broken\.ts/);
    for (const r of [missing, empty, broken]) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  it('prints a status line and serves per-task Prometheus metrics while running', async () => {
    const client = new KafkaClient({ brokers: [agent.bootstrap] });
    await client.createTopics([{ name: 'lines', partitions: 2 }]);
    await produce(client, 'lines', wordCountLines(2, 500, 1000));
    const run = weirRun(compiledExample('word-count'), ['--brokers', agent.bootstrap, '--data-dir', join(dir, 'ckpt'), '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--status-interval-ms', '300', '--checkpoint-interval-ms', '300', '--workers', '2']);
    const ready = await run.waitFor(/running with 2 worker/);
    const port = Number(/metrics on :(\d+)/.exec(ready)?.[1]);
    assert.ok(port > 0, ready);
    let text = '';
    // A task's checkpoint metrics exist from its first checkpoint on, which for a stage-1 task
    // comes after its first input has made it through the repartition topic.
    const checkpointed = /^weir_pipeline_checkpoint_duration_ms\{pipeline="word-count",task="word-count\/1\/p0",stage="1",partition="0"\} \d+$/m;
    await until('metrics for every task with records in, and a stage-1 checkpoint', async () => {
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const ins = [...text.matchAll(/^weir_pipeline_records_in_total\{pipeline="word-count",task="([^"]+)".*\} (\d+)$/gm)];
      return ins.length === 4 && ins.every((m) => Number(m[2]) > 0) && checkpointed.test(text);
    }, 60_000);
    assert.match(text, checkpointed);
    assert.match(text, /^weir_pipeline_lag_records\{pipeline="word-count",task="word-count\/0\/p1",stage="0",partition="1"\} \d+$/m);
    assert.match(text, /^weir_pipeline_watermark_delay_ms\{/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    const status = await run.waitFor(/^word-count: tasks 4 in\/s \d+ out\/s \d+ lag \d+ wm-delay \d+ms checkpoint \d+ms \d+B$/);
    assert.ok(status.length > 0);
    assert.equal(await run.stop(), 0);
    assert.match(run.output(), /stopped \(SIGTERM\); final checkpoint written/);
    await client.close();
  });
});
