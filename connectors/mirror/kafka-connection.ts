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
}

interface Pending {
  correlationId: number;
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
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new WeirError('unavailable', `${api.name} to ${this.address} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ correlationId, api: api as ApiSpec, version, resolve: resolve as (b: unknown) => void, reject, timer });
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
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.opts.responseBytesMax) {
        return this.fail(new WeirError('too_large', `response of ${size} bytes from ${this.address} exceeds ${this.opts.responseBytesMax}`));
      }
      if (this.chunkBytes < 4 + size) return;
      // One copy only when the frame spans TCP chunks; records are then subarrays of it.
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkBytes);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.chunkBytes = rest.length;
      const p = this.pending.shift();
      if (p === undefined) return this.fail(new WeirError('corrupt', `unexpected response from ${this.address}`));
      clearTimeout(p.timer);
      try {
        const { correlationId, body } = decodeResponse(p.api, p.version, frame);
        if (correlationId !== p.correlationId) throw new WeirError('corrupt', `response out of order from ${this.address}`);
        p.resolve(body);
      } catch (e) {
        p.reject(e instanceof Error ? e : new Error(String(e)));
      }
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
