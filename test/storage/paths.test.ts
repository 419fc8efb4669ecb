import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { objectKeyError } from '../../core/storage/object-key.js';
import { flushObjectHourPrefix, flushObjectKey, formatFlushObjectKey, parseFlushObjectKey } from '../../core/storage/paths.js';

describe('object key paths', () => {
  const t = Date.UTC(2025, 0, 31, 23, 59, 59, 999);

  it('builds flush object keys under the UTC hour', () => {
    const key = formatFlushObjectKey({ agentId: '1-ab12', sequence: 42, timeMs: t, random: '0123456789abcdef' });
    assert.equal(key, 'log/2025/01/31/23/1-ab12-000000000042-0123456789abcdef.wobj');
    assert.equal(objectKeyError(key), null);
    assert.ok(key.startsWith(flushObjectHourPrefix(t)));
    assert.deepEqual(parseFlushObjectKey(key), { agentId: '1-ab12', sequence: 42, timeMs: Date.UTC(2025, 0, 31, 23), random: '0123456789abcdef' });
    assert.equal(parseFlushObjectKey('log/2025/01/31/23/whatever.bin'), null);
  });

  it('hands out unique keys that sort by sequence within an hour', () => {
    const keys = Array.from({ length: 1000 }, () => flushObjectKey('agent-7', t));
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual([...keys].sort(), keys);
    for (const key of keys.slice(0, 10)) assert.equal(objectKeyError(key), null);
    // Two "restarts" of the same agent reusing a sequence number still differ by the random part.
    const a = formatFlushObjectKey({ agentId: 'x', sequence: 0, timeMs: t, random: '0'.repeat(16) });
    const b = flushObjectKey('x', t);
    assert.notEqual(a, b);
  });

  it('sorts keys of later hours after earlier ones', () => {
    const earlier = flushObjectKey('zzz', Date.UTC(2025, 0, 31, 23));
    const later = flushObjectKey('aaa', Date.UTC(2025, 1, 1, 0));
    assert.ok(earlier < later);
  });

  it('rejects agent ids that would break the key', () => {
    for (const agentId of ['', 'a/b', '.a', 'a.b', 'a b', '-a', 'x'.repeat(65)]) {
      assert.throws(() => flushObjectKey(agentId, t), (e) => isWeirError(e, 'invalid_argument'), agentId);
    }
    assert.throws(() => flushObjectKey('a', Number.NaN), (e) => isWeirError(e, 'invalid_argument'));
  });
});
