/**
 * A trivial Kafka-protocol server for measuring the load generators' own ceilings: it answers
 * Produce at once without looking at the records (a discard sink), and serves Fetch from one
 * pre-built record batch whose base offset is patched per reply (an infinitely fast log). If a
 * client cannot go faster than X against this, a benchmark of Weir with that client cannot show
 * more than X, so each benchmark's report says which ceiling applies.
 *
 * It is deliberately independent of core/protocol (hand-encoded, fixed low versions): the point
 * is a reference that cannot share a bug or a slowdown with the code under test.
 *
 * APIs and versions (librdkafka picks the highest it shares with us):
 *   Produce 3..7, Fetch 4, ListOffsets 1, Metadata 1, ApiVersions 0..3, FindCoordinator 0.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { crc32c } from '@node-rs/crc32';

export interface FakeBrokerOptions {
  /** Partitions of every topic (all topics exist). */
  partitions: number;
  /** Value size of the records served by Fetch. */
  recordBytes?: number;
  /** Records per partition served by Fetch (rounded up to whole batches); 0 = none. */
  recordsPerPartition?: number;
}

export interface FakeBroker {
  readonly port: number;
  readonly bootstrap: string;
  /** Produce payload bytes received (the records fields, framing excluded). */
  producedBytes(): number;
  /** Produce requests answered. */
  produceRequests(): number;
  /** Record-batch bytes sent in Fetch replies. */
  fetchedBytes(): number;
  /** The high watermark of every partition (a multiple of the batch's record count). */
  readonly highWatermark: number;
  close(): Promise<void>;
}

const API_PRODUCE = 0;
const API_FETCH = 1;
const API_LIST_OFFSETS = 2;
const API_METADATA = 3;
const API_FIND_COORDINATOR = 10;
const API_VERSIONS = 18;

const SUPPORTED: [number, number, number][] = [
  [API_PRODUCE, 3, 7],
  [API_FETCH, 4, 4],
  [API_LIST_OFFSETS, 1, 1],
  [API_METADATA, 1, 1],
  [API_FIND_COORDINATOR, 0, 0],
  [API_VERSIONS, 0, 3],
];

/** Records per served batch: ~264 KiB at 1 KiB values, so a 1 MiB partition fetch holds a few. */
const RECORDS_PER_BATCH = 256;

// ------------------------------------------------------------------ encoding helpers

class Out {
  private buf = Buffer.allocUnsafe(4096);
  private pos = 4; // room for the frame length
  private start = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  i8(v: number): this {
    this.room(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  i16(v: number): this {
    this.room(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  i32(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  i64(v: number): this {
    this.room(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v;
    return this;
  }
  uvarint(v: number): this {
    while (v >= 0x80) {
      this.u8((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    return this.u8(v);
  }
  str(s: string | null): this {
    if (s === null) return this.i16(-1);
    const b = Buffer.from(s, 'utf8');
    this.i16(b.length);
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Copies out what was written since the last take (the first one includes the length slot). */
  take(): Buffer {
    const b = Buffer.from(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
    return b;
  }
  /** The frame: length prefix filled in. */
  frame(): Buffer {
    this.buf.writeInt32BE(this.pos - 4, 0);
    return this.buf.subarray(0, this.pos);
  }
}

class In {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  i8(): number {
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): number {
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }
  str(): string | null {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(n: number): void {
    this.pos += n;
  }
}

function zigzagVarint(v: number): number[] {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return out;
}

/** One magic-2 record batch of `count` records with `valueBytes`-byte values, base offset 0. */
export function buildRecordBatch(count: number, valueBytes: number, timestampMs: number): Buffer {
  const value = Buffer.alloc(valueBytes, 0x61);
  const records: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = Buffer.concat([
      Buffer.from([0]), // attributes
      Buffer.from(zigzagVarint(0)), // timestamp delta
      Buffer.from(zigzagVarint(i)), // offset delta
      Buffer.from(zigzagVarint(-1)), // null key
      Buffer.from(zigzagVarint(valueBytes)),
      value,
      Buffer.from(zigzagVarint(0)), // no headers
    ]);
    records.push(Buffer.from(zigzagVarint(body.length)), body);
  }
  const recs = Buffer.concat(records);
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(0n, 0); // base offset (patched per reply)
  header.writeInt32BE(61 - 12 + recs.length, 8); // batch length: everything after this field
  header.writeInt32BE(0, 12); // partition leader epoch
  header.writeInt8(2, 16); // magic
  header.writeInt16BE(0, 21); // attributes: no compression
  header.writeInt32BE(count - 1, 23); // last offset delta
  header.writeBigInt64BE(BigInt(timestampMs), 27);
  header.writeBigInt64BE(BigInt(timestampMs), 35);
  header.writeBigInt64BE(-1n, 43); // producer id
  header.writeInt16BE(-1, 51); // producer epoch
  header.writeInt32BE(-1, 53); // base sequence
  header.writeInt32BE(count, 57);
  const batch = Buffer.concat([header, recs]);
  // The CRC covers attributes to the end, so patching the base offset later keeps it valid.
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

// ------------------------------------------------------------------ the server

export async function startFakeBroker(opts: FakeBrokerOptions): Promise<FakeBroker> {
  const partitions = opts.partitions;
  const batch = buildRecordBatch(RECORDS_PER_BATCH, opts.recordBytes ?? 1024, Date.now());
  const batchTail = batch.subarray(8);
  const perPartition = opts.recordsPerPartition ?? 0;
  const highWatermark = Math.ceil(perPartition / RECORDS_PER_BATCH) * RECORDS_PER_BATCH;
  let produced = 0;
  let produceRequests = 0;
  let fetched = 0;
  const sockets = new Set<Socket>();
  let port = 0;

  const handle = (req: Buffer, send: (b: Buffer | Buffer[]) => void): void => {
    const r = new In(req);
    const apiKey = r.i16();
    const version = r.i16();
    const correlationId = r.i32();
    r.str(); // client id
    const flexible = apiKey === API_VERSIONS && version >= 3;
    if (flexible) r.skip(1); // empty tagged fields in the request header
    const out = new Out().i32(correlationId);
    switch (apiKey) {
      case API_VERSIONS: {
        // The response header is always v0 for ApiVersions, even when the body is flexible.
        out.i16(0);
        if (version >= 3) {
          out.uvarint(SUPPORTED.length + 1);
          for (const [k, min, max] of SUPPORTED) out.i16(k).i16(min).i16(max).uvarint(0);
          out.i32(0).uvarint(0);
        } else {
          out.i32(SUPPORTED.length);
          for (const [k, min, max] of SUPPORTED) out.i16(k).i16(min).i16(max);
          if (version >= 1) out.i32(0);
        }
        break;
      }
      case API_METADATA: {
        const n = r.i32();
        const topics: string[] = [];
        for (let i = 0; i < n; i++) topics.push(r.str()!);
        out.i32(1).i32(0).str('127.0.0.1').i32(port).str(null); // brokers
        out.i32(0); // controller id
        out.i32(topics.length);
        for (const t of topics) {
          out.i16(0).str(t).i8(0).i32(partitions);
          for (let p = 0; p < partitions; p++) out.i16(0).i32(p).i32(0).i32(1).i32(0).i32(1).i32(0);
        }
        break;
      }
      case API_FIND_COORDINATOR: {
        out.i16(0).i32(0).str('127.0.0.1').i32(port);
        break;
      }
      case API_PRODUCE: {
        produceRequests++;
        r.str(); // transactional id
        const acks = r.i16();
        r.i32(); // timeout
        const topicCount = r.i32();
        out.i32(topicCount);
        for (let t = 0; t < topicCount; t++) {
          out.str(r.str());
          const pc = r.i32();
          out.i32(pc);
          for (let p = 0; p < pc; p++) {
            const index = r.i32();
            const size = r.i32();
            if (size > 0) {
              r.skip(size);
              produced += size;
            }
            out.i32(index).i16(0).i64(0).i64(-1);
            if (version >= 5) out.i64(0);
          }
        }
        out.i32(0); // throttle
        if (acks === 0) return;
        break;
      }
      case API_LIST_OFFSETS: {
        r.i32(); // replica id
        const tc = r.i32();
        out.i32(tc);
        for (let t = 0; t < tc; t++) {
          out.str(r.str());
          const pc = r.i32();
          out.i32(pc);
          for (let p = 0; p < pc; p++) {
            const index = r.i32();
            const ts = r.i64();
            out.i32(index).i16(0).i64(-1).i64(ts === -2 ? 0 : highWatermark);
          }
        }
        break;
      }
      case API_FETCH: {
        r.i32(); // replica id
        const maxWaitMs = r.i32();
        r.i32(); // min bytes
        let budget = r.i32();
        r.i8(); // isolation level
        const tc = r.i32();
        const chunks: Buffer[] = [];
        out.i32(0).i32(tc);
        for (let t = 0; t < tc; t++) {
          out.str(r.str());
          const pc = r.i32();
          out.i32(pc);
          for (let p = 0; p < pc; p++) {
            const index = r.i32();
            let offset = r.i64();
            const partitionMax = r.i32();
            const parts: Buffer[] = [];
            let size = 0;
            // At least one batch when data remains (as Kafka does), then whole batches while they fit.
            while (offset < highWatermark && (size === 0 || (size + batch.length <= partitionMax && size + batch.length <= budget))) {
              // Only the 8-byte base offset differs per batch; the rest is the shared template,
              // so nothing is copied (fresh buffers cost page faults that would cap the source).
              const base = Buffer.allocUnsafe(8);
              base.writeBigInt64BE(BigInt(offset), 0);
              parts.push(base, batchTail);
              size += batch.length;
              offset += RECORDS_PER_BATCH;
            }
            budget -= size;
            fetched += size;
            out.i32(index).i16(0).i64(highWatermark).i64(highWatermark).i32(-1).i32(size);
            // The batches go out as separate writes rather than being copied into the frame.
            if (size > 0) chunks.push(out.take(), ...parts);
          }
        }
        if (chunks.length > 0) {
          chunks.push(out.take());
          const total = chunks.reduce((n, c) => n + c.length, 0);
          chunks[0]!.writeInt32BE(total - 4, 0);
          send(chunks);
          return;
        }
        // Nothing to send: wait out the long poll as a broker would, so an idle consumer does not spin.
        const empty = out.frame();
        setTimeout(() => send(empty), Math.min(maxWaitMs, 500));
        return;
        break;
      }
      default:
        // Unknown API: closing is what a broker does with a request it cannot parse.
        throw new Error(`fake broker: unsupported api key ${apiKey} v${version}`);
    }
    send(out.frame());
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Bytes needed before the next frame is complete: concatenating on every chunk of a
    // multi-MiB produce request would be quadratic and make the sink the bottleneck.
    let needed = 4;
    socket.on('data', (data: Buffer) => {
      pending.push(data);
      pendingBytes += data.length;
      if (pendingBytes < needed) return;
      let buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      let pos = 0;
      while (buf.length - pos >= 4) {
        const size = buf.readInt32BE(pos);
        if (buf.length - pos - 4 < size) break;
        try {
          handle(buf.subarray(pos + 4, pos + 4 + size), (b) => {
            if (!Array.isArray(b)) {
              socket.write(b);
              return;
            }
            // One writev for the whole response.
            socket.cork();
            for (const piece of b) socket.write(piece);
            socket.uncork();
          });
        } catch (e) {
          process.stderr.write(`${(e as Error).message}\n`);
          socket.destroy();
          return;
        }
        pos += 4 + size;
      }
      buf = buf.subarray(pos);
      pending = buf.length > 0 ? [buf] : [];
      pendingBytes = buf.length;
      needed = buf.length >= 4 ? 4 + buf.readInt32BE(0) : 4;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    highWatermark,
    producedBytes: () => produced,
    produceRequests: () => produceRequests,
    fetchedBytes: () => fetched,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
