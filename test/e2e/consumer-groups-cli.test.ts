/**
 * `weir groups list|describe|delete` against a real agent: a group with a live member (joined
 * with the raw client, so its assignment is exactly known) and a group that only committed
 * offsets, over records whose timestamps are known, so describe's lag in records and in time can
 * be checked. Bad input gets one stderr line and a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../agent/error-codes.js';
import { encodeMessage } from '../../core/protocol/codec.js';
import { ConsumerProtocolAssignmentSchema, ConsumerProtocolSubscriptionSchema, Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup } from '../../core/protocol/generated/index.js';
import { AGENT_CLI, startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { connectedProducer, createTopics, kafkajsProduce } from '../helpers/kafkajs.js';
import { RawClient } from '../helpers/raw-client.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function weir(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_CLI, ...args], { env: { ...process.env, WEIR_BOOTSTRAP_SERVER: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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

/** A failed run: the given exit code, exactly one line on stderr matching the pattern, nothing on stdout. */
function assertOneLineFailure(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one stderr line, got: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

const TOPIC = 'cli-groups-orders';
const HOUR = 3_600_000;
let agent: Agent;
let member: RawClient;
let memberId = '';
let generationId = -1;
let producedAt = 0;

before(async () => {
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '100'] });
  await createTopics(agent.bootstrap, [{ topic: TOPIC, numPartitions: 3 }]);
  // Ten records per partition; record i of every partition is (10 - i) hours old.
  producedAt = Date.now();
  const producer = await connectedProducer(agent.bootstrap);
  try {
    const records = [0, 1, 2].flatMap((partition) => Array.from({ length: 10 }, (_, i) => ({ key: null, value: `v${i}`, partition, timestamp: producedAt - (10 - i) * HOUR })));
    await kafkajsProduce(producer, TOPIC, records);
  } finally {
    await producer.disconnect();
  }

  // "cli-offsets-only": commits without members (generation -1): p0 at 4, p1 at the end.
  const c = await RawClient.connect(agent.host, agent.port);
  try {
    const r = await c.request(OffsetCommit, 8, {
      groupId: 'cli-offsets-only', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
      topics: [{ name: TOPIC, partitions: [0, 1].map((p) => ({ partitionIndex: p, committedOffset: p === 0 ? 4n : 10n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })) }],
    });
    assert.deepEqual(r.topics?.[0]?.partitions?.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
  } finally {
    c.close();
  }

  // "cli-live": one member assigned partitions 0 and 2, which committed partition 2 at 7.
  member = await RawClient.connect(agent.host, agent.port);
  const subscription = Buffer.concat([Buffer.alloc(2), encodeMessage(ConsumerProtocolSubscriptionSchema, 0, { topics: [TOPIC], userData: null, ownedPartitions: [], generationId: -1, rackId: null })]);
  // v3: no MEMBER_ID_REQUIRED round trip.
  const joined = await member.request(JoinGroup, 3, {
    groupId: 'cli-live', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription }], reason: null,
  });
  assert.equal(joined.errorCode, ErrorCode.NONE);
  memberId = joined.memberId!;
  generationId = joined.generationId!;
  const assignment = Buffer.concat([Buffer.alloc(2), encodeMessage(ConsumerProtocolAssignmentSchema, 0, { assignedPartitions: [{ topic: TOPIC, partitions: [0, 2] }], userData: null })]);
  const synced = await member.request(SyncGroup, 3, { groupId: 'cli-live', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId, assignment }] });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  const committed = await member.request(OffsetCommit, 8, {
    groupId: 'cli-live', generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1n,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 2, committedOffset: 7n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' }] }],
  });
  assert.equal(committed.topics?.[0]?.partitions?.[0]?.errorCode, ErrorCode.NONE);
});

after(async () => {
  member?.close();
  await stopAllAgents();
});

interface PartitionJson {
  topic: string;
  partition: number;
  committedOffset: number;
  logEndOffset: number | null;
  lag: number | null;
  lagMs: number | null;
  memberId: string | null;
}

describe('weir groups', () => {
  it('list prints every group, with members or only offsets; --json adds state and protocol type', async () => {
    const r = await weir(['groups', 'list', '--bootstrap-server', agent.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l !== ''), ['cli-live', 'cli-offsets-only']);
    const j = await weir(['groups', 'list', '--json', '--bootstrap-server', agent.bootstrap]);
    assert.deepEqual(JSON.parse(j.stdout), [
      { group: 'cli-live', state: 'Stable', protocolType: 'consumer' },
      { group: 'cli-offsets-only', state: 'Empty', protocolType: '' },
    ]);
  });

  it('describe shows committed offsets and the lag in records and in time', async () => {
    const r = await weir(['groups', 'describe', 'cli-offsets-only', '--json', '--bootstrap-server', agent.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    const [view] = JSON.parse(r.stdout) as Array<{ group: string; state: string; members: unknown[]; partitions: PartitionJson[] }>;
    assert.equal(view!.state, 'Empty');
    assert.deepEqual(view!.members, []);
    const [p0, p1] = view!.partitions;
    assert.equal(view!.partitions.length, 2);
    assert.deepEqual([p0!.partition, p0!.committedOffset, p0!.logEndOffset, p0!.lag, p0!.memberId], [0, 4, 10, 6, null]);
    // The oldest unconsumed record of partition 0 is record 4, produced with a timestamp 6 hours before producedAt.
    const age = Date.now() - (producedAt - 6 * HOUR);
    assert.ok(p0!.lagMs! >= 6 * HOUR && p0!.lagMs! <= age, `lag time ${p0!.lagMs} ms is the age of record 4 (at most ${age} ms)`);
    assert.deepEqual([p1!.partition, p1!.committedOffset, p1!.logEndOffset, p1!.lag, p1!.lagMs], [1, 10, 10, 0, 0]);
  });

  it('describe shows members with their assignments, and partitions assigned but never committed', async () => {
    assert.equal((await member.request(Heartbeat, 3, { groupId: 'cli-live', generationId, memberId, groupInstanceId: null })).errorCode, ErrorCode.NONE);
    const r = await weir(['groups', 'describe', 'cli-live', '--bootstrap-server', agent.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^Group: cli-live\tState: Stable\tProtocol: consumer\/range\tMembers: 1$/);
    const memberLine = lines.find((l) => l.startsWith(memberId));
    assert.ok(memberLine, r.stdout);
    assert.deepEqual(memberLine!.split(/\s{2,}/), [memberId, '-', 'weir-e2e-raw', '/127.0.0.1', `${TOPIC}:0,2`]);
    const rows = lines.filter((l) => l.startsWith(`${TOPIC} `)).map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows.map((row) => [row[1], row[2], row[3], row[4], row[6]]), [
      ['0', '-', '10', '-', memberId],
      ['2', '7', '10', '3', memberId],
    ]);
    assert.match(rows[1]![5]!, /^[0-9]+h[0-9]{2}m$/, 'partition 2 lags by hours (record 7 is 3 hours old)');

    const j = JSON.parse((await weir(['groups', 'describe', 'cli-live', '--json', '--bootstrap-server', agent.bootstrap])).stdout) as Array<{ members: Array<{ memberId: string; assignment: unknown }> }>;
    assert.deepEqual(j[0]!.members.map((m) => [m.memberId, m.assignment]), [[memberId, [{ topic: TOPIC, partitions: [0, 2] }]]]);
  });

  it('delete refuses a group with members and an unknown one, and deletes an empty one with its offsets', async () => {
    assertOneLineFailure(await weir(['groups', 'delete', 'cli-live', '--bootstrap-server', agent.bootstrap]), 1, /^weir: cannot delete group cli-live: it has active members$/);
    assertOneLineFailure(await weir(['groups', 'delete', 'cli-nothing', '--bootstrap-server', agent.bootstrap]), 1, /^weir: cannot delete group cli-nothing: it does not exist/);
    const ifExists = await weir(['groups', 'delete', 'cli-nothing', '--if-exists', '--bootstrap-server', agent.bootstrap]);
    assert.deepEqual([ifExists.code, ifExists.stdout], [0, 'group cli-nothing does not exist\n']);
    const deleted = await weir(['groups', 'delete', 'cli-offsets-only', '--bootstrap-server', agent.bootstrap]);
    assert.deepEqual([deleted.code, deleted.stdout, deleted.stderr], [0, 'deleted group cli-offsets-only\n', '']);
    assertOneLineFailure(await weir(['groups', 'describe', 'cli-offsets-only', '--bootstrap-server', agent.bootstrap]), 1, /^weir: group cli-offsets-only does not exist$/);

    // Once its member leaves, the live group can go too.
    const left = await member.request(LeaveGroup, 3, { groupId: 'cli-live', memberId: '', members: [{ memberId, groupInstanceId: null, reason: null }] });
    assert.equal(left.members?.[0]?.errorCode, ErrorCode.NONE);
    assert.equal((await weir(['groups', 'delete', 'cli-live', '--bootstrap-server', agent.bootstrap])).code, 0);
    const listed = await weir(['groups', 'list', '--bootstrap-server', agent.bootstrap]);
    assert.deepEqual([listed.code, listed.stdout], [0, '']);
  });

  it('refuses bad input with one line naming it', async () => {
    assertOneLineFailure(await weir(['groups', 'describe']), 2, /^weir: groups describe needs at least one group id$/);
    assertOneLineFailure(await weir(['groups', 'frobnicate']), 2, /^weir: unknown groups command "frobnicate"/);
    assertOneLineFailure(await weir(['groups', 'list', 'extra']), 2, /^weir: groups list takes no group ids/);
    assertOneLineFailure(await weir(['groups', 'list', '--partitions', '3']), 2, /^weir: unknown flag --partitions$/);
    assertOneLineFailure(await weir(['groups', 'list', '--if-exists']), 2, /^weir: --if-exists does not apply to groups list$/);
    assertOneLineFailure(await weir(['groups', 'describe', 'g', '--bootstrap-server', 'nope']), 2, /^weir: invalid value "nope" for --bootstrap-server/);
    assertOneLineFailure(await weir(['groups', 'describe', '']), 2, /^weir: invalid group id ""/);
    assertOneLineFailure(await weir(['groups', 'list', '--timeout-ms', 'soon']), 2, /^weir: invalid value "soon" for --timeout-ms/);
    // Nothing listens on port 1.
    assertOneLineFailure(await weir(['groups', 'list', '--bootstrap-server', '127.0.0.1:1']), 1, /^weir: cannot connect to an agent at 127\.0\.0\.1:1/);
  });
});
