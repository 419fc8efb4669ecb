/**
 * Request/response calls over a MessagePort (worker_threads), in both directions at once: each
 * side serves its own handlers and calls the other's. Used to give worker threads a view of
 * services that must stay single in a process (the in-process Coordination, a memory or shared
 * object store): the thread gets a thin proxy (port-coordination.ts, port-object-store.ts), the
 * owner serves the real backend.
 *
 * Errors cross as data: a WeirError arrives as a WeirError of the same kind and retriable flag
 * (callers branch on kinds, e.g. `not_found`); anything else arrives as an 'internal' WeirError
 * carrying the message. When the port closes, every call still waiting fails as 'unavailable'.
 * Calls in flight are bounded (`inFlightMax`): past it a call fails at once rather than
 * queueing without limit behind a peer that stopped answering.
 */
import { WeirError, type ErrorKind } from './errors.js';

/** The part of worker_threads' MessagePort (or Worker / parentPort) this needs. */
export interface RpcPort {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  on(event: 'close' | 'exit', listener: () => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

export type RpcHandler = (...args: never[]) => unknown;

interface Request {
  rpc: 'req';
  id: number;
  method: string;
  args: unknown[];
}

interface Response {
  rpc: 'res';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { kind: ErrorKind; message: string; retriable: boolean };
}

function isRpcMessage(v: unknown): v is Request | Response {
  return typeof v === 'object' && v !== null && ((v as { rpc?: unknown }).rpc === 'req' || (v as { rpc?: unknown }).rpc === 'res');
}

export interface RpcEndpointOptions {
  /** Calls awaiting an answer at once (default 10 000). */
  inFlightMax?: number;
}

export class RpcEndpoint {
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
  private readonly inFlightMax: number;
  private readonly onMessage = (v: unknown): void => this.receive(v);

  constructor(
    private readonly port: RpcPort,
    options: RpcEndpointOptions = {},
  ) {
    this.inFlightMax = options.inFlightMax ?? 10_000;
    port.on('message', this.onMessage);
    const gone = (): void => this.fail('the other side of the port closed');
    port.on('close', gone);
    // A Worker reports its end as 'exit', a MessagePort as 'close'.
    port.on('exit', gone);
  }

  /** Serves `method` for the other side; handlers may return values or promises. */
  handle(method: string, handler: RpcHandler): this {
    this.handlers.set(method, handler);
    return this;
  }

  /** Every own function of `target` named in `methods`, as `${prefix}.${name}`. */
  handleAll<T extends object>(prefix: string, target: T, methods: readonly (keyof T & string)[]): this {
    for (const m of methods) {
      const fn = target[m];
      if (typeof fn !== 'function') throw new WeirError('internal', `${prefix}.${m} is not a function`);
      this.handle(`${prefix}.${m}`, (fn as (...a: unknown[]) => unknown).bind(target) as RpcHandler);
    }
    return this;
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new WeirError('unavailable', `${method}: the port is closed`));
    if (this.pending.size >= this.inFlightMax) return Promise.reject(new WeirError('unavailable', `${method}: ${this.pending.size} calls already waiting on the port`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: Request = { rpc: 'req', id, method, args };
      try {
        this.port.postMessage(req);
      } catch (e) {
        this.pending.delete(id);
        reject(new WeirError('invalid_argument', `${method}: arguments cannot be sent to another thread: ${(e as Error).message}`));
      }
    });
  }

  /** Stops listening and fails the calls still waiting (the port itself is the owner's to close). */
  close(): void {
    this.port.off('message', this.onMessage);
    this.fail('the endpoint closed');
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new WeirError('unavailable', why));
    this.pending.clear();
  }

  private receive(v: unknown): void {
    if (!isRpcMessage(v)) return;
    if (v.rpc === 'res') {
      const p = this.pending.get(v.id);
      if (p === undefined) return;
      this.pending.delete(v.id);
      if (v.ok) p.resolve(v.value);
      else p.reject(new WeirError(v.error!.kind, v.error!.message, { retriable: v.error!.retriable }));
      return;
    }
    void this.serve(v);
  }

  private async serve(req: Request): Promise<void> {
    let res: Response;
    try {
      const h = this.handlers.get(req.method);
      if (h === undefined) throw new WeirError('unsupported', `no handler for ${req.method}`);
      res = { rpc: 'res', id: req.id, ok: true, value: await (h as (...a: unknown[]) => unknown)(...req.args) };
    } catch (e) {
      const error = e instanceof WeirError ? { kind: e.kind, message: e.message, retriable: e.retriable } : { kind: 'internal' as const, message: (e as Error)?.message ?? String(e), retriable: false };
      res = { rpc: 'res', id: req.id, ok: false, error };
    }
    if (this.closed) return;
    try {
      this.port.postMessage(res);
    } catch (e) {
      this.port.postMessage({ rpc: 'res', id: req.id, ok: false, error: { kind: 'internal', message: `${req.method}: the result cannot be sent: ${(e as Error).message}`, retriable: false } } satisfies Response);
    }
  }
}
