/**
 * snappy codec (Kafka compression type 2).
 *
 * Two wire shapes exist in Kafka. The Java client writes snappy-java's "xerial" stream framing:
 * a 16-byte header (0x82 'SNAPPY' 0x00, int32 version, int32 min-compatible version) followed by
 * chunks of [int32 BE compressed length][raw snappy block]. librdkafka writes a single raw snappy
 * block. Java consumers read both (snappy-java falls back to raw when the header is absent), and
 * librdkafka reads both, so we accept both and always write the xerial framing, which every
 * consumer understands.
 */
import { WeirError } from '../errors.js';
import { optionalModule } from './optional-module.js';

interface SnappyModule {
  compress(input: Uint8Array): Promise<Buffer>;
  uncompress(input: Uint8Array, options: { asBuffer: true }): Promise<string | Buffer>;
}

const snappy = optionalModule<SnappyModule>('snappy', 'snappy compression');

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
// snappy-java's default block size; Java consumers size their read buffers from the chunk headers,
// so any size works, but matching the reference keeps chunks in the range they were tested with.
const XERIAL_CHUNK_BYTES = 32 * 1024;

export function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

export async function snappyCompress(data: Uint8Array): Promise<Buffer> {
  const lib = snappy.get();
  const chunks: Promise<Buffer>[] = [];
  for (let off = 0; off < data.length; off += XERIAL_CHUNK_BYTES) {
    chunks.push(lib.compress(data.subarray(off, Math.min(data.length, off + XERIAL_CHUNK_BYTES))));
  }
  const compressed = await Promise.all(chunks);
  let size = XERIAL_HEADER_BYTES;
  for (const c of compressed) size += 4 + c.length;
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(1, 8); // stream format version
  out.writeInt32BE(1, 12); // minimum compatible version
  let pos = XERIAL_HEADER_BYTES;
  for (const c of compressed) {
    out.writeInt32BE(c.length, pos);
    c.copy(out, pos + 4);
    pos += 4 + c.length;
  }
  return out;
}

/** The uncompressed length a raw snappy block declares in its varint preamble. */
function rawDeclaredLength(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) break;
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  throw new WeirError('corrupt', 'invalid snappy block: bad length preamble');
}

/** Splits xerial-framed data into its raw snappy blocks (views, no copy). */
function xerialBlocks(data: Uint8Array): Uint8Array[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Uint8Array[] = [];
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new WeirError('corrupt', 'invalid xerial snappy data: truncated chunk header');
    const len = view.getInt32(pos);
    pos += 4;
    if (len < 0 || pos + len > data.length) {
      throw new WeirError('corrupt', `invalid xerial snappy data: chunk of ${len} bytes overruns the input`);
    }
    if (len > 0) blocks.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return blocks;
}

export async function snappyDecompress(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  const blocks = isXerialFramed(data) ? xerialBlocks(data) : [data];
  // Each raw block states its output size up front, so a bomb is refused before any allocation.
  let declared = 0;
  for (const b of blocks) declared += rawDeclaredLength(b);
  if (declared > maxBytes) {
    throw new WeirError('too_large', `snappy data declares ${declared} uncompressed bytes, limit is ${maxBytes}`);
  }
  const lib = snappy.get();
  let parts: Buffer[];
  try {
    parts = (await Promise.all(blocks.map((b) => lib.uncompress(b, { asBuffer: true })))) as Buffer[];
  } catch (e) {
    throw new WeirError('corrupt', `invalid snappy data: ${(e as Error).message}`, { cause: e });
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, declared);
}
