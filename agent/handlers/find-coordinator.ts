/**
 * FindCoordinator — serves v0–v6 (v4+ is the batched form with CoordinatorKeys).
 *
 * A group's (key type 0) coordinator is the agent the cluster routes the group id to
 * (agent/cluster/: a hash over the live agents; with one agent, always this one). Transactions (key type 1)
 * are not served yet: COORDINATOR_NOT_AVAILABLE, which clients treat as retriable. librdkafka
 * also reads the advertisement of this API as "the broker supports consumer groups and LZ4".
 * The groups themselves are agent/groups/ (membership in this agent's memory).
 */
import { FindCoordinator } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const GROUP = 0;

export const findCoordinatorHandler = defineHandler({
  api: FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const answer = (key: string) => {
      if (req.keyType !== GROUP) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'transactions are not supported yet' };
      }
      const { nodeId, host, port } = agent.cluster.coordinatorOf(key);
      return { key, nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(answer) };
    const a = answer(req.key);
    return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port };
  },
});
