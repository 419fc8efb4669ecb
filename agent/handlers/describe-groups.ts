/**
 * DescribeGroups — serves v0–v5.
 *
 * Per requested group (in request order): its state, protocol type, and members with client id
 * and host ("/address"), group.instance.id (v4+), and — while Stable, as Kafka — the selected
 * protocol and each member's metadata and assignment. A group known only by committed offsets is
 * Empty with protocol type ''; a group unknown altogether is Dead, without error (as Kafka before
 * v6). INVALID_GROUP_ID is never returned: the empty group id is a valid group for describing. There
 * are no ACLs, so when asked (v3+) the authorized operations are every group operation.
 */
import { DescribeGroups } from '../../core/protocol/generated/index.js';
import { errorCodeOf } from '../error-codes.js';
import { defineHandler } from '../handler.js';

/** Kafka's AclOperation codes that apply to a group: READ, DELETE, DESCRIBE, as a bit field. */
const GROUP_OPERATIONS = [3, 6, 8].reduce((bits, op) => bits | (1 << op), 0);

/** "Not requested", from the spec's default. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeGroupsHandler = defineHandler({
  api: DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const operations = ctx.apiVersion >= 3 && req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const groups = [];
    for (const groupId of req.groups) {
      try {
        const d = await ctx.agent.groups.describeGroup(groupId);
        groups.push({
          errorCode: d.errorCode,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: operations,
        });
      } catch (e) {
        groups.push({ errorCode: errorCodeOf(e), groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: operations });
      }
    }
    return { throttleTimeMs: 0, groups };
  },
});
