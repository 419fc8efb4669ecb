/**
 * The "consumer" protocol type's payloads: the subscription a member sends in JoinGroup metadata
 * and the assignment the leader sends back through SyncGroup. The coordinator treats both as
 * opaque bytes; only OffsetDelete (is the group subscribed to this topic?) and `weir groups
 * describe` look inside. Each starts with an int16 version; like Kafka, a version newer than we
 * know is read as the newest we know (later versions only append fields).
 */
import { decodeMessage } from '../../core/protocol/codec.js';
import {
  ConsumerProtocolAssignmentSchema,
  ConsumerProtocolSubscriptionSchema,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from '../../core/protocol/generated/index.js';
import type { MessageSchema } from '../../core/protocol/types.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

function decodeVersioned<T>(schema: MessageSchema, bytes: Buffer): T | null {
  if (bytes.length < 2) return null;
  const version = bytes.readInt16BE(0);
  if (version < 0) return null;
  try {
    return decodeMessage<T>(schema, Math.min(version, schema.validVersions.max), bytes, 2).value;
  } catch {
    return null;
  }
}

/** The member's subscription, or null when the bytes are not a consumer protocol subscription. */
export function decodeSubscription(bytes: Buffer): ConsumerProtocolSubscription | null {
  return decodeVersioned(ConsumerProtocolSubscriptionSchema, bytes);
}

/** The member's assignment, or null when the bytes are not a consumer protocol assignment (an empty assignment is null too). */
export function decodeAssignment(bytes: Buffer): ConsumerProtocolAssignment | null {
  return decodeVersioned(ConsumerProtocolAssignmentSchema, bytes);
}
