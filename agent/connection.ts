/**
 * One client connection: framing, bounds and ordering. Kafka clients require responses in
 * request order on a connection, so each request takes a slot in a queue and responses are
 * written as the head of the queue completes. Requests run concurrently up to
 * inFlightPerConnectionMax; past that, or while the flusher holds too many bytes, the socket is
 * paused (TCP backpressure) instead of buffering without bound.
 *
 * A frame whose size is negative or above requestBytesMax, a header or body that does not
 * decode, an unknown API key, or an unsupported version (other than ApiVersions) closes this
 * connection only; the agent keeps serving everybody else.
 */
import type { Socket } from 'node:net';
import { decodeRequestBody, decodeRequestHeader, encodeResponseGather } from '../core/protocol/frame.js';
import type { AgentContext } from './agent-context.js';
import type { Handler, RequestContext } from './handler.js';

type PauseReason = 'in-flight' | 'memory' | 'write';

interface Slot {
  done: boolean;
  /** Segments of the response frame (record bytes by reference, not copied), or null for none. */
  response: Buffer[] | null;
}

export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private slots: Slot[] = [];
  private inFlight = 0;
  private writeScheduled = false;
  /** Set by end(): stop reading, answer what is in flight, then half-close. */
  private ending = false;
  private closed = false;
  private readonly abort = new AbortController();
  private pausedFor = new Set<PauseReason>();
  private readonly unsubscribeDrain: () => void;
  readonly peer: string;

  constructor(
    private readonly socket: Socket,
    private readonly agent: AgentContext,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.agent.log('debug', `connection ${this.peer}: ${e.message}`));
    socket.on('close', () => this.teardown());
    // A client that does not read its responses must not make us buffer them without bound.
    socket.on('drain', () => this.unpause('write'));
    this.unsubscribeDrain = agent.flusher.onDrain(() => this.unpause('memory'));
  }

  close(reason?: string): void {
    if (reason) this.agent.log('warn', `closing connection ${this.peer}: ${reason}`);
    this.socket.destroy();
    this.teardown();
  }

  /** Half-closes after the responses already queued; used by a graceful stop. */
  end(): void {
    this.pause('in-flight');
    this.ending = true;
    this.writeReady();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.unsubscribeDrain();
    this.chunks = [];
    this.slots = [];
    this.onClose(this);
  }

  private pause(why: PauseReason): void {
    if (this.pausedFor.size === 0) this.socket.pause();
    this.pausedFor.add(why);
  }

  private unpause(why: PauseReason): void {
    if (!this.pausedFor.delete(why) || this.pausedFor.size > 0 || this.closed) return;
    this.socket.resume();
    // Frames may have arrived completely before the pause took effect.
    this.drainFrames();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drainFrames();
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, Math.min(this.buffered, 8)).readInt32BE(0);
  }

  private takeFrame(size: number): Buffer {
    const need = 4 + size;
    const first = this.chunks[0]!;
    let frame: Buffer;
    if (first.length >= need) {
      // The common case for small requests: no copy.
      frame = first.subarray(4, need);
      if (first.length === need) this.chunks.shift();
      else this.chunks[0] = first.subarray(need);
    } else {
      // Copy only this frame's pieces: later pipelined requests may already be buffered, and
      // copying them too on every frame would be quadratic.
      let got = 0;
      let n = 0;
      while (got + this.chunks[n]!.length < need) got += this.chunks[n++]!.length;
      const last = this.chunks[n]!;
      const tail = need - got;
      const pieces = this.chunks.slice(0, n);
      pieces.push(last.subarray(0, tail));
      frame = Buffer.concat(pieces, need).subarray(4);
      this.chunks = tail < last.length ? [last.subarray(tail), ...this.chunks.slice(n + 1)] : this.chunks.slice(n + 1);
    }
    this.buffered -= need;
    return frame;
  }

  private drainFrames(): void {
    while (!this.closed && this.pausedFor.size === 0 && this.buffered >= 4) {
      const size = this.peekSize();
      if (size < 0 || size > this.agent.config.requestBytesMax) {
        this.close(`frame size ${size} outside 0..${this.agent.config.requestBytesMax}`);
        return;
      }
      if (this.buffered < 4 + size) return;
      this.dispatch(this.takeFrame(size));
      if (this.inFlight >= this.agent.config.inFlightPerConnectionMax) this.pause('in-flight');
      if (this.agent.flusher.overLimit) this.pause('memory');
    }
  }

  private dispatch(frame: Buffer): void {
    let header: ReturnType<typeof decodeRequestHeader>['header'];
    let bodyOffset: number;
    try {
      ({ header, bodyOffset } = decodeRequestHeader(frame));
    } catch (e) {
      this.close(`undecodable request header: ${(e as Error).message}`);
      return;
    }
    const handler: Handler | undefined = this.agent.handlers.get(header.requestApiKey);
    if (!handler) {
      this.close(`unknown API key ${header.requestApiKey}`);
      return;
    }
    const version = header.requestApiVersion;
    const slot: Slot = { done: false, response: null };
    if (version < handler.minVersion || version > handler.maxVersion) {
      const fallback = handler.unsupportedVersion?.(header);
      if (!fallback) {
        this.close(`${handler.api.name} v${version} is not supported (serving v${handler.minVersion}-v${handler.maxVersion})`);
        return;
      }
      slot.done = true;
      slot.response = [fallback];
      this.slots.push(slot);
      this.writeReady();
      return;
    }
    let request: unknown;
    try {
      request = decodeRequestBody(handler.api, version, frame, bodyOffset);
    } catch (e) {
      this.close(`undecodable ${handler.api.name} v${version} request: ${(e as Error).message}`);
      return;
    }
    this.slots.push(slot);
    this.inFlight++;
    const ctx: RequestContext = { agent: this.agent, header, apiVersion: version, peer: this.peer, signal: this.abort.signal };
    handler
      .handle(request, ctx)
      .then((body) => {
        // Encoding inside the chain: a response that does not fit its schema is a bug, and must
        // close this connection (below), never surface as an unhandled rejection.
        slot.response = body === null ? null : encodeResponseGather(handler.api, version, header.correlationId, body);
        this.complete(slot);
      })
      .catch((e: unknown) => {
        this.agent.log('error', `${handler.api.name} v${version} from ${this.peer} failed: ${(e as Error)?.stack ?? String(e)}`);
        this.close();
      });
  }

  private complete(slot: Slot): void {
    slot.done = true;
    this.inFlight--;
    this.scheduleWrite();
    if (this.inFlight < this.agent.config.inFlightPerConnectionMax) this.unpause('in-flight');
  }

  /**
   * One flush answers many requests of a connection in the same tick (librdkafka sends one
   * produce request per partition); writing once after they have all completed sends them in
   * one writev instead of one syscall each.
   */
  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeReady();
    });
  }

  private writeReady(): void {
    if (this.closed) return;
    let ok = true;
    // Corked so a response's segments leave as one writev, not one syscall per segment.
    this.socket.cork();
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const s = this.slots.shift()!;
      if (s.response) for (const seg of s.response) ok = this.socket.write(seg) && ok;
    }
    this.socket.uncork();
    if (!ok) this.pause('write');
    // A graceful stop half-closes only after the answers to everything already received.
    if (this.ending && this.slots.length === 0 && !this.socket.writableEnded) this.socket.end();
  }
}
