/**
 * One connection to a Kafka broker (the source cluster) or a Weir agent (the target), on Weir's
 * generated codec: requests are pipelined and answered in order, each with a timeout; the version
 * of every API is negotiated against the broker's ApiVersions. Optional TLS (node:tls) and SASL
 * (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 through SaslHandshake v1 + SaslAuthenticate, KIP-152).
 *
 * Why not kafkajs for this: the mirror must copy record batches byte for byte (CRCs, compression,
 * producer ids, timestamps), and kafkajs only hands out decoded messages (docs/decisions.md,
 * Mirror). Record bytes in decoded responses are subarrays of the response frame, and records in
 * requests are written by reference (encodeRequestGather): neither is copied in this process.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { WeirError } from '../../core/errors.js';
import { decodeResponse, encodeRequestGather } from '../../core/protocol/frame.js';
import { ApiVersions, SaslAuthenticate, SaslHandshake } from '../../core/protocol/generated/index.js';
import type { ApiSpec } from '../../core/protocol/types.js';
import { saslSession, type SaslOptions } from './sasl.js';

export interface KafkaConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** Per request, and for connecting. */
  timeoutMs: number;
  tls?: ConnectionOptions | null;
  sasl?: SaslOptions | null;
  /** Largest response frame accepted; a bigger one closes the connection (bound on memory). */
  responseBytesMax: number;
  /** Reused buffers for large frames answering requestFrame (none: each is a fresh allocation). */
  framePool?: FramePool;
}

const noRelease = (): void => undefined;

/**
 * Buffers for large response frames, handed back by their users and reused. On this kind of VM
 * a fresh multi-megabyte allocation costs far more than filling it (page faults): measured in
 * bench/mirror.ts --profile, assembling fresh fetch frames was a quarter of the mirror's CPU.
 * Holds at most freeBytesMax of free buffers (more are left to the garbage collector); buffers
 * in use are their users' (the mirror bounds those by its loops and fetch sizes).
 */
export class FramePool {
  private free: Buffer[] = [];
  private freeBytes = 0;
  /** Frames smaller than this are allocated as usual. */
  readonly minBytes = 1024 * 1024;

  constructor(private readonly freeBytesMax: number) {}

  /** A buffer of exactly `size` bytes (a view of a pooled one), and how to hand it back (once). */
  take(size: number): { frame: Buffer; release: () => void } {
    // Best fit among the free buffers no more than twice as large; else a new one, rounded up
    // to whole MiB so that buffers fit frames of slightly different sizes later.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.length >= size && b.length <= 2 * size && (best < 0 || b.length < this.free[best]!.length)) best = i;
    }
    let whole: Buffer;
    if (best >= 0) {
      whole = this.free[best]!;
      this.free.splice(best, 1);
      this.freeBytes -= whole.length;
    } else {
      whole = Buffer.allocUnsafeSlow(Math.ceil(size / this.minBytes) * this.minBytes);
    }
    let released = false;
    return {
      frame: whole.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        if (this.freeBytes + whole.length > this.freeBytesMax) return;
        this.free.push(whole);
        this.freeBytes += whole.length;
      },
    };
  }

  get freeBuffers(): number {
    return this.free.length;
  }
}

interface Pending {
  correlationId: number;
  /** Resolve with { body, release } (requestFrame) rather than the body alone. */
  withFrame: boolean;
  api: ApiSpec;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class KafkaConnection {
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private versions = new Map<number, { min: number; max: number }>();
  private failure: Error | null = null;
  readonly address: string;

  private constructor(
    private readonly socket: Socket,
    private readonly opts: KafkaConnectionOptions,
  ) {
    this.address = `${opts.host}:${opts.port}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new WeirError('unavailable', `connection to ${this.address}: ${e.message}`)));
    socket.on('close', () => this.fail(new WeirError('unavailable', `connection to ${this.address} closed`)));
  }

  /** Connects, negotiates versions and authenticates. */
  static async open(opts: KafkaConnectionOptions): Promise<KafkaConnection> {
    const address = `${opts.host}:${opts.port}`;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = opts.tls ? tlsConnect({ host: opts.host, port: opts.port, servername: opts.host, ...opts.tls }) : netConnect({ host: opts.host, port: opts.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new WeirError('unavailable', `cannot connect to ${address}: timed out after ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new WeirError('unavailable', `cannot connect to ${address}: ${e.message}`));
      });
      s.once(opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.setNoDelay(true);
        resolve(s);
      });
    });
    const conn = new KafkaConnection(socket, opts);
    try {
      const res = await conn.request(ApiVersions, 0, { clientSoftwareName: 'weir-mirror', clientSoftwareVersion: '0' });
      if (res.errorCode) throw new WeirError('unavailable', `ApiVersions to ${address} failed with error ${res.errorCode}`);
      conn.versions = new Map((res.apiKeys ?? []).map((k) => [k.apiKey!, { min: k.minVersion!, max: k.maxVersion! }]));
      if (opts.sasl) await conn.authenticate(opts.sasl);
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** The highest version both sides know, at most `preferred`; 'unsupported' if there is none. */
  version(api: ApiSpec, preferred: number, lowest = 0): number {
    const range = this.versions.get(api.apiKey);
    const v = range === undefined ? -1 : Math.min(preferred, range.max, api.validVersions.max);
    if (range === undefined || v < range.min || v < lowest) {
      throw new WeirError('unsupported', `${this.address} does not serve ${api.name} v${lowest}..v${preferred}`);
    }
    return v;
  }

  request<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.opts.timeoutMs): Promise<Res> {
    return this.send(api, version, body, timeoutMs, false) as Promise<Res>;
  }

  /**
   * As request, for answers whose records the caller holds on to for a while (the mirror's
   * fetches, until written): a large frame that spans TCP chunks is assembled in a buffer from
   * opts.framePool, and `release` hands it back. Call release only once nothing refers to the
   * body's bytes any more (nor to subarrays of them: a socket write queue included); not calling
   * it is safe, the buffer is then garbage collected.
   */
  requestFrame<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.opts.timeoutMs): Promise<{ body: Res; release: () => void }> {
    return this.send(api, version, body, timeoutMs, true) as Promise<{ body: Res; release: () => void }>;
  }

  private send<Req>(api: ApiSpec<Req, unknown>, version: number, body: Req, timeoutMs: number, withFrame: boolean): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    // Records (a WeirMirrorWrite's megabytes) are written by reference, not copied into a frame:
    // one vectored write of the structure and the payloads (cork/uncork makes it a writev).
    let segments: Buffer[];
    try {
      segments = encodeRequestGather(api, version, correlationId, this.opts.clientId, body);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new WeirError('unavailable', `${api.name} to ${this.address} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ correlationId, withFrame, api: api as ApiSpec, version, resolve, reject, timer });
      if (segments.length === 1) this.socket.write(segments[0]!);
      else {
        this.socket.cork();
        for (const s of segments) this.socket.write(s);
        this.socket.uncork();
      }
    });
  }

  close(): void {
    this.fail(new WeirError('unavailable', `connection to ${this.address} closed`));
  }

  private async authenticate(sasl: SaslOptions): Promise<void> {
    const hv = this.version(SaslHandshake, 1, 1);
    const hs = await this.request(SaslHandshake, hv, { mechanism: sasl.mechanism.toUpperCase() });
    if (hs.errorCode) {
      throw new WeirError('invalid_argument', `${this.address} does not offer SASL ${sasl.mechanism.toUpperCase()} (it offers ${(hs.mechanisms ?? []).join(', ') || 'none'})`, { retriable: false });
    }
    const av = this.version(SaslAuthenticate, 2);
    const session = saslSession(sasl);
    let challenge: Buffer | null = null;
    for (;;) {
      const step = session.next(challenge);
      if (step === null) return;
      const res = await this.request(SaslAuthenticate, av, { authBytes: step });
      if (res.errorCode) {
        throw new WeirError('invalid_argument', `SASL ${sasl.mechanism} authentication to ${this.address} failed: ${res.errorMessage ?? `error ${res.errorCode}`}`, { retriable: false });
      }
      challenge = res.authBytes ?? Buffer.alloc(0);
    }
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    while (this.chunkBytes >= 4) {
      const first = this.chunks[0]!;
      const size = first.length >= 4 ? first.readInt32BE(0) : Buffer.concat(this.chunks, Math.min(this.chunkBytes, 8)).readInt32BE(0);
      if (size < 0 || size > this.opts.responseBytesMax) {
        return this.fail(new WeirError('too_large', `response of ${size} bytes from ${this.address} exceeds ${this.opts.responseBytesMax}`));
      }
      if (this.chunkBytes < 4 + size) return;
      const p = this.pending.shift();
      if (p === undefined) return this.fail(new WeirError('corrupt', `unexpected response from ${this.address}`));
      clearTimeout(p.timer);
      let frame: Buffer;
      let release = noRelease;
      const pool = p.withFrame ? this.opts.framePool : undefined;
      if (first.length >= 4 + size) {
        // The whole frame in one chunk: records are subarrays of it, no copy.
        frame = first.subarray(4, 4 + size);
        this.consume(4 + size, null);
      } else if (pool !== undefined && size >= pool.minBytes) {
        // Spanning chunks, for a caller that hands the frame back: one copy into a reused buffer
        // (fresh multi-megabyte allocations are what costs here, not the copy).
        const lease = pool.take(size);
        frame = lease.frame;
        release = lease.release;
        this.consume(4, null);
        this.consume(size, frame);
      } else {
        // One copy of this frame's bytes only; what follows stays in its chunks.
        frame = Buffer.allocUnsafe(size);
        this.consume(4, null);
        this.consume(size, frame);
      }
      try {
        const { correlationId, body } = decodeResponse(p.api, p.version, frame);
        if (correlationId !== p.correlationId) throw new WeirError('corrupt', `response out of order from ${this.address}`);
        p.resolve(p.withFrame ? { body, release } : body);
      } catch (e) {
        release();
        p.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /** Takes n buffered bytes off the front, copying them into `into` (from its start) if given. */
  private consume(n: number, into: Buffer | null): void {
    this.chunkBytes -= n;
    let at = 0;
    while (n > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(n, c.length);
      if (into !== null) c.copy(into, at, 0, k);
      at += k;
      n -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    this.socket.destroy();
  }
}
