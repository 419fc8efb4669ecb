/**
 * LeaveGroup — serves v0–v5.
 *
 * v0–v2: one member leaves; its error is the response's. v3+ is batched: each member by member
 * id, or by group.instance.id alone (member id '') to remove a static member administratively,
 * each with its own error (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID). A member leaving a Stable
 * group makes it rebalance; the last one leaving makes it Empty.
 */
import { LeaveGroup } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

export const leaveGroupHandler = defineHandler({
  api: LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const leaving = v >= 3
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: v >= 5 ? m.reason : null }))
      : [{ memberId: req.memberId, groupInstanceId: null }];
    const r = ctx.agent.groups.leave(req.groupId, leaving);
    if (v >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    const memberError = r.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
    return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : memberError };
  },
});
