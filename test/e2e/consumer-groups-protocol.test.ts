/**
 * The group APIs over the wire with Weir's own codec (test/helpers/raw-client.ts), for what real
 * clients will not do on purpose: a commit from a stale generation, a heartbeat from a member
 * that does not exist, a member coming back after an agent restart, every version of every group
 * API, and the offset APIs' edge cases. After each bad request the agent must keep serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../agent/error-codes.js';
import { encodeMessage } from '../../core/protocol/codec.js';
import {
  ConsumerProtocolSubscriptionSchema,
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  Metadata,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
} from '../../core/protocol/generated/index.js';
import type { JoinGroupResponse } from '../../core/protocol/generated/join-group.js';
import type { OffsetFetchResponse } from '../../core/protocol/generated/offset-fetch.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { createTopics } from '../helpers/kafkajs.js';
import { RawClient } from '../helpers/raw-client.js';

const DELAY_MS = 200;
let agent: Agent;
const clients: RawClient[] = [];

before(async () => {
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', String(DELAY_MS)] });
  await createTopics(agent.bootstrap, [
    { topic: 'cgp-orders', numPartitions: 3 },
    { topic: 'cgp-other', numPartitions: 1 },
  ]);
});
after(async () => {
  for (const c of clients) c.close();
  await stopAllAgents();
});

/** One connection per member, as real clients have: a parked JoinGroup holds back later responses on its connection. */
async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(agent.host, agent.port);
  clients.push(c);
  return c;
}

function subscription(topics: string[]): Buffer {
  const body = encodeMessage(ConsumerProtocolSubscriptionSchema, 0, { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null });
  return Buffer.concat([Buffer.alloc(2), body]);
}

interface Joined {
  memberId: string;
  generationId: number;
  leader: string;
  response: JoinGroupResponse;
}

/** JoinGroup at version v, going through MEMBER_ID_REQUIRED first on v4+. */
async function join(c: RawClient, v: number, groupId: string, memberId = ''): Promise<Joined> {
  const request = (id: string) =>
    c.request(JoinGroup, v, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: id,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['cgp-orders']) }],
      reason: null,
    });
  let r = await request(memberId);
  if (memberId === '' && v >= 4) {
    assert.equal(r.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `JoinGroup v${v} first join`);
    assert.ok(r.memberId);
    r = await request(r.memberId!);
  }
  assert.equal(r.errorCode, ErrorCode.NONE, `JoinGroup v${v}`);
  return { memberId: r.memberId!, generationId: r.generationId!, leader: r.leader!, response: r };
}

function sync(c: RawClient, v: number, groupId: string, j: { memberId: string; generationId: number }, assignments: Array<{ memberId: string; assignment: Buffer }> = []) {
  return c.request(SyncGroup, v, {
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments,
  });
}

async function heartbeat(c: RawClient, v: number, groupId: string, memberId: string, generationId: number): Promise<number> {
  return (await c.request(Heartbeat, v, { groupId, generationId, memberId, groupInstanceId: null })).errorCode!;
}

async function commit(c: RawClient, v: number, groupId: string, memberId: string, generationId: number, offsets: Array<[string, number, number, string?]>): Promise<number[]> {
  const topics = [...new Set(offsets.map(([t]) => t))].map((name) => ({
    name,
    partitions: offsets
      .filter(([t]) => t === name)
      .map(([, partitionIndex, offset, metadata]) => ({ partitionIndex, committedOffset: BigInt(offset), committedLeaderEpoch: 4, commitTimestamp: -1n, committedMetadata: metadata ?? 'meta' })),
  }));
  const r = await c.request(OffsetCommit, v, { groupId, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null, retentionTimeMs: -1n, topics });
  return (r.topics ?? []).flatMap((t) => (t.partitions ?? []).map((p) => p.errorCode!));
}

/** OffsetFetch at version v (single-group form before v8); returns "topic/partition" → [offset, leader epoch, metadata, error]. */
async function fetchOffsets(c: RawClient, v: number, groupId: string, topics: Array<{ name: string; partitionIndexes: number[] }> | null): Promise<Record<string, [number, number, string | null, number]>> {
  const r: OffsetFetchResponse = await c.request(OffsetFetch, v, {
    groupId,
    topics,
    groups: [{ groupId, memberId: null, memberEpoch: -1, topics }],
    requireStable: v >= 7,
  });
  const out: Record<string, [number, number, string | null, number]> = {};
  const list = v >= 8 ? r.groups![0]!.topics! : r.topics!;
  if (v >= 8) assert.equal(r.groups![0]!.errorCode, ErrorCode.NONE);
  else if (v >= 2) assert.equal(r.errorCode, ErrorCode.NONE);
  for (const t of list) for (const p of t.partitions!) out[`${t.name}/${p.partitionIndex}`] = [Number(p.committedOffset), p.committedLeaderEpoch!, p.metadata!, p.errorCode!];
  return out;
}

/** Proves the agent still serves: a metadata round trip on the given connection. */
async function stillServing(c: RawClient): Promise<void> {
  const md = await c.request(Metadata, 9, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'cgp-orders' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  assert.equal(md.topics?.[0]?.errorCode, ErrorCode.NONE);
}

describe('consumer group protocol', () => {
  it('answers a stale-generation commit with ILLEGAL_GENERATION and an unknown member\'s heartbeat with UNKNOWN_MEMBER_ID, and keeps serving', async () => {
    const group = 'cgp-fencing';
    const c1 = await connect();
    const c2 = await connect();
    const m1 = await join(c1, 5, group);
    assert.equal(m1.generationId, 1);
    assert.equal(m1.leader, m1.memberId);
    assert.equal((await sync(c1, 3, group, m1, [{ memberId: m1.memberId, assignment: Buffer.from('a1') }])).errorCode, ErrorCode.NONE);
    assert.deepEqual(await commit(c1, 8, group, m1.memberId, 1, [['cgp-orders', 0, 10]]), [ErrorCode.NONE]);

    // A second member makes the group rebalance; the first learns it from its heartbeat.
    const joining = join(c2, 5, group);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await heartbeat(c1, 3, group, m1.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const [m1b, m2] = await Promise.all([join(c1, 5, group, m1.memberId), joining]);
    assert.equal(m1b.generationId, 2);
    assert.equal(m2.generationId, 2);
    assert.equal(m1b.response.members?.length, 2, 'the leader sees both members');
    assert.equal(m2.response.members?.length, 0);
    const [s1, s2] = await Promise.all([
      sync(c1, 3, group, m1b, [{ memberId: m1.memberId, assignment: Buffer.from('for-1') }, { memberId: m2.memberId, assignment: Buffer.from('for-2') }]),
      sync(c2, 3, group, m2),
    ]);
    assert.deepEqual([s1.errorCode, s1.assignment, s2.errorCode, s2.assignment], [ErrorCode.NONE, Buffer.from('for-1'), ErrorCode.NONE, Buffer.from('for-2')]);

    // The bad requests.
    assert.deepEqual(await commit(c1, 8, group, m1.memberId, 1, [['cgp-orders', 0, 99]]), [ErrorCode.ILLEGAL_GENERATION]);
    assert.equal(await heartbeat(c2, 4, group, 'nobody-1234', 2), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual(await commit(c2, 8, group, 'nobody-1234', 2, [['cgp-orders', 0, 99]]), [ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(await heartbeat(c1, 4, group, m1.memberId, 1), ErrorCode.ILLEGAL_GENERATION);
    // A "simple" commit (generation -1, no member) is refused while the group has members.
    assert.deepEqual(await commit(c1, 8, group, '', -1, [['cgp-orders', 0, 99]]), [ErrorCode.UNKNOWN_MEMBER_ID]);

    // The agent keeps serving, the group is intact and the refused commits changed nothing.
    await stillServing(c1);
    await stillServing(c2);
    assert.equal(await heartbeat(c1, 4, group, m1.memberId, 2), ErrorCode.NONE);
    assert.equal(await heartbeat(c2, 4, group, m2.memberId, 2), ErrorCode.NONE);
    assert.deepEqual(await fetchOffsets(c1, 8, group, [{ name: 'cgp-orders', partitionIndexes: [0, 1] }]), {
      'cgp-orders/0': [10, 4, 'meta', ErrorCode.NONE],
      'cgp-orders/1': [-1, -1, '', ErrorCode.NONE],
    });
    assert.deepEqual(await commit(c2, 8, group, m2.memberId, 2, [['cgp-orders', 1, 5]]), [ErrorCode.NONE]);
    for (const [c, m] of [[c1, m1], [c2, m2]] as const) {
      const left = await c.request(LeaveGroup, 4, { groupId: group, memberId: '', members: [{ memberId: m.memberId, groupInstanceId: null, reason: null }] });
      assert.deepEqual(left.members?.map((x) => x.errorCode), [ErrorCode.NONE]);
    }
  });

  it('keeps committed offsets across an agent restart and tells members from before it to rejoin', async () => {
    const group = 'cgp-restart';
    const c = await connect();
    const m = await join(c, 5, group);
    await sync(c, 3, group, m, [{ memberId: m.memberId, assignment: Buffer.from('x') }]);
    assert.deepEqual(await commit(c, 7, group, m.memberId, m.generationId, [['cgp-orders', 0, 3, 'before'], ['cgp-orders', 2, 7]]), [ErrorCode.NONE, ErrorCode.NONE]);

    agent = await agent.restart();
    const after = await connect();
    assert.equal(await heartbeat(after, 3, group, m.memberId, m.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual(await commit(after, 7, group, m.memberId, m.generationId, [['cgp-orders', 0, 4]]), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(await commit(after, 9, group, m.memberId, m.generationId, [['cgp-orders', 0, 4]]), [ErrorCode.GROUP_ID_NOT_FOUND]);
    const stale = await after.request(SyncGroup, 3, { groupId: group, generationId: m.generationId, memberId: m.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    assert.equal(stale.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoinOld = await after.request(JoinGroup, 5, {
      groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: m.memberId, groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['cgp-orders']) }], reason: null,
    });
    assert.equal(rejoinOld.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual(await fetchOffsets(after, 7, group, null), {
      'cgp-orders/0': [3, 4, 'before', ErrorCode.NONE],
      'cgp-orders/2': [7, 4, 'meta', ErrorCode.NONE],
    });
    // Rejoining with a new member id works, and that member's commits go through.
    const fresh = await join(after, 5, group);
    assert.equal(fresh.generationId, 1);
    await sync(after, 3, group, fresh);
    assert.deepEqual(await commit(after, 7, group, fresh.memberId, fresh.generationId, [['cgp-orders', 0, 4]]), [ErrorCode.NONE]);
    await after.request(LeaveGroup, 3, { groupId: group, memberId: '', members: [{ memberId: fresh.memberId, groupInstanceId: null, reason: null }] });
  });

  it('serves every version of every group API', async () => {
    for (let v = 0; v <= 9; v++) {
      const group = `cgp-versions-${v}`;
      const c = await connect();
      const fc = await c.request(FindCoordinator, Math.min(v, 6), { key: group, keyType: 0, coordinatorKeys: [group] });
      const coordinatorPort = Math.min(v, 6) >= 4 ? fc.coordinators?.[0]?.port : fc.port;
      assert.equal(coordinatorPort, agent.port, `FindCoordinator v${Math.min(v, 6)}`);

      const m = await join(c, v, group);
      assert.equal(m.response.protocolName, 'range', `JoinGroup v${v} protocol name`);
      if (v >= 7) assert.equal(m.response.protocolType, 'consumer');
      assert.deepEqual(m.response.members?.map((x) => [x.memberId, x.metadata]), [[m.memberId, subscription(['cgp-orders'])]]);
      const s = await sync(c, Math.min(v, 5), group, m, [{ memberId: m.memberId, assignment: Buffer.from(`assignment-${v}`) }]);
      assert.deepEqual([s.errorCode, s.assignment], [ErrorCode.NONE, Buffer.from(`assignment-${v}`)], `SyncGroup v${Math.min(v, 5)}`);
      if (v >= 5) assert.deepEqual([s.protocolType, s.protocolName], ['consumer', 'range']);
      assert.equal(await heartbeat(c, Math.min(v, 4), group, m.memberId, m.generationId), ErrorCode.NONE, `Heartbeat v${Math.min(v, 4)}`);

      // OffsetCommit v0 has no generation or member: a "simple" commit, refused while there are members.
      const committed = await commit(c, v, group, m.memberId, m.generationId, [['cgp-orders', 1, 100 + v]]);
      assert.deepEqual(committed, [v === 0 ? ErrorCode.UNKNOWN_MEMBER_ID : ErrorCode.NONE], `OffsetCommit v${v}`);

      const described = await c.request(DescribeGroups, Math.min(v, 5), { groups: [group, `${group}-nothing`], includeAuthorizedOperations: true });
      const [d, nothing] = described.groups!;
      assert.deepEqual([d!.errorCode, d!.groupState, d!.protocolType, d!.protocolData], [ErrorCode.NONE, 'Stable', 'consumer', 'range'], `DescribeGroups v${Math.min(v, 5)}`);
      assert.deepEqual(d!.members?.map((x) => [x.memberId, x.clientHost, x.memberAssignment]), [[m.memberId, '/127.0.0.1', Buffer.from(`assignment-${v}`)]]);
      assert.equal(d!.members?.[0]?.clientId, 'weir-e2e-raw');
      if (v >= 3) assert.equal(d!.authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));
      assert.deepEqual([nothing!.errorCode, nothing!.groupState], [ErrorCode.NONE, 'Dead']);

      const listed = await c.request(ListGroups, Math.min(v, 5), { statesFilter: v >= 4 ? ['stable'] : [], typesFilter: v >= 5 ? ['classic'] : [] });
      const mine = listed.groups?.find((g) => g.groupId === group);
      assert.equal(mine?.protocolType, 'consumer', `ListGroups v${Math.min(v, 5)}`);
      if (v >= 4) {
        assert.equal(mine?.groupState, 'Stable');
        assert.ok(listed.groups!.every((g) => g.groupState === 'Stable'), 'the state filter applies');
      }

      const lv = Math.min(v, 5);
      const left = await c.request(LeaveGroup, lv, { groupId: group, memberId: m.memberId, members: [{ memberId: m.memberId, groupInstanceId: null, reason: 'done' }] });
      assert.equal(left.errorCode, ErrorCode.NONE, `LeaveGroup v${lv}`);
      if (lv >= 3) assert.deepEqual(left.members?.map((x) => [x.memberId, x.errorCode]), [[m.memberId, ErrorCode.NONE]]);
      if (v === 0) assert.deepEqual(await commit(c, 0, group, '', -1, [['cgp-orders', 1, 100]]), [ErrorCode.NONE], 'simple commit once the group is empty');

      const fetched = await fetchOffsets(c, v, group, [{ name: 'cgp-orders', partitionIndexes: [1, 2] }]);
      assert.deepEqual(fetched['cgp-orders/1']!.slice(0, 1), [100 + v], `OffsetFetch v${v}`);
      assert.deepEqual(fetched['cgp-orders/2']!.slice(0, 1), [-1]);
      if (v >= 5) assert.equal(fetched['cgp-orders/1']![1], v >= 6 ? 4 : -1, 'leader epoch is stored from OffsetCommit v6');

      const dv = Math.min(v, 2);
      const deleted = await c.request(DeleteGroups, dv, { groupsNames: [group, group, `${group}-nothing`] });
      assert.deepEqual(deleted.results?.map((r) => [r.groupId, r.errorCode]), [[group, ErrorCode.NONE], [`${group}-nothing`, ErrorCode.GROUP_ID_NOT_FOUND]], `DeleteGroups v${dv}`);
      assert.deepEqual((await fetchOffsets(c, v, group, [{ name: 'cgp-orders', partitionIndexes: [1] }]))['cgp-orders/1']!.slice(0, 1), [-1]);
    }
  });

  it('fetches offsets of several groups at once (v8), of all topics (null), and -1 for partitions without a commit', async () => {
    const c = await connect();
    assert.deepEqual(await commit(c, 8, 'cgp-multi-a', '', -1, [['cgp-orders', 0, 1], ['cgp-other', 0, 2]]), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.deepEqual(await commit(c, 8, 'cgp-multi-b', '', -1, [['cgp-orders', 2, 3]]), [ErrorCode.NONE]);
    const r = await c.request(OffsetFetch, 8, {
      groupId: '',
      topics: null,
      groups: [
        { groupId: 'cgp-multi-a', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'cgp-multi-b', memberId: null, memberEpoch: -1, topics: [{ name: 'cgp-orders', partitionIndexes: [1, 2] }, { name: 'cgp-missing', partitionIndexes: [0] }] },
        { groupId: 'cgp-multi-none', memberId: null, memberEpoch: -1, topics: null },
      ],
      requireStable: true,
    });
    const flat = r.groups!.map((g) => [g.groupId, g.errorCode, g.topics!.flatMap((t) => t.partitions!.map((p) => `${t.name}/${p.partitionIndex}=${p.committedOffset}`))]);
    assert.deepEqual(flat, [
      ['cgp-multi-a', 0, ['cgp-orders/0=1', 'cgp-other/0=2']],
      ['cgp-multi-b', 0, ['cgp-orders/1=-1', 'cgp-orders/2=3', 'cgp-missing/0=-1']],
      ['cgp-multi-none', 0, []],
    ]);
  });

  it('refuses oversized metadata and unknown partitions one by one, and deletes offsets and groups as Kafka does', async () => {
    const c = await connect();
    const group = 'cgp-edges';
    const results = await commit(c, 8, group, '', -1, [
      ['cgp-orders', 0, 1, 'x'.repeat(4097)],
      ['cgp-orders', 1, 1, 'x'.repeat(4096)],
      ['cgp-orders', 9, 1],
      ['cgp-missing', 0, 1],
    ]);
    assert.deepEqual(results, [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

    // OffsetDelete: a member subscribed to cgp-orders protects its offsets; cgp-other's can go.
    await commit(c, 8, group, '', -1, [['cgp-other', 0, 5]]);
    const member = await connect();
    const m = await join(member, 5, group);
    await sync(member, 3, group, m);
    const od = await c.request(OffsetDelete, 0, {
      groupId: group,
      topics: [
        { name: 'cgp-orders', partitions: [{ partitionIndex: 1 }] },
        { name: 'cgp-other', partitions: [{ partitionIndex: 0 }] },
        { name: 'cgp-missing', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    assert.equal(od.errorCode, ErrorCode.NONE);
    assert.deepEqual(od.topics?.map((t) => [t.name, t.partitions?.map((p) => p.errorCode)]), [
      ['cgp-orders', [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
      ['cgp-other', [ErrorCode.NONE]],
      ['cgp-missing', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    ]);
    const del = await c.request(DeleteGroups, 2, { groupsNames: [group] });
    assert.deepEqual(del.results?.map((r) => r.errorCode), [ErrorCode.NON_EMPTY_GROUP]);
    assert.equal((await c.request(OffsetDelete, 0, { groupId: 'cgp-never', topics: [{ name: 'cgp-orders', partitions: [{ partitionIndex: 0 }] }] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    await member.request(LeaveGroup, 1, { groupId: group, memberId: m.memberId, members: [] });
    assert.deepEqual(await fetchOffsets(c, 6, group, null), { 'cgp-orders/1': [1, 4, 'x'.repeat(4096), ErrorCode.NONE] });
    assert.deepEqual((await c.request(DeleteGroups, 2, { groupsNames: [group] })).results?.map((r) => r.errorCode), [ErrorCode.NONE]);
    assert.deepEqual(await fetchOffsets(c, 6, group, null), {});
    await stillServing(c);
  });
});
