/**
 * A Coordination backend for worker threads: every call crosses a MessagePort (core/port-rpc.ts)
 * to the one real backend the process owns (memory, or Redis), served there by
 * serveCoordination(). So workers on several threads of one process share the in-process
 * registry and leases exactly as workers on one thread do: same semantics, same contract suite
 * (test/contracts/coordination-port.test.ts). Leases and worker infos are plain data, so they
 * cross unchanged; `holders()` crosses as entries.
 */
import type { RpcEndpoint } from '../port-rpc.js';
import type { Coordination, Lease, WorkerInfo } from './coordination.js';

const PREFIX = 'coordination';
const METHODS = ['heartbeat', 'leave', 'workers', 'acquire', 'renew', 'release', 'validate'] as const;

/** Serves `backend` to a PortCoordination on the other side of `rpc`. */
export function serveCoordination(rpc: RpcEndpoint, backend: Coordination): void {
  rpc.handleAll(PREFIX, backend, METHODS);
  rpc.handle(`${PREFIX}.holders`, async (group: string) => [...(await backend.holders(group))]);
  rpc.handle(`${PREFIX}.kind`, () => backend.kind);
}

export class PortCoordination implements Coordination {
  readonly kind: string;

  /** `kind` names the served backend, for logs ("memory via port"). */
  constructor(
    private readonly rpc: RpcEndpoint,
    servedKind = 'served',
  ) {
    this.kind = `${servedKind} via port`;
  }

  heartbeat(group: string, workerId: string, ttlMs: number, meta?: string): Promise<void> {
    return this.rpc.call(`${PREFIX}.heartbeat`, group, workerId, ttlMs, meta);
  }
  leave(group: string, workerId: string): Promise<void> {
    return this.rpc.call(`${PREFIX}.leave`, group, workerId);
  }
  workers(group: string): Promise<WorkerInfo[]> {
    return this.rpc.call(`${PREFIX}.workers`, group);
  }
  acquire(group: string, item: string, workerId: string, ttlMs: number): Promise<Lease | null> {
    return this.rpc.call(`${PREFIX}.acquire`, group, item, workerId, ttlMs);
  }
  renew(lease: Lease, ttlMs: number): Promise<boolean> {
    return this.rpc.call(`${PREFIX}.renew`, lease, ttlMs);
  }
  release(lease: Lease): Promise<void> {
    return this.rpc.call(`${PREFIX}.release`, lease);
  }
  validate(lease: Lease): Promise<boolean> {
    return this.rpc.call(`${PREFIX}.validate`, lease);
  }
  async holders(group: string): Promise<Map<string, { workerId: string; token: number }>> {
    return new Map(await this.rpc.call<[string, { workerId: string; token: number }][]>(`${PREFIX}.holders`, group));
  }
  /** The served backend belongs to its owner; this only stops using it. */
  async close(): Promise<void> {}
}
