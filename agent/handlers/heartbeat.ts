/**
 * Heartbeat — serves v0–v4.
 *
 * Keeps a member's session alive. NONE while the group is Stable or waiting for the leader's
 * assignment; REBALANCE_IN_PROGRESS while it is rebalancing (the member must rejoin); and the
 * fencing errors: UNKNOWN_MEMBER_ID (not a member, e.g. after an agent restart),
 * ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+), INVALID_GROUP_ID for the empty group id.
 */
import { Heartbeat } from '../../core/protocol/generated/index.js';
import { defineHandler } from '../handler.js';

export const heartbeatHandler = defineHandler({
  api: Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const errorCode = ctx.agent.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
