/**
 * Weir's client against a three-agent Weir cluster (Redis metadata, S3 objects): leader routing
 * from Metadata across agents, and NOT_COORDINATOR handling: a membership request sent to an
 * agent that does not coordinate the group is answered NOT_COORDINATOR, and the client re-finds
 * the coordinator and the member joins; commits and offset fetches also work from a stale cache.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetcher, GroupMember, KafkaClient, Producer } from '../../core/client/index.js';
import { FindCoordinator, Heartbeat } from '../../core/protocol/generated/index.js';
import { startWeirCluster, type WeirCluster } from '../helpers/weir-cluster.js';

let cluster: WeirCluster;
let client: KafkaClient;

before(async () => {
  cluster = await startWeirCluster({ bucket: 'client-cluster', size: 3 });
  client = new KafkaClient({ brokers: [cluster.agents[0]!.bootstrap], clientId: 'cluster-client-test' });
});
after(async () => {
  await client?.close();
  await cluster?.stop();
});

describe('weir client against a Weir cluster', () => {
  it('routes produce and fetch to each partition\'s leader across agents', async () => {
    await client.createTopics([{ name: 'cc-topic', partitions: 6 }]);
    const leaders = new Set((await client.topic('cc-topic', true)).partitions.map((p) => p.leader));
    assert.ok(leaders.size > 1, `partitions spread over agents: leaders ${[...leaders].join(',')}`);
    const p = new Producer(client, { lingerMs: 2 });
    for (let partition = 0; partition < 6; partition++) {
      for (let i = 0; i < 50; i++) p.append('cc-topic', partition, { value: Buffer.from(`${partition}-${i}`) });
    }
    await p.close();
    const got = await new Fetcher(client, { maxWaitMs: 100 }).fetch(Array.from({ length: 6 }, (_, partition) => ({ topic: 'cc-topic', partition, offset: 0 })));
    assert.equal(got.length, 6);
    for (const f of got) assert.deepEqual(f.records.map((r) => r.value!.toString()), Array.from({ length: 50 }, (_, i) => `${f.partition}-${i}`));
  });

  it('re-finds the coordinator after NOT_COORDINATOR', async () => {
    const group = 'cc-group';
    await client.createTopics([{ name: 'cc-offsets', partitions: 2 }]);
    // Which agent coordinates the group, and one that does not.
    const c0 = await client.anyConnection();
    const found = await c0.request(FindCoordinator, 4, { key: group, keyType: 0, coordinatorKeys: [group] });
    const coordinator = found.coordinators?.[0]?.nodeId ?? found.nodeId!;
    const wrong = [1, 2, 3].find((n) => n !== coordinator)!;
    // The wrong agent really answers NOT_COORDINATOR (16) to membership requests for this group
    // (committed offsets are in the shared metadata store, so every agent serves those).
    const direct = await (await client.brokerConnection(wrong)).request(Heartbeat, 4, { groupId: group, generationId: 1, memberId: 'nobody', groupInstanceId: null });
    assert.equal(direct.errorCode, 16);

    // Poison the client's coordinator cache with the wrong agent: every group request recovers.
    const poison = (): void => void (client as unknown as { coordinators: Map<string, number> }).coordinators.set(group, wrong);
    poison();
    await client.commitOffsets(group, [{ topic: 'cc-offsets', partition: 0, offset: 5 }]);
    poison();
    const offsets = await client.fetchOffsets(group, [{ topic: 'cc-offsets', partition: 0 }]);
    assert.equal(offsets[0]!.offset, 5);
    poison();
    const member = new GroupMember(client, { groupId: group, topics: ['cc-offsets'], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
    const assigned = await member.join();
    assert.deepEqual(assigned.map((t) => t.partition), [0, 1]);
    await member.leave();
  });
});
