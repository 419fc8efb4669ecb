/**
 * json-stage.ts against a real DuckDB: records staged through the visitor (as the log scan calls
 * it), the schema inferred by DuckDB over every row, and the typed rows written to Parquet by the
 * same COPY the compactor runs, then read back. The end-to-end tests (tables-sync.test.ts) cover
 * the same path behind a real agent; these pin the schema rules and the edge cases of values.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../../connectors/tables/duckdb-session.js';
import { growSchema, JsonStage } from '../../connectors/tables/json-stage.js';
import { EMPTY_SCHEMA, type ValueSchema } from '../../connectors/tables/table-schema.js';

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let dir: string;
let files = 0;

before(async () => {
  ({ instance, connection: conn } = await openDuckDB({ threads: 1 }));
  dir = await mkdtemp(join(tmpdir(), 'weir-json-stage-'));
});

after(async () => {
  conn.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

interface In {
  key?: string | null;
  value: string | Buffer | null;
}

/** Stages records (offset = index, timestamp = 1e12 + index), infers, writes Parquet; returns what a compaction gets. */
async function compact(records: In[], base: ValueSchema = EMPTY_SCHEMA) {
  const stage = await JsonStage.open(conn, dir, 3);
  try {
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const key = r.key == null ? null : Buffer.from(r.key);
      const value = r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      const data = Buffer.concat([key ?? Buffer.alloc(0), value ?? Buffer.alloc(0)]);
      const keyLength = key === null ? -1 : key.length;
      stage.visit(i, 1e12 + i, data, 0, keyLength, Math.max(keyLength, 0), value === null ? -1 : value.length, 0, 0, data.length);
      // As the log scan does: the full chunks go to DuckDB between log entries.
      if (i % 1000 === 999) await stage.drain();
    }
    await stage.drain();
    const schema = growSchema(base, await stage.inferSchema(), 1000);
    const used = await stage.load(schema);
    const kept: ValueSchema = { columns: schema.columns.filter((c) => base.columns.some((b) => b.name === c.name) || used.has(c.name)) };
    const staged = await stage.rowsOf(kept);
    const path = join(dir, `f${files++}.parquet`);
    await conn.run(`COPY (${staged.sql}) TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
    const types = Object.fromEntries((await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRows().map((r) => [String(r[0]), String(r[1])]));
    const rows = (await conn.runAndReadAll(`SELECT * FROM read_parquet('${path}') ORDER BY "offset"`)).getRowObjectsJS();
    return { schema: kept, staged, types, rows };
  } finally {
    await stage.dispose();
  }
}

const bytesOf = (v: unknown): Buffer | null => (v === null ? null : Buffer.from(v as Uint8Array));

describe('JsonStage (DuckDB parses the values)', () => {
  it('infers from every row: a field seen once is a column, int widens to double, conflicts become strings, an only-null field makes no column', async () => {
    const records: In[] = [];
    for (let i = 0; i < 5000; i++) records.push({ value: JSON.stringify({ id: i, n: i }) });
    records.push({ value: '{"id":5000,"n":1.5,"rare":"once"}' });
    records.push({ value: '{"id":5001,"c":1,"z":null}' });
    records.push({ value: '{"id":5002,"c":"s","z":null}' });
    records.push({ value: '{"id":5003,"c":{"q":[1,2]}}' });
    records.push({ value: '{"id":5004,"offset":7,"obj":{"a":1},"arr":[1,"x"],"flag":true}' });
    const { schema, types, rows } = await compact(records);
    assert.deepEqual(
      schema.columns.map((c) => [c.name, c.field, c.type]),
      [
        ['id', 'id', 'bigint'],
        ['n', 'n', 'double'],
        ['rare', 'rare', 'string'],
        ['c', 'c', 'string'],
        ['value_offset', 'offset', 'bigint'],
        ['obj', 'obj', 'json'],
        ['arr', 'arr', 'json'],
        ['flag', 'flag', 'boolean'],
      ],
    );
    assert.equal(types.id, 'BIGINT');
    assert.equal(types.n, 'DOUBLE');
    assert.equal(types.c, 'VARCHAR');
    assert.equal(types.partition, 'INTEGER');
    assert.equal(types.timestamp, 'TIMESTAMP WITH TIME ZONE');
    assert.equal(rows.length, 5005);
    assert.equal(rows[0]!.partition, 3);
    assert.equal(rows[10]!.n, 10);
    assert.equal(rows[5000]!.n, 1.5);
    assert.equal(rows[5000]!.rare, 'once');
    assert.equal(rows[4999]!.rare, null);
    // A string column holds strings as they are and other values as JSON text.
    assert.deepEqual([rows[5001]!.c, rows[5002]!.c, rows[5003]!.c], ['1', 's', '{"q":[1,2]}']);
    assert.equal(rows[5004]!.value_offset, 7n);
    assert.equal(rows[5004]!.offset, 5004n);
    assert.equal(rows[5004]!.obj, '{"a":1}');
    assert.equal(rows[5004]!.flag, true);
    assert.equal(rows[0]!.flag, null);
  });

  it('keeps every value as its exact bytes; null, non-objects, newlines and invalid UTF-8 are rows; malformed values are dead letters with their offsets', async () => {
    const invalidUtf8 = Buffer.concat([Buffer.from('{"a":3,"s":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const records: In[] = [
      { value: '{"a":1}' },
      { value: null, key: 'tombstone' },
      { value: '5' },
      { value: '[1,{"a":2}]' },
      { value: ' {"a":\n 2,\r\n"s":"x"} ' },
      { value: invalidUtf8 },
      { value: '{"a": oops', key: 'bad' },
      { value: '' },
      { value: '{"a":4}' },
    ];
    const { schema, staged, rows } = await compact(records);
    assert.deepEqual(schema.columns.map((c) => [c.name, c.type]), [['a', 'bigint'], ['s', 'string']]);
    assert.deepEqual(staged.deadLetters.map((d) => d.offset), [6, 7]);
    assert.equal(staged.deadLetters[0]!.key!.toString(), 'bad');
    assert.equal(staged.deadLetters[0]!.value!.toString(), '{"a": oops');
    assert.match(staged.deadLetters[0]!.error, /^malformed JSON: /);
    assert.equal(staged.rows, 7);
    assert.deepEqual(rows.map((r) => Number(r.offset)), [0, 1, 2, 3, 4, 5, 8]);
    const expected = [records[0], records[1], records[2], records[3], records[4], records[5], records[8]].map((r) => (r!.value === null ? null : Buffer.from(r!.value)));
    assert.deepEqual(rows.map((r) => bytesOf(r.value)), expected);
    assert.deepEqual(rows.map((r) => r.a), [1n, null, null, null, 2n, 3n, 4n]);
    assert.equal(rows[4]!.s, 'x');
    assert.equal(rows[5]!.s, '\ufffd\ufffd');
    assert.equal(bytesOf(rows[1]!.key)!.toString(), 'tombstone');
    assert.equal(rows[0]!.key, null);
    assert.equal(staged.minTimestampMs, 1e12);
    assert.equal(staged.maxTimestampMs, 1e12 + 8);
  });

  it('merges with the table schema: a bigint column widens, a string column takes numbers as text, a column this range lacks reads NULL', async () => {
    const base: ValueSchema = { columns: [{ name: 'n', field: 'n', type: 'bigint' }, { name: 's', field: 's', type: 'string' }, { name: 'old', field: 'old', type: 'boolean' }] };
    const { schema, rows } = await compact([{ value: '{"n":1,"s":2}' }, { value: '{"n":2.5,"s":"t","new":true}' }], base);
    assert.deepEqual(schema.columns.map((c) => [c.name, c.type]), [['n', 'double'], ['s', 'string'], ['old', 'boolean'], ['new', 'boolean']]);
    assert.deepEqual(rows.map((r) => [r.n, r.s, r.old, r.new]), [[1, '2', null, null], [2.5, 't', null, true]]);
  });

  it('a key column appears when a later chunk has keys; earlier rows read NULL', async () => {
    const records: In[] = [];
    for (let i = 0; i < 5000; i++) records.push({ value: `{"i":${i}}`, key: i < 4500 ? null : `k${i}` });
    const { rows } = await compact(records);
    assert.equal(rows.length, 5000);
    assert.equal(rows[4499]!.key, null);
    assert.equal(bytesOf(rows[4500]!.key)!.toString(), 'k4500');
    assert.equal(rows.filter((r) => r.key !== null).length, 500);
  });
});
