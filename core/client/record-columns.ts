/**
 * Fetched records as columns: one set of typed arrays per fetched partition instead of one
 * object (plus a BigInt offset, two Buffer views and a headers array) per record. A consumer
 * that turns records into its own objects anyway (the pipeline runtime) reads keys and values
 * straight out of the fetched batch by position, so the only per-record allocations left are
 * its own. On a loaded 2-core machine the per-record objects were a quarter of the pipeline's
 * CPU, most of it garbage collection (docs/benchmarks.md, pipeline-topic).
 *
 * Positions index into `bufs[buf[i]]`: the fetch response itself for uncompressed batches (no
 * copy), or a batch's inflated payload. Validation is the same as decodeRecords' (lengths within
 * the record, fields filling it exactly, the batch's records filling its payload).
 */
import { WeirError } from '../errors.js';
import type { BatchHeader } from '../records/batch.js';
import type { KafkaRecord, RecordHeader } from '../records/records.js';
import { readVarint, readVarlong, type Cursor } from '../records/varint.js';

const MIN_RECORD_BYTES = 7;
const NO_HEADERS: RecordHeader[] = [];

function corrupt(header: BatchHeader, msg: string): WeirError {
  return new WeirError('corrupt', `record batch at byte ${header.position} (base offset ${header.baseOffset}): ${msg}`);
}

export class RecordColumns {
  /** Records held. */
  length = 0;
  /** Sum over records of key and value bytes (for buffer accounting). */
  payloadBytes = 0;
  readonly bufs: Buffer[] = [];
  readonly buf: Int32Array;
  readonly offsets: Float64Array;
  readonly timestamps: Float64Array;
  /** Start and length of the key/value in its buffer; length -1 is null. */
  readonly keyStart: Int32Array;
  readonly keyLen: Int32Array;
  readonly valueStart: Int32Array;
  readonly valueLen: Int32Array;
  /** Position of the record's header count varint, and the count. */
  readonly headersAt: Int32Array;
  readonly headerCount: Int32Array;

  constructor(readonly capacity: number) {
    this.buf = new Int32Array(capacity);
    this.offsets = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
    this.keyStart = new Int32Array(capacity);
    this.keyLen = new Int32Array(capacity);
    this.valueStart = new Int32Array(capacity);
    this.valueLen = new Int32Array(capacity);
    this.headersAt = new Int32Array(capacity);
    this.headerCount = new Int32Array(capacity);
  }

  bufferOf(i: number): Buffer {
    return this.bufs[this.buf[i]!]!;
  }

  /** A view (not a copy) of record i's key. */
  key(i: number): Buffer | null {
    const n = this.keyLen[i]!;
    if (n < 0) return null;
    const s = this.keyStart[i]!;
    return this.bufferOf(i).subarray(s, s + n);
  }

  value(i: number): Buffer | null {
    const n = this.valueLen[i]!;
    if (n < 0) return null;
    const s = this.valueStart[i]!;
    return this.bufferOf(i).subarray(s, s + n);
  }

  /** Record i's headers (decoded on demand; values are views). */
  headers(i: number): RecordHeader[] {
    const count = this.headerCount[i]!;
    if (count === 0) return NO_HEADERS;
    const data = this.bufferOf(i);
    const cur: Cursor = { pos: this.headersAt[i]! };
    readVarint(data, cur);
    const out: RecordHeader[] = new Array(count);
    for (let h = 0; h < count; h++) {
      const kl = readVarint(data, cur);
      const key = data.toString('utf8', cur.pos, cur.pos + kl);
      cur.pos += kl;
      const vl = readVarint(data, cur);
      let value: Buffer | null = null;
      if (vl >= 0) {
        value = data.subarray(cur.pos, cur.pos + vl);
        cur.pos += vl;
      }
      out[h] = { key, value };
    }
    return out;
  }

  /** Record i as a KafkaRecord (for callers that want objects). */
  record(i: number): KafkaRecord {
    return { offset: BigInt(this.offsets[i]!), timestamp: this.timestamps[i]!, key: this.key(i), value: this.value(i), headers: this.headers(i), attributes: 0 };
  }

  /**
   * Appends the records of one batch whose uncompressed payload (the records, after the 61-byte
   * header) is data[start, end), skipping records below fromOffset.
   */
  appendBatch(data: Buffer, start: number, end: number, header: BatchHeader, fromOffset: number): void {
    const count = header.recordCount;
    if (count * MIN_RECORD_BYTES > end - start) throw corrupt(header, `${count} records cannot fit in ${end - start} bytes`);
    if (this.length + count > this.capacity) throw new WeirError('internal', `record columns sized for ${this.capacity} records`);
    let b = this.bufs.length - 1;
    if (b < 0 || this.bufs[b] !== data) {
      this.bufs.push(data);
      b++;
    }
    const logAppend = header.timestampType === 'log-append';
    const base = Number(header.baseOffset);
    const cur: Cursor = { pos: start };
    let n = this.length;
    let payload = 0;
    for (let r = 0; r < count; r++) {
      const length = readVarint(data, cur, end);
      const recordEnd = cur.pos + length;
      if (length < MIN_RECORD_BYTES - 1 || recordEnd > end) throw corrupt(header, `record ${r} has invalid length ${length}`);
      cur.pos++; // attributes
      const timestampDelta = readVarlong(data, cur, recordEnd);
      const offsetDelta = readVarint(data, cur, recordEnd);
      if (offsetDelta < 0 || offsetDelta > header.lastOffsetDelta) throw corrupt(header, `record ${r} has offset delta ${offsetDelta} outside [0, ${header.lastOffsetDelta}]`);
      const kl = readVarint(data, cur, recordEnd);
      const ks = cur.pos;
      if (kl < -1 || (kl > 0 && ks + kl > recordEnd)) throw corrupt(header, `invalid key length ${kl}`);
      if (kl > 0) cur.pos += kl;
      const vl = readVarint(data, cur, recordEnd);
      const vs = cur.pos;
      if (vl < -1 || (vl > 0 && vs + vl > recordEnd)) throw corrupt(header, `invalid value length ${vl}`);
      if (vl > 0) cur.pos += vl;
      const ha = cur.pos;
      const hc = readVarint(data, cur, recordEnd);
      if (hc < 0) throw corrupt(header, `record ${r} has negative header count ${hc}`);
      for (let h = 0; h < hc; h++) {
        const hkl = readVarint(data, cur, recordEnd);
        if (hkl < 0 || cur.pos + hkl > recordEnd) throw corrupt(header, `record ${r} has invalid header key length ${hkl}`);
        cur.pos += hkl;
        const hvl = readVarint(data, cur, recordEnd);
        if (hvl < -1 || (hvl > 0 && cur.pos + hvl > recordEnd)) throw corrupt(header, `invalid header value length ${hvl}`);
        if (hvl > 0) cur.pos += hvl;
      }
      if (cur.pos !== recordEnd) throw corrupt(header, `record ${r} declares ${length} bytes but its fields take ${length - (recordEnd - cur.pos)}`);
      const offset = base + offsetDelta;
      if (offset < fromOffset) continue;
      this.buf[n] = b;
      this.offsets[n] = offset;
      this.timestamps[n] = logAppend ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
      this.keyStart[n] = ks;
      this.keyLen[n] = kl;
      this.valueStart[n] = vs;
      this.valueLen[n] = vl;
      this.headersAt[n] = ha;
      this.headerCount[n] = hc;
      payload += (kl > 0 ? kl : 0) + (vl > 0 ? vl : 0);
      n++;
    }
    if (cur.pos !== end) throw corrupt(header, `${end - cur.pos} bytes left over after ${count} records`);
    this.length = n;
    this.payloadBytes += payload;
  }
}
