/**
 * JoinGroup — serves v0–v9 (classic consumer groups; the coordinator is agent/groups/).
 *
 * The response waits until the group's join phase ends: at once for errors and for a follower
 * rejoining a stable group with unchanged metadata, otherwise when every member has rejoined, at
 * the rebalance timeout, or (for an empty group's first rebalance) after the initial rebalance
 * delay (--group-initial-rebalance-delay-ms). The leader gets every member's metadata for the
 * selected protocol; the others get none. v0 has no rebalance timeout: the session timeout is
 * used. From v4 a first join without group.instance.id gets MEMBER_ID_REQUIRED with the id to
 * join with. v5+ carries group.instance.id (static membership, FENCED_INSTANCE_ID for an old
 * instance); v7+ returns the protocol type and a nullable protocol name; v9 skipAssignment.
 * Errors: INVALID_GROUP_ID (empty id), INVALID_SESSION_TIMEOUT (outside
 * --group-min/max-session-timeout-ms), INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID (e.g. after
 * an agent restart: the client rejoins with a new id), NOT_COORDINATOR while the agent stops.
 */
import { JoinGroup } from '../../core/protocol/generated/index.js';
import { clientHostOf } from '../groups/client-host.js';
import { defineHandler } from '../handler.js';

export const joinGroupHandler = defineHandler({
  api: JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const groupInstanceId = v >= 5 ? req.groupInstanceId : null;
    const r = await ctx.agent.groups.join({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId,
      clientId: ctx.header.clientId ?? '',
      clientHost: clientHostOf(ctx.peer),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      // Copied: decoded bytes point into the request frame, and the group keeps them.
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      requireKnownMemberId: v >= 4 && groupInstanceId === null,
      supportSkippingAssignment: v >= 9,
      reason: v >= 8 ? req.reason : null,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Before v7 the name is not nullable: '' stands for none (and from v7 '' is sent as null, as Kafka does).
      protocolName: v >= 7 ? r.protocolName || null : (r.protocolName ?? ''),
      leader: r.leaderId,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
    };
  },
});
