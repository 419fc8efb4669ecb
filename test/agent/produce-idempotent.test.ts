/**
 * The Produce handler's side of idempotence, in process: what it sends to the flusher and how it
 * answers a duplicate. The sequence rules themselves are the producer state contract's; the error
 * codes over a real socket are test/e2e/idempotent-errors.test.ts's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Produce } from '../../core/protocol/generated/index.js';
import { buildBatch } from '../../core/records/records.js';
import { ErrorCode } from '../../agent/error-codes.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestAgent, type TestAgent } from './admin-harness.js';

describe('Produce with idempotent batches', () => {
  let t: TestAgent;
  let client: RawClient;
  before(async () => {
    t = await startTestAgent();
    client = await RawClient.connect(t.host, t.port);
  });
  after(async () => {
    client.close();
    await t.stop();
  });

  const produce = async (topic: string, batch: Buffer) => {
    const res = await client.request(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    return res.responses![0]!.partitionResponses![0]!;
  };

  it('answers a duplicate with the original offset and, on LogAppendTime topics, the original append time', async () => {
    await t.agent.context.metadata.createTopic('lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const { producerId } = await t.agent.context.metadata.allocateProducerId();
    const batch = () => buildBatch({ records: [{ key: null, value: 'v' }], producerId: BigInt(producerId), producerEpoch: 0, baseSequence: 0 });
    const first = await produce('lat', await batch());
    assert.equal(first.errorCode, ErrorCode.NONE);
    assert.ok(first.logAppendTimeMs! > 0n);
    await sleep(20); // a later clock, so a fresh append time would differ
    const retry = await produce('lat', await batch());
    assert.deepEqual([retry.errorCode, retry.baseOffset, retry.logAppendTimeMs], [ErrorCode.NONE, 0n, first.logAppendTimeMs]);
    assert.equal((await t.agent.context.metadata.getPartitionState('lat', 0))?.highWatermark, 1);
  });

  it('refuses idempotent batches with a negative sequence or epoch, and ids beyond any allocated, before flushing', async () => {
    await t.agent.context.metadata.createTopic('bad', 1, {});
    const cases: [bigint, number, number, number][] = [
      [1n, 0, -5, ErrorCode.INVALID_RECORD],
      [1n, -2, 0, ErrorCode.INVALID_RECORD],
      [2n ** 60n, 0, 0, ErrorCode.UNKNOWN_PRODUCER_ID],
    ];
    for (const [producerId, producerEpoch, baseSequence, code] of cases) {
      const r = await produce('bad', await buildBatch({ records: [{ key: null, value: 'x' }], producerId, producerEpoch, baseSequence }));
      assert.equal(r.errorCode, code, `${producerId}/${producerEpoch}/${baseSequence}: ${r.errorMessage}`);
    }
    assert.equal((await t.agent.context.metadata.getPartitionState('bad', 0))?.highWatermark, 0);
  });
});
