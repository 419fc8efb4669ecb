/**
 * DescribeCluster — serves v0–v1.
 *
 * The live agents are the brokers (advertised host and port, as in Metadata) and the one with
 * the lowest node id is named controller: any agent can serve any request, admin ones included.
 * Endpoint type (v1) 1 (brokers) and 2 (controllers) get the same answer, since the agent also
 * serves the admin APIs a controller would; any other → INVALID_REQUEST. There are no ACLs, so
 * when asked, the authorized operations are every operation on a cluster resource.
 */
import { DescribeCluster } from '../../core/protocol/generated/index.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;

/** Kafka's AclOperation codes that apply to the cluster resource, as a bit field. */
const CLUSTER_OPERATIONS = [
  5, // CREATE
  7, // ALTER
  8, // DESCRIBE
  9, // CLUSTER_ACTION
  10, // DESCRIBE_CONFIGS
  11, // ALTER_CONFIGS
  12, // IDEMPOTENT_WRITE
].reduce((bits, op) => bits | (1 << op), 0);

/** "Not requested", from the spec's default. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

export const describeClusterHandler = defineHandler({
  api: DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const { agent, apiVersion } = ctx;
    const endpointType = apiVersion >= 1 ? req.endpointType : ENDPOINT_BROKERS;
    if (endpointType !== ENDPOINT_BROKERS && endpointType !== ENDPOINT_CONTROLLERS) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown endpoint type ${endpointType}`, endpointType, clusterId: agent.clusterId, brokers: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: agent.clusterId,
      controllerId: agent.cluster.controller().nodeId,
      brokers: agent.cluster.members().map((m) => ({ brokerId: m.nodeId, host: m.host, port: m.port, rack: null })),
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : OPERATIONS_NOT_REQUESTED,
    };
  },
});
