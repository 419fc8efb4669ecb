/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches (magic v2).
 *
 * Two implementations: the native SIMD one from @node-rs/crc32 (several GB/s, reads a subarray's
 * memory in place) and a pure-JS slicing-by-8 fallback for platforms where the native module does
 * not load. bench/crc32c.ts measures both; see docs/benchmarks.md for the numbers that justify the
 * dispatch below.
 */
import { createRequire } from 'node:module';

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
const POLY = 0x82f63b78;

function makeTables(): Uint32Array[] {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(t);
  }
  return tables;
}

// Eight separate arrays rather than one flat table: V8 keeps each access a simple typed-array load.
const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/** Exported so tests and the benchmark can exercise it even when the native module loads. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const b = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    crc =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[b & 0xff]! ^
      T2[(b >>> 8) & 0xff]! ^
      T1[(b >>> 16) & 0xff]! ^
      T0[b >>> 24]!;
    i += 8;
  }
  while (i < end) crc = (crc >>> 8) ^ T0[(crc ^ buf[i++]!) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

type NativeCrc = (input: Uint8Array) => number;

function loadNative(): NativeCrc | null {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc };
    const fn = mod.crc32c;
    // Guard against a module that loads but computes something else (e.g. plain CRC-32).
    if (typeof fn !== 'function' || fn(Buffer.from('123456789')) >>> 0 !== 0xe3069283) return null;
    return fn;
  } catch {
    return null;
  }
}

const native = loadNative();

/** The native implementation, or null when @node-rs/crc32 is unavailable on this platform. */
export const crc32cNative: ((buf: Uint8Array, start?: number, end?: number) => number) | null =
  native === null
    ? null
    : (buf, start = 0, end = buf.length) =>
        // subarray is a view, so the native side reads the original memory without a copy.
        native(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0;

export const crc32cImplementation: 'native' | 'js' = native === null ? 'js' : 'native';

/**
 * Below this many bytes the N-API call overhead outweighs the native speed-up, so the JS loop is
 * used (measured by bench/crc32c.ts; record batch CRCs are almost always larger).
 */
const NATIVE_MIN_BYTES = 128;

/** CRC-32C of buf[start, end), as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`crc32c range [${start}, ${end}) outside buffer of ${buf.length} bytes`);
  }
  if (native !== null && end - start >= NATIVE_MIN_BYTES) {
    return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0;
  }
  return crc32cJs(buf, start, end);
}
