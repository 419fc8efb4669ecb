/**
 * The classic group coordinator's state machine on a manual clock (no real time passes): joins
 * with MEMBER_ID_REQUIRED, the initial rebalance delay, leader and follower views, SyncGroup,
 * protocol selection, rebalances on join/leave/session timeout/rebalance timeout/missed sync,
 * static membership and fencing, offset commit validation, and the admin views.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCoordinator, NEW_MEMBER_JOIN_TIMEOUT_MS, type JoinParams } from '../../agent/groups/group-coordinator.js';
import type { JoinResult, SyncResult } from '../../agent/groups/member.js';
import { ErrorCode } from '../../agent/error-codes.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { encodeMessage } from '../../core/protocol/codec.js';
import { ConsumerProtocolSubscriptionSchema } from '../../core/protocol/generated/index.js';
import { entry } from '../contracts/group-offset-contract.js';
import { ManualTimers } from '../helpers/manual-timers.js';

const DELAY = 100;
const SESSION = 10_000;
const REBALANCE = 30_000;

/** Consumer protocol subscription bytes (version 0) for the given topics. */
function subscription(topics: string[], userData = ''): Buffer {
  const body = encodeMessage(ConsumerProtocolSubscriptionSchema, 0, { topics, userData: Buffer.from(userData), ownedPartitions: [], generationId: -1, rackId: null });
  const version = Buffer.alloc(2);
  return Buffer.concat([version, body]);
}

interface Tracked<T> {
  promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, settled: false, value: undefined };
  void promise.then((v) => {
    t.settled = true;
    t.value = v;
  });
  return t;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(options: { initialRebalanceDelayMs?: number } = {}) {
  const timers = new ManualTimers();
  const store = new SqliteMetadataStore(':memory:');
  const coordinator = new GroupCoordinator({
    offsets: store,
    initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? DELAY,
    minSessionTimeoutMs: 1000,
    maxSessionTimeoutMs: 60_000,
    timers,
  });
  const params = (o: Partial<JoinParams> = {}): JoinParams => ({
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    reason: null,
    ...o,
  });
  const join = (o: Partial<JoinParams> = {}): Tracked<JoinResult> => track(coordinator.join(params(o)));
  /** A member id through the v4 handshake: MEMBER_ID_REQUIRED, then the real join (still pending). */
  const joinV4 = async (o: Partial<JoinParams> = {}): Promise<Tracked<JoinResult>> => {
    const first = await coordinator.join(params({ ...o, requireKnownMemberId: true }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^client-[0-9a-f-]{36}$/);
    return join({ ...o, memberId: first.memberId, requireKnownMemberId: true });
  };
  const sync = (memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = []): Tracked<SyncResult> =>
    track(coordinator.sync({ groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments }));
  const heartbeat = (memberId: string, generationId: number, groupInstanceId: string | null = null): number =>
    coordinator.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId });
  const commit = (o: { memberId: string; generationId: number; groupInstanceId?: string | null; apiVersion?: number }, offset = 1) =>
    coordinator.commitOffsets({ groupId: 'g', groupInstanceId: null, apiVersion: 8, ...o }, [entry('t', 0, offset)]);
  return { timers, store, coordinator, params, join, joinV4, sync, heartbeat, commit };
}

/** Two members through a complete first rebalance; returns their ids (leader first) and the generation. */
async function stableGroupOfTwo(s: ReturnType<typeof setup>): Promise<{ leader: string; follower: string; generation: number }> {
  const a = s.join({ clientId: 'a' });
  const b = s.join({ clientId: 'b' });
  // b arrived during the initial delay, which extends it once.
  s.timers.advance(2 * DELAY);
  await flush();
  assert.ok(a.settled && b.settled);
  const leader = a.value!.leaderId;
  const follower = [a.value!, b.value!].find((r) => r.memberId !== leader)!.memberId;
  const generation = a.value!.generationId;
  const ls = s.sync(leader, generation, [
    { memberId: leader, assignment: Buffer.from('L') },
    { memberId: follower, assignment: Buffer.from('F') },
  ]);
  const fs = s.sync(follower, generation);
  await flush();
  assert.equal(ls.value?.errorCode, ErrorCode.NONE);
  assert.equal(fs.value?.errorCode, ErrorCode.NONE);
  assert.equal(s.coordinator.stateOf('g')?.state, 'Stable');
  return { leader, follower, generation };
}

describe('GroupCoordinator', () => {
  it('asks a v4+ first join for a member id, then completes the first rebalance after the initial delay', async () => {
    const s = setup();
    const joined = await s.joinV4();
    await flush();
    assert.equal(joined.settled, false, 'the join waits for the initial rebalance delay');
    assert.equal(s.coordinator.stateOf('g')?.state, 'PreparingRebalance');
    s.timers.advance(DELAY - 1);
    await flush();
    assert.equal(joined.settled, false);
    s.timers.advance(1);
    await flush();
    const r = joined.value!;
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, 1);
    assert.equal(r.protocolName, 'range');
    assert.equal(r.protocolType, 'consumer');
    assert.equal(r.leaderId, r.memberId);
    assert.deepEqual(r.members.map((m) => [m.memberId, m.metadata]), [[r.memberId, subscription(['t'])]]);
    assert.equal(s.coordinator.stateOf('g')?.state, 'CompletingRebalance');
  });

  it('gives the leader every member\'s metadata, the follower none, and hands each its assignment in SyncGroup', async () => {
    const s = setup();
    const a = s.join({ clientId: 'a', protocols: [{ name: 'range', metadata: subscription(['t'], 'a') }] });
    const b = s.join({ clientId: 'b', protocols: [{ name: 'range', metadata: subscription(['t'], 'b') }] });
    s.timers.advance(DELAY);
    await flush();
    assert.equal(a.settled, false, 'b joined during the initial delay: it is extended');
    s.timers.advance(DELAY);
    await flush();
    const [ra, rb] = [a.value!, b.value!];
    assert.equal(ra.generationId, 1);
    assert.equal(rb.generationId, 1);
    assert.equal(ra.leaderId, ra.memberId, 'the first member to join leads');
    assert.equal(rb.leaderId, ra.memberId);
    assert.deepEqual(ra.members.map((m) => m.metadata), [subscription(['t'], 'a'), subscription(['t'], 'b')]);
    assert.deepEqual(rb.members, []);

    const followerSync = s.sync(rb.memberId, 1);
    await flush();
    assert.equal(followerSync.settled, false, 'the follower waits for the leader');
    const leaderSync = s.sync(ra.memberId, 1, [
      { memberId: ra.memberId, assignment: Buffer.from('for-a') },
      { memberId: rb.memberId, assignment: Buffer.from('for-b') },
      { memberId: 'not-a-member', assignment: Buffer.from('ignored') },
    ]);
    await flush();
    assert.deepEqual(leaderSync.value, { errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('for-a') });
    assert.deepEqual(followerSync.value, { errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('for-b') });
    assert.equal(s.coordinator.stateOf('g')?.state, 'Stable');
    // A late SyncGroup in a stable group gets the current assignment at once.
    const again = s.sync(rb.memberId, 1);
    await flush();
    assert.deepEqual(again.value?.assignment, Buffer.from('for-b'));
  });

  it('extends the initial delay while members keep arriving, up to the rebalance timeout', async () => {
    const s = setup();
    const first = s.join({ rebalanceTimeoutMs: 250 });
    s.timers.advance(DELAY - 10);
    const second = s.join({ rebalanceTimeoutMs: 250 });
    s.timers.advance(10);
    await flush();
    assert.equal(first.settled, false, 'a member arrived during the delay: wait another delay');
    s.timers.advance(DELAY - 10);
    const third = s.join({ rebalanceTimeoutMs: 250 });
    s.timers.advance(10);
    await flush();
    assert.equal(first.settled, false);
    // 200 ms spent of the 250 ms rebalance timeout: the last extension is the remaining 50 ms.
    s.timers.advance(49);
    await flush();
    assert.equal(first.settled, false);
    s.timers.advance(1);
    await flush();
    for (const t of [first, second, third]) assert.equal(t.value?.generationId, 1);
    assert.equal(s.coordinator.stateOf('g')?.members.length, 3);
  });

  it('selects the protocol every member supports with the most first-choice votes', async () => {
    const s = setup({ initialRebalanceDelayMs: 0 });
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const a = s.join({ protocols: p('cooperative-sticky', 'range') });
    const b = s.join({ protocols: p('range', 'roundrobin', 'cooperative-sticky') });
    const c = s.join({ protocols: p('range', 'cooperative-sticky') });
    s.timers.advance(0);
    await flush();
    assert.equal(a.value?.protocolName, 'range');
    assert.deepEqual(a.value?.members.map((m) => m.metadata.toString()), ['range', 'range', 'range']);
    assert.equal(b.value?.protocolName, 'range');
    assert.equal(c.value?.protocolName, 'range');

    // No protocol in common with the members, or another protocol type: refused at once.
    const odd = await s.coordinator.join(s.params({ protocols: p('roundrobin') }));
    assert.equal(odd.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const other = await s.coordinator.join(s.params({ protocolType: 'connect' }));
    assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('breaks a tie in favour of the protocol voted for first', async () => {
    const s = setup({ initialRebalanceDelayMs: 0 });
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.alloc(0) }));
    const a = s.join({ protocols: p('roundrobin', 'range') });
    s.join({ protocols: p('range', 'roundrobin') });
    s.timers.advance(0);
    await flush();
    assert.equal(a.value?.protocolName, 'roundrobin');
  });

  it('rebalances a stable group when a member joins: the others learn it from their heartbeats', async () => {
    const s = setup();
    await s.store.createTopic('t', 1, {});
    const { leader, follower } = await stableGroupOfTwo(s);
    const c = s.join({ clientId: 'c' });
    await flush();
    assert.equal(s.coordinator.stateOf('g')?.state, 'PreparingRebalance');
    assert.equal(s.heartbeat(leader, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(s.heartbeat(follower, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    // Members may still commit while the group prepares to rebalance.
    assert.deepEqual(await s.commit({ memberId: follower, generationId: 1 }), [ErrorCode.NONE]);
    const rl = s.join({ memberId: leader });
    const rf = s.join({ memberId: follower });
    await flush();
    // No initial delay for a group that is not empty: done as soon as everyone rejoined.
    for (const t of [c, rl, rf]) assert.equal(t.value?.generationId, 2);
    assert.equal(rl.value?.leaderId, leader, 'the leader stays the leader');
    assert.equal(rl.value?.members.length, 3);
    // The old generation is fenced.
    assert.equal(s.heartbeat(follower, 1), ErrorCode.ILLEGAL_GENERATION);
    assert.deepEqual(await s.commit({ memberId: follower, generationId: 1 }), [ErrorCode.ILLEGAL_GENERATION]);
    // Between JoinGroup and the leader's SyncGroup commits are refused, heartbeats are fine.
    assert.deepEqual(await s.commit({ memberId: follower, generationId: 2 }), [ErrorCode.REBALANCE_IN_PROGRESS]);
    assert.equal(s.heartbeat(follower, 2), ErrorCode.NONE);
  });

  it('answers a follower that rejoins a stable group with unchanged metadata without a rebalance, and rebalances on changed metadata', async () => {
    const s = setup();
    const { follower } = await stableGroupOfTwo(s);
    const same = await s.coordinator.join(s.params({ memberId: follower }));
    assert.equal(same.errorCode, ErrorCode.NONE);
    assert.equal(same.generationId, 1);
    assert.equal(s.coordinator.stateOf('g')?.state, 'Stable');
    // Cooperative assignors rejoin with their owned partitions in the metadata: that is a change.
    const changed = s.join({ memberId: follower, protocols: [{ name: 'range', metadata: subscription(['t'], 'owned: t-0') }] });
    await flush();
    assert.equal(changed.settled, false);
    assert.equal(s.coordinator.stateOf('g')?.state, 'PreparingRebalance');
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const s = setup();
    const { leader, follower } = await stableGroupOfTwo(s);
    // Keep the follower's session alive while it ignores the rebalance.
    s.join({ clientId: 'c' });
    const rl = s.join({ memberId: leader });
    for (let t = 0; t < REBALANCE; t += 5000) {
      s.timers.advance(5000);
      s.heartbeat(follower, 1);
    }
    await flush();
    assert.equal(rl.value?.generationId, 2);
    assert.deepEqual(new Set(rl.value?.members.map((m) => m.memberId)), new Set(s.coordinator.stateOf('g')!.members));
    assert.ok(!s.coordinator.stateOf('g')!.members.includes(follower));
    assert.equal(s.heartbeat(follower, 2), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes a member whose session times out and rebalances the rest', async () => {
    const s = setup();
    const { leader, follower } = await stableGroupOfTwo(s);
    for (let t = 0; t < SESSION; t += 3000) {
      s.timers.advance(3000);
      assert.equal(s.heartbeat(leader, 1), t + 3000 < SESSION ? ErrorCode.NONE : ErrorCode.REBALANCE_IN_PROGRESS);
    }
    assert.deepEqual(s.coordinator.stateOf('g')?.members, [leader]);
    const r = s.join({ memberId: leader });
    await flush();
    assert.equal(r.value?.generationId, 2);
    assert.equal(s.heartbeat(follower, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes members that never send SyncGroup and rebalances without them', async () => {
    const s = setup();
    const a = s.join();
    const b = s.join();
    s.timers.advance(2 * DELAY);
    await flush();
    const leader = a.value!.leaderId;
    const silent = [a.value!, b.value!].find((r) => r.memberId !== leader)!.memberId;
    const ls = s.sync(leader, 1, []);
    await flush();
    assert.equal(ls.value?.errorCode, ErrorCode.NONE);
    assert.equal(ls.value?.assignment.length, 0, 'the leader assigned itself nothing');
    // Both heartbeat (so no session ends), but one never syncs.
    for (let t = 0; t < REBALANCE; t += 5000) {
      s.timers.advance(5000);
      s.heartbeat(leader, 1);
      s.heartbeat(silent, 1);
    }
    assert.deepEqual(s.coordinator.stateOf('g')?.members, [leader]);
    assert.equal(s.coordinator.stateOf('g')?.state, 'PreparingRebalance');
    assert.equal(s.heartbeat(silent, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('fences unknown members, stale generations and the empty group id', async () => {
    const s = setup();
    const { leader, generation } = await stableGroupOfTwo(s);
    assert.equal(s.heartbeat('nobody', generation), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(s.heartbeat(leader, generation - 1), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(s.heartbeat(leader, generation), ErrorCode.NONE);
    assert.equal(s.coordinator.heartbeat({ groupId: 'other', generationId: 1, memberId: leader, groupInstanceId: null }), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(s.coordinator.heartbeat({ groupId: '', generationId: 1, memberId: leader, groupInstanceId: null }), ErrorCode.INVALID_GROUP_ID);
    assert.equal((await s.sync(leader, generation + 1).promise).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await s.sync('nobody', generation).promise).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await s.coordinator.join(s.params({ memberId: 'nobody' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await s.coordinator.join(s.params({ groupId: 'fresh', memberId: 'from-before-a-restart' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await s.coordinator.join(s.params({ groupId: '' }))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await s.coordinator.join(s.params({ sessionTimeoutMs: 999 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await s.coordinator.join(s.params({ sessionTimeoutMs: 60_001 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    // A SyncGroup naming another protocol is refused.
    const wrong = await s.coordinator.sync({ groupId: 'g', generationId: generation, memberId: leader, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    assert.equal(wrong.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('validates offset commits against the group', async () => {
    const s = setup();
    await s.store.createTopic('t', 1, {});
    // No group: simple commits are fine; a member commit gets ILLEGAL_GENERATION (GROUP_ID_NOT_FOUND from v9).
    assert.deepEqual(await s.commit({ memberId: '', generationId: -1 }, 5), [ErrorCode.NONE]);
    assert.equal((await s.store.fetchOffsets('g', null))[0]?.offset, 5);
    assert.deepEqual(await s.commit({ memberId: 'm', generationId: 3 }), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(await s.commit({ memberId: 'm', generationId: 3, apiVersion: 9 }), [ErrorCode.GROUP_ID_NOT_FOUND]);
    assert.deepEqual(await s.commit({ memberId: 'm', generationId: -1 }), [ErrorCode.UNKNOWN_MEMBER_ID]);

    const { leader, follower, generation } = await stableGroupOfTwo(s);
    assert.deepEqual(await s.commit({ memberId: leader, generationId: generation }, 7), [ErrorCode.NONE]);
    assert.deepEqual(await s.commit({ memberId: follower, generationId: generation - 1 }), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(await s.commit({ memberId: 'stranger', generationId: generation }), [ErrorCode.UNKNOWN_MEMBER_ID]);
    // Only members may commit while the group has any.
    assert.deepEqual(await s.commit({ memberId: '', generationId: -1 }), [ErrorCode.UNKNOWN_MEMBER_ID]);
    // Unknown partitions are refused one by one.
    const mixed = await s.coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: leader, groupInstanceId: null, apiVersion: 8 }, [entry('t', 0, 8), entry('t', 1, 8), entry('nope', 0, 1)]);
    assert.deepEqual(mixed, [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal((await s.store.fetchOffsets('g', null))[0]?.offset, 8);
  });

  it('keeps a static member\'s place and assignment when it comes back with a new member id', async () => {
    const s = setup();
    const a = s.join({ groupInstanceId: 'instance-a', clientId: 'a' });
    const b = s.join({ groupInstanceId: 'instance-b', clientId: 'b' });
    s.timers.advance(2 * DELAY);
    await flush();
    const leader = a.value!.memberId;
    const oldB = b.value!.memberId;
    assert.match(oldB, /^instance-b-/);
    s.sync(leader, 1, [
      { memberId: leader, assignment: Buffer.from('A') },
      { memberId: oldB, assignment: Buffer.from('B') },
    ]);
    s.sync(oldB, 1);
    await flush();

    // instance-b restarts: it joins with no member id and gets its old place without a rebalance.
    const back = await s.coordinator.join(s.params({ groupInstanceId: 'instance-b', clientId: 'b' }));
    assert.equal(back.errorCode, ErrorCode.NONE);
    assert.notEqual(back.memberId, oldB);
    assert.equal(back.generationId, 1);
    assert.equal(s.coordinator.stateOf('g')?.state, 'Stable');
    const synced = await s.coordinator.sync({ groupId: 'g', generationId: 1, memberId: back.memberId, groupInstanceId: 'instance-b', protocolType: null, protocolName: null, assignments: [] });
    assert.deepEqual(synced.assignment, Buffer.from('B'));
    // The old instance is fenced.
    assert.equal(s.heartbeat(oldB, 1, 'instance-b'), ErrorCode.FENCED_INSTANCE_ID);
    assert.deepEqual(await s.commit({ memberId: oldB, generationId: 1, groupInstanceId: 'instance-b' }), [ErrorCode.FENCED_INSTANCE_ID]);
    assert.equal(s.coordinator.leave('g', [{ memberId: oldB, groupInstanceId: 'instance-b' }]).members[0]?.errorCode, ErrorCode.FENCED_INSTANCE_ID);

    // The static leader restarting: before v9 it is told the old leader id (so it does not
    // reassign); from v9 it learns it leads, with skipAssignment.
    const leaderBack = await s.coordinator.join(s.params({ groupInstanceId: 'instance-a', clientId: 'a' }));
    assert.equal(leaderBack.leaderId, leader);
    assert.notEqual(leaderBack.memberId, leader);
    assert.deepEqual(leaderBack.members, []);
    const leaderV9 = await s.coordinator.join(s.params({ groupInstanceId: 'instance-a', clientId: 'a', supportSkippingAssignment: true }));
    assert.equal(leaderV9.leaderId, leaderV9.memberId);
    assert.equal(leaderV9.skipAssignment, true);
    assert.equal(leaderV9.members.length, 2);
    assert.equal(s.coordinator.stateOf('g')?.state, 'Stable');

    // An administrator removes a static member by its instance id alone.
    const removed = s.coordinator.leave('g', [{ memberId: '', groupInstanceId: 'instance-b' }, { memberId: '', groupInstanceId: 'nobody' }]);
    assert.deepEqual(removed.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(s.coordinator.stateOf('g')?.members.length, 1);
  });

  it('keeps a static member that has not rejoined until its session ends, without waiting the join phase for it', async () => {
    const s = setup();
    const a = s.join({ groupInstanceId: 'a' });
    // b's session outlasts the rebalance timeout, so only the join deadline can end the join phase.
    const b = s.join({ groupInstanceId: 'b', sessionTimeoutMs: 60_000 });
    s.timers.advance(2 * DELAY);
    await flush();
    const [ma, mb] = [a.value!.memberId, b.value!.memberId];
    s.sync(ma, 1, []);
    s.sync(mb, 1);
    await flush();
    // a new member joins; only a rejoins.
    const c = s.join();
    const ra = s.join({ memberId: ma, groupInstanceId: 'a' });
    s.timers.advance(REBALANCE);
    await flush();
    assert.equal(ra.value?.generationId, 2);
    assert.equal(c.value?.generationId, 2);
    assert.ok(s.coordinator.stateOf('g')!.members.includes(mb), 'the static member keeps its place');
    // ... until its session times out (the others keep heartbeating).
    const cid = c.value!.memberId;
    s.sync(ma, 2, []);
    s.sync(cid, 2);
    for (let t = 0; t < 60_000 - REBALANCE; t += 2000) {
      s.timers.advance(2000);
      s.heartbeat(ma, 2, 'a');
      s.heartbeat(cid, 2);
    }
    assert.deepEqual(new Set(s.coordinator.stateOf('g')!.members), new Set([ma, cid]));
  });

  it('lets members leave: the group rebalances, and is forgotten once empty', async () => {
    const s = setup();
    const { leader, follower } = await stableGroupOfTwo(s);
    const left = s.coordinator.leave('g', [{ memberId: leader, groupInstanceId: null }, { memberId: 'nobody', groupInstanceId: null }]);
    assert.deepEqual(left.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(s.coordinator.stateOf('g')?.state, 'PreparingRebalance');
    assert.equal(s.heartbeat(follower, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const r = s.join({ memberId: follower });
    await flush();
    assert.equal(r.value?.leaderId, follower, 'leadership passes on');
    assert.equal(r.value?.generationId, 2);
    s.coordinator.leave('g', [{ memberId: follower, groupInstanceId: null }]);
    assert.equal(s.coordinator.stateOf('g'), null);
    assert.equal(s.timers.size, 0, 'no timer outlives the group');
    assert.deepEqual(s.coordinator.leave('g', [{ memberId: follower, groupInstanceId: null }]).members[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('waits in the join phase for a member id it handed out, until that member\'s session timeout', async () => {
    const s = setup({ initialRebalanceDelayMs: 0 });
    const a = s.join();
    s.timers.advance(0);
    await flush();
    const leader = a.value!.memberId;
    s.sync(leader, 1, []);
    await flush();
    const required = await s.coordinator.join(s.params({ requireKnownMemberId: true }));
    assert.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(s.coordinator.stateOf('g')?.state, 'Stable', 'a member id handed out does not rebalance by itself');
    // A rebalance starts; the leader rejoins, but the pending member has not come back yet.
    s.coordinator.leave('g', []);
    const other = s.join();
    const rl = s.join({ memberId: leader });
    await flush();
    assert.equal(rl.settled, false);
    s.timers.advance(SESSION);
    await flush();
    assert.equal(rl.value?.generationId, 2);
    assert.equal(other.value?.generationId, 2);
    assert.equal((await s.coordinator.join(s.params({ memberId: required.memberId }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('answers a displaced JoinGroup REBALANCE_IN_PROGRESS, and the newer one when the rebalance completes', async () => {
    const s = setup({ initialRebalanceDelayMs: 0 });
    const { leader } = await stableGroupOfTwo(s);
    const newcomer = s.join({ clientId: 'n' });
    // The leader rejoins twice (its first request timed out on its side): the first is answered.
    const first = s.join({ memberId: leader });
    const second = s.join({ memberId: leader });
    await flush();
    assert.equal(first.value?.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(second.settled, false);
    s.timers.advance(REBALANCE);
    await flush();
    assert.equal(second.value?.generationId, 2);
    assert.equal(newcomer.value?.generationId, 2);
  });

  it('drops a new member still waiting in its first JoinGroup after five minutes, answering it UNKNOWN_MEMBER_ID', async () => {
    const s = setup({ initialRebalanceDelayMs: 0 });
    const hour = 3_600_000;
    const a = s.join({ rebalanceTimeoutMs: hour });
    s.timers.advance(0);
    await flush();
    const leader = a.value!.memberId;
    s.sync(leader, 1, []);
    // A rebalance that can last an hour: the old member heartbeats but never rejoins.
    const newcomer = s.join({ clientId: 'n', rebalanceTimeoutMs: hour });
    for (let t = 0; t < NEW_MEMBER_JOIN_TIMEOUT_MS - 5000; t += 5000) {
      s.timers.advance(5000);
      assert.equal(s.heartbeat(leader, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    }
    await flush();
    assert.equal(newcomer.settled, false);
    s.timers.advance(5000);
    await flush();
    assert.equal(newcomer.value?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual(s.coordinator.stateOf('g')?.members, [leader]);
  });

  it('answers parked requests with NOT_COORDINATOR on close and stops every timer', async () => {
    const s = setup();
    const a = s.join();
    await flush();
    s.coordinator.close();
    await flush();
    assert.equal(a.value?.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(s.timers.size, 0);
    assert.equal((await s.coordinator.join(s.params())).errorCode, ErrorCode.NOT_COORDINATOR);
  });

  it('lists, describes and deletes groups, together with groups known only by their offsets', async () => {
    const s = setup();
    await s.store.createTopic('t', 1, {});
    await s.store.createTopic('u', 1, {});
    await s.store.commitOffsets('offsets-only', [entry('t', 0, 1)]);
    const { leader, follower } = await stableGroupOfTwo(s);
    assert.deepEqual(
      (await s.coordinator.listGroups()).map((g) => [g.groupId, g.state, g.protocolType]),
      [['g', 'Stable', 'consumer'], ['offsets-only', 'Empty', '']],
    );
    const d = await s.coordinator.describeGroup('g');
    assert.equal(d.state, 'Stable');
    assert.equal(d.protocolData, 'range');
    assert.deepEqual(d.members.map((m) => [m.memberId, m.clientHost, m.assignment.toString()]), [[leader, '/127.0.0.1', 'L'], [follower, '/127.0.0.1', 'F']]);
    assert.deepEqual(d.members[0]!.metadata, subscription(['t']));
    assert.equal((await s.coordinator.describeGroup('offsets-only')).state, 'Empty');
    assert.equal((await s.coordinator.describeGroup('nothing')).state, 'Dead');

    // OffsetDelete: only topics the members do not subscribe to, while it has members.
    await s.commit({ memberId: leader, generationId: 1 });
    await s.store.commitOffsets('g', [entry('u', 0, 3)]);
    const od = await s.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }]);
    assert.deepEqual(od, { errorCode: ErrorCode.NONE, partitions: [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE] });
    assert.deepEqual((await s.store.fetchOffsets('g', null)).map((o) => o.topic), ['t']);
    assert.equal((await s.coordinator.deleteOffsets('nothing', [{ topic: 't', partition: 0 }])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    assert.equal(await s.coordinator.deleteGroup('g'), ErrorCode.NON_EMPTY_GROUP);
    assert.equal(await s.coordinator.deleteGroup('nothing'), ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(await s.coordinator.deleteGroup('offsets-only'), ErrorCode.NONE);
    s.coordinator.leave('g', [{ memberId: leader, groupInstanceId: null }, { memberId: follower, groupInstanceId: null }]);
    assert.equal(await s.coordinator.deleteGroup('g'), ErrorCode.NONE);
    assert.deepEqual(await s.coordinator.listGroups(), []);
    assert.deepEqual(await s.store.fetchOffsets('g', null), []);
  });
});
