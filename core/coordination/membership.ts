/**
 * WorkerMembership: the loop each worker of a coordination group runs (see coordination.ts for
 * the model). One tick at a time, every heartbeatIntervalMs and at once on start/setItems:
 *   1. heartbeat (register or refresh this worker for ttlMs);
 *   2. read the live workers and compute the target assignment (assignment.ts);
 *   3. renew every held lease; a lease that cannot be renewed was lost (it expired, e.g. after a
 *      long pause, and may be held elsewhere): `lost()` must stop that work at once and commit
 *      nothing (the new holder's fencing token is higher, so anything stale loses anyway);
 *   4. revoke held items that are now assigned elsewhere: `revoked()` stops them and writes their
 *      final checkpoint, and only then are the leases released, so the next holder restores from
 *      that checkpoint (state handover);
 *   5. acquire the items assigned here; one still held by its previous owner (not yet revoked
 *      there, or a crashed owner whose lease has not expired) is retried next tick, so a crashed
 *      worker's items move after at most ttlMs + one tick; `assigned()` starts the acquired ones.
 * Listener calls are never concurrent; a listener failure is reported to onError and the tick
 * goes on (a revoke that failed still releases: holding the lease would stall the item forever).
 */
import { assignItems } from './assignment.js';
import type { Coordination, Lease, WorkerInfo } from './coordination.js';

export interface MembershipListener {
  assigned(leases: readonly Lease[]): Promise<void>;
  revoked(leases: readonly Lease[]): Promise<void>;
  lost(leases: readonly Lease[]): Promise<void>;
}

export interface WorkerMembershipOptions {
  coordination: Coordination;
  group: string;
  workerId: string;
  items: readonly string[];
  listener: MembershipListener;
  /** How often to heartbeat and converge; default 1000. */
  heartbeatIntervalMs?: number;
  /** How long registration and leases outlive the last heartbeat; default 10000 (≥ 3 intervals). */
  ttlMs?: number;
  meta?: string;
  onError?: (e: Error) => void;
}

export interface MembershipView {
  workers: readonly WorkerInfo[];
  owned: readonly Lease[];
  /** Items assigned here but still held elsewhere. */
  waiting: readonly string[];
  /** Increments whenever the owned set changes. */
  generation: number;
}

export class WorkerMembership {
  private readonly held = new Map<string, Lease>();
  private items: readonly string[];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private view: MembershipView = { workers: [], owned: [], waiting: [], generation: 0 };
  private readonly intervalMs: number;
  private readonly ttlMs: number;
  private readonly changeListeners = new Set<(v: MembershipView) => void>();

  constructor(private readonly o: WorkerMembershipOptions) {
    this.items = [...o.items];
    this.intervalMs = o.heartbeatIntervalMs ?? 1000;
    this.ttlMs = o.ttlMs ?? 10_000;
    if (this.ttlMs < 2 * this.intervalMs) throw new Error(`ttlMs ${this.ttlMs} must be at least twice heartbeatIntervalMs ${this.intervalMs}`);
  }

  get workerId(): string {
    return this.o.workerId;
  }

  current(): MembershipView {
    return this.view;
  }

  onChange(listener: (v: MembershipView) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Runs the first tick (so the caller knows its first assignment), then ticks on a timer. */
  async start(): Promise<void> {
    await this.tickNow();
    this.schedule();
  }

  setItems(items: readonly string[]): void {
    this.items = [...items];
    void this.tickNow();
  }

  /** Converges now (e.g. after being told of a join); resolves when that tick is done. */
  tickNow(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.tick();
        } while (this.again && !this.stopped);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Revokes everything (final checkpoints through the listener), releases, leaves the group. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.running !== null) await this.running;
    const leases = [...this.held.values()];
    if (leases.length > 0) {
      await this.call(() => this.o.listener.revoked(leases));
      for (const l of leases) await this.o.coordination.release(l).catch((e: unknown) => this.report(e));
      this.held.clear();
    }
    await this.o.coordination.leave(this.o.group, this.o.workerId).catch((e: unknown) => this.report(e));
    this.publish(this.view.workers, []);
  }

  /** Stops without revoking or releasing (a crash, for tests): leases expire after ttlMs. */
  abandon(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tickNow().finally(() => this.schedule());
    }, this.intervalMs);
  }

  private report(e: unknown): void {
    this.o.onError?.(e instanceof Error ? e : new Error(String(e)));
  }

  private async call(f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.report(e);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { coordination: c, group, workerId } = this.o;
    let workers: WorkerInfo[];
    try {
      await c.heartbeat(group, workerId, this.ttlMs, this.o.meta ?? '');
      workers = await c.workers(group);
    } catch (e) {
      // Coordination unreachable: keep working on what we hold; renewals below decide if we lost it.
      this.report(e);
      workers = [...this.view.workers];
    }
    const ids = workers.map((w) => w.workerId);
    if (!ids.includes(workerId)) ids.push(workerId);
    const target = new Set(assignItems(this.items, ids).get(workerId) ?? []);

    const lost: Lease[] = [];
    for (const lease of [...this.held.values()]) {
      let ok: boolean;
      try {
        ok = await c.renew(lease, this.ttlMs);
      } catch (e) {
        this.report(e);
        continue; // unknown: keep it until the lease is known lost
      }
      if (!ok) {
        this.held.delete(lease.item);
        lost.push(lease);
      }
    }
    if (lost.length > 0) await this.call(() => this.o.listener.lost(lost));

    const revoke = [...this.held.values()].filter((l) => !target.has(l.item));
    if (revoke.length > 0 && !this.stopped) {
      await this.call(() => this.o.listener.revoked(revoke));
      for (const l of revoke) {
        this.held.delete(l.item);
        await c.release(l).catch((e: unknown) => this.report(e));
      }
    }

    const acquired: Lease[] = [];
    const waiting: string[] = [];
    for (const item of this.items) {
      if (!target.has(item) || this.held.has(item) || this.stopped) continue;
      try {
        const lease = await c.acquire(group, item, workerId, this.ttlMs);
        if (lease === null) waiting.push(item);
        else acquired.push(lease);
      } catch (e) {
        this.report(e);
        waiting.push(item);
      }
    }
    for (const l of acquired) this.held.set(l.item, l);
    if (acquired.length > 0) {
      try {
        await this.o.listener.assigned(acquired);
      } catch (e) {
        // Could not start them: give them back so someone (maybe us, next tick) retries.
        this.report(e);
        for (const l of acquired) {
          this.held.delete(l.item);
          await c.release(l).catch((err: unknown) => this.report(err));
        }
      }
    }
    const changed = lost.length > 0 || revoke.length > 0 || acquired.length > 0;
    this.publish(workers, waiting, changed);
  }

  private publish(workers: readonly WorkerInfo[], waiting: readonly string[], changed = true): void {
    const owned = [...this.held.values()].sort((a, b) => this.items.indexOf(a.item) - this.items.indexOf(b.item));
    this.view = { workers, owned, waiting, generation: this.view.generation + (changed ? 1 : 0) };
    for (const l of this.changeListeners) l(this.view);
  }
}
