/**
 * json-stage.ts reuses one full data chunk for several appends (fresh native chunks are costly);
 * every row of every staged column must still come out as it went in, across many reused chunks,
 * with NULLs and non-NULLs alternating in the same reused vectors (keys, tombstones, values that
 * are not valid UTF-8), and when a column appears mid-range (a new chunk shape) or headers appear
 * (never reused). Real DuckDB; rows read back from the Parquet file the compactor's COPY writes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../../connectors/tables/duckdb-session.js';
import { growSchema, JsonStage } from '../../connectors/tables/json-stage.js';
import { EMPTY_SCHEMA } from '../../connectors/tables/table-schema.js';

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let dir: string;

before(async () => {
  ({ instance, connection: conn } = await openDuckDB({ threads: 1 }));
  dir = await mkdtemp(join(tmpdir(), 'weir-stage-reuse-'));
});

after(async () => {
  conn.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

interface Rec {
  key: Buffer | null;
  value: Buffer | null;
  header?: { key: string; value: Buffer };
}

/** A record's bytes as a batch holds them: key, value, then one header (key length, key, value length, value) when there is one. */
function encode(r: Rec): { data: Buffer; keyLength: number; valueStart: number; valueLength: number; headersAt: number; headerCount: number } {
  const key = r.key ?? Buffer.alloc(0);
  const value = r.value ?? Buffer.alloc(0);
  const parts = [key, value];
  if (r.header) {
    const hk = Buffer.from(r.header.key);
    parts.push(zigzag(hk.length), hk, zigzag(r.header.value.length), r.header.value);
  }
  const data = Buffer.concat(parts);
  return { data, keyLength: r.key === null ? -1 : key.length, valueStart: key.length, valueLength: r.value === null ? -1 : value.length, headersAt: key.length + value.length, headerCount: r.header ? 1 : 0 };
}

function zigzag(n: number): Buffer {
  const out: number[] = [];
  let v = n * 2;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

async function roundTrip(records: Rec[]) {
  const stage = await JsonStage.open(conn, dir, 1);
  try {
    for (let i = 0; i < records.length; i++) {
      const e = encode(records[i]!);
      stage.visit(i, 1e12 + i, e.data, 0, e.keyLength, e.valueStart, e.valueLength, e.headersAt, e.headerCount, e.data.length);
      // As the log scan does: the full chunks go to DuckDB between log entries.
      if (i % 3000 === 2999) await stage.drain();
    }
    await stage.drain();
    const schema = growSchema(EMPTY_SCHEMA, await stage.inferSchema(), 1000);
    const staged = await stage.rowsOf(schema);
    const path = join(dir, `r${Math.random().toString(36).slice(2)}.parquet`);
    await conn.run(`COPY (${staged.sql}) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
    return (await conn.runAndReadAll(`SELECT "offset", "timestamp", "key", "value", headers, n FROM read_parquet('${path}') ORDER BY "offset"`)).getRowObjectsJS();
  } finally {
    await stage.dispose();
  }
}

const bytes = (v: unknown): Buffer | null => (v === null ? null : Buffer.from(v as Uint8Array));

describe('JsonStage: reused data chunks keep every row', () => {
  it('40 000 rows (many reused chunks) with keys, tombstones and invalid UTF-8 alternating; a key column appearing mid-range; headers late', async () => {
    const records: Rec[] = [];
    for (let i = 0; i < 40_000; i++) {
      const key = i >= 5000 && i % 3 === 0 ? Buffer.from(`k${i}`) : null;
      let value: Buffer | null = Buffer.from(JSON.stringify({ n: i, s: 'x'.repeat(i % 40) }));
      if (i % 97 === 5) value = null;
      if (i % 1009 === 7) value = Buffer.concat([Buffer.from(`{"n":${i},"s":"`), Buffer.from([0xff]), Buffer.from('"}')]);
      records.push({ key, value, ...(i >= 35_000 && i % 5 === 0 ? { header: { key: `h${i}`, value: Buffer.from(`hv${i}`) } } : {}) });
    }
    const rows = await roundTrip(records);
    assert.equal(rows.length, records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const row = rows[i]!;
      assert.equal(Number(row.offset), i);
      assert.equal((row.timestamp as Date).getTime(), 1e12 + i, `timestamp of ${i}`);
      assert.deepEqual(bytes(row.key), r.key, `key of ${i}`);
      assert.deepEqual(bytes(row.value), r.value, `value of ${i}`);
      assert.equal(row.n, r.value === null ? null : BigInt(i), `n of ${i}`);
      const headers = row.headers as { key: string; value: Uint8Array }[];
      assert.deepEqual(headers.map((h) => [h.key, bytes(h.value)]), r.header ? [[r.header.key, r.header.value]] : [], `headers of ${i}`);
    }
  });
});
