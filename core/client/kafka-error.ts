/**
 * Kafka error codes as the client sees them. A broker's error code becomes a WeirError (the
 * codebase's closed set of kinds) carrying the Kafka code and name, retriable exactly when the
 * Kafka protocol says a retry can succeed (Kafka's RetriableException subclasses), so the
 * client's retry loops and its callers branch on `retriable` and never on numbers.
 */
import { WeirError, type ErrorKind } from '../errors.js';

/** Codes the client branches on. */
export const KafkaCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  TOPIC_ALREADY_EXISTS: 36,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
} as const;

const names = new Map<number, string>(Object.entries(KafkaCode).map(([k, v]) => [v, k]));

/** Kafka's retriable errors (org.apache.kafka.common.errors.RetriableException and kin). */
const RETRIABLE = new Set<number>([
  KafkaCode.CORRUPT_MESSAGE, // a corrupted transfer; the resend is fresh bytes
  KafkaCode.UNKNOWN_TOPIC_OR_PARTITION, // metadata propagating (a topic just created)
  KafkaCode.LEADER_NOT_AVAILABLE,
  KafkaCode.NOT_LEADER_OR_FOLLOWER,
  KafkaCode.REQUEST_TIMED_OUT,
  KafkaCode.NETWORK_EXCEPTION,
  KafkaCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaCode.COORDINATOR_NOT_AVAILABLE,
  KafkaCode.NOT_COORDINATOR,
  KafkaCode.NOT_ENOUGH_REPLICAS,
  KafkaCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaCode.KAFKA_STORAGE_ERROR,
  KafkaCode.FETCH_SESSION_ID_NOT_FOUND,
  KafkaCode.FENCED_LEADER_EPOCH,
  KafkaCode.UNKNOWN_LEADER_EPOCH,
  KafkaCode.OFFSET_NOT_AVAILABLE,
  KafkaCode.UNSTABLE_OFFSET_COMMIT,
  KafkaCode.THROTTLING_QUOTA_EXCEEDED,
  KafkaCode.REBALANCE_IN_PROGRESS,
]);

/** Codes after which the client must refresh metadata (or the coordinator) before retrying. */
const STALE_ROUTING = new Set<number>([
  KafkaCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaCode.LEADER_NOT_AVAILABLE,
  KafkaCode.NOT_LEADER_OR_FOLLOWER,
  KafkaCode.FENCED_LEADER_EPOCH,
  KafkaCode.UNKNOWN_LEADER_EPOCH,
  KafkaCode.NOT_COORDINATOR,
  KafkaCode.COORDINATOR_NOT_AVAILABLE,
  KafkaCode.NETWORK_EXCEPTION,
]);

export function kafkaErrorName(code: number): string {
  return names.get(code) ?? `error ${code}`;
}

export class KafkaError extends WeirError {
  constructor(
    readonly code: number,
    message: string,
    kind: ErrorKind = kindOf(code),
  ) {
    super(kind, message, { retriable: RETRIABLE.has(code) });
    this.name = 'KafkaError';
  }
  /** The client's routing (leader, coordinator) is stale: refresh before retrying. */
  get staleRouting(): boolean {
    return STALE_ROUTING.has(this.code);
  }
}

function kindOf(code: number): ErrorKind {
  switch (code) {
    case KafkaCode.UNKNOWN_TOPIC_OR_PARTITION:
      return 'not_found';
    case KafkaCode.TOPIC_ALREADY_EXISTS:
      return 'already_exists';
    case KafkaCode.OFFSET_OUT_OF_RANGE:
      return 'offset_out_of_range';
    case KafkaCode.MESSAGE_TOO_LARGE:
      return 'too_large';
    case KafkaCode.CORRUPT_MESSAGE:
      return 'corrupt';
    case KafkaCode.ILLEGAL_GENERATION:
    case KafkaCode.UNKNOWN_MEMBER_ID:
    case KafkaCode.FENCED_INSTANCE_ID:
    case KafkaCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
      return 'conflict';
    default:
      return RETRIABLE.has(code) ? 'unavailable' : 'internal';
  }
}

/** Throws a KafkaError for a non-zero code; `what` names the request and resource. */
export function checkCode(code: number | undefined, what: string, message?: string | null): void {
  if (code === undefined || code === 0) return;
  throw new KafkaError(code, `${what}: ${kafkaErrorName(code)}${message ? ` (${message})` : ''}`);
}

export function isRetriable(e: unknown): boolean {
  return e instanceof WeirError && e.retriable;
}
