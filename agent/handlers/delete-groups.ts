/**
 * DeleteGroups — serves v0–v2.
 *
 * Deletes each named group (each name once, in request order): its committed offsets, and the
 * group itself if it is Empty here. NON_EMPTY_GROUP while it has members; GROUP_ID_NOT_FOUND when
 * there is neither a group nor an offset by that name.
 */
import { DeleteGroups } from '../../core/protocol/generated/index.js';
import { defineHandler } from '../handler.js';

export const deleteGroupsHandler = defineHandler({
  api: DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const results = [];
    for (const groupId of new Set(req.groupsNames)) {
      const errorCode = await ctx.agent.groups.deleteGroup(groupId);
      if (errorCode === 0) ctx.agent.log('info', `deleted group ${groupId}`);
      results.push({ groupId, errorCode });
    }
    return { throttleTimeMs: 0, results };
  },
});
