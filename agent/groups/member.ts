/**
 * One member of a classic consumer group, as the coordinator holds it in memory (Kafka's
 * MemberMetadata): who it is, the protocols it supports (in its order of preference, each with
 * its metadata), the assignment the leader gave it, and the JoinGroup/SyncGroup request it has
 * parked on the coordinator, if any.
 */
import type { TimerHandle } from './timers.js';

export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

/** A member as the group leader sees it in the JoinGroup response. */
export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  /** The leader's member id ('' when there is none, as on errors). */
  leaderId: string;
  memberId: string;
  /** Every member with its metadata for the selected protocol: only in the leader's response. */
  members: JoinGroupMember[];
  /** v9: a static leader rejoining a stable group learns it leads but must not reassign (KIP-814). */
  skipAssignment: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export class Member {
  /** Set while the member waits in a JoinGroup for the rebalance to complete. */
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  /** Set while the member waits in a SyncGroup for the leader's assignment. */
  awaitingSync: ((r: SyncResult) => void) | null = null;
  /** This member's part of the current generation's assignment (opaque to the coordinator). */
  assignment: Buffer = EMPTY_BYTES;
  /**
   * Joined but not yet through a completed JoinGroup: such a member cannot heartbeat (it has no
   * generation), so it gets a long join deadline instead of its session timeout, and expires if
   * the rebalance never completes for it.
   */
  isNew = false;
  /** The session (or new-member join) deadline; see GroupCoordinator.scheduleHeartbeat. */
  heartbeatTimer: TimerHandle | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: MemberProtocol[],
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  /** The member's metadata for one of its protocols (empty if it does not support it). */
  metadata(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Whether a rejoin carries exactly the protocols (names, order and metadata) the member has. */
  matches(protocols: readonly MemberProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
    );
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }
}
