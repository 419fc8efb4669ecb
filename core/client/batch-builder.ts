/**
 * A record batch (v2) built as records are appended: each record is encoded straight into the
 * batch's buffer at append time, key and value written from strings or buffers without an
 * intermediate Buffer or record object, and the 61-byte header is written in front of them when
 * the batch is sealed and stamped (producer id, sequence, CRC), so the uncompressed batch is
 * sent from that same buffer with no copy. Buffers come from a small pool of power-of-two
 * sizes and go back once the batch is acknowledged: fresh large allocations are what costs on
 * the machines we run on.
 */
import { WeirError } from '../errors.js';
import { BATCH_HEADER_BYTES, CURRENT_MAGIC, LOG_OVERHEAD, OFFSET_ATTRIBUTES, OFFSET_CRC } from '../records/batch.js';
import { compress, Compression } from '../records/compression.js';
import { crc32c } from '../records/crc32c.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../records/varint.js';

export type TextOrBytes = Buffer | string | null | undefined;
export interface HeaderInput {
  key: string;
  value: Buffer | null;
}

const MIN_CAPACITY = 4096;
const POOLED_PER_SIZE = 8;

/** Reusable batch buffers by capacity (powers of two). */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  take(minBytes: number): Buffer {
    let cap = MIN_CAPACITY;
    while (cap < minBytes) cap *= 2;
    const l = this.free.get(cap);
    return l !== undefined && l.length > 0 ? l.pop()! : Buffer.allocUnsafeSlow(cap);
  }
  give(b: Buffer): void {
    let l = this.free.get(b.length);
    if (l === undefined) this.free.set(b.length, (l = []));
    if (l.length < POOLED_PER_SIZE) l.push(b);
  }
}

function byteLengthOf(x: TextOrBytes): number {
  if (x === null || x === undefined) return -1;
  return typeof x === 'string' ? Buffer.byteLength(x, 'utf8') : x.length;
}

function writeField(buf: Buffer, pos: number, x: TextOrBytes, len: number): number {
  pos = writeVarint(buf, pos, len);
  if (len <= 0) return pos;
  if (typeof x === 'string') buf.write(x, pos, len, "utf8");
  else (x as Buffer).copy(buf, pos);
  return pos + len;
}

export class BatchBuilder {
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;

  constructor(private readonly pool: BufferPool) {
    this.buf = pool.take(BATCH_HEADER_BYTES);
  }

  /** Encoded bytes so far, header included. */
  get bytes(): number {
    return this.pos;
  }

  /**
   * Appends one record and returns its encoded size; or, when the batch already has records and
   * this one would take it past bytesMax, appends nothing and returns -1.
   */
  append(key: TextOrBytes, value: TextOrBytes, timestamp: number, headers: readonly HeaderInput[] | undefined, bytesMax: number): number {
    const first = this.count === 0;
    const kl = byteLengthOf(key);
    const vl = byteLengthOf(value);
    const tsDelta = first ? 0 : timestamp - this.baseTimestamp;
    const hc = headers === undefined ? 0 : headers.length;
    let size = 1 + sizeOfVarlong(tsDelta) + sizeOfVarint(this.count) + sizeOfVarint(kl) + (kl > 0 ? kl : 0) + sizeOfVarint(vl) + (vl > 0 ? vl : 0) + sizeOfVarint(hc);
    let hkl: number[] | undefined;
    if (hc > 0) {
      hkl = new Array(hc);
      for (let h = 0; h < hc; h++) {
        const hk = headers![h]!;
        const n = Buffer.byteLength(hk.key, 'utf8');
        hkl[h] = n;
        const v = hk.value === null ? -1 : hk.value.length;
        size += sizeOfVarint(n) + n + sizeOfVarint(v) + (v > 0 ? v : 0);
      }
    }
    const total = sizeOfVarint(size) + size;
    if (!first && this.pos + total > bytesMax) return -1;
    if (first) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    if (this.pos + total > this.buf.length) this.grow(this.pos + total);
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, size);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, tsDelta);
    pos = writeVarint(buf, pos, this.count);
    pos = writeField(buf, pos, key, kl);
    pos = writeField(buf, pos, value, vl);
    pos = writeVarint(buf, pos, hc);
    for (let h = 0; h < hc; h++) {
      const hk = headers![h]!;
      pos = writeVarint(buf, pos, hkl![h]!);
      buf.write(hk.key, pos, hkl![h]!, "utf8");
      pos += hkl![h]!;
      pos = writeField(buf, pos, hk.value, hk.value === null ? -1 : hk.value.length);
    }
    this.pos = pos;
    this.count++;
    return total;
  }

  private grow(need: number): void {
    const next = this.pool.take(need);
    this.buf.copy(next, 0, 0, this.pos);
    this.pool.give(this.buf);
    this.buf = next;
  }

  /**
   * The finished batch (header stamped, CRC computed). Uncompressed, a view of the builder's
   * buffer: valid until release().
   */
  async finish(producerId: bigint, producerEpoch: number, baseSequence: number, compression: Compression): Promise<Buffer> {
    if (this.count === 0) throw new WeirError('internal', 'empty batch');
    let out: Buffer;
    if (compression === Compression.None) out = this.buf.subarray(0, this.pos);
    else {
      const payload = await compress(compression, this.buf.subarray(BATCH_HEADER_BYTES, this.pos));
      out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
      payload.copy(out, BATCH_HEADER_BYTES);
    }
    out.writeBigInt64BE(0n, 0);
    out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
    out.writeInt32BE(-1, 12);
    out.writeInt8(CURRENT_MAGIC, 16);
    out.writeInt16BE(compression, OFFSET_ATTRIBUTES);
    out.writeInt32BE(this.count - 1, 23);
    out.writeBigInt64BE(BigInt(this.baseTimestamp), 27);
    out.writeBigInt64BE(BigInt(this.maxTimestamp), 35);
    out.writeBigInt64BE(producerId, 43);
    out.writeInt16BE(producerEpoch, 51);
    out.writeInt32BE(baseSequence, 53);
    out.writeInt32BE(this.count, 57);
    out.writeUInt32BE(crc32c(out, OFFSET_ATTRIBUTES, out.length), OFFSET_CRC);
    return out;
  }

  /** Gives the buffer back to the pool; the builder and any finished view must not be used after. */
  release(): void {
    this.pool.give(this.buf);
    this.buf = Buffer.alloc(0);
  }
}
