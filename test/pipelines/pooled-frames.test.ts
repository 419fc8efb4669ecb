/**
 * Pooled fetch frames (Fetcher's pooledFrames, KafkaClient's framePool): a large Fetch response is
 * assembled in a reused buffer, and goes back to the pool only when every partition of that
 * response has been released. The pipeline runtime uses them when every source serde copies
 * what it reads (json, string), and copies header values out, since a record outlives its frame.
 * Checked against a real agent with responses well above the pool's 1 MiB floor:
 * - the Fetcher: the frame returns on the last partition's release only, and the next round's
 *   frame is that same buffer, with the right records in it;
 * - a pipeline whose custom sink keeps every record (values and headers) until the end: after
 *   many reused frames, every kept record still equals what was produced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Fetcher, KafkaClient, Producer } from '../../core/client/index.js';
import { FramePool } from '../../core/client/frame-pool.js';
import { MemoryObjectStore } from '../../core/storage/memory-object-store.js';
import { customSink, fromTopic, pipeline, serdes, type Rec } from '../../pipelines/index.js';
import { PipelineRunner } from '../../pipelines/runtime/pipeline-runner.js';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';

let agent: Agent;
let client: KafkaClient;
const PER_PARTITION = 20_000;
const value = (p: number, i: number): string => JSON.stringify({ p, i, pad: 'x'.repeat(200 + (i % 50)) });

before(async () => {
  agent = await startAgent({ lingerMs: 5, autoCreateTopics: false });
  client = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'pooled-frames-test' });
  await client.createTopics([{ name: 'pooled-in', partitions: 2 }]);
  const producer = new Producer(client, { lingerMs: 5 });
  for (let i = 0; i < PER_PARTITION; i++) {
    for (let p = 0; p < 2; p++) {
      producer.append('pooled-in', p, { key: Buffer.from(`k${i}`), value: Buffer.from(value(p, i)), timestamp: 1_700_000_000_000 + i, headers: [{ key: 'h', value: Buffer.from(`hv-${p}-${i}`) }] });
    }
    if (i % 500 === 0) await producer.writable();
  }
  await producer.close();
});
after(async () => {
  await client?.close();
  await stopAllAgents();
});

describe('pooled fetch frames', () => {
  it('returns a frame when the last partition releases it, and reuses it', async () => {
    const pool = new FramePool(64 * 1024 * 1024);
    const pooledClient = new KafkaClient({ brokers: [agent.bootstrap], clientId: 'pooled-frames-fetcher', framePool: pool });
    try {
      const fetcher = new Fetcher(pooledClient, { maxWaitMs: 100, partitionBytesMax: 1024 * 1024, pooledFrames: true });
      const at = [0, 0];
      let rounds = 0;
      let reused = 0;
      while (at[0]! < PER_PARTITION || at[1]! < PER_PARTITION) {
        const freeBefore = pool.freeBuffers;
        const got = await fetcher.fetchColumns([0, 1].filter((p) => at[p]! < PER_PARTITION).map((partition) => ({ topic: 'pooled-in', partition, offset: at[partition]! })));
        const bytes = got.reduce((n, f) => n + f.columns.payloadBytes, 0);
        if (bytes >= 1024 * 1024 && freeBefore > 0 && pool.freeBuffers === freeBefore - 1) reused++;
        for (const f of got) {
          assert.equal(f.error, undefined);
          const c = f.columns;
          for (let k = 0; k < c.length; k++) {
            assert.equal(c.offsets[k], at[f.partition]! + k);
            assert.equal(c.value(k)!.toString(), value(f.partition, c.offsets[k]!));
          }
          at[f.partition] = f.nextOffset;
        }
        if (bytes >= 1024 * 1024 && got.length === 2) {
          // One response, two partitions: the frame is in use until both are released.
          const free = pool.freeBuffers;
          got[0]!.release();
          got[0]!.release(); // a second call does nothing
          assert.equal(pool.freeBuffers, free, 'the frame went back while a partition still used it');
          got[1]!.release();
          assert.equal(pool.freeBuffers, free + 1, 'the frame did not go back after the last release');
        } else {
          for (const f of got) f.release();
        }
        rounds++;
      }
      assert.ok(rounds >= 4, `only ${rounds} rounds`);
      assert.ok(reused >= 2, `frames reused in ${reused} rounds only`);
    } finally {
      await pooledClient.close();
    }
  });

  it('keeps records and their headers intact in a pipeline after their frames are reused', async () => {
    const kept: Rec[] = [];
    const spec = pipeline('pooled-frames')
      .from(fromTopic('pooled-in', { key: serdes.string(), value: serdes.json<{ p: number; i: number; pad: string }>() }))
      .to(customSink('keep', () => ({ name: 'keep', write: (r) => void kept.push(r), flush: async () => {}, close: async () => {} })));
    const runner = new PipelineRunner({ pipelines: [spec], brokers: [agent.bootstrap], objectStore: new MemoryObjectStore(), workers: 1, log: () => undefined, worker: { partitionBufferBytesMax: 2 * 1024 * 1024 } });
    await runner.start();
    try {
      const deadline = Date.now() + 60_000;
      while (kept.length < 2 * PER_PARTITION) {
        assert.ok(Date.now() < deadline, `only ${kept.length} records arrived`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await runner.stop();
    }
    assert.equal(kept.length, 2 * PER_PARTITION);
    const seen = new Set<string>();
    for (const r of kept) {
      const v = r.value as { p: number; i: number; pad: string };
      assert.equal(r.partition, v.p);
      assert.equal(r.offset, v.i);
      assert.equal(JSON.stringify(v), value(v.p, v.i));
      assert.equal(r.key, `k${v.i}`);
      assert.equal((r.headers as Record<string, Buffer | null>)['h']?.toString(), `hv-${v.p}-${v.i}`);
      seen.add(`${v.p}/${v.i}`);
    }
    assert.equal(seen.size, 2 * PER_PARTITION);
  });
});
