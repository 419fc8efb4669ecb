/**
 * The idempotent producer's protocol edges, with a raw client against a real agent process:
 * InitProducerId's answers, and the Produce error codes of the sequence check. After every
 * refusal the agent keeps serving, and the log holds exactly the batches that were accepted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InitProducerId, Produce } from '../../core/protocol/generated/index.js';
import type { InitProducerIdResponse } from '../../core/protocol/generated/init-producer-id.js';
import { buildBatch } from '../../core/records/records.js';
import { ErrorCode } from '../../agent/error-codes.js';
import { startAgent, stopAllAgents } from '../helpers/agent-process.js';
import { createTopics } from '../helpers/kafkajs.js';
import { kcatConsume } from '../helpers/kcat.js';
import { RawClient, rawProduce } from '../helpers/raw-client.js';

after(stopAllAgents);

function initProducerId(
  client: RawClient,
  version: number,
  o: { transactionalId?: string | null; producerId?: bigint; producerEpoch?: number } = {},
): Promise<InitProducerIdResponse> {
  return client.request(InitProducerId, version, {
    transactionalId: o.transactionalId ?? null,
    transactionTimeoutMs: 60_000,
    producerId: o.producerId ?? -1n,
    producerEpoch: o.producerEpoch ?? -1,
  });
}

/** One batch of `values` from producer `id` at `epoch`, starting at sequence `seq`. */
function idempotentBatch(id: bigint, epoch: number, seq: number, values: string[]): Promise<Buffer> {
  return buildBatch({ records: values.map((value) => ({ key: null, value })), producerId: id, producerEpoch: epoch, baseSequence: seq });
}

describe('idempotent producer protocol', () => {
  it('InitProducerId hands out ids, bumps epochs, fences stale ones and refuses transactional ids', async () => {
    const agent = await startAgent({ lingerMs: 5 });
    const client = await RawClient.connect(agent.host, agent.port);
    try {
      const advertised = (await client.apiVersions()).apiKeys!.find((k) => k.apiKey === InitProducerId.apiKey);
      assert.deepEqual([advertised?.minVersion, advertised?.maxVersion], [0, 5]);

      const first = await initProducerId(client, 0);
      assert.equal(first.errorCode, ErrorCode.NONE);
      assert.ok(first.producerId! > 0n);
      assert.equal(first.producerEpoch, 0);
      const second = await initProducerId(client, 2);
      assert.notEqual(second.producerId, first.producerId);

      const id = first.producerId!;
      const bumped = await initProducerId(client, 4, { producerId: id, producerEpoch: 0 });
      assert.deepEqual([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [ErrorCode.NONE, id, 1]);
      // A retried bump (its answer lost) gets the same answer instead of a second bump.
      const retried = await initProducerId(client, 4, { producerId: id, producerEpoch: 0 });
      assert.deepEqual([retried.errorCode, retried.producerId, retried.producerEpoch], [ErrorCode.NONE, id, 1]);
      await initProducerId(client, 4, { producerId: id, producerEpoch: 1 });
      assert.equal((await initProducerId(client, 4, { producerId: id, producerEpoch: 0 })).errorCode, ErrorCode.PRODUCER_FENCED);
      assert.equal((await initProducerId(client, 3, { producerId: id, producerEpoch: 0 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
      // An id this agent never handed out gets a new one.
      const unknown = await initProducerId(client, 5, { producerId: 1_000_000n, producerEpoch: 3 });
      assert.equal(unknown.errorCode, ErrorCode.NONE);
      assert.ok(![1_000_000n, id, second.producerId].includes(unknown.producerId!));

      assert.equal((await initProducerId(client, 4, { producerId: id, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
      assert.equal((await initProducerId(client, 4, { transactionalId: 'txn' })).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      assert.equal((await initProducerId(client, 1, { transactionalId: '' })).errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      client.close();
    }
  });

  it('a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER, retries their original offsets, and the agent keeps serving', async () => {
    const agent = await startAgent({ lingerMs: 5 });
    const topic = 'idem-errors';
    await createTopics(agent.bootstrap, [{ topic, numPartitions: 1 }]);
    const client = await RawClient.connect(agent.host, agent.port);
    try {
      const version = await client.negotiate(Produce, 8);
      const produce = async (batch: Buffer) => rawProduce(client, { topic, partition: 0, batch, version });
      const { producerId: id } = await initProducerId(client, 4);

      const first = await idempotentBatch(id!, 0, 0, ['s0', 's1']);
      assert.deepEqual(await produce(first), { errorCode: ErrorCode.NONE, baseOffset: 0n, errorMessage: null });
      const gap = await produce(await idempotentBatch(id!, 0, 5, ['gap']));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, gap.errorMessage ?? '');
      assert.equal(gap.baseOffset, -1n);
      assert.equal((await produce(await idempotentBatch(id!, 0, 2, ['s2']))).baseOffset, 2n);
      // A client resending its first batch (say, after a lost response) gets the original offset.
      assert.deepEqual(await produce(first), { errorCode: ErrorCode.NONE, baseOffset: 0n, errorMessage: null });

      // A new epoch fences the old one.
      const { producerEpoch } = await initProducerId(client, 4, { producerId: id!, producerEpoch: 0 });
      assert.equal((await produce(await idempotentBatch(id!, producerEpoch!, 0, ['e1']))).baseOffset, 3n);
      assert.equal((await produce(await idempotentBatch(id!, 0, 3, ['zombie']))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.equal((await produce(await idempotentBatch(9_999_999n, 0, 0, ['ghost']))).errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
      // As in Kafka, an idempotent produce carries one batch per partition.
      const two = Buffer.concat([await idempotentBatch(id!, producerEpoch!, 1, ['t1']), await idempotentBatch(id!, producerEpoch!, 2, ['t2'])]);
      assert.equal((await produce(two)).errorCode, ErrorCode.INVALID_RECORD);

      // Still serving: a plain produce on this connection, and a new connection.
      assert.equal((await produce(await buildBatch({ records: [{ key: null, value: 'plain' }] }))).baseOffset, 4n);
      const fresh = await RawClient.connect(agent.host, agent.port);
      await fresh.apiVersions();
      fresh.close();
      assert.ok(agent.isRunning());

      const read = await kcatConsume({ bootstrap: agent.bootstrap, topic });
      assert.deepEqual(read.map((r) => [r.offset, r.payload]), [[0, 's0'], [1, 's1'], [2, 's2'], [3, 'e1'], [4, 'plain']]);
    } finally {
      client.close();
    }
  });
});
