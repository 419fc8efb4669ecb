/**
 * One TCP connection to a Kafka-compatible broker, on Weir's generated codec. Requests are
 * pipelined: many may be in flight (bounded by maxInFlight; Kafka answers in order per
 * connection), each with a timeout. The API versions are negotiated once per connection with
 * ApiVersions, so the same client talks to Weir, Apache Kafka or any other implementation.
 *
 * Reading: responses arrive as chunks; they are kept as a list and joined once per complete
 * frame, so a multi-megabyte Fetch response is copied once, not once per chunk.
 */
import { connect, type Socket } from 'node:net';
import { WeirError } from '../errors.js';
import { decodeResponse, encodeRequest } from '../protocol/frame.js';
import { ApiVersions } from '../protocol/generated/index.js';
import type { ApiSpec } from '../protocol/types.js';
import { KafkaCode, KafkaError } from './kafka-error.js';

interface Pending {
  correlationId: number;
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
}

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

  static open(o: BrokerConnectionOptions): Promise<BrokerConnection> {
    const address = `${o.host}:${o.port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: o.host, port: o.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `cannot connect to ${address}: timed out after ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `cannot connect to ${address}: ${e.message}`));
      });
      socket.once('connect', () => {
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

  /** Sends at exactly `version`. */
  async send<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, timeoutMs = this.o.requestTimeoutMs): Promise<Res> {
    while (this.pending.length >= this.o.maxInFlight && this.failure === null) {
      await new Promise<void>((r) => this.waiting.push(r));
    }
    if (this.failure) throw this.failure;
    const correlationId = this.nextCorrelationId++;
    if (this.nextCorrelationId > 0x7fffffff) this.nextCorrelationId = 1;
    const frame = encodeRequest(api, version, correlationId, this.o.clientId, body);
    return new Promise<Res>((resolve, reject) => {
      const p: Pending = { correlationId, api: api as ApiSpec, version, resolve: resolve as (b: unknown) => void, reject, timer: null };
      // A timed-out request poisons the connection: its response may still arrive and would be
      // matched to the next request, so the whole connection is failed and reopened.
      p.timer = setTimeout(
        () => this.fail(new KafkaError(KafkaCode.REQUEST_TIMED_OUT, `${api.name} to ${this.address} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.pending.push(p);
      this.socket.write(frame);
    });
  }

  close(): void {
    this.fail(new KafkaError(KafkaCode.NETWORK_EXCEPTION, `connection to ${this.address} closed by the client`));
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 4) {
      const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.join();
      const size = head.readInt32BE(0);
      if (size < 0 || size > this.o.responseBytesMax) {
        return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `response of ${size} bytes from ${this.address} exceeds the bound`));
      }
      if (this.bufferedBytes < 4 + size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : this.join();
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.complete(frame);
      if (this.failure) return;
    }
  }

  private join(): Buffer {
    const b = Buffer.concat(this.chunks, this.bufferedBytes);
    this.chunks = [b];
    return b;
  }

  private complete(frame: Buffer): void {
    const p = this.pending.shift();
    if (p === undefined) return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `unexpected response from ${this.address}`));
    if (p.timer) clearTimeout(p.timer);
    this.waiting.shift()?.();
    try {
      const { correlationId, body } = decodeResponse(p.api, p.version, frame);
      if (correlationId !== p.correlationId) {
        return this.fail(new KafkaError(KafkaCode.CORRUPT_MESSAGE, `response out of order from ${this.address}`));
      }
      p.resolve(body);
    } catch (e) {
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
