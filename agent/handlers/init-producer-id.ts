/**
 * InitProducerId — serves v0–v5, for idempotent producers (KIP-98). librdkafka turns
 * enable.idempotence on only when it sees this API advertised.
 *
 * - No producer id given (v0–v2, or -1/-1): a new id from the metadata store, at epoch 0.
 * - An id and epoch given (v3+, KIP-360): the producer wants to go on under a higher epoch; the
 *   store bumps it (ProducerStateStore.bumpEpoch), so the old epoch is fenced on every partition
 *   the producer writes next, while the id, and with it one state row per partition, is kept. A
 *   stale epoch is PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4, as Kafka answers older
 *   clients); an id the store does not know, or an exhausted epoch, gets a new id. Kafka itself
 *   hands a non-transactional producer a new id every time; bumping instead gives the same
 *   guarantees and keeps the producer state from growing with every reset.
 * - Only one of the two given: INVALID_REQUEST, as Kafka.
 * - A transactional id: transactions are not served yet, so TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 *   the same answer as Produce gives transactional batches. Clients treat it as fatal and say so
 *   at once, where COORDINATOR_NOT_AVAILABLE would have them retry until their timeout. An empty
 *   transactional id is INVALID_REQUEST, as in Kafka.
 * A metadata store outage is COORDINATOR_NOT_AVAILABLE, which every client retries.
 */
import { isWeirError } from '../../core/errors.js';
import { InitProducerId } from '../../core/protocol/generated/index.js';
import type { InitProducerIdResponse } from '../../core/protocol/generated/init-producer-id.js';
import { ErrorCode, errorMessageOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;

export const initProducerIdHandler = defineHandler({
  api: InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const answer = (errorCode: number, producerId = NO_PRODUCER_ID, producerEpoch = NO_PRODUCER_EPOCH): InitProducerIdResponse => ({
      throttleTimeMs: 0,
      errorCode,
      producerId,
      producerEpoch,
    });
    if (req.transactionalId !== null) {
      return answer(req.transactionalId === '' ? ErrorCode.INVALID_REQUEST : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    // Below v3 these fields are absent and decode to their defaults, -1 and -1.
    const { producerId, producerEpoch } = req;
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH) || producerId < NO_PRODUCER_ID || producerEpoch < NO_PRODUCER_EPOCH) {
      return answer(ErrorCode.INVALID_REQUEST);
    }
    try {
      // Ids are allocated from 1 up, far below 2^53: a larger one is unknown, and gets a new id.
      if (producerId === NO_PRODUCER_ID || producerId > BigInt(Number.MAX_SAFE_INTEGER)) {
        const fresh = await agent.metadata.allocateProducerId();
        return answer(ErrorCode.NONE, BigInt(fresh.producerId), fresh.producerEpoch);
      }
      const bumped = await agent.metadata.bumpEpoch(Number(producerId), producerEpoch);
      if (!bumped.ok) {
        agent.log('info', `InitProducerId from ${ctx.peer}: ${bumped.message}`);
        return answer(apiVersion >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      }
      return answer(ErrorCode.NONE, BigInt(bumped.producerId), bumped.producerEpoch);
    } catch (e) {
      agent.log('warn', `InitProducerId from ${ctx.peer} failed: ${errorMessageOf(e)}`);
      return answer(isWeirError(e, 'unavailable') ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.UNKNOWN_SERVER_ERROR);
    }
  },
});
