/**
 * A minimal Kafka protocol client on Weir's own codec, for CLI commands that need APIs kafkajs
 * does not offer (a plain Fetch at an offset, DescribeGroups with raw member bytes, ListGroups
 * with states). One connection, requests answered in order; every request has a timeout, and the
 * version of each API is negotiated against the agent's ApiVersions.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../core/protocol/frame.js';
import { ApiVersions } from '../../core/protocol/generated/index.js';
import type { ApiSpec } from '../../core/protocol/types.js';

interface Pending {
  correlationId: number;
  api: ApiSpec;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WireClient {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private versions: Map<number, { min: number; max: number }> | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly timeoutMs: number,
    private readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(`connection to ${address} closed`)));
  }

  static connect(host: string, port: number, timeoutMs: number, clientId = 'weir-cli'): Promise<WireClient> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to ${address}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${address}: ${e.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new WireClient(socket, address, timeoutMs, clientId));
      });
    });
  }

  /** The version to use for `api`: the highest both sides know, at most `preferred`. */
  async version(api: ApiSpec, preferred: number): Promise<number> {
    if (this.versions === null) {
      const res = await this.request(ApiVersions, 0, { clientSoftwareName: 'weir-cli', clientSoftwareVersion: '0' });
      if (res.errorCode) throw new Error(`ApiVersions failed with error ${res.errorCode}`);
      this.versions = new Map((res.apiKeys ?? []).map((k) => [k.apiKey!, { min: k.minVersion!, max: k.maxVersion! }]));
    }
    const range = this.versions.get(api.apiKey);
    const v = range === undefined ? -1 : Math.min(preferred, range.max, api.validVersions.max);
    if (range === undefined || v < range.min) throw new Error(`the agent at ${this.address} does not serve ${api.name} (wanted v${preferred} or older)`);
    return v;
  }

  request<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req): Promise<Res> {
    if (this.failure) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(api, version, correlationId, this.clientId, body);
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`${api.name} to ${this.address} timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.push({ correlationId, api: api as ApiSpec, version, resolve: resolve as (b: unknown) => void, reject, timer });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.failure ??= new Error('connection closed');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const p = this.pending.shift();
      if (p === undefined) return this.fail(new Error(`unexpected response from ${this.address}`));
      clearTimeout(p.timer);
      try {
        const { correlationId, body } = decodeResponse(p.api, p.version, frame);
        if (correlationId !== p.correlationId) throw new Error(`response out of order from ${this.address}`);
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
