/**
 * ListGroups — serves v0–v5.
 *
 * Every group this agent coordinates (with members, in memory) and every group with committed
 * offsets in the metadata store; a group known only by its offsets is listed as Empty with
 * protocol type '' (a "simple" group, as Kafka lists groups that only ever committed). v4+
 * filters by state (case-insensitive; an unknown state matches nothing) and returns it; v5+
 * filters by type and returns it: every group here is 'classic'.
 */
import { ListGroups } from '../../core/protocol/generated/index.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

export const listGroupsHandler = defineHandler({
  api: ListGroups,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    let groups;
    try {
      groups = await ctx.agent.groups.listGroups();
    } catch (e) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(e), groups: [] };
    }
    const states = new Set((v >= 4 ? req.statesFilter : []).map((s) => s.toLowerCase()));
    const types = new Set((v >= 5 ? req.typesFilter : []).map((s) => s.toLowerCase()));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      groups: groups
        .filter((g) => (states.size === 0 || states.has(g.state.toLowerCase())) && (types.size === 0 || types.has(g.type)))
        .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.type })),
    };
  },
});
