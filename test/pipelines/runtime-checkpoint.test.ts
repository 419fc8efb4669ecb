/**
 * The checkpoint store on a real filesystem object store: a checkpoint round-trips (state and
 * offsets), the newest manifest wins and a stale lease holder's late manifest (lower fencing
 * token) never does, a damaged state object is refused with a clear error instead of restoring
 * garbage, pruning keeps the newest checkpoints and never deletes a state object a kept
 * manifest names; and the Prometheus rendering of task metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isWeirError } from '../../core/errors.js';
import { FsObjectStore } from '../../core/storage/fs-object-store.js';
import { checkpointManifestKey, parseCheckpointKey, taskCheckpointPrefix } from '../../core/storage/paths.js';
import { CheckpointStore, decodeSnapshot, encodeSnapshot } from '../../pipelines/runtime/checkpoint-store.js';
import { renderPrometheus } from '../../pipelines/runtime/metrics.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function store(): FsObjectStore {
  const d = mkdtempSync(join(tmpdir(), 'weir-ckpt-'));
  dirs.push(d);
  return new FsObjectStore(d);
}

const base = { taskId: 'wc/1/p3', stage: 1, partition: 3, checkpointId: 'c', watermarkMs: 5, sinkSequences: { 'wc-repartition-1': 7 }, upstreamSeen: { 'wc/0/p0': 41 } };

describe('checkpoint store', () => {
  it('round-trips state and offsets; the newest manifest wins', async () => {
    const s = store();
    const cs = new CheckpointStore(s, 'wc');
    assert.equal(await cs.latest(1, 3), null);
    await cs.write({ ...base, token: 1, sequence: 0, offsets: [{ topic: 'in', partition: 3, offset: 10 }] }, new Map([['counts', Buffer.from('a')]]));
    await cs.write({ ...base, token: 1, sequence: 1, offsets: [{ topic: 'in', partition: 3, offset: 20 }] }, new Map([['counts', Buffer.from('bb')], ['empty', Buffer.alloc(0)]]));
    const m = await cs.latest(1, 3);
    assert.ok(m);
    assert.deepEqual(m.offsets, [{ topic: 'in', partition: 3, offset: 20 }]);
    assert.deepEqual(m.sinkSequences, { 'wc-repartition-1': 7 });
    assert.deepEqual(m.upstreamSeen, { 'wc/0/p0': 41 });
    const state = await cs.loadState(m);
    assert.deepEqual([...state].map(([k, v]) => [k, v.toString()]), [['counts', 'bb'], ['empty', '']]);
    // Other tasks are separate.
    assert.equal(await cs.latest(1, 4), null);
    assert.equal(await cs.latest(0, 3), null);
    await s.close();
  });

  it('a higher fencing token wins over a later-written lower one (a stale holder writing late)', async () => {
    const s = store();
    const cs = new CheckpointStore(s, 'wc', 10);
    await cs.write({ ...base, token: 2, sequence: 0, offsets: [{ topic: 'in', partition: 3, offset: 100 }] }, new Map());
    // The old holder (token 1) was paused past its lease and writes its checkpoint 5 afterwards.
    await cs.write({ ...base, token: 1, sequence: 5, offsets: [{ topic: 'in', partition: 3, offset: 50 }] }, new Map());
    assert.equal((await cs.latest(1, 3))!.token, 2);
    assert.equal((await cs.latest(1, 3))!.offsets[0]!.offset, 100);
    await s.close();
  });

  it('refuses a damaged state object with a corrupt error naming it', async () => {
    const s = store();
    const cs = new CheckpointStore(s, 'wc');
    const m = await cs.write({ ...base, token: 1, sequence: 0, offsets: [] }, new Map([['x', Buffer.from('hello')]]));
    await s.put(m.stateKey, Buffer.from('WSNP\0\0\0\x09garbage!'));
    await assert.rejects(cs.loadState(m), (e) => isWeirError(e, 'corrupt') && e.message.includes(m.stateKey));
    assert.throws(() => decodeSnapshot(Buffer.from('nope'), 'k'), (e) => isWeirError(e, 'corrupt'));
    const parts = encodeSnapshot(new Map([['a', Buffer.from([1, 2, 3])]]));
    assert.deepEqual([...decodeSnapshot(Buffer.concat(parts), 'k')], [['a', Buffer.from([1, 2, 3])]]);
    await s.close();
  });

  it('prune keeps the newest checkpoints and the state objects they name', async () => {
    const s = store();
    const cs = new CheckpointStore(s, 'wc', 2);
    for (let i = 0; i < 5; i++) await cs.write({ ...base, token: 3, sequence: i, offsets: [] }, new Map([['x', Buffer.from(String(i))]]));
    await cs.prune(1, 3);
    const keys: string[] = [];
    for await (const o of s.list(taskCheckpointPrefix('wc', 1, 3))) keys.push(o.key);
    const parsed = keys.map((k) => parseCheckpointKey(k)!);
    assert.deepEqual(parsed.filter((p) => p.kind === 'manifest').map((p) => p.sequence), [3, 4]);
    assert.deepEqual(parsed.filter((p) => p.kind === 'state').map((p) => p.sequence), [3, 4]);
    assert.equal((await cs.loadState((await cs.latest(1, 3))!)).get('x')!.toString(), '4');
    await s.close();
  });

  it('keys sort by token, then sequence, and refuse bad names', () => {
    const k = (token: number, sequence: number): string => checkpointManifestKey({ pipeline: 'wc', stage: 0, partition: 0, token, sequence });
    assert.ok(k(1, 999) < k(2, 0));
    assert.ok(k(2, 9) < k(2, 10));
    assert.throws(() => taskCheckpointPrefix('bad name', 0, 0), (e) => isWeirError(e, 'invalid_argument'));
  });
});

describe('metrics', () => {
  it('renders every task metric in the Prometheus text format', () => {
    const text = renderPrometheus([
      {
        taskMetrics: () => [
          { pipeline: 'wc', taskId: 'wc/1/p0', stage: 1, partition: 0, recordsIn: 10, recordsOut: 4, lagRecords: 3, watermarkDelayMs: 1500, lastCheckpointDurationMs: 12, lastCheckpointBytes: 2048, checkpoints: 2 },
          { pipeline: 'wc', taskId: 'wc/1/p1', stage: 1, partition: 1, recordsIn: 0, recordsOut: 0, lagRecords: 0, watermarkDelayMs: null, lastCheckpointDurationMs: null, lastCheckpointBytes: null, checkpoints: 0 },
        ],
      },
    ]);
    assert.match(text, /^# TYPE weir_pipeline_records_in_total counter$/m);
    assert.match(text, /^weir_pipeline_records_in_total\{pipeline="wc",task="wc\/1\/p0",stage="1",partition="0"\} 10$/m);
    assert.match(text, /^weir_pipeline_lag_records\{pipeline="wc",task="wc\/1\/p0",stage="1",partition="0"\} 3$/m);
    assert.match(text, /^weir_pipeline_watermark_delay_ms\{.*partition="0"\} 1500$/m);
    assert.match(text, /^weir_pipeline_checkpoint_bytes\{.*partition="0"\} 2048$/m);
    // Unknown values are left out rather than reported as 0.
    assert.doesNotMatch(text, /weir_pipeline_watermark_delay_ms\{.*partition="1"\}/);
  });
});
