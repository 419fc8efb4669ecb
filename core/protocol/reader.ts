import { WeirError } from '../errors.js';

export function corrupt(message: string): WeirError {
  return new WeirError('corrupt', message);
}

/**
 * A bounds-checked cursor over a Buffer. Every read checks against `end` first, so truncated or
 * lying input fails with WeirError('corrupt') instead of reading garbage or throwing RangeError.
 * `end` can be narrowed temporarily (tagged fields are decoded inside their declared size).
 * Byte slices are returned as subarrays of the input: no copy, the caller shares its memory.
 */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.end - this.pos) {
      throw corrupt(`truncated input: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int8(): number {
    this.need(1);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  uint8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
  }

  uint16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  int32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned LEB128 varint of at most 32 bits (5 bytes), as Kafka's compact lengths and tags. */
  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= this.end) throw corrupt(`truncated varint at offset ${this.pos}`);
      const byte = b[p++]!;
      if (shift === 28 && byte > 0x0f) throw corrupt(`varint overflows 32 bits at offset ${this.pos}`);
      // Multiplication rather than << keeps values above 2^31 positive.
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        return value;
      }
    }
    throw corrupt(`varint longer than 5 bytes at offset ${this.pos}`);
  }

  /** A zero-copy view of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const start = this.pos;
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  utf8(n: number): string {
    this.need(n);
    const start = this.pos;
    this.pos = start + n;
    return this.buf.toString('utf8', start, start + n);
  }

  uuid(): string {
    this.need(16);
    const start = this.pos;
    this.pos = start + 16;
    const h = this.buf.toString('hex', start, start + 16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
