/**
 * The handler registry: one entry per Kafka API the agent serves. ApiVersions advertises
 * exactly this list, so adding an API is adding its handler file and one line here.
 */
import type { Handler } from '../handler.js';
import { alterConfigsHandler } from './alter-configs.js';
import { apiVersionsHandler, setApiVersionsRegistry } from './api-versions.js';
import { createPartitionsHandler } from './create-partitions.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteGroupsHandler } from './delete-groups.js';
import { deleteRecordsHandler } from './delete-records.js';
import { deleteTopicsHandler } from './delete-topics.js';
import { describeClusterHandler } from './describe-cluster.js';
import { describeConfigsHandler } from './describe-configs.js';
import { describeGroupsHandler } from './describe-groups.js';
import { fetchHandler } from './fetch.js';
import { findCoordinatorHandler } from './find-coordinator.js';
import { heartbeatHandler } from './heartbeat.js';
import { incrementalAlterConfigsHandler } from './incremental-alter-configs.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { joinGroupHandler } from './join-group.js';
import { leaveGroupHandler } from './leave-group.js';
import { listGroupsHandler } from './list-groups.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { offsetCommitHandler } from './offset-commit.js';
import { offsetDeleteHandler } from './offset-delete.js';
import { offsetFetchHandler } from './offset-fetch.js';
import { produceHandler } from './produce.js';
import { syncGroupHandler } from './sync-group.js';
import { weirMirrorTopicsHandler } from './weir-mirror-topics.js';
import { weirMirrorWriteHandler } from './weir-mirror-write.js';

const handlers: Handler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  findCoordinatorHandler,
  apiVersionsHandler,
  // Consumer groups (classic protocol) and committed offsets.
  joinGroupHandler,
  syncGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  listGroupsHandler,
  describeGroupsHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
  // Idempotent producers.
  initProducerIdHandler,
  // Admin APIs.
  createTopicsHandler,
  deleteTopicsHandler,
  createPartitionsHandler,
  deleteRecordsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  describeClusterHandler,
  // Weir's own APIs (weir-specs/): the mirror's write path and its topics.
  weirMirrorWriteHandler,
  weirMirrorTopicsHandler,
];

export const handlerRegistry: ReadonlyMap<number, Handler> = new Map(handlers.map((h) => [h.api.apiKey, h]));

setApiVersionsRegistry(handlerRegistry);
