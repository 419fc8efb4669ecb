/**
 * The in-process Coordination backend: embedded mode and `weir run --workers N` without Redis.
 * Every worker of the process shares one instance. Same semantics as the Redis backend (one
 * contract suite), with the process clock standing in for Redis server time.
 */
import { checkCoordinationName, checkTtl, type Coordination, type Lease, type WorkerInfo } from './coordination.js';

interface HeldLease {
  workerId: string;
  token: number;
  expiresAtMs: number;
}

interface GroupState {
  workers: Map<string, { meta: string; expiresAtMs: number }>;
  leases: Map<string, HeldLease>;
  /** Last token handed out per item; never reset, so tokens only grow. */
  fences: Map<string, number>;
}

export class MemoryCoordination implements Coordination {
  readonly kind = 'memory';
  private readonly groups = new Map<string, GroupState>();
  private closed = false;

  /** `now` is injectable so tests can expire leases without sleeping. */
  constructor(private readonly now: () => number = Date.now) {}

  private group(name: string): GroupState {
    if (this.closed) throw new Error('coordination closed');
    checkCoordinationName('group', name);
    let g = this.groups.get(name);
    if (g === undefined) {
      g = { workers: new Map(), leases: new Map(), fences: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  async heartbeat(group: string, workerId: string, ttlMs: number, meta = ''): Promise<void> {
    checkCoordinationName('worker id', workerId);
    checkTtl(ttlMs);
    this.group(group).workers.set(workerId, { meta, expiresAtMs: this.now() + ttlMs });
  }

  async leave(group: string, workerId: string): Promise<void> {
    this.group(group).workers.delete(workerId);
  }

  async workers(group: string): Promise<WorkerInfo[]> {
    const g = this.group(group);
    const now = this.now();
    const out: WorkerInfo[] = [];
    for (const [workerId, w] of g.workers) {
      if (w.expiresAtMs <= now) g.workers.delete(workerId);
      else out.push({ workerId, meta: w.meta });
    }
    return out.sort((a, b) => (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0));
  }

  async acquire(group: string, item: string, workerId: string, ttlMs: number): Promise<Lease | null> {
    checkCoordinationName('item', item);
    checkCoordinationName('worker id', workerId);
    checkTtl(ttlMs);
    const g = this.group(group);
    const now = this.now();
    const cur = g.leases.get(item);
    if (cur !== undefined && cur.expiresAtMs > now && cur.workerId !== workerId) return null;
    const token = (g.fences.get(item) ?? 0) + 1;
    g.fences.set(item, token);
    g.leases.set(item, { workerId, token, expiresAtMs: now + ttlMs });
    return { group, item, workerId, token };
  }

  private current(lease: Lease): HeldLease | null {
    const cur = this.group(lease.group).leases.get(lease.item);
    if (cur === undefined || cur.token !== lease.token || cur.workerId !== lease.workerId) return null;
    return cur.expiresAtMs > this.now() ? cur : null;
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const cur = this.current(lease);
    if (cur === null) return false;
    cur.expiresAtMs = this.now() + ttlMs;
    return true;
  }

  async release(lease: Lease): Promise<void> {
    const g = this.group(lease.group);
    const cur = g.leases.get(lease.item);
    if (cur !== undefined && cur.token === lease.token && cur.workerId === lease.workerId) g.leases.delete(lease.item);
  }

  async validate(lease: Lease): Promise<boolean> {
    return this.current(lease) !== null;
  }

  async holders(group: string): Promise<Map<string, { workerId: string; token: number }>> {
    const now = this.now();
    const out = new Map<string, { workerId: string; token: number }>();
    for (const [item, l] of this.group(group).leases) if (l.expiresAtMs > now) out.set(item, { workerId: l.workerId, token: l.token });
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
