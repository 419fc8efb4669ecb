/**
 * Coordination: splitting a set of work items (a pipeline's tasks, a mirror's partitions) among
 * the live workers of a group, with leases that carry fencing tokens.
 *
 * Two layers:
 *
 * 1. `Coordination` (this file): the small storage interface with two real backends,
 *    memory-coordination.ts (one process: embedded mode, `weir run --workers N` without Redis)
 *    and redis-coordination.ts (several processes on several machines, via ioredis + Lua).
 *    Both pass the one contract suite test/contracts/coordination-contract.ts.
 *    - Worker registry: `heartbeat()` registers or refreshes a worker for `ttlMs`; a worker that
 *      stops heartbeating drops out of `workers()` once its TTL passes. `leave()` drops it at once.
 *    - Leases: `acquire()` takes an item if nobody holds it (or the holder's lease expired) and
 *      returns a lease with a fencing token that is strictly larger than every token ever handed
 *      out for that item. `renew()` extends it only while it is still the current lease;
 *      `release()` gives it up only if it is still the current lease; `validate()` says whether a
 *      token is still the item's current lease. Expiry is judged by the backend's own clock
 *      (Redis server time), so worker clocks never matter.
 *    - Fencing: anything a lease holder writes that must not be overwritten by a stale holder
 *      (a checkpoint manifest, a commit) carries the token; readers prefer the highest token, and
 *      writers may call `validate()` first. A worker paused past its TTL (GC, SIGSTOP) comes back
 *      with a lower token than the new holder, so its late writes lose.
 *
 * 2. `WorkerMembership` (membership.ts): the loop every worker runs on top of a Coordination:
 *    heartbeat, read the live workers, compute the target assignment (assignment.ts: a pure
 *    function of the sorted worker ids and items, so every worker computes the same one), and
 *    converge: revoke items assigned elsewhere (the listener checkpoints them, then the lease is
 *    released: state is handed over through the checkpoint), acquire items assigned here once
 *    their previous holder released them or its lease expired, renew the rest, and report leases
 *    found lost (expired and taken) so the listener stops them without committing anything.
 *
 * Reuse (e.g. the mirror): `new WorkerMembership({ coordination, group, workerId, items, listener })`,
 * `await membership.start()`, `membership.setItems([...])` when the partition list changes,
 * `await membership.stop()` on shutdown (revokes everything, then leaves).
 */

import { WeirError } from '../errors.js';

/** A held lease on one item of a group. */
export interface Lease {
  readonly group: string;
  readonly item: string;
  readonly workerId: string;
  /** Strictly increasing per (group, item) across all holders, forever. */
  readonly token: number;
}

export interface WorkerInfo {
  readonly workerId: string;
  /** Free-form, small (host, pid, metrics address); shown by tools. */
  readonly meta: string;
}

export interface Coordination {
  /** "memory" or "redis", for logs. */
  readonly kind: string;
  /** Registers or refreshes the worker's registration for ttlMs. */
  heartbeat(group: string, workerId: string, ttlMs: number, meta?: string): Promise<void>;
  /** Deregisters at once (a clean leave); its leases are not touched (release them first). */
  leave(group: string, workerId: string): Promise<void>;
  /** Live workers of the group, sorted by id. */
  workers(group: string): Promise<WorkerInfo[]>;
  /**
   * Takes the item when it is free or its lease expired; null when another worker holds it.
   * Acquiring an item the same worker already holds returns a new lease with a new token (the
   * old one is superseded).
   */
  acquire(group: string, item: string, workerId: string, ttlMs: number): Promise<Lease | null>;
  /** Extends the lease; false when it is no longer the current lease (expired and taken, or released). */
  renew(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if it is still current; a no-op otherwise. */
  release(lease: Lease): Promise<void>;
  /** Whether the lease is still the item's current, unexpired lease. */
  validate(lease: Lease): Promise<boolean>;
  /** Current holder of each held item (expired leases omitted). For tools and tests. */
  holders(group: string): Promise<Map<string, { workerId: string; token: number }>>;
  close(): Promise<void>;
}

/** Checks the names every backend accepts; both backends call it so they fail alike. */
export function checkCoordinationName(what: string, name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[\s{}]/.test(name)) {
    throw new WeirError('invalid_argument', `${what} ${JSON.stringify(name)} must be 1..200 characters without whitespace or braces`);
  }
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 10 || ttlMs > 3_600_000) throw new WeirError('invalid_argument', `ttlMs ${ttlMs} must be an integer in 10..3600000`);
}
