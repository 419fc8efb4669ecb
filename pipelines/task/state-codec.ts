/**
 * A compact, deterministic binary encoding of state values for snapshots.
 *
 * Why not JSON: it loses undefined, Buffers, bigints, Maps and -0/NaN/Infinity, and is ~2x larger
 * for the number-heavy window state. Why not v8.serialize: its format changes between Node
 * versions and follows insertion order, so equal state could give different bytes; a checkpoint
 * must be readable by the next Node version and comparable across runs. Here objects are written
 * with sorted keys and Maps with entries sorted by canonical key, so equal state is equal bytes.
 *
 * Supported: undefined, null, booleans, numbers, strings, bigints, Buffers/Uint8Arrays, arrays,
 * plain objects, Dates, Maps and Sets; class instances are written as their own enumerable
 * fields and come back as plain objects. Functions and symbols are refused with a clear error at
 * snapshot time rather than restored as something else.
 */
import { WeirError } from '../../core/errors.js';
import { canonicalKey } from './canonical-key.js';

const enum Tag {
  Undefined = 0,
  Null = 1,
  False = 2,
  True = 3,
  Int = 4, // zigzag varint, for safe integers
  Float = 5, // float64
  String = 6,
  BigInt = 7,
  Bytes = 8,
  Array = 9,
  Object = 10,
  Map = 11,
  Set = 12,
  Date = 13,
}

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint for lengths and counts (< 2^53). */
  uvarint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  float(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.uvarint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'undefined':
        return this.byte(Tag.Undefined);
      case 'boolean':
        return this.byte(v ? Tag.True : Tag.False);
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
          this.byte(Tag.Int);
          // zigzag without 32-bit overflow: non-negative n -> 2n, negative n -> -2n - 1
          return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
        }
        this.byte(Tag.Float);
        return this.float(v);
      case 'string':
        this.byte(Tag.String);
        return this.string(v);
      case 'bigint':
        this.byte(Tag.BigInt);
        return this.string(v.toString());
      case 'object': {
        if (v === null) return this.byte(Tag.Null);
        if (Array.isArray(v)) {
          this.byte(Tag.Array);
          this.uvarint(v.length);
          for (const item of v) this.value(item);
          return;
        }
        if (v instanceof Uint8Array) {
          this.byte(Tag.Bytes);
          return this.bytes(v);
        }
        if (v instanceof Map) {
          this.byte(Tag.Map);
          const entries = [...v.entries()].map(([k, val]) => [canonicalKey(k), k, val] as const);
          entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
          this.uvarint(entries.length);
          for (const [, k, val] of entries) {
            this.value(k);
            this.value(val);
          }
          return;
        }
        if (v instanceof Set) {
          this.byte(Tag.Set);
          const items = [...v].map((k) => [canonicalKey(k), k] as const);
          items.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
          this.uvarint(items.length);
          for (const [, k] of items) this.value(k);
          return;
        }
        if (v instanceof Date) {
          this.byte(Tag.Date);
          return this.float(v.getTime());
        }
        // Other objects (plain, or class instances such as avsc records) are written as their own
        // enumerable fields and restored as plain objects: methods do not survive a checkpoint.
        const obj = v as Record<string, unknown>;
        const keys = Object.keys(obj).sort();
        this.byte(Tag.Object);
        this.uvarint(keys.length);
        for (const k of keys) {
          this.string(k);
          this.value(obj[k]);
        }
        return;
      }
      default:
        throw new WeirError('invalid_argument', `state values must be plain data; got a ${typeof v}`);
    }
  }

  finish(): Buffer {
    // A copy sized to the content: snapshots are kept until the checkpoint is written, and the
    // growth slack would otherwise be kept with them.
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new WeirError('corrupt', `state snapshot truncated at byte ${this.pos}`);
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
      if (mul > 2 ** 56) throw new WeirError('corrupt', `state snapshot: varint too long at byte ${this.pos}`);
    }
  }

  string(): string {
    const len = this.uvarint();
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  value(): unknown {
    const tag = this.byte();
    switch (tag) {
      case Tag.Undefined:
        return undefined;
      case Tag.Null:
        return null;
      case Tag.False:
        return false;
      case Tag.True:
        return true;
      case Tag.Int: {
        const z = this.uvarint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case Tag.Float: {
        this.need(8);
        const f = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return f;
      }
      case Tag.String:
        return this.string();
      case Tag.BigInt:
        return BigInt(this.string());
      case Tag.Bytes: {
        const len = this.uvarint();
        this.need(len);
        const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
        this.pos += len;
        return b;
      }
      case Tag.Array: {
        const n = this.uvarint();
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) out[i] = this.value();
        return out;
      }
      case Tag.Object: {
        const n = this.uvarint();
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.string();
          out[k] = this.value();
        }
        return out;
      }
      case Tag.Map: {
        const n = this.uvarint();
        const out = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) {
          const k = this.value();
          out.set(k, this.value());
        }
        return out;
      }
      case Tag.Date: {
        this.need(8);
        const d = new Date(this.buf.readDoubleLE(this.pos));
        this.pos += 8;
        return d;
      }
      case Tag.Set: {
        const n = this.uvarint();
        const out = new Set<unknown>();
        for (let i = 0; i < n; i++) out.add(this.value());
        return out;
      }
      default:
        throw new WeirError('corrupt', `state snapshot: unknown tag ${tag} at byte ${this.pos - 1}`);
    }
  }
}

export function encodeValue(v: unknown): Buffer {
  const w = new Writer();
  w.value(v);
  return w.finish();
}

export function decodeValue(b: Buffer): unknown {
  return new Reader(b).value();
}
