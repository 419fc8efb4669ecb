/**
 * The wire form of watermark marks (WatermarkMark in contracts.ts) in repartition topics: a
 * record with a null key and value whose WATERMARK_HEADER holds `<watermarkMs> <writers> <idle 0|1> <fromTaskId>`
 * in ASCII (watermarkMs may be -Infinity/Infinity). Text, so `kcat -f '%h'` shows it.
 */
import { WeirError } from '../../core/errors.js';
import { WATERMARK_HEADER, type Rec, type WatermarkMark } from '../core/contracts.js';

export function encodeWatermarkMark(m: WatermarkMark): Buffer {
  return Buffer.from(`${m.watermarkMs} ${m.writers} ${m.idle ? 1 : 0} ${m.fromTaskId}`, 'latin1');
}

export function decodeWatermarkMark(b: Buffer): WatermarkMark {
  const s = b.toString('latin1');
  const m = /^(-?Infinity|-?\d+(?:\.\d+)?) (\d+) ([01]) (.+)$/.exec(s);
  if (m === null) throw new WeirError('corrupt', `bad watermark mark header ${JSON.stringify(s.slice(0, 100))}`);
  return { watermarkMs: Number(m[1]), writers: Number(m[2]), idle: m[3] === '1', fromTaskId: m[4]! };
}

/** The record a repartition sink writes to `partition` for a mark. Its timestamp is the writer's choice (not read). */
export function watermarkMarkRecord(mark: WatermarkMark, topic: string, partition: number, timestampMs: number): Rec<null, null> {
  return { key: null, value: null, timestamp: timestampMs, headers: { [WATERMARK_HEADER]: encodeWatermarkMark(mark) }, topic, partition, offset: -1 };
}
