/**
 * One classic consumer group in memory (Kafka's GroupMetadata): its state, generation, selected
 * protocol, leader and members. This class only keeps the bookkeeping consistent; the decisions
 * (when to rebalance, who is fenced, what to answer) and every timer belong to GroupCoordinator.
 *
 * States, as in Kafka:
 *   Empty               no members (offsets may still exist in the metadata store)
 *   PreparingRebalance  waiting for members to (re)join, up to the rebalance timeout
 *   CompletingRebalance joined; waiting for the leader's assignment in SyncGroup
 *   Stable              assignment handed out; members heartbeat
 *   Dead                deleted (the coordinator forgets a dead group at once)
 */
import { WeirError } from '../../core/errors.js';
import { CONSUMER_PROTOCOL_TYPE, decodeSubscription } from './consumer-protocol.js';
import { type JoinGroupMember, type JoinResult, type Member, type MemberProtocol, type SyncResult } from './member.js';
import { selectProtocol } from './protocol-selection.js';
import type { TimerHandle } from './timers.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** The states each state may be entered from (Kafka's validPreviousStates). */
const validPrevious: Record<GroupState, readonly GroupState[]> = {
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  Empty: ['PreparingRebalance'],
};

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  /** Set by the first member; kept while the group is empty, as Kafka does. */
  protocolType: string | null = null;
  /** The selected protocol of the current generation; null while there is none. */
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order (Map order), which is also the order leaders are re-elected in. */
  readonly members = new Map<string, Member>();
  /** group.instance.id → the member id it currently has. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet used to join; each with its expiry timer. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  /** A member joined during the initial delay: the delay is extended (up to the rebalance timeout). */
  newMemberAdded = false;

  /** The deadline of the join phase (PreparingRebalance). */
  joinTimer: TimerHandle | null = null;
  /** Set during the initial delay of an empty group's first rebalance: the join phase does not end early. */
  initialDelay: { remainingMs: number } | null = null;
  /** The deadline for every member of a new generation to send SyncGroup. */
  syncTimer: TimerHandle | null = null;

  constructor(readonly groupId: string) {}

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(next: GroupState): void {
    if (!validPrevious[next].includes(this.state)) {
      throw new WeirError('internal', `group ${this.groupId} cannot go from ${this.state} to ${next}`);
    }
    this.state = next;
  }

  get canRebalance(): boolean {
    return validPrevious.PreparingRebalance.includes(this.state);
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): Member {
    const m = this.members.get(memberId);
    if (m === undefined) throw new WeirError('internal', `group ${this.groupId} has no member ${memberId}`);
    return m;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** The largest rebalance timeout of any member: how long the join phase waits. */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** True when the instance id belongs to a static member that now has another member id. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return true;
  }

  notYetRejoinedMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.awaitingJoin === null);
  }

  /** Adds a member that is waiting in JoinGroup (respond is its pending response). */
  add(member: Member, respond: (r: JoinResult) => void): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
    member.awaitingJoin = respond;
    this.pendingMembers.delete(member.memberId);
  }

  /** Removes a member; the leader passes to the next member in join order. Timers are the caller's. */
  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.members.delete(memberId);
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingSync.delete(memberId);
  }

  /**
   * A member rejoined (or rejoins while waiting): new protocols and timeouts, and its JoinGroup
   * response becomes `respond`. A JoinGroup it had parked before is answered
   * REBALANCE_IN_PROGRESS, so no request is ever left unanswered.
   */
  updateMember(member: Member, protocols: MemberProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, respond: (r: JoinResult) => void, displaced: JoinResult): void {
    member.protocols = protocols;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    this.maybeInvokeJoin(member, displaced);
    member.awaitingJoin = respond;
  }

  /**
   * A static member rejoined with an unknown member id: it keeps its place (and assignment) under
   * a new member id, and whoever still waits under the old id is fenced.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fenced: { join: JoinResult; sync: SyncResult }): Member {
    const member = this.get(oldMemberId);
    this.members.delete(oldMemberId);
    this.maybeInvokeJoin(member, fenced.join);
    this.maybeInvokeSync(member, fenced.sync);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  /**
   * At the end of the join phase the leader must be a member that rejoined: if the old leader did
   * not, the first member that did takes over. False when no member rejoined at all.
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.get(this.leaderId).awaitingJoin !== null) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = selectProtocol(this.members.values()) ?? null;
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.transitionTo('Empty');
    }
    this.pendingSync.clear();
  }

  /** Every member with its metadata for the selected protocol: the leader's view in JoinGroup. */
  currentMemberMetadata(): JoinGroupMember[] {
    const protocol = this.protocolName ?? '';
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(protocol) }));
  }

  maybeInvokeJoin(member: Member, result: JoinResult): boolean {
    const respond = member.awaitingJoin;
    if (respond === null) return false;
    member.awaitingJoin = null;
    respond(result);
    return true;
  }

  maybeInvokeSync(member: Member, result: SyncResult): boolean {
    const respond = member.awaitingSync;
    if (respond === null) return false;
    member.awaitingSync = null;
    respond(result);
    return true;
  }

  /**
   * The topics the members subscribe to, decoded from their metadata for the selected protocol;
   * null when that is unknown (not the consumer protocol, no generation, or undecodable metadata).
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const subscription = decodeSubscription(m.metadata(this.protocolName));
      if (subscription === null) return null;
      for (const t of subscription.topics) topics.add(t);
    }
    return topics;
  }

  /** What ListGroups and DescribeGroups show of the group's selected protocol (Stable only, as Kafka). */
  get describedProtocol(): string {
    return this.is('Stable') ? (this.protocolName ?? '') : '';
  }
}
