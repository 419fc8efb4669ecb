/**
 * LocalCluster (agent/cluster/local-cluster.ts): the single agent is the only member, leader,
 * coordinator and controller, under its advertised address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalCluster } from '../../agent/cluster/local-cluster.js';

const ignore = { onCommitted: () => undefined, onTopicChanged: () => undefined };

describe('LocalCluster', () => {
  it('is the only member and owns everything', async () => {
    const cluster = new LocalCluster(3);
    await cluster.start({ host: 'broker.example', port: 9093 }, ignore);
    const self = cluster.self;
    assert.deepEqual({ nodeId: self.nodeId, host: self.host, port: self.port }, { nodeId: 3, host: 'broker.example', port: 9093 });
    assert.deepEqual(cluster.members(), [self]);
    assert.equal(cluster.leaderOf('orders', 0), self);
    assert.equal(cluster.leaderOf('orders', 17), self);
    assert.equal(cluster.coordinatorOf('g'), self);
    assert.equal(cluster.isCoordinatorOf('any group'), true);
    assert.equal(cluster.controller(), self);
    cluster.publishCommitted([{ topic: 'orders', partition: 0, highWatermark: 5 }]);
    cluster.publishTopicChanged('orders');
    await cluster.stop();
  });
});
