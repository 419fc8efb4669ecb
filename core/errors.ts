/**
 * Weir's internal error kinds. Inside the codebase we throw and return these; only the agent's
 * edge (handlers) maps them to Kafka error codes (agent/error-codes.ts). A small closed set keeps
 * every layer's failure handling honest: each kind says whether a retry can help.
 */
export type ErrorKind =
  | 'not_found' // an object, topic or partition that does not exist
  | 'already_exists' // create of something that exists
  | 'invalid_argument' // a value the caller sent is malformed or out of range
  | 'corrupt' // bytes fail a checksum or structural check
  | 'too_large' // exceeds a configured size bound
  | 'offset_out_of_range' // read before log start or after high watermark
  | 'conflict' // optimistic concurrency lost, fencing, stale generation/epoch
  | 'unsupported' // a version or feature we do not serve
  | 'unavailable' // a backend (object store, metadata store) is down or timed out
  | 'internal'; // a bug: should never happen

const retriableKinds: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['unavailable', 'conflict']);

export class WeirError extends Error {
  readonly kind: ErrorKind;
  readonly retriable: boolean;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WeirError';
    this.kind = kind;
    this.retriable = options?.retriable ?? retriableKinds.has(kind);
  }
}

export function isWeirError(e: unknown, kind?: ErrorKind): e is WeirError {
  return e instanceof WeirError && (kind === undefined || e.kind === kind);
}
