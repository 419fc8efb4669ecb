/**
 * Stored batches keep the base offset their producer sent; the metadata index knows the committed
 * one. patchOffsets writes each batch's committed base offset into stored bytes in place, on
 * every read path (the agent's fetches, the table connector). Pure byte work, no I/O.
 */

/** Byte positions inside a v2 batch header (see docs/format.md). */
const BATCH_LENGTH_AT = 8;
const LAST_OFFSET_DELTA_AT = 23;
const BATCH_OVERHEAD = 12;

function writeOffset(buf: Buffer, pos: number, offset: number): void {
  // Two 32-bit halves: cheaper than BigInt for offsets that are plain numbers.
  buf.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), pos);
  buf.writeUInt32BE(offset >>> 0, pos + 4);
}

/**
 * Writes each batch's committed base offset into a chunk's pieces; idempotent, so safe on
 * cached bytes.
 */
export function patchOffsets(pieces: Buffer[], baseOffset: number): Buffer[] {
  let off = baseOffset;
  for (const chunk of pieces) {
    let pos = 0;
    while (pos + BATCH_OVERHEAD <= chunk.length) {
      writeOffset(chunk, pos, off);
      off += chunk.readInt32BE(pos + LAST_OFFSET_DELTA_AT) + 1;
      pos += chunk.readInt32BE(pos + BATCH_LENGTH_AT) + BATCH_OVERHEAD;
    }
  }
  return pieces;
}
