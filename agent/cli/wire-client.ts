/**
 * The CLI's Kafka protocol client on Weir's own codec, for commands that need APIs kafkajs does
 * not offer (a plain Fetch at an offset, DescribeGroups with raw member bytes, ListGroups with
 * states). A thin face over core/client's BrokerConnection (one connection, requests answered in
 * order, each with a timeout, versions negotiated against the agent's ApiVersions), keeping the
 * calls the CLI commands use: version(api, preferred), then request(api, version, body).
 */
import { BrokerConnection } from '../../core/client/broker-connection.js';
import type { ApiSpec } from '../../core/protocol/types.js';

export class WireClient {
  private constructor(private readonly conn: BrokerConnection) {}

  static async connect(host: string, port: number, timeoutMs: number, clientId = 'weir-cli'): Promise<WireClient> {
    // The CLI sends one request at a time per command step; 16 leaves room for parallel steps.
    const conn = await BrokerConnection.open({ host, port, clientId, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, maxInFlight: 16, responseBytesMax: 256 * 1024 * 1024 });
    return new WireClient(conn);
  }

  get address(): string {
    return this.conn.address;
  }

  /** The version to use for `api`: the highest both sides know, at most `preferred`. */
  version(api: ApiSpec, preferred: number): Promise<number> {
    return this.conn.version(api, preferred);
  }

  /** Sends at exactly `version`. */
  request<Req, Res>(api: ApiSpec<Req, Res>, version: number, body: Req): Promise<Res> {
    return this.conn.send(api, version, body);
  }

  close(): void {
    this.conn.close();
  }
}
