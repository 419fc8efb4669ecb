/**
 * The contract every Kafka API handler implements. One handler file per API lives in
 * agent/handlers/; agent/handlers/index.ts registers them, and ApiVersions is derived from that
 * registry, so what we advertise is exactly what we serve.
 */
import type { ApiSpec } from '../core/protocol/types.js';
import type { RequestHeader } from '../core/protocol/frame.js';
import type { AgentContext } from './agent-context.js';

export interface RequestContext {
  agent: AgentContext;
  header: RequestHeader;
  apiVersion: number;
  /** Remote address, for logs. */
  peer: string;
  /** Aborted when the connection closes, so long polls stop early. */
  signal: AbortSignal;
}

export interface Handler<Req = any, Res = any> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  api: ApiSpec<Req, Res>;
  minVersion: number;
  maxVersion: number;
  /** Returns the response body, or null when the request gets no response (Produce acks=0). */
  handle(request: Req, ctx: RequestContext): Promise<Res | null>;
  /**
   * For a version outside min..max: a complete response frame to send instead of closing the
   * connection (ApiVersions answers UNSUPPORTED_VERSION at v0 so clients can downgrade).
   */
  unsupportedVersion?(header: RequestHeader): Buffer | null;
}

export function defineHandler<Req, Res>(h: Handler<Req, Res>): Handler<Req, Res> {
  return h;
}
