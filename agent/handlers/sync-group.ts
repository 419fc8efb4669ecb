/**
 * SyncGroup — serves v0–v5.
 *
 * The leader sends every member's assignment (bytes the coordinator passes through untouched;
 * members it leaves out get an empty one); each member's response waits until the leader's
 * SyncGroup arrives, and returns its own assignment. In a Stable group the current assignment is
 * returned at once. Fencing: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION (not the current generation),
 * FENCED_INSTANCE_ID (v3+, an older instance of a static member), REBALANCE_IN_PROGRESS (the
 * group is rebalancing again: rejoin). v5+ must name the protocol type and name, which must be the
 * group's (else INCONSISTENT_GROUP_PROTOCOL), and gets them back.
 */
import { SyncGroup } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

export const syncGroupHandler = defineHandler({
  api: SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    if (v >= 5 && (req.protocolType === null || req.protocolName === null)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    }
    const r = await ctx.agent.groups.sync({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      // Copied: decoded bytes point into the request frame, and the group keeps them.
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
});
