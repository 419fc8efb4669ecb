/**
 * Kafka's zigzag varints (protobuf style): `varint` for int32 values, `varlong` for int64 values.
 *
 * Readers take a cursor object instead of returning {value, next} pairs so the per-record decode
 * loop allocates nothing. Malformed input (too long, running past `end`) throws WeirError 'corrupt'.
 *
 * varlongs are decoded to JS numbers, not bigints: in record batches they carry timestamp deltas,
 * which are small, and bigint arithmetic per record would dominate decode time. Values outside the
 * safe-integer range are rejected as corrupt rather than silently rounded.
 */
import { WeirError } from '../errors.js';

export interface Cursor {
  pos: number;
}

function truncated(what: string): WeirError {
  return new WeirError('corrupt', `${what} runs past the end of its buffer`);
}

/** Reads a zigzag varint (at most 5 bytes, int32 range). */
export function readVarint(buf: Uint8Array, cur: Cursor, end: number = buf.length): number {
  let pos = cur.pos;
  let raw = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw truncated('varint');
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    // Same bound as Kafka's ByteUtils.readVarint: a 5th byte may not continue.
    if (shift > 28) throw new WeirError('corrupt', 'varint is longer than 5 bytes');
  }
  cur.pos = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

/** Reads a zigzag varlong (at most 10 bytes) as a number; throws if it is not a safe integer. */
export function readVarlong(buf: Uint8Array, cur: Cursor, end: number = buf.length): number {
  let pos = cur.pos;
  // Fast path: the first 4 bytes (28 bits) fit int32 arithmetic; most deltas end here.
  let low = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw truncated('varlong');
    const b = buf[pos++]!;
    low |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      cur.pos = pos;
      low >>>= 0;
      // zigzag on a non-negative value below 2^28
      return low & 1 ? -((low + 1) / 2) : low / 2;
    }
    if (shift === 28) break;
  }
  // Slow path. The zigzagged value can exceed 2^53 even when the decoded one does not, so work
  // with half = raw >>> 1 (exact while the result is a safe integer) and the sign bit separately.
  low >>>= 0;
  const negative = (low & 1) === 1;
  let half = low >>> 1;
  let scale = 2 ** 27;
  for (;;) {
    if (pos >= end) throw truncated('varlong');
    const b = buf[pos++]!;
    half += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) break;
    // After the 10th byte scale is 2^69; a 10th byte that continues is malformed.
    if (scale >= 2 ** 69) throw new WeirError('corrupt', 'varlong is longer than 10 bytes');
  }
  // Rounding is monotone, so an inexact (too large) half still fails this test.
  if (half + (negative ? 1 : 0) > Number.MAX_SAFE_INTEGER) {
    throw new WeirError('corrupt', 'varlong value is outside the safe integer range');
  }
  cur.pos = pos;
  return negative ? -half - 1 : half;
}

/** Bytes needed to encode v as a zigzag varint. v must be an int32. */
export function sizeOfVarint(v: number): number {
  let raw = ((v << 1) ^ (v >> 31)) >>> 0;
  let size = 1;
  while (raw >= 0x80) {
    raw >>>= 7;
    size++;
  }
  return size;
}

/** Writes v (an int32) as a zigzag varint at pos; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  let raw = ((v << 1) ^ (v >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/**
 * Zigzag of a safe integer, split as raw = 2 * half + sign: raw itself may exceed 2^53 (e.g. for
 * MIN_SAFE_INTEGER) and would lose its low bit as a double, but half and sign are exact.
 */
function zigzagHalf(v: number): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`varlong value ${v} is not a safe integer`);
  return v >= 0 ? v : -v - 1;
}

/** Bytes needed to encode v (a safe integer) as a zigzag varlong. */
export function sizeOfVarlong(v: number): number {
  // The first byte carries the sign bit and 6 bits of half.
  let rest = Math.floor(zigzagHalf(v) / 64);
  let size = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

/** Writes v (a safe integer) as a zigzag varlong at pos; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, v: number): number {
  const half = zigzagHalf(v);
  const first = ((half % 64) * 2) | (v < 0 ? 1 : 0);
  let rest = Math.floor(half / 64);
  if (rest === 0) {
    buf[pos++] = first;
    return pos;
  }
  buf[pos++] = first | 0x80;
  while (rest >= 0x80) {
    buf[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  buf[pos++] = rest;
  return pos;
}
