/**
 * The group coordinator answers NOT_COORDINATOR for groups the cluster routes to another agent
 * (GroupCoordinatorOptions.isCoordinator), and serves its own groups as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../agent/error-codes.js';
import { GroupCoordinator } from '../../agent/groups/group-coordinator.js';
import { SqliteMetadataStore } from '../../core/metadata/sqlite-metadata-store.js';
import { ManualTimers } from '../helpers/manual-timers.js';

function coordinator() {
  const store = new SqliteMetadataStore(':memory:');
  const groups = new GroupCoordinator({
    offsets: store,
    initialRebalanceDelayMs: 0,
    minSessionTimeoutMs: 1000,
    maxSessionTimeoutMs: 60_000,
    timers: new ManualTimers(),
    isCoordinator: (groupId) => groupId.startsWith('mine'),
  });
  return { store, groups };
}

describe('GroupCoordinator with isCoordinator', () => {
  it('answers NOT_COORDINATOR for every group API of a group coordinated elsewhere', async () => {
    const { store, groups } = coordinator();
    const join = await groups.join({
      groupId: 'theirs', memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1',
      sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: false, supportSkippingAssignment: false, reason: null,
    });
    assert.equal(join.errorCode, ErrorCode.NOT_COORDINATOR);
    const sync = await groups.sync({ groupId: 'theirs', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    assert.equal(sync.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(groups.heartbeat({ groupId: 'theirs', generationId: 1, memberId: 'm', groupInstanceId: null }), ErrorCode.NOT_COORDINATOR);
    assert.equal(groups.leave('theirs', [{ memberId: 'm', groupInstanceId: null }]).errorCode, ErrorCode.NOT_COORDINATOR);
    const commit = await groups.commitOffsets({ groupId: 'theirs', generationId: -1, memberId: '', groupInstanceId: null, apiVersion: 8 }, [
      { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 0 },
    ]);
    assert.deepEqual(commit, [ErrorCode.NOT_COORDINATOR]);
    assert.equal((await groups.describeGroup('theirs')).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(await groups.deleteGroup('theirs'), ErrorCode.NOT_COORDINATOR);
    assert.equal((await groups.deleteOffsets('theirs', [{ topic: 't', partition: 0 }])).errorCode, ErrorCode.NOT_COORDINATOR);
    groups.close();
    await store.close();
  });

  it('serves its own groups', async () => {
    const { store, groups } = coordinator();
    await store.createTopic('t', 1, {});
    const commit = await groups.commitOffsets({ groupId: 'mine', generationId: -1, memberId: '', groupInstanceId: null, apiVersion: 8 }, [
      { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 0 },
    ]);
    assert.deepEqual(commit, [ErrorCode.NONE]);
    assert.equal((await groups.describeGroup('mine')).errorCode, ErrorCode.NONE);
    groups.close();
    await store.close();
  });
});
