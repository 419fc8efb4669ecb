/**
 * The behaviour every Coordination backend must share (core/coordination/coordination.ts), and
 * WorkerMembership's convergence on top of it. Each backend's test file calls
 * coordinationContract with a factory; each test gets a fresh group name. Expiry is exercised
 * with short TTLs and waits longer than them (the Redis backend judges expiry by server time,
 * so there is no clock to advance); nothing asserts how fast anything happens.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Coordination, Lease } from '../../core/coordination/coordination.js';
import { WorkerMembership, type MembershipListener } from '../../core/coordination/membership.js';
import { isWeirError } from '../../core/errors.js';

export type CoordinationFactory = () => Promise<{ coordination: Coordination; cleanup: () => Promise<void> }>;

const SHORT_TTL_MS = 150;
const AFTER_SHORT_TTL_MS = 400;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

class RecordingListener implements MembershipListener {
  readonly owned = new Map<string, Lease>();
  readonly events: string[] = [];
  /** Simulates handing state over: revoked items are "checkpointed" here before release. */
  readonly checkpointed: string[] = [];
  async assigned(leases: readonly Lease[]): Promise<void> {
    for (const l of leases) {
      this.owned.set(l.item, l);
      this.events.push(`+${l.item}`);
    }
  }
  async revoked(leases: readonly Lease[]): Promise<void> {
    for (const l of leases) {
      this.owned.delete(l.item);
      this.checkpointed.push(l.item);
      this.events.push(`-${l.item}`);
    }
  }
  async lost(leases: readonly Lease[]): Promise<void> {
    for (const l of leases) {
      this.owned.delete(l.item);
      this.events.push(`!${l.item}`);
    }
  }
}

export function coordinationContract(name: string, make: CoordinationFactory): void {
  const withC = async (fn: (c: Coordination, group: string) => Promise<void>): Promise<void> => {
    const { coordination, cleanup } = await make();
    try {
      await fn(coordination, `g-${randomUUID().slice(0, 8)}`);
    } finally {
      await coordination.close();
      await cleanup();
    }
  };

  describe(`Coordination contract: ${name}`, () => {
    it('registers workers, lists them sorted with their meta, and drops one that leaves', () =>
      withC(async (c, g) => {
        await c.heartbeat(g, 'w-b', 10_000, 'host-b');
        await c.heartbeat(g, 'w-a', 10_000, 'host-a');
        assert.deepEqual(await c.workers(g), [
          { workerId: 'w-a', meta: 'host-a' },
          { workerId: 'w-b', meta: 'host-b' },
        ]);
        await c.leave(g, 'w-a');
        assert.deepEqual((await c.workers(g)).map((w) => w.workerId), ['w-b']);
      }));

    it('a worker that stops heartbeating drops out after its TTL; one that heartbeats stays', () =>
      withC(async (c, g) => {
        await c.heartbeat(g, 'dies', SHORT_TTL_MS);
        await c.heartbeat(g, 'lives', 10_000);
        await sleep(AFTER_SHORT_TTL_MS);
        assert.deepEqual((await c.workers(g)).map((w) => w.workerId), ['lives']);
      }));

    it('groups are independent', () =>
      withC(async (c, g) => {
        await c.heartbeat(g, 'w1', 10_000);
        assert.deepEqual(await c.workers(`${g}-other`), []);
        assert.ok(await c.acquire(g, 'p0', 'w1', 10_000));
        assert.ok(await c.acquire(`${g}-other`, 'p0', 'w2', 10_000));
      }));

    it('a held lease cannot be taken by another worker; tokens strictly increase across holders', () =>
      withC(async (c, g) => {
        const a = await c.acquire(g, 'p0', 'w1', 10_000);
        assert.ok(a);
        assert.equal(a.item, 'p0');
        assert.equal(a.workerId, 'w1');
        assert.equal(await c.acquire(g, 'p0', 'w2', 10_000), null);
        await c.release(a);
        const b = await c.acquire(g, 'p0', 'w2', 10_000);
        assert.ok(b);
        assert.ok(b.token > a.token, `token ${b.token} > ${a.token}`);
        await c.release(b);
        const again = await c.acquire(g, 'p0', 'w1', 10_000);
        assert.ok(again && again.token > b.token);
        // Tokens are per item: another item has its own sequence, also increasing.
        const other = await c.acquire(g, 'p1', 'w1', 10_000);
        assert.ok(other && other.token >= 1);
      }));

    it('an expired lease can be taken; the old holder can neither renew, validate nor release it', () =>
      withC(async (c, g) => {
        const old = await c.acquire(g, 'p0', 'w1', SHORT_TTL_MS);
        assert.ok(old);
        assert.equal(await c.validate(old), true);
        await sleep(AFTER_SHORT_TTL_MS);
        assert.equal(await c.validate(old), false);
        const fresh = await c.acquire(g, 'p0', 'w2', 10_000);
        assert.ok(fresh && fresh.token > old.token);
        assert.equal(await c.renew(old, 10_000), false);
        await c.release(old); // stale: must not release the new holder's lease
        assert.equal(await c.validate(fresh), true);
        assert.deepEqual((await c.holders(g)).get('p0'), { workerId: 'w2', token: fresh.token });
      }));

    it('renew keeps a lease alive past its original TTL', () =>
      withC(async (c, g) => {
        const l = await c.acquire(g, 'p0', 'w1', 300);
        assert.ok(l);
        for (let i = 0; i < 4; i++) {
          await sleep(100);
          assert.equal(await c.renew(l, 300), true);
        }
        assert.equal(await c.acquire(g, 'p0', 'w2', 300), null);
        assert.equal(await c.validate(l), true);
      }));

    it('re-acquiring by the holder supersedes its own older lease', () =>
      withC(async (c, g) => {
        const first = await c.acquire(g, 'p0', 'w1', 10_000);
        const second = await c.acquire(g, 'p0', 'w1', 10_000);
        assert.ok(first && second && second.token > first.token);
        assert.equal(await c.validate(first), false);
        assert.equal(await c.validate(second), true);
      }));

    it('rejects malformed names and TTLs with invalid_argument', () =>
      withC(async (c, g) => {
        await assert.rejects(c.acquire(g, 'has space', 'w1', 1000), (e) => isWeirError(e, 'invalid_argument'));
        await assert.rejects(c.heartbeat(g, 'w1', 0), (e) => isWeirError(e, 'invalid_argument'));
        await assert.rejects(c.heartbeat('{bad}', 'w1', 1000), (e) => isWeirError(e, 'invalid_argument'));
      }));

    it('WorkerMembership: items split evenly, rebalance on join, hand over on leave, move after a crash', () =>
      withC(async (c, g) => {
        const items = ['p0', 'p1', 'p2', 'p3', 'p4'];
        const l1 = new RecordingListener();
        const m1 = new WorkerMembership({ coordination: c, group: g, workerId: 'w1', items, listener: l1, heartbeatIntervalMs: 50, ttlMs: 400 });
        await m1.start();
        assert.deepEqual([...l1.owned.keys()].sort(), items);

        const l2 = new RecordingListener();
        const m2 = new WorkerMembership({ coordination: c, group: g, workerId: 'w2', items, listener: l2, heartbeatIntervalMs: 50, ttlMs: 400 });
        await m2.start();
        await until('w2 to own its share', () => l2.owned.size === 2 && l1.owned.size === 3);
        // Round-robin over sorted worker ids: w1 gets p0,p2,p4 and w2 gets p1,p3.
        assert.deepEqual([...l1.owned.keys()].sort(), ['p0', 'p2', 'p4']);
        assert.deepEqual([...l2.owned.keys()].sort(), ['p1', 'p3']);
        // Handover went through revoke (checkpoint) before w2 acquired.
        assert.deepEqual(l1.checkpointed.sort(), ['p1', 'p3']);
        const holders = await c.holders(g);
        for (const item of items) assert.equal(holders.get(item)?.workerId, l1.owned.has(item) ? 'w1' : 'w2');

        // w2 leaves cleanly: w1 takes everything back with new tokens.
        const tokensBefore = new Map([...l2.owned].map(([k, v]) => [k, v.token]));
        await m2.stop();
        await until('w1 to own everything', () => l1.owned.size === 5);
        for (const [item, t] of tokensBefore) assert.ok(l1.owned.get(item)!.token > t);

        // A third worker joins and then crashes (no release): its items move after the TTL.
        const l3 = new RecordingListener();
        const m3 = new WorkerMembership({ coordination: c, group: g, workerId: 'w3', items, listener: l3, heartbeatIntervalMs: 50, ttlMs: 400 });
        await m3.start();
        await until('w3 to own its share', () => l3.owned.size === 2);
        m3.abandon();
        await until('w1 to own everything after w3 crashed', () => l1.owned.size === 5);
        assert.equal(l1.events.filter((e) => e.startsWith('!')).length, 0, 'w1 never lost a lease');
        await m1.stop();
        assert.equal(l1.owned.size, 0);
        assert.deepEqual(await c.workers(g), []);
        assert.equal((await c.holders(g)).size, 0);
      }));

    it('WorkerMembership: a worker whose lease expired while it was paused reports it lost', () =>
      withC(async (c, g) => {
        const l1 = new RecordingListener();
        const m1 = new WorkerMembership({ coordination: c, group: g, workerId: 'w1', items: ['p0'], listener: l1, heartbeatIntervalMs: 50, ttlMs: 200 });
        await m1.start();
        const lease = l1.owned.get('p0')!;
        m1.abandon(); // "paused": no more heartbeats or renewals
        await sleep(AFTER_SHORT_TTL_MS);
        const taken = await c.acquire(g, 'p0', 'w2', 10_000);
        assert.ok(taken && taken.token > lease.token);
        // The paused worker resumes: its next tick finds the lease gone.
        (m1 as unknown as { stopped: boolean }).stopped = false;
        await m1.tickNow();
        assert.ok(l1.events.includes('!p0'), `events: ${l1.events.join(',')}`);
        assert.equal(l1.owned.size, 0);
        await m1.stop();
      }));
  });
}
