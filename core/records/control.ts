/**
 * Control records: the single record of a control batch (attributes bit 5). Transaction markers
 * (COMMIT/ABORT) are what consumers use to filter aborted transactional data; KRaft's other types
 * (leader change, snapshot header/footer) are recognised only so they can be reported by name.
 *
 *   key:   version int16 (0) | type int16
 *   value (transaction markers, "EndTxnMarker"): version int16 (0) | coordinatorEpoch int32
 */
import { WeirError } from '../errors.js';

export const ControlType = { Abort: 0, Commit: 1, LeaderChange: 2, SnapshotHeader: 3, SnapshotFooter: 4 } as const;
export type ControlType = (typeof ControlType)[keyof typeof ControlType];

export interface ControlKey {
  version: number;
  type: number;
}

/** Key and value for a transaction marker record, ready for buildBatch({ isControl: true, ... }). */
export function encodeTxnMarker(commit: boolean, coordinatorEpoch: number): { key: Buffer; value: Buffer } {
  const key = Buffer.allocUnsafe(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? ControlType.Commit : ControlType.Abort, 2);
  const value = Buffer.allocUnsafe(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return { key, value };
}

export function decodeControlKey(key: Buffer | null): ControlKey {
  // Kafka requires at least version and type; later versions may append fields.
  if (key === null || key.length < 4) throw new WeirError('corrupt', 'control record key is shorter than 4 bytes');
  return { version: key.readInt16BE(0), type: key.readInt16BE(2) };
}

export function decodeTxnMarkerValue(value: Buffer | null): { version: number; coordinatorEpoch: number } {
  if (value === null || value.length < 6) throw new WeirError('corrupt', 'transaction marker value is shorter than 6 bytes');
  return { version: value.readInt16BE(0), coordinatorEpoch: value.readInt32BE(2) };
}
