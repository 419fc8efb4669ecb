/**
 * LZ4 codec (Kafka compression type 3): the standard LZ4 frame format, as written by the Java
 * client (KafkaLZ4BlockOutputStream) and librdkafka (LZ4F).
 *
 * We parse the frame structure ourselves before handing it to lz4-napi, for three reasons:
 *  - Leniency: before KIP-57, Kafka computed the frame header checksum over the magic number too.
 *    lz4-napi rejects such frames, so a wrong header checksum is repaired (in a copy) rather than
 *    refused; the data itself is still covered by the block/content checksums if present.
 *  - Bounding: block headers give an upper bound on the output (a compressed block never exceeds
 *    the frame's block maximum size), so a decompression bomb is refused before the native call
 *    allocates anything.
 *  - lz4-napi's frame decoder stops after the first frame; we decode concatenated frames one by one.
 */
import { WeirError } from '../errors.js';
import { optionalModule } from './optional-module.js';
import { xxhash32 } from './xxhash32.js';

interface Lz4Module {
  compressFrame(data: Uint8Array): Promise<Buffer>;
  decompressFrame(data: Uint8Array): Promise<Buffer>;
  uncompress(data: Uint8Array, dict?: Uint8Array): Promise<Buffer>;
}

const lz4 = optionalModule<Lz4Module>('lz4-napi', 'lz4 compression');

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
// Window of history a linked block may reference.
const LZ4_WINDOW = 64 * 1024;

interface Lz4Block {
  start: number; // first byte of block data
  size: number;
  uncompressed: boolean;
}

interface Lz4Frame {
  start: number;
  end: number;
  headerChecksumPos: number;
  descriptorStart: number;
  headerChecksumOk: boolean;
  independentBlocks: boolean;
  blockMax: number;
  blocks: Lz4Block[];
  outputBound: number;
}

function corrupt(msg: string): WeirError {
  return new WeirError('corrupt', `invalid lz4 data: ${msg}`);
}

const BLOCK_MAX_BY_ID: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

/** Walks every frame and block header; throws 'corrupt' on any structural error. */
function parseFrames(data: Uint8Array): Lz4Frame[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const frames: Lz4Frame[] = [];
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > data.length) throw corrupt(`truncated ${what}`);
  };
  while (pos < data.length) {
    need(4, 'frame magic');
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(8, 'skippable frame');
      const len = view.getUint32(pos + 4, true);
      pos += 8;
      need(len, 'skippable frame');
      pos += len;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`bad frame magic 0x${magic.toString(16)}`);
    const start = pos;
    pos += 4;
    need(3, 'frame descriptor');
    const descriptorStart = pos;
    const flg = data[pos]!;
    const bd = data[pos + 1]!;
    if (flg >> 6 !== 1) throw corrupt(`unsupported frame version ${flg >> 6}`);
    if (flg & 0x02 || bd & 0x8f) throw corrupt('reserved frame descriptor bits are set');
    const independentBlocks = (flg & 0x20) !== 0;
    const blockChecksums = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    if (flg & 0x01) throw new WeirError('unsupported', 'lz4 frames with a dictionary id are not supported');
    const blockMax = BLOCK_MAX_BY_ID[(bd >> 4) & 0x07];
    if (blockMax === undefined) throw corrupt(`bad block maximum size id ${(bd >> 4) & 0x07}`);
    pos += 2;
    if (hasContentSize) {
      need(8, 'content size');
      pos += 8;
    }
    need(1, 'header checksum');
    const headerChecksumPos = pos;
    const expected = (xxhash32(data, descriptorStart, pos) >>> 8) & 0xff;
    const headerChecksumOk = data[pos] === expected;
    pos += 1;
    const blocks: Lz4Block[] = [];
    let outputBound = 0;
    for (;;) {
      need(4, 'block header');
      const word = view.getUint32(pos, true);
      pos += 4;
      if (word === 0) break; // end mark
      const uncompressed = (word & 0x80000000) !== 0;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw corrupt(`block of ${size} bytes exceeds the frame's ${blockMax}-byte maximum`);
      need(size + (blockChecksums ? 4 : 0), 'block');
      blocks.push({ start: pos, size, uncompressed });
      outputBound += uncompressed ? size : blockMax;
      pos += size + (blockChecksums ? 4 : 0);
    }
    if (contentChecksum) {
      need(4, 'content checksum');
      pos += 4;
    }
    frames.push({
      start,
      end: pos,
      headerChecksumPos,
      descriptorStart,
      headerChecksumOk,
      independentBlocks,
      blockMax,
      blocks,
      outputBound,
    });
  }
  return frames;
}

/** The frame's bytes, with the header checksum corrected if the writer got it wrong (pre-KIP-57). */
function repairedFrame(data: Uint8Array, f: Lz4Frame): Uint8Array {
  const bytes = data.subarray(f.start, f.end);
  if (f.headerChecksumOk) return bytes;
  const copy = Buffer.from(bytes);
  copy[f.headerChecksumPos - f.start] = (xxhash32(data, f.descriptorStart, f.headerChecksumPos) >>> 8) & 0xff;
  return copy;
}

/**
 * Decodes block by block, counting output and stopping as soon as it passes maxBytes. Only used
 * when the header-derived bound is above the limit, which for well-formed frames from real
 * encoders (full blocks) means the data really is too large; this pass settles the rare rest.
 */
async function exceedsLimit(lib: Lz4Module, data: Uint8Array, frames: Lz4Frame[], maxBytes: number): Promise<boolean> {
  let total = 0;
  for (const f of frames) {
    let history: Buffer = Buffer.alloc(0);
    for (const b of f.blocks) {
      let out: Buffer;
      if (b.uncompressed) {
        out = Buffer.from(data.subarray(b.start, b.start + b.size));
      } else {
        // lz4-napi's block API expects a 4-byte LE size prefix; a larger-than-actual size is fine.
        const framed = Buffer.allocUnsafe(4 + b.size);
        framed.writeUInt32LE(f.blockMax, 0);
        framed.set(data.subarray(b.start, b.start + b.size), 4);
        try {
          out = await lib.uncompress(framed, f.independentBlocks || history.length === 0 ? undefined : history);
        } catch (e) {
          throw new WeirError('corrupt', `invalid lz4 data: ${(e as Error).message}`, { cause: e });
        }
      }
      total += out.length;
      if (total > maxBytes) return true;
      if (!f.independentBlocks) {
        history = history.length + out.length <= LZ4_WINDOW ? Buffer.concat([history, out]) : Buffer.concat([history, out]).subarray(-LZ4_WINDOW);
      }
    }
  }
  return false;
}

export async function lz4Compress(data: Uint8Array): Promise<Buffer> {
  // lz4-napi writes FLG 0x60 (version 1, independent blocks, no checksums) and 64 KiB blocks:
  // the same shape as the Java client, readable by every Kafka consumer.
  return lz4.get().compressFrame(data);
}

export async function lz4Decompress(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  const frames = parseFrames(data);
  const lib = lz4.get();
  const bound = frames.reduce((s, f) => s + f.outputBound, 0);
  if (bound > maxBytes && (await exceedsLimit(lib, data, frames, maxBytes))) {
    throw new WeirError('too_large', `lz4 data decompresses to more than ${maxBytes} bytes`);
  }
  let parts: Buffer[];
  try {
    parts = await Promise.all(frames.map((f) => lib.decompressFrame(repairedFrame(data, f))));
  } catch (e) {
    throw new WeirError('corrupt', `invalid lz4 data: ${(e as Error).message}`, { cause: e });
  }
  const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (out.length > maxBytes) throw new WeirError('too_large', `lz4 data decompresses to more than ${maxBytes} bytes`);
  return out;
}
