/**
 * Decides which offset range of a partition to compact next, honouring both the target file size
 * and the maximum latency:
 * - as soon as the uncompacted tail holds targetFileBytes of stored log bytes (or fileRowsMax
 *   offsets), a range of that size is compacted, so busy topics get files of the target size;
 * - a smaller tail is compacted once it has waited maxLatencyMs (measured from when this planner
 *   first saw it pending), so a quiet topic still lands in the table within about maxLatencyMs;
 *   the small files that makes are merged later (merger.ts).
 * Sizes are estimated from the index (stored bytes, which are what producers sent, usually
 * compressed); the Parquet file of a range is typically of the same order.
 */
import type { MetadataStore } from '../../core/metadata/metadata-store.js';

export interface PlanSettings {
  targetFileBytes: number;
  fileRowsMax: number;
  maxLatencyMs: number;
}

export interface PlannedRange {
  fromOffset: number;
  endOffset: number;
  storedBytes: number;
}

const INDEX_ENTRIES_PER_READ = 256;

/**
 * The next range of [nextOffset, highWatermark) to compact, or null when it should wait.
 * `force` ignores the latency (a backfill with --once takes everything up to the high watermark).
 */
export async function planRange(
  metadata: MetadataStore,
  topic: string,
  partition: number,
  nextOffset: number,
  highWatermark: number,
  pendingSinceMs: number,
  nowMs: number,
  s: PlanSettings,
  force: boolean,
): Promise<PlannedRange | null> {
  if (nextOffset >= highWatermark) return null;
  let bytes = 0;
  let from = nextOffset;
  while (from < highWatermark) {
    const entries = await metadata.readIndex(topic, partition, from, INDEX_ENTRIES_PER_READ);
    if (entries.length === 0) break;
    for (const e of entries) {
      if (e.baseOffset >= highWatermark) break;
      const end = Math.min(e.lastOffset + 1, highWatermark);
      bytes += e.byteLength;
      // Cut at an index entry boundary: the file ends where a flush chunk ends, never inside one,
      // unless one chunk alone exceeds the row bound.
      if (bytes >= s.targetFileBytes || end - nextOffset >= s.fileRowsMax) {
        return { fromOffset: nextOffset, endOffset: Math.min(end, nextOffset + Math.max(s.fileRowsMax, 1)), storedBytes: bytes };
      }
      from = end;
    }
    if (entries.length < INDEX_ENTRIES_PER_READ) break;
  }
  if (force || nowMs - pendingSinceMs >= s.maxLatencyMs) return { fromOffset: nextOffset, endOffset: highWatermark, storedBytes: bytes };
  return null;
}
