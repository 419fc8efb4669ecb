/**
 * zstd codec (Kafka compression type 4): standard zstd frames.
 *
 * Native @toondepauw/node-zstd (napi-rs; the binary ships inside an npm package, so it installs
 * from the registry alone) does the work. Its decoder has no output limit, so before calling it
 * we walk the frame and block headers: each block's output is bounded by its header (raw/RLE
 * blocks state their size, compressed blocks are at most min(window, 128 KiB)). When that bound
 * is within maxBytes the native call is safe. Otherwise (a bomb, or an odd encoder emitting many
 * short blocks) a streaming pure-JS decoder (fzstd) counts the real output and stops at the limit.
 * Java producers (zstd-jni streams) omit the frame content size, so the header bound is what we
 * have in general, not the declared size.
 */
import { Decompress as FzstdDecompress } from 'fzstd';
import { WeirError } from '../errors.js';
import { optionalModule } from './optional-module.js';

interface ZstdModule {
  Encoder: new (level: number) => { encode(data: Buffer): Promise<Buffer> };
  Decoder: new () => { decode(data: Buffer): Promise<Buffer> };
}

const zstd = optionalModule<ZstdModule>('@toondepauw/node-zstd', 'zstd compression');

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_SIZE_MAX = 128 * 1024;
const DEFAULT_LEVEL = 3; // zstd's own default, and Kafka's (compression.zstd.level)

function corrupt(msg: string): WeirError {
  return new WeirError('corrupt', `invalid zstd data: ${msg}`);
}

/** Upper bound on the decompressed size of all frames in data; throws 'corrupt' on bad structure. */
export function zstdOutputBound(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let bound = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > data.length) throw corrupt(`truncated ${what}`);
  };
  while (pos < data.length) {
    need(4, 'frame magic');
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4, 'skippable frame');
      const len = view.getUint32(pos, true);
      pos += 4;
      need(len, 'skippable frame');
      pos += len;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`bad frame magic 0x${magic.toString(16)}`);
    need(1, 'frame header');
    const fhd = data[pos++]!;
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    if (fhd & 0x08) throw corrupt('reserved frame header bit is set');
    const hasChecksum = (fhd & 0x04) !== 0;
    const dictIdBytes = [0, 1, 2, 4][fhd & 0x03]!;
    let windowSize = Infinity;
    if (!singleSegment) {
      need(1, 'window descriptor');
      const wd = data[pos++]!;
      const windowBase = 2 ** (10 + (wd >> 3));
      windowSize = windowBase + (windowBase / 8) * (wd & 0x07);
    }
    need(dictIdBytes, 'dictionary id');
    pos += dictIdBytes;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    need(fcsBytes, 'frame content size');
    if (singleSegment) {
      // The window is the whole content; read the size to bound block outputs tightly.
      let fcs = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + data[pos + i]!;
      if (fcsBytes === 2) fcs += 256;
      windowSize = fcs;
    }
    pos += fcsBytes;
    const blockMax = Math.min(windowSize, BLOCK_SIZE_MAX);
    for (;;) {
      need(3, 'block header');
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += 3;
      const last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      const size = header >> 3;
      if (type === 0) {
        need(size, 'raw block');
        pos += size;
        bound += size;
      } else if (type === 1) {
        need(1, 'RLE block');
        pos += 1;
        bound += size;
      } else if (type === 2) {
        if (size > blockMax) throw corrupt(`compressed block of ${size} bytes exceeds the ${blockMax}-byte maximum`);
        need(size, 'compressed block');
        pos += size;
        bound += blockMax;
      } else {
        throw corrupt('reserved block type');
      }
      if (last) break;
    }
    if (hasChecksum) {
      need(4, 'content checksum');
      pos += 4;
    }
  }
  return bound;
}

/**
 * Streams data through fzstd, counting output. Returns the output if it stays within maxBytes
 * (collecting it only when `collect`), or null as soon as it exceeds it.
 */
function boundedJsDecompress(data: Uint8Array, maxBytes: number, collect: boolean): Buffer | null {
  const parts: Uint8Array[] = [];
  let total = 0;
  let exceeded = false;
  const stream = new FzstdDecompress((chunk) => {
    total += chunk.length;
    if (total > maxBytes) exceeded = true;
    else if (collect) parts.push(chunk);
  });
  // Small input slices keep each push's output to a few blocks, so memory stays near the limit.
  const SLICE = 4096;
  try {
    for (let off = 0; off < data.length && !exceeded; off += SLICE) {
      const end = Math.min(data.length, off + SLICE);
      stream.push(data.subarray(off, end), end === data.length);
    }
  } catch (e) {
    if ((e as { code?: unknown }).code === 1 /* WindowSizeTooLarge */) {
      throw new WeirError('too_large', `zstd window is larger than this decoder supports`, { cause: e });
    }
    throw new WeirError('corrupt', `invalid zstd data: ${(e as Error).message}`, { cause: e });
  }
  if (exceeded) return null;
  return collect ? Buffer.concat(parts, total) : Buffer.alloc(0);
}

export async function zstdCompress(data: Uint8Array, level = DEFAULT_LEVEL): Promise<Buffer> {
  const { Encoder } = zstd.get();
  return new Encoder(level).encode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

export async function zstdDecompress(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): WeirError =>
    new WeirError('too_large', `zstd data decompresses to more than ${maxBytes} bytes`);
  const bound = zstdOutputBound(data);
  const lib = zstd.tryGet();
  if (lib === null) {
    // No native decoder on this platform: the JS one is slower but complete.
    const out = boundedJsDecompress(data, maxBytes, true);
    if (out === null) throw tooLarge();
    return out;
  }
  if (bound > maxBytes && boundedJsDecompress(data, maxBytes, false) === null) throw tooLarge();
  let out: Buffer;
  try {
    out = await new lib.Decoder().decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (e) {
    throw new WeirError('corrupt', `invalid zstd data: ${(e as Error).message}`, { cause: e });
  }
  if (out.length > maxBytes) throw tooLarge();
  return out;
}
