/**
 * One TCP connection to a Kafka-compatible broker, on Weir's generated codec. Requests are
 * pipelined: many may be in flight (bounded by maxInFlight; Kafka answers in order per
 * connection), each with a timeout. The API versions are negotiated once per connection with
 * ApiVersions, so the same client talks to Weir, Apache Kafka or any other implementation.
 *
 * Reading: responses arrive as chunks; they are kept as a list and each complete frame is copied
 * once, exactly its own bytes (a frame whole in one chunk is not copied at all), so a
 * multi-megabyte Fetch response is copied once, not once per chunk. sendFrame assembles large
 * frames in reused FramePool buffers instead (fresh multi-megabyte allocations are what costs).
 *
 * Optional TLS (node:tls) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 through SaslHandshake v1 +
 * SaslAuthenticate, KIP-152), for clusters that require them (the mirror's source). The mirror
 * copies record batches byte for byte: record bytes in decoded responses are subarrays of the
 * response frame, and sendByReference writes request records by reference (encodeRequestGather).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { WeirError } from '../errors.js';
import { decodeResponse, encodeRequest, encodeRequestGather } from '../protocol/frame.js';
import { ApiVersions, SaslAuthenticate, SaslHandshake } from '../protocol/generated/index.js';
import type { ApiSpec } from '../protocol/types.js';
import type { FramePool } from './frame-pool.js';
import { KafkaCode, KafkaError } from './kafka-error.js';
import { saslSession, type SaslOptions } from './sasl.js';

interface Pending {
  correlationId: number;
  /** Resolve with { body, release } (sendFrame) rather than the body alone. */
  withFrame: boolean;
  api: ApiSpec;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

export interface BrokerConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Requests in flight on this connection; further requests queue until one completes. */
  maxInFlight: number;
  /** Largest response accepted; a bigger size prefix means a corrupt stream. */
  responseBytesMax: number;
  /** TLS options (node:tls); none: plain TCP. */
  tls?: ConnectionOptions | null;
  /** SASL credentials; open() authenticates before resolving. */
  sasl?: SaslOptions | null;
  /** Reused buffers for large frames answering sendFrame (none: each is a fresh allocation). */
  framePool?: FramePool;
}

const noRelease = (): void => undefined;

export class BrokerConnection {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly pending: Pending[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextCorrelationId = 1;
  private versions: Map<number, { min: number; max: number }> | null = null;
  private versionsLoading: Promise<void> | null = null;
  private failure: Error | null = null;
  readonly address: string;

  private constructor(
    private readonly socket: Socket,
    private readonly o: BrokerConnectionOptions,
  ) {
    this.address = `${o.host}:${o.port}`;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `connection to ${this.address}: ${e.message}`)));
    socket.on('close', () => this.fail(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `connection to ${this.address} closed`)));
  }

  /** Connects (TLS when o.tls) and, when o.sasl, negotiates versions and authenticates. */
  static async open(o: BrokerConnectionOptions): Promise<BrokerConnection> {
    const conn = await BrokerConnection.connect(o);
    if (o.sasl) {
      try {
        await conn.authenticate(o.sasl);
      } catch (e) {
        conn.close();
        throw e;
      }
    }
    return conn;
  }

  private static connect(o: BrokerConnectionOptions): Promise<BrokerConnection> {
    const address = `${o.host}:${o.port}`;
    return new Promise((resolve, reject) => {
      const socket = o.tls ? tlsConnect({ host: o.host, port: o.port, servername: o.host, ...o.tls }) : netConnect({ host: o.host, port: o.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `cannot connect to ${address}: timed out after ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `cannot connect to ${address}: ${e.message}`));
      });
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // Small requests (heartbeats, commits) must not wait for delayed ACKs.
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        resolve(new BrokerConnection(socket, o));
      });
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** The version to use: the highest both sides support, at most `preferredMax`, at least `requiredMin`. */
  async version(api: ApiSpec, preferredMax: number, requiredMin = 0): Promise<number> {
    if (this.versions === null) {
      this.versionsLoading ??= this.loadVersions();
      await this.versionsLoading;
    }
    const range = this.versions!.get(api.apiKey);
    const v = range === undefined ? -1 : Math.min(preferredMax, range.max, api.validVersions.max);
    if (range === undefined || v < range.min || v < requiredMin) {
      throw new WeirError('unsupported', `the broker at ${this.address} does not serve ${api.name} v${requiredMin}..v${preferredMax}`);
    }
    return v;
  }

  private async loadVersions(): Promise<void> {
    // v3 is flexible; a broker that does not know it answers UNSUPPORTED_VERSION in a v0 body
    // listing its own ranges (KIP-511), and v0 always parses.
    let res = await this.send(ApiVersions, 3, { clientSoftwareName: 'weir-client', clientSoftwareVersion: '0.1.0' }).catch(() => null);
    if (res === null || res.errorCode) res = await this.send(ApiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '' });
    if (res.errorCode) throw new KafkaError(res.errorCode, `ApiVersions to ${this.address} failed`);
    this.versions = new Map((res.apiKeys ?? []).map((k) => [k.apiKey!, { min: k.minVersion!, max: k.maxVersion! }]));
  }

  /** Sends a request at a version negotiated up to preferredMax. */
  async request<Req, Res>(api: ApiSpec<Req, Res>, preferredMax: number, body: Req, requiredMin = 0, timeoutMs?: number): Promise<Res> {
    const v = await this.version(api as ApiSpec, preferredMax, requiredMin);
    return this.send(api, v, body, timeoutMs);
  }

  /** As request, answered as sendFrame does: { body, release } (see sendFrame). */
  async requestFrame<Req, Res>(api: ApiSpec<Req, Res>, preferredMax: number, body: Req, requiredMin = 0, timeoutMs?: number): Promise<{ body: Res; release: () => void }> {
    const v = await this.version(api as ApiSpec, preferredMax, requiredMin);
    return this.sendFrame(api, v, body, timeoutMs);
  }

  /** Sends at exactly `version`. */
  send<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.o.requestTimeoutMs): Promise<Res> {
    return this.enqueue(api, version, body, timeoutMs, false, false) as Promise<Res>;
  }

  /**
   * As send, but records (and large bytes values) are written by reference, not copied into a
   * frame: one vectored write of the structure and the payloads (encodeRequestGather). The
   * referenced Buffers must stay unmodified until the request is answered.
   */
  sendByReference<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.o.requestTimeoutMs): Promise<Res> {
    return this.enqueue(api, version, body, timeoutMs, true, false) as Promise<Res>;
  }

  /**
   * As send, for answers whose records the caller holds on to for a while (the mirror's fetches,
   * until written): a large frame that spans TCP chunks is assembled in a buffer from
   * o.framePool, and `release` hands it back. Call release only once nothing refers to the body's
   * bytes any more (nor to subarrays of them: a socket write queue included); not calling it is
   * safe, the buffer is then garbage collected.
   */
  sendFrame<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.o.requestTimeoutMs): Promise<{ body: Res; release: () => void }> {
    return this.enqueue(api, version, body, timeoutMs, true, true) as Promise<{ body: Res; release: () => void }>;
  }

  private async enqueue<Req>(api: ApiSpec<Req, unknown>, version: number, body: Req, timeoutMs: number, byReference: boolean, withFrame: boolean): Promise<unknown> {
    while (this.pending.length >= this.o.maxInFlight && this.failure === null) {
      await new Promise<void>((r) => this.waiting.push(r));
    }
    if (this.failure) throw this.failure;
    const correlationId = this.nextCorrelationId++;
    if (this.nextCorrelationId > 0x7fffffff) this.nextCorrelationId = 1;
    const segments = byReference ? encodeRequestGather(api, version, correlationId, this.o.clientId, body) : [encodeRequest(api, version, correlationId, this.o.clientId, body)];
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { correlationId, withFrame, api: api as ApiSpec, version, resolve, reject, timer: null };
      // A timed-out request poisons the connection: its response may still arrive and would be
      // matched to the next request, so the whole connection is failed and reopened.
      p.timer = setTimeout(
        () => this.fail(new KafkaError(KafkaCode.REQUEST_TIMED_OUT, `${api.name} to ${this.address} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.push(p);
      if (segments.length === 1) this.socket.write(segments[0]!);
      else {
        // cork/uncork makes the segments one writev.
        this.socket.cork();
        for (const s of segments) this.socket.write(s);
        this.socket.uncork();
      }
    });
  }

  private async authenticate(sasl: SaslOptions): Promise<void> {
    const mechanism = sasl.mechanism.toUpperCase();
    const hs = await this.send(SaslHandshake, await this.version(SaslHandshake, 1, 1), { mechanism });
    if (hs.errorCode) {
      throw new WeirError('invalid_argument', `${this.address} does not offer SASL ${mechanism} (it offers ${(hs.mechanisms ?? []).join(', ') || 'none'})`, { retriable: false });
    }
    const av = await this.version(SaslAuthenticate, 2);
    const session = saslSession(sasl);
    let challenge: Buffer | null = null;
    for (;;) {
      const step = session.next(challenge);
      if (step === null) return;
      const res = await this.send(SaslAuthenticate, av, { authBytes: step });
      if (res.errorCode) {
        throw new WeirError('invalid_argument', `SASL ${sasl.mechanism} authentication to ${this.address} failed: ${res.errorMessage ?? `error ${res.errorCode}`}`, { retriable: false });
      }
      challenge = res.authBytes ?? Buffer.alloc(0);
    }
  }

  close(): void {
    this.fail(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `connection to ${this.address} closed by the client`));
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 4) {
      const first = this.chunks[0]!;
      const size = first.length >= 4 ? first.readInt32BE(0) : Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 8)).readInt32BE(0);
      if (size < 0 || size > this.o.responseBytesMax) {
        return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `response of ${size} bytes from ${this.address} exceeds the bound`));
      }
      if (this.bufferedBytes < 4 + size) return;
      const p = this.pending.shift();
      if (p === undefined) return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `unexpected response from ${this.address}`));
      let frame: Buffer;
      let release = noRelease;
      const pool = p.withFrame ? this.o.framePool : undefined;
      if (first.length >= 4 + size) {
        // The whole frame in one chunk: records are subarrays of it, no copy.
        frame = first.subarray(4, 4 + size);
        this.consume(4 + size, null);
      } else if (pool !== undefined && size >= pool.minBytes) {
        // Spanning chunks, for a caller that hands the frame back: one copy into a reused buffer.
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
      this.complete(p, frame, release);
      if (this.failure) return;
    }
  }

  /** Takes n buffered bytes off the front, copying them into `into` (from its start) if given. */
  private consume(n: number, into: Buffer | null): void {
    this.bufferedBytes -= n;
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

  private complete(p: Pending, frame: Buffer, release: () => void): void {
    if (p.timer) clearTimeout(p.timer);
    this.waiting.shift()?.();
    try {
      const { correlationId, body } = decodeResponse(p.api, p.version, frame);
      if (correlationId !== p.correlationId) {
        release();
        return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `response out of order from ${this.address}`));
      }
      p.resolve(p.withFrame ? { body, release } : body);
    } catch (e) {
      release();
      p.reject(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `cannot decode ${p.api.name} v${p.version} response from ${this.address}: ${(e as Error).message}`));
    }
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
    for (const p of this.pending.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.failure);
    }
    for (const w of this.waiting.splice(0)) w();
    this.socket.destroy();
  }
}
