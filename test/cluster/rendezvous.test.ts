/**
 * Rendezvous hashing (agent/cluster/rendezvous.ts): deterministic whatever the order of the
 * nodes, balanced over the nodes, and moving only the keys a joining or leaving node wins or held.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupKey, partitionKey, rendezvousOwner } from '../../agent/cluster/rendezvous.js';

const KEYS = Array.from({ length: 6000 }, (_, i) => partitionKey(`topic-${i % 60}`, Math.floor(i / 60)));

function owners(nodes: number[]): number[] {
  return KEYS.map((k) => rendezvousOwner(k, nodes));
}

describe('rendezvousOwner', () => {
  it('is deterministic and ignores the order of the nodes', () => {
    const a = owners([1, 2, 3, 4]);
    assert.deepEqual(owners([4, 2, 1, 3]), a);
    assert.deepEqual(owners([1, 2, 3, 4]), a);
  });

  it('picks the only node when there is one, and refuses none', () => {
    assert.equal(rendezvousOwner(groupKey('g'), [7]), 7);
    assert.throws(() => rendezvousOwner(groupKey('g'), []));
  });

  it('spreads keys evenly over the nodes', () => {
    const nodes = [0, 1, 2, 3, 4];
    const counts = new Map<number, number>();
    for (const o of owners(nodes)) counts.set(o, (counts.get(o) ?? 0) + 1);
    const fair = KEYS.length / nodes.length;
    for (const n of nodes) {
      const c = counts.get(n) ?? 0;
      assert.ok(c > fair * 0.8 && c < fair * 1.2, `node ${n} owns ${c} of ${KEYS.length} keys (fair share ${fair})`);
    }
  });

  it('moves only the leaving node\'s keys when a node leaves', () => {
    const before = owners([0, 1, 2, 3, 4]);
    const after = owners([0, 1, 3, 4]);
    KEYS.forEach((_, i) => {
      if (before[i] !== 2) assert.equal(after[i], before[i], `key ${i} moved though its owner stayed`);
      else assert.notEqual(after[i], 2);
    });
  });

  it('moves only the keys the joining node wins when a node joins, about 1/n of them', () => {
    const before = owners([0, 1, 2, 3]);
    const after = owners([0, 1, 2, 3, 9]);
    let moved = 0;
    KEYS.forEach((_, i) => {
      if (after[i] !== before[i]) {
        assert.equal(after[i], 9, `key ${i} moved between old nodes`);
        moved++;
      }
    });
    assert.ok(moved > KEYS.length / 5 * 0.8 && moved < KEYS.length / 5 * 1.2, `${moved} of ${KEYS.length} keys moved`);
  });

  it('hashes groups and partitions independently of each other', () => {
    assert.notEqual(groupKey('0'), partitionKey('0', 0));
    const nodes = [0, 1, 2];
    const groups = Array.from({ length: 300 }, (_, i) => rendezvousOwner(groupKey(`group-${i}`), nodes));
    for (const n of nodes) assert.ok(groups.filter((o) => o === n).length > 60, `node ${n} coordinates too few groups`);
  });
});
