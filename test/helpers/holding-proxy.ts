/**
 * A TCP proxy between Kafka clients and an agent that can withhold the agent's responses. A crash
 * test uses it to make "committed but never acknowledged" certain rather than lucky: hold(), give
 * the agent time to commit what the clients already sent, kill the agent, then drop every
 * connection; the clients must retry batches the log already holds. Start the agent with
 * `--advertised-listener <proxy.address>` so clients reach every broker through the proxy, and
 * point `target` at each new agent process.
 */
import net from 'node:net';

export class HoldingProxy {
  private holding = false;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    /** The agent's port; connections made from now on go there. */
    public target: number,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(target: number): Promise<HoldingProxy> {
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    return new HoldingProxy(server, address.port, target);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** From now on requests still reach the agent, but its responses are dropped. */
  hold(): void {
    this.holding = true;
  }

  /** Closes every connection (clients see the broker go away) and forwards responses again. */
  reset(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    this.holding = false;
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.setNoDelay(true);
    const upstream = net.connect({ host: '127.0.0.1', port: this.target });
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => upstream.write(d));
    // Dropped bytes leave the client's stream torn, which is fine: reset() closes it before it could matter.
    upstream.on('data', (d: Buffer) => {
      if (!this.holding) client.write(d);
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }
}
