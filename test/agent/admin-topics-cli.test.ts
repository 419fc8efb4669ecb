/**
 * `weir topics create|list|describe|delete` run as a child process against an in-process agent:
 * the compiled CLI when this file runs from dist/, the TypeScript one (through tsx) otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { freePort } from '../helpers/free-port.js';
import { adminFor, producerFor, startTestAgent, type TestAgent } from './admin-harness.js';

const compiled = import.meta.url.endsWith('.js');
const MAIN = fileURLToPath(new URL(`../../agent/cli/main.${compiled ? 'js' : 'ts'}`, import.meta.url));
/** The repository root (dist/.. when compiled), where `--import tsx` resolves. */
const ROOT = fileURLToPath(new URL(compiled ? '../../../' : '../../', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function weir(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const nodeArgs = compiled ? [MAIN, ...args] : ['--import', 'tsx', MAIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, {
      cwd: ROOT,
      env: { ...process.env, WEIR_BOOTSTRAP_SERVER: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A hung CLI fails its test instead of the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A failed run: non-zero exit, exactly one line on stderr, nothing on stdout. */
function assertOneLineFailure(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one stderr line, got: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '');
}

let t: TestAgent;
let admin: Admin;
let server: string[];

before(async () => {
  t = await startTestAgent({ defaultPartitions: 2 });
  admin = await adminFor(t.bootstrap);
  server = ['--bootstrap-server', t.bootstrap];
});

after(async () => {
  await admin?.disconnect();
  await t?.stop();
});

describe('weir topics', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const created = await weir(['topics', 'create', 'cli-orders', '--partitions', '3', '--config', 'retention.ms=60000', '--config', 'cleanup.policy=compact,delete', ...server]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'created topic cli-orders\n');
    assert.equal(created.stderr, '');
    // The agent's default partition count when --partitions is not given.
    assert.equal((await weir(['topics', 'create', 'cli-events', ...server])).code, 0);

    const listed = await weir(['topics', 'list', ...server]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, 'cli-events\ncli-orders\n');

    const producer = await producerFor(t.bootstrap);
    try {
      await producer.send({ topic: 'cli-orders', messages: [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 1 })) });
    } finally {
      await producer.disconnect();
    }
    // A short-lived admin: kafkajs keeps refreshing every topic it has loaded, and the CLI is
    // about to delete this one behind its back.
    const scratch = await adminFor(t.bootstrap);
    try {
      await scratch.fetchTopicOffsets('cli-orders'); // kafkajs finds partition leaders only for topics it has loaded
      await scratch.deleteTopicRecords({ topic: 'cli-orders', partitions: [{ partition: 1, offset: '1' }] });
    } finally {
      await scratch.disconnect();
    }

    const described = await weir(['topics', 'describe', 'cli-orders', ...server]);
    assert.equal(described.code, 0, described.stderr);
    const lines = described.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^Topic: cli-orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: cleanup\.policy=compact,delete,retention\.ms=60000$/);
    assert.match(lines[1]!, /^\tTopic: cli-orders\tPartition: 0\t.*LogStartOffset: 0\tHighWatermark: 0$/);
    assert.match(lines[2]!, /^\tTopic: cli-orders\tPartition: 1\t.*LogStartOffset: 1\tHighWatermark: 4$/);

    const all = await weir(['topics', 'describe', ...server]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^Topic: cli-events\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: $/m);

    const deleted = await weir(['topics', 'delete', 'cli-orders', 'cli-events', ...server]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'deleted topic cli-orders\ndeleted topic cli-events\n');
    assert.deepEqual(await admin.listTopics(), []);
  });

  it('fails on an existing topic unless --if-not-exists, and on a missing one unless --if-exists', async () => {
    assert.equal((await weir(['topics', 'create', 'cli-twice', ...server])).code, 0);
    assertOneLineFailure(await weir(['topics', 'create', 'cli-twice', ...server]), 1, /cli-twice.*already exists/);
    const again = await weir(['topics', 'create', 'cli-twice', '--if-not-exists', ...server]);
    assert.equal(again.code, 0, again.stderr);

    assert.equal((await weir(['topics', 'delete', 'cli-twice', ...server])).code, 0);
    assertOneLineFailure(await weir(['topics', 'delete', 'cli-twice', ...server]), 1, /cli-twice.*does not exist/);
    const gone = await weir(['topics', 'delete', 'cli-twice', '--if-exists', ...server]);
    assert.equal(gone.code, 0, gone.stderr);
    assertOneLineFailure(await weir(['topics', 'describe', 'cli-twice', ...server]), 1, /cli-twice does not exist/);
  });

  it('reads the agent address from WEIR_BOOTSTRAP_SERVER', async () => {
    assert.equal((await admin.createTopics({ topics: [{ topic: 'cli-env' }] })), true);
    const r = await weir(['topics', 'list'], { WEIR_BOOTSTRAP_SERVER: t.bootstrap });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cli-env$/m);
  });

  it('refuses bad flags and values with one line naming them, before contacting the agent', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['topics', 'create', 'x', '--partitions', 'abc'], /"abc".*--partitions/],
      [['topics', 'create', 'x', '--partitions', '0'], /"0".*--partitions/],
      [['topics', 'create', 'x', '--replication-factor', '-3'], /"-3".*--replication-factor/],
      [['topics', 'create', 'x', '--config', 'retention.ms=abc'], /retention\.ms=abc/],
      [['topics', 'create', 'x', '--config', 'retention.weeks=1'], /retention\.weeks/],
      [['topics', 'create', 'x', '--config', 'noequals'], /"noequals".*--config/],
      [['topics', 'create', 'bad/name'], /"bad\/name"/],
      [['topics', 'create'], /at least one topic/],
      [['topics', 'create', 'x', '--if-exists'], /--if-exists/],
      [['topics', 'list', '--nope'], /--nope/],
      [['topics', 'frobnicate'], /"frobnicate"/],
      [['topics', 'list', '--bootstrap-server', 'nowhere'], /"nowhere".*--bootstrap-server/],
    ];
    // Independent runs, so in parallel: each pays the CLI's start-up.
    const results = await Promise.all(cases.map(([args]) => weir(args.includes('--bootstrap-server') ? args : [...args, ...server])));
    results.forEach((r, i) => assertOneLineFailure(r, 2, cases[i]![1]));
    assert.ok(!(await admin.listTopics()).includes('x'));
  });

  it('fails with one line naming the address when no agent is there', async () => {
    const port = await freePort();
    assertOneLineFailure(await weir(['topics', 'list', '--bootstrap-server', `127.0.0.1:${port}`]), 1, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
});
