/**
 * RedisCluster (agent/cluster/redis-cluster.ts): several in-process instances against one real
 * redis-server, each test in a namespace of its own. Registration and the member list, refusal
 * of a live duplicate node id, expiry of a crashed agent (no deregistration), agreement on
 * leaders and coordinators, and pub/sub delivery of commits and topic changes to other agents
 * only. Heartbeats are fast here so expiry takes a fraction of a second; waits poll for the
 * outcome instead of asserting how long it took.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import type { ClusterListener, CommittedPartition } from '../../agent/cluster/cluster.js';
import { RedisCluster } from '../../agent/cluster/redis-cluster.js';
import { isWeirError } from '../../core/errors.js';
import { startRedisServer } from '../helpers/redis-server.js';

const server = await startRedisServer({ appendonly: false });
after(() => server.stop());

interface Heard {
  committed: CommittedPartition[];
  topics: Array<string | undefined>;
  listener: ClusterListener;
}

function heard(): Heard {
  const h: Heard = {
    committed: [],
    topics: [],
    listener: {
      onCommitted: (parts) => h.committed.push(...parts),
      onTopicChanged: (topic) => h.topics.push(topic),
    },
  };
  return h;
}

let started: RedisCluster[] = [];
afterEach(async () => {
  await Promise.all(started.map((c) => c.stop()));
  started = [];
});

/** Starts agents with the given node ids in one fresh namespace. */
async function cluster(nodeIds: number[], namespace = `test-${randomUUID()}`): Promise<{ agents: RedisCluster[]; heard: Heard[]; namespace: string }> {
  const agents: RedisCluster[] = [];
  const hs: Heard[] = [];
  for (const nodeId of nodeIds) {
    const h = heard();
    const c = new RedisCluster({ url: server.url, nodeId, namespace, heartbeatMs: 50, ttlMs: 400 });
    await c.start({ host: '127.0.0.1', port: 9000 + nodeId }, h.listener);
    started.push(c);
    agents.push(c);
    hs.push(h);
  }
  await Promise.all(agents.map((a) => a.refresh()));
  return { agents, heard: hs, namespace };
}

/** Polls until check() holds; fails with `what` if it never does (a generous bound, not a timing assertion). */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (c: RedisCluster): number[] => c.members().map((m) => m.nodeId);

describe('RedisCluster', () => {
  it('lists every registered agent, with its advertised address, on every agent', async () => {
    const { agents } = await cluster([3, 1, 2]);
    for (const a of agents) {
      assert.deepEqual(
        a.members().map((m) => ({ nodeId: m.nodeId, host: m.host, port: m.port })),
        [1, 2, 3].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 9000 + nodeId })),
      );
      assert.equal(a.controller().nodeId, 1);
    }
  });

  it('refuses to start with the node id of a live agent, in one line naming the holder', async () => {
    const { namespace } = await cluster([1]);
    const dup = new RedisCluster({ url: server.url, nodeId: 1, namespace, heartbeatMs: 50, ttlMs: 400 });
    await assert.rejects(dup.start({ host: '127.0.0.1', port: 9999 }, heard().listener), (e: unknown) => {
      assert.ok(isWeirError(e, 'conflict'));
      assert.match(e.message, /^node id 1 is already used by a live agent at 127\.0\.0\.1:9001/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    await dup.stop();
  });

  it('agrees on every partition\'s leader and every group\'s coordinator across agents', async () => {
    const { agents } = await cluster([1, 2, 3]);
    const leaders = new Set<number>();
    for (let p = 0; p < 60; p++) {
      const leader = agents[0]!.leaderOf('orders', p).nodeId;
      leaders.add(leader);
      for (const a of agents) assert.equal(a.leaderOf('orders', p).nodeId, leader);
    }
    assert.deepEqual([...leaders].sort(), [1, 2, 3], 'partitions spread over every agent');
    for (let g = 0; g < 30; g++) {
      const groupId = `group-${g}`;
      const coordinator = agents[0]!.coordinatorOf(groupId).nodeId;
      for (const a of agents) assert.equal(a.coordinatorOf(groupId).nodeId, coordinator);
      assert.equal(agents.filter((a) => a.isCoordinatorOf(groupId)).length, 1, `${groupId} has exactly one coordinator`);
    }
  });

  it('drops a crashed agent once its registration expires, and the survivors take over its work', async () => {
    const { agents, namespace } = await cluster([1, 2, 3]);
    const [a, b, c] = agents as [RedisCluster, RedisCluster, RedisCluster];
    const ledByB = Array.from({ length: 60 }, (_, p) => p).filter((p) => a.leaderOf('orders', p).nodeId === 2);
    assert.ok(ledByB.length > 0);
    b.abandon();
    started = started.filter((x) => x !== b);
    await eventually('agents 1 and 3 see agent 2 gone', () => ids(a).join() === '1,3' && ids(c).join() === '1,3');
    for (const p of ledByB) {
      const leader = a.leaderOf('orders', p).nodeId;
      assert.notEqual(leader, 2);
      assert.equal(c.leaderOf('orders', p).nodeId, leader);
    }
    // Its node id is free again: a restarted agent 2 may take it.
    const again = new RedisCluster({ url: server.url, nodeId: 2, namespace, heartbeatMs: 50, ttlMs: 400 });
    await again.start({ host: '127.0.0.1', port: 9102 }, heard().listener);
    started.push(again);
    await eventually('agent 1 sees agent 2 back', () => ids(a).join() === '1,2,3');
  });

  it('keeps an agent listed while it heartbeats, longer than the TTL', async () => {
    const { agents } = await cluster([1, 2]);
    const [a] = agents as [RedisCluster, RedisCluster];
    // Several TTLs pass; every refresh in between must still list both.
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      await a.refresh();
      assert.deepEqual(ids(a), [1, 2]);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('forgets an agent that stops at once (it deregisters)', async () => {
    const { agents } = await cluster([1, 2]);
    const [a, b] = agents as [RedisCluster, RedisCluster];
    await b.stop();
    started = started.filter((x) => x !== b);
    await a.refresh();
    assert.deepEqual(ids(a), [1]);
    assert.equal(a.isCoordinatorOf('any group'), true);
  });

  it('delivers commits and topic changes to the other agents, not back to the sender', async () => {
    const { agents, heard: hs } = await cluster([1, 2, 3]);
    const [a] = agents as [RedisCluster, RedisCluster, RedisCluster];
    const [ha, hb, hc] = hs as [Heard, Heard, Heard];
    a.publishCommitted([{ topic: 'orders', partition: 4, highWatermark: 17 }, { topic: 'logs', partition: 0, highWatermark: 3 }]);
    a.publishTopicChanged('orders');
    a.publishTopicChanged(undefined);
    await eventually('agents 2 and 3 hear both messages', () => [hb, hc].every((h) => h.committed.length === 2 && h.topics.length === 2));
    for (const h of [hb, hc]) {
      assert.deepEqual(h.committed, [{ topic: 'orders', partition: 4, highWatermark: 17 }, { topic: 'logs', partition: 0, highWatermark: 3 }]);
      assert.deepEqual(h.topics, ['orders', undefined]);
    }
    // Pub/sub delivers in order per connection: once agent 2 hears a later message of its own,
    // anything agent 1 would have echoed to itself has arrived too.
    agents[1]!.publishTopicChanged('marker');
    await eventually('agent 1 hears agent 2', () => ha.topics.includes('marker'));
    assert.deepEqual(ha.committed, []);
    assert.deepEqual(ha.topics, ['marker']);
  });

  it('keeps namespaces apart', async () => {
    const one = await cluster([1]);
    const two = await cluster([1, 2]);
    assert.deepEqual(ids(one.agents[0]!), [1]);
    assert.deepEqual(ids(two.agents[0]!), [1, 2]);
  });
});
