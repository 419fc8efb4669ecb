/**
 * A bare Kafka protocol client over one net.Socket, built on Weir's own codec. For what real
 * clients refuse to send: corrupt batches, garbage frames, requests timed against a signal.
 * Requests may be pipelined; Kafka answers in request order on a connection, and this client
 * checks the correlation ids to prove it.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../core/protocol/frame.js';
import { ApiVersions, Produce } from '../../core/protocol/generated/index.js';
import type { ApiVersionsResponse } from '../../core/protocol/generated/api-versions.js';
import type { ProduceResponse } from '../../core/protocol/generated/produce.js';
import type { ApiSpec } from '../../core/protocol/types.js';

interface Pending {
  correlationId: number;
  api: ApiSpec;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class RawClient {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closeError: Error | null = null;
  /** Resolves when the connection is closed, by either side, with the reason if there was one. */
  readonly closed: Promise<Error | null>;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        const err = this.closeError ?? new Error('connection closed');
        for (const p of this.pending.splice(0)) p.reject(err);
        resolve(this.closeError);
      });
    });
    socket.on('error', (err) => {
      this.closeError = err;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const p = this.pending.shift();
      if (p === undefined) {
        this.fail(new Error(`unsolicited response frame of ${size} bytes`));
        return;
      }
      try {
        const { correlationId, body } = decodeResponse(p.api, p.version, frame);
        if (correlationId !== p.correlationId) {
          throw new Error(`response correlation id ${correlationId}, expected ${p.correlationId} (${p.api.name} v${p.version})`);
        }
        p.resolve(body);
      } catch (e) {
        p.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private fail(err: Error): void {
    this.closeError = err;
    this.socket.destroy();
  }

  /** Writes the bytes; resolves once they are handed to the kernel. */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sends a request and resolves with the decoded response body. `sent`, if given, is called once
   * the request bytes are handed to the kernel.
   */
  request<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req, sent?: () => void): Promise<Res> {
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(api, version, correlationId, 'weir-e2e-raw', body);
    return new Promise<Res>((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(this.closeError ?? new Error('connection closed'));
        return;
      }
      this.pending.push({ correlationId, api: api as ApiSpec, version, resolve: resolve as (b: unknown) => void, reject });
      this.socket.write(frame, (err) => {
        if (!err) sent?.();
      });
    });
  }

  /** An ApiVersions v0 round trip (every broker answers v0). */
  async apiVersions(): Promise<ApiVersionsResponse> {
    const res = await this.request(ApiVersions, 0, { clientSoftwareName: 'weir-e2e', clientSoftwareVersion: '0' });
    if (res.errorCode !== undefined && res.errorCode !== 0) throw new Error(`ApiVersions error ${res.errorCode}`);
    return res;
  }

  /** The highest version of `api` both the agent (per ApiVersions) and `preferred` allow. */
  async negotiate(api: ApiSpec, preferred: number): Promise<number> {
    const res = await this.apiVersions();
    const entry = (res.apiKeys ?? []).find((k) => k.apiKey === api.apiKey);
    if (entry === undefined) throw new Error(`agent does not advertise ${api.name}`);
    const v = Math.min(preferred, entry.maxVersion ?? 0);
    if (v < (entry.minVersion ?? 0)) throw new Error(`agent supports ${api.name} v${entry.minVersion}-${entry.maxVersion}, want <= ${preferred}`);
    return v;
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RawPartitionResult {
  errorCode: number;
  baseOffset: bigint;
  errorMessage: string | null;
}

/**
 * One Produce request for one batch to one partition; resolves with that partition's result.
 * Version 3..8: record batches (magic 2), no flexible encoding needed.
 */
export async function rawProduce(
  client: RawClient,
  o: { topic: string; partition: number; batch: Buffer; acks?: number; version?: number; sent?: () => void },
): Promise<RawPartitionResult> {
  const version = o.version ?? (await client.negotiate(Produce, 8));
  const res: ProduceResponse = await client.request(
    Produce,
    version,
    {
      transactionalId: null,
      acks: o.acks ?? -1,
      timeoutMs: 30_000,
      topicData: [{ name: o.topic, partitionData: [{ index: o.partition, records: o.batch }] }],
    },
    o.sent,
  );
  const topic = (res.responses ?? []).find((t) => t.name === o.topic);
  const part = topic?.partitionResponses?.find((p) => p.index === o.partition);
  if (part === undefined) throw new Error(`Produce response has no result for ${o.topic}/${o.partition}: ${JSON.stringify(res, bigintJson)}`);
  return { errorCode: part.errorCode ?? 0, baseOffset: part.baseOffset ?? -1n, errorMessage: part.errorMessage ?? null };
}

/** JSON.stringify replacer for bodies with int64 fields. */
export function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
