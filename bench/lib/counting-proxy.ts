/**
 * A pass-through HTTP proxy that counts requests by method: put between an agent and its S3
 * endpoint, it tells how many object requests the agent makes (PUTs per flush, requests per
 * second at idle) without touching the agent. It forwards every request unchanged, Host header
 * included, so SigV4 signatures made for the proxy's address still verify upstream.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  /** Request body bytes forwarded (PUT bodies, mostly). */
  bytesUp: number;
}

export interface CountingProxy {
  endpoint: string;
  /** A copy of the counts so far. */
  snapshot(): RequestCounts;
  close(): Promise<void>;
}

/** b - a, method by method. */
export function diffCounts(b: RequestCounts, a: RequestCounts): RequestCounts {
  const byMethod: Record<string, number> = {};
  for (const m of new Set([...Object.keys(a.byMethod), ...Object.keys(b.byMethod)])) {
    const n = (b.byMethod[m] ?? 0) - (a.byMethod[m] ?? 0);
    if (n !== 0) byMethod[m] = n;
  }
  return { total: b.total - a.total, byMethod, bytesUp: b.bytesUp - a.bytesUp };
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  const counts: RequestCounts = { total: 0, byMethod: {}, bytesUp: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const method = req.method ?? '';
    counts.total++;
    counts.byMethod[method] = (counts.byMethod[method] ?? 0) + 1;
    const headers = { ...req.headers };
    // Node's server has already answered "100 Continue"; the body follows at once.
    delete headers['expect'];
    const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.socket?.destroy());
    req.on('data', (chunk: Buffer) => (counts.bytesUp += chunk.length));
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    snapshot: () => ({ total: counts.total, byMethod: { ...counts.byMethod }, bytesUp: counts.bytesUp }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
