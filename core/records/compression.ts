/**
 * Kafka compression codecs for record batch payloads (attributes bits 0-2).
 *
 * Every decompression is bounded: `maxBytes` (default DEFAULT_MAX_DECOMPRESSED_BYTES) caps the
 * output, and a payload that would exceed it fails with WeirError 'too_large' before the memory
 * is spent, so a small malicious batch cannot exhaust the agent (decompression bomb). Malformed
 * input fails with 'corrupt'; a codec whose native library cannot load here fails with
 * 'unsupported'.
 */
import { WeirError } from '../errors.js';
import { gzipCompress, gzipDecompress } from './codec-gzip.js';
import { lz4Compress, lz4Decompress } from './codec-lz4.js';
import { snappyCompress, snappyDecompress } from './codec-snappy.js';
import { zstdCompress, zstdDecompress } from './codec-zstd.js';

export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

/**
 * Output cap when the caller gives none. Kafka's default max message size is ~1 MiB compressed;
 * real payloads rarely compress better than 20-50x, so this leaves ample headroom while keeping a
 * single bomb from taking more than a bounded slice of memory.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

export function isCompression(n: number): n is Compression {
  return Number.isInteger(n) && n >= 0 && n < NAMES.length;
}

export function compressionName(c: Compression): CompressionName {
  return NAMES[c];
}

/** Parses a Kafka `compression.type` value (e.g. from topic config); 'producer' is not a codec. */
export function compressionFromName(name: string): Compression {
  const i = (NAMES as readonly string[]).indexOf(name.toLowerCase());
  if (i < 0) throw new WeirError('invalid_argument', `unknown compression type '${name}'`);
  return i as Compression;
}

function checkCodec(codec: number): asserts codec is Compression {
  if (!isCompression(codec)) throw new WeirError('corrupt', `unknown compression codec ${codec}`);
}

export interface CompressOptions {
  /** Codec-specific level (gzip 1-9, zstd -7..22); ignored by snappy and lz4. */
  level?: number;
}

export async function compress(codec: Compression, data: Uint8Array, opts: CompressOptions = {}): Promise<Buffer> {
  checkCodec(codec);
  switch (codec) {
    case Compression.None:
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case Compression.Gzip:
      return gzipCompress(data, opts.level);
    case Compression.Snappy:
      return snappyCompress(data);
    case Compression.Lz4:
      return lz4Compress(data);
    case Compression.Zstd:
      return zstdCompress(data, opts.level);
  }
}

export interface DecompressOptions {
  /** Largest acceptable output in bytes; more fails with 'too_large'. */
  maxBytes?: number;
}

export async function decompress(codec: Compression, data: Uint8Array, opts: DecompressOptions = {}): Promise<Buffer> {
  checkCodec(codec);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!(maxBytes >= 0)) throw new WeirError('invalid_argument', `maxBytes must be >= 0, got ${maxBytes}`);
  if (codec === Compression.None) {
    if (data.length > maxBytes) throw new WeirError('too_large', `${data.length} bytes exceed the ${maxBytes}-byte limit`);
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  // An empty payload carries no records; codecs disagree on whether zero bytes is a valid stream.
  if (data.length === 0) return Buffer.alloc(0);
  switch (codec) {
    case Compression.Gzip:
      return gzipDecompress(data, maxBytes);
    case Compression.Snappy:
      return snappyDecompress(data, maxBytes);
    case Compression.Lz4:
      return lz4Decompress(data, maxBytes);
    case Compression.Zstd:
      return zstdDecompress(data, maxBytes);
  }
}
