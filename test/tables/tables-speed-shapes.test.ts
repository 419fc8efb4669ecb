/**
 * Inference during the scan (json-stage.ts JsonShapes) against DuckDB's own inference over the
 * same staged rows: whenever the scan keeps its result it must be exactly DuckDB's (same columns,
 * same types, same order, no refused value), and every value it does not fully understand must
 * hand the range to DuckDB. Real DuckDB, values staged through the visitor as the log scan does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openDuckDB } from '../../connectors/tables/duckdb-session.js';
import { JsonStage } from '../../connectors/tables/json-stage.js';
import type { ValueSchema } from '../../connectors/tables/table-schema.js';

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let dir: string;

before(async () => {
  ({ instance, connection: conn } = await openDuckDB({ threads: 1 }));
  dir = await mkdtemp(join(tmpdir(), 'weir-json-shapes-'));
});

after(async () => {
  conn.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

/** Stages the values (each behind a few bytes of record framing, as in a batch) and returns both inferences. */
async function infer(values: (string | Buffer | null)[]): Promise<{ scanned: boolean; ours: ValueSchema; duck: { refused: boolean; schema: ValueSchema } }> {
  const stage = await JsonStage.open(conn, dir, 0);
  try {
    values.forEach((v, i) => {
      const value = v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
      const data = Buffer.concat([Buffer.from([7, 7, 7]), value ?? Buffer.alloc(0), Buffer.from([9])]);
      stage.visit(i, 1e12 + i, data, 0, -1, 3, value === null ? -1 : value.length, 0, 0, data.length);
    });
    await stage.drain();
    const ours = await stage.inferSchema();
    return { scanned: stage.inferredWhileScanning, ours, duck: await stage.inferInDuckDB() };
  } finally {
    await stage.dispose();
  }
}

const cols = (s: ValueSchema): [string, string, string][] => s.columns.map((c) => [c.name, c.field, c.type]);

/** A small deterministic PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('JsonShapes: inference while scanning equals DuckDB inference', () => {
  it('objects it understands: every type, widening, conflicts, nesting, escapes in strings, unicode keys, whitespace, null-only and case-colliding fields', async () => {
    const values = [
      '{"id":1,"s":"plain","b":true,"n":null}',
      '{"id":2,"s":"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac","b":false}',
      '{"s":"order changed","id":3}',
      ' {\t"id" : 4 ,\r\n "x" : -12.5e-3 }\n',
      '{"id":-5,"big":123456789012345678,"neg":-123456789012345678}',
      '{"id":6.0,"obj":{"a":[1,2,{"b":null}],"c":"d"},"arr":[],"e":{}}',
      '{"conflict":1}',
      '{"conflict":"one"}',
      '{"conflict":[1]}',
      '{"clé":"non-ASCII key","emoji":"😀 ü"}',
      '{"offset":7,"partition":"p","VALUE":1}',
      '{"Id":99,"ID":"x"}',
      '{"onlynull":null}',
      '{}',
      '{"d1":1E5,"d2":0.5,"d3":-0.0,"z":0,"e":1e+99}',
      null,
      '{"deep":[[[[[[[[[[{"k":[true,false,null]}]]]]]]]]]]}',
    ];
    const r = await infer(values);
    assert.equal(r.scanned, true, 'the scan understood every value');
    assert.equal(r.duck.refused, false);
    assert.deepEqual(cols(r.ours), cols(r.duck.schema));
    assert.deepEqual(Object.fromEntries(r.ours.columns.map((c) => [c.name, c.type])), {
      id: 'double',
      s: 'string',
      b: 'boolean',
      x: 'double',
      big: 'bigint',
      neg: 'bigint',
      obj: 'json',
      arr: 'json',
      // {} in one row, 1e+99 in another: a conflict.
      e: 'string',
      conflict: 'string',
      clé: 'string',
      emoji: 'string',
      value_offset: 'bigint',
      value_partition: 'string',
      value_VALUE: 'bigint',
      // Id and ID collide with id (DuckDB names are case-insensitive): they stay in the raw value.
      d1: 'double',
      d2: 'double',
      d3: 'double',
      z: 'bigint',
      deep: 'json',
    });
  });

  it('random objects (keys from a small set, every JSON type, random key order and whitespace): same schema as DuckDB in every trial', async () => {
    const next = rng(0x5eed);
    const keys = ['a', 'b', 'c', 'user', 'amount', 'Ü', 'x y', 'offset'];
    const scalar = (): string => {
      const k = Math.floor(next() * 9);
      if (k === 0) return String(Math.floor(next() * 2e9) - 1e9);
      if (k === 1) return (next() * 100 - 50).toFixed(3);
      if (k === 2) return JSON.stringify(`s${Math.floor(next() * 100)}\n"q"`);
      if (k === 3) return next() < 0.5 ? 'true' : 'false';
      if (k === 4) return 'null';
      if (k === 5) return `${Math.floor(next() * 10)}e${Math.floor(next() * 20)}`;
      if (k === 6) return '[1,"two",{"three":3}]';
      if (k === 7) return '{"nested":{"deeper":[null]}}';
      return '"ü€"';
    };
    for (let trial = 0; trial < 12; trial++) {
      // Most trials keep each key's type stable (the common case: many rows like their predecessor).
      const stable = trial % 3 !== 0;
      const fixedType = new Map(keys.map((k) => [k, scalar()]));
      const values: string[] = [];
      for (let i = 0; i < 300; i++) {
        const picked = keys.filter(() => next() < 0.6).sort(() => next() - 0.5);
        const ws = next() < 0.2 ? ' ' : '';
        values.push(`{${picked.map((k) => `${ws}${JSON.stringify(k)}${ws}:${ws}${stable ? fixedType.get(k)! : scalar()}`).join(',')}${ws}}`);
      }
      const r = await infer(values);
      assert.equal(r.scanned, true, `trial ${trial}: the scan understood every value`);
      assert.equal(r.duck.refused, false, `trial ${trial}`);
      assert.deepEqual(cols(r.ours), cols(r.duck.schema), `trial ${trial}`);
    }
  });

  it('hands the range to DuckDB on anything else: malformed, non-objects, trailing commas, escaped or duplicate keys, 19-digit integers, -0, huge exponents, surrogate escapes, invalid UTF-8, deep nesting', async () => {
    const cases: [string, string | Buffer][] = [
      ['malformed', '{"a": oops'],
      ['empty', ''],
      ['number', '5'],
      ['array', '[1,{"a":2}]'],
      ['string', '"s"'],
      ['literal null', 'null'],
      ['trailing comma', '{"a":1,}'],
      ['nested trailing comma', '{"a":[1,2,]}'],
      ['escaped key', '{"\\u0061b":1}'],
      ['duplicate key', '{"a":1,"a":"x"}'],
      ['19-digit integer', '{"a":1234567890123456789}'],
      ['beyond uint64', '{"a":123456789012345678901}'],
      ['-0', '{"a":-0}'],
      ['huge exponent', '{"a":1e400}'],
      ['lone surrogate', '{"a":"\\ud800"}'],
      ['surrogate pair', '{"a":"\\ud83d\\ude00"}'],
      ['NaN', '{"a":NaN}'],
      ['leading zero', '{"a":01}'],
      ['control character', '{"a":"x\u0001y"}'],
      ['invalid UTF-8', Buffer.concat([Buffer.from('{"a":3,"s":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
      ['deep nesting', `{"a":${'['.repeat(80)}${']'.repeat(80)}}`],
      ['text after the object', '{"a":1} x'],
    ];
    for (const [name, bad] of cases) {
      const r = await infer(['{"a":1,"b":"x"}', bad, '{"a":2.5}']);
      assert.equal(r.scanned, false, `${name}: DuckDB infers`);
      assert.deepEqual(cols(r.ours), cols(r.duck.schema), name);
    }
  });
});
