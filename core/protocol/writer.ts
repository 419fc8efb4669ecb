import { WeirError } from '../errors.js';

export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * A cursor writing into a Buffer that the caller sized exactly beforehand (the codec computes
 * sizes first), so there are no capacity checks or reallocations on the hot path; `finish`
 * verifies the size computation and the writes agreed.
 *
 * In gather mode (`Writer.gathering`) payloads passed to `ref` are not copied: the output becomes
 * a list of segments, subarrays of the one structure buffer interleaved with the payloads
 * themselves, for a vectored socket write. `buf` is then sized without those payloads.
 */
export class Writer {
  readonly buf: Buffer;
  pos: number;
  /** Non-null in gather mode: the segments emitted so far. */
  private readonly segments: Buffer[] | null;
  /** Gather mode: where the structure bytes not yet emitted as a segment start. */
  private segmentStart: number;

  constructor(buf: Buffer, pos = 0, segments: Buffer[] | null = null) {
    this.buf = buf;
    this.pos = pos;
    this.segments = segments;
    this.segmentStart = pos;
  }

  static gathering(buf: Buffer): Writer {
    return new Writer(buf, 0, []);
  }

  // Typed-array stores truncate modulo 256, which is exactly two's-complement byte extraction.
  int8(v: number): void {
    this.buf[this.pos++] = v;
  }

  int16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  int32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  /** Accepts a number too, so callers may pass small int64 values without BigInt noise. */
  int64(v: bigint | number): void {
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  bytes(src: Uint8Array): void {
    // Buffer#copy is a plain memcpy, several times faster than TypedArray#set for the megabyte
    // record payloads; set stays for small or non-Buffer sources, where it avoids a native call.
    if (src.length > 512 && Buffer.isBuffer(src)) src.copy(this.buf, this.pos);
    else this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /**
   * A payload the gather encoder references instead of copying (a no-op for an empty one); an
   * ordinary Writer copies it. The caller decides which payloads qualify, identically in its size
   * pass, which is what keeps `buf` exactly sized in both modes.
   */
  ref(src: Uint8Array): void {
    const segments = this.segments;
    if (segments === null) return this.bytes(src);
    if (src.length === 0) return;
    if (this.pos > this.segmentStart) segments.push(this.buf.subarray(this.segmentStart, this.pos));
    // A plain Uint8Array is viewed, not copied, so the segment list is uniformly Buffers.
    segments.push(Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.length));
    this.segmentStart = this.pos;
  }

  /** Writes UTF-8 and returns the byte count; the caller reserved room for it. */
  utf8(s: string, at: number): number {
    return this.buf.write(s, at, 'utf8');
  }

  uuid(s: string): void {
    if (typeof s !== 'string' || !UUID_RE.test(s)) {
      throw new WeirError('invalid_argument', `not a canonical uuid: ${String(s)}`);
    }
    const p = this.pos;
    this.buf.write(s.slice(0, 8), p, 'hex');
    this.buf.write(s.slice(9, 13), p + 4, 'hex');
    this.buf.write(s.slice(14, 18), p + 6, 'hex');
    this.buf.write(s.slice(19, 23), p + 8, 'hex');
    this.buf.write(s.slice(24), p + 10, 'hex');
    this.pos = p + 16;
  }

  finish(): Buffer {
    this.checkFull();
    return this.buf;
  }

  /** Gather mode's finish: the segments, whose concatenation is the encoded message. */
  finishSegments(): Buffer[] {
    const segments = this.segments;
    if (segments === null) throw new WeirError('internal', 'finishSegments on a Writer not in gather mode');
    this.checkFull();
    if (this.pos > this.segmentStart) segments.push(this.buf.subarray(this.segmentStart, this.pos));
    return segments;
  }

  private checkFull(): void {
    if (this.pos !== this.buf.length) {
      throw new WeirError('internal', `encoder wrote ${this.pos} bytes into a ${this.buf.length}-byte buffer`);
    }
  }
}
