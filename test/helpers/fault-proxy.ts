/**
 * An HTTP proxy that sits in front of s3rver and breaks a chosen fraction of requests, the way a
 * real S3 endpoint or network sometimes does, so the S3 store's retries are exercised for real.
 * Requests are forwarded unchanged (the Host header included, so SigV4 signatures still match).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind =
  | 'slowdown' // 503 with S3's SlowDown error body
  | 'stall' // read the request, never answer: the client's timeout must fire
  | 'reset' // read the request, then reset the connection
  | 'truncate'; // forward, but cut the connection half-way through the answer's body

export interface FaultProxyOptions {
  upstreamPort: number;
  /** Fraction of requests, 0..1, that get a fault. */
  faultRate: number;
  /** Faults to choose from, uniformly; default all of them. */
  kinds?: readonly FaultKind[];
  /** Seed of the deterministic choice of which requests fail, so a failure can be replayed. */
  seed?: number;
  /** Only requests this accepts can get a fault (default: all). */
  faultIf?: (method: string, url: string) => boolean;
}

export interface FaultProxy {
  port: number;
  endpoint: string;
  /** Requests seen and faults injected so far, by kind. */
  readonly stats: { requests: number; faults: Record<FaultKind, number> };
  /** Every request seen, as "METHOD /path?query". */
  readonly log: string[];
  setFaultRate(rate: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const kinds = options.kinds ?? (['slowdown', 'stall', 'reset', 'truncate'] as const);
  const random = mulberry32(options.seed ?? 1);
  let faultRate = options.faultRate;
  const stats = { requests: 0, faults: { slowdown: 0, stall: 0, reset: 0, truncate: 0 } };
  const sockets = new Set<Socket>();
  const log: string[] = [];

  const server: Server = createServer((req, res) => {
    stats.requests++;
    log.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const eligible = options.faultIf === undefined || options.faultIf(req.method ?? '', req.url ?? '');
    const fault = eligible && random() < faultRate ? kinds[Math.floor(random() * kinds.length)]! : undefined;
    if (fault !== undefined) stats.faults[fault]++;
    if (fault === 'slowdown' || fault === 'stall' || fault === 'reset') {
      // Drain the request first, as a server does before answering.
      req.resume();
      req.on('end', () => {
        if (fault === 'slowdown') slowDown(res);
        else if (fault === 'reset') req.socket.resetAndDestroy();
        // 'stall': nothing; close() destroys the socket if the client has not given up by then.
      });
      return;
    }
    forward(req, res, options.upstreamPort, fault === 'truncate');
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    log,
    setFaultRate(rate: number) {
      faultRate = rate;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function slowDown(res: ServerResponse): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>' +
    '<RequestId>fault-proxy</RequestId></Error>';
  res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function forward(req: IncomingMessage, res: ServerResponse, upstreamPort: number, truncate: boolean): void {
  const headers = { ...req.headers };
  // This proxy already answered "100 Continue" to the client; the body follows at once.
  delete headers['expect'];
  const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    if (!truncate) {
      up.pipe(res);
      return;
    }
    const length = Number(up.headers['content-length'] ?? 0);
    let sent = 0;
    up.on('data', (chunk: Buffer) => {
      const keep = Math.max(0, Math.min(chunk.length, Math.floor(length / 2) - sent));
      if (keep > 0) res.write(chunk.subarray(0, keep));
      sent += keep;
      if (sent >= Math.floor(length / 2)) {
        up.destroy();
        res.socket?.resetAndDestroy();
      }
    });
    up.on('end', () => res.socket?.resetAndDestroy());
  });
  upstream.on('error', () => res.socket?.destroy());
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}

/** A small seeded PRNG (mulberry32): the same seed gives the same faults on the same requests. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
