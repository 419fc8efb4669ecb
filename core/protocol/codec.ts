/**
 * Public entry points for encoding and decoding one message body (no size prefix, no header).
 * Encoding sizes the whole message first and writes into a single exactly-sized Buffer, so a
 * large records payload is copied once; the gather variant does not copy it at all. Decoding
 * returns records/bytes as subarrays of the input.
 */
import { isWeirError, WeirError } from '../errors.js';
import { compiledMessage, createDefaultValue, sizeForGather, type Codec } from './compile.js';
import { Reader } from './reader.js';
import type { MessageSchema } from './types.js';
import { Writer } from './writer.js';

export { GATHER_MIN_BYTES } from './compile.js';

export function encodeMessage<T>(schema: MessageSchema, version: number, value: T): Buffer {
  const codec = compiledMessage(schema, version);
  const w = new Writer(Buffer.allocUnsafe(sizeOf(codec, schema, version, value)));
  writeInto(codec, schema, version, w, value);
  return w.finish();
}

/**
 * The same bytes as encodeMessage, as segments to be written in order (socket.writev, or
 * Buffer.concat in tests): every records value and every bytes value of at least
 * GATHER_MIN_BYTES is included by reference, never copied, between subarrays of one freshly
 * written structure buffer. The referenced Buffers must stay unmodified until the segments have
 * been written out.
 */
export function encodeMessageGather<T>(schema: MessageSchema, version: number, value: T): Buffer[] {
  const codec = compiledMessage(schema, version);
  const { size, external } = sizeForGather(() => sizeOf(codec, schema, version, value));
  const w = Writer.gathering(Buffer.allocUnsafe(size - external));
  writeInto(codec, schema, version, w, value);
  return w.finishSegments();
}

export function decodeMessage<T>(
  schema: MessageSchema,
  version: number,
  buf: Buffer,
  offset = 0,
): { value: T; offset: number } {
  const codec = compiledMessage(schema, version);
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new WeirError('corrupt', `${schema.name}: offset ${offset} outside a ${buf.length}-byte buffer`);
  }
  const r = new Reader(buf, offset, buf.length);
  const value = readFrom<T>(codec, schema, version, r);
  return { value, offset: r.pos };
}

/** The value decoding would give if every field were absent: all defaults, fresh arrays. */
export function createDefault<T>(schema: MessageSchema<T>): T {
  return createDefaultValue(schema.fields) as T;
}

// The helpers below are shared with frame.ts, which writes header and body into one buffer.

export function sizeOf(codec: Codec, schema: MessageSchema, version: number, value: unknown): number {
  try {
    return codec.size(value);
  } catch (e) {
    throw encodeError(e, schema, version);
  }
}

export function writeInto(codec: Codec, schema: MessageSchema, version: number, w: Writer, value: unknown): void {
  try {
    codec.write(w, value);
  } catch (e) {
    throw encodeError(e, schema, version);
  }
}

export function readFrom<T>(codec: Codec, schema: MessageSchema, version: number, r: Reader): T {
  try {
    return codec.read(r) as T;
  } catch (e) {
    if (isWeirError(e)) throw e;
    // Defensive: the reader checks bounds itself, but no input should escape as a RangeError.
    throw new WeirError('corrupt', `${schema.name} v${version}: ${(e as Error).message}`, { cause: e });
  }
}

function encodeError(e: unknown, schema: MessageSchema, version: number): WeirError {
  if (isWeirError(e)) return e;
  // TypeError/RangeError here means the value did not match the schema (wrong type, int out of
  // range, a missing nested object): a caller bug, reported with the message name and version.
  return new WeirError('invalid_argument', `cannot encode ${schema.name} v${version}: ${(e as Error).message}`, {
    cause: e,
  });
}
