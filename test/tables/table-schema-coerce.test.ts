/**
 * coerce(): how a decoded value is written into a column of its table type. A string column
 * takes any value as text: strings as they are, numbers and bigints (Avro longs) as their digits,
 * booleans as true/false, objects and arrays as JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coerce } from '../../connectors/tables/table-schema.js';

describe('table-schema coerce', () => {
  it('writes every value into a string column as text, bigints as their digits', () => {
    assert.equal(coerce('x', 'string'), 'x');
    assert.equal(coerce(5, 'string'), '5');
    assert.equal(coerce(5n, 'string'), '5');
    assert.equal(coerce(-9007199254740993n, 'string'), '-9007199254740993');
    assert.equal(coerce(true, 'string'), 'true');
    assert.equal(coerce({ a: 1, b: [2n] }, 'string'), '{"a":1,"b":["2"]}');
    assert.equal(coerce(null, 'string'), null);
  });

  it('writes bigints and numbers into numeric columns as numbers, and JSON columns as JSON text', () => {
    assert.equal(coerce(5n, 'bigint'), 5);
    assert.equal(coerce(2.5, 'double'), 2.5);
    assert.equal(coerce('s', 'json'), '"s"');
    assert.equal(coerce([1, 2], 'json'), '[1,2]');
    assert.equal(coerce(undefined, 'json'), null);
  });
});
