/**
 * The group coordinator for the classic consumer group protocol (Kafka's GroupCoordinator):
 * JoinGroup, SyncGroup, Heartbeat and LeaveGroup drive each group's state machine (group.ts);
 * OffsetCommit is validated against it; ListGroups, DescribeGroups, DeleteGroups and OffsetDelete
 * read it together with the committed offsets in the metadata store.
 *
 * Where state lives: membership only in memory on this agent (it coordinates the groups the
 * cluster routes to it, options.isCoordinator; with one agent that is all of them). Committed offsets are in the
 * GroupOffsetStore and survive restarts. After a restart no group has members, so a member's
 * heartbeat, sync or rejoin with its old member id gets UNKNOWN_MEMBER_ID and an offset commit
 * ILLEGAL_GENERATION (GROUP_ID_NOT_FOUND from v9), which every client answers by joining again.
 *
 * Behaviour follows Kafka's coordinator: MEMBER_ID_REQUIRED on a v4+ first join, static members
 * (group.instance.id) that keep their assignment across restarts of the client, the initial
 * rebalance delay (extended while members keep arriving, up to the rebalance timeout), session
 * timeouts, the join deadline (rebalance timeout; members that do not rejoin are dropped), the
 * sync deadline (members that do not sync are dropped and the group rebalances) and generation
 * fencing. Each rule's Kafka counterpart is named in its method's comment.
 *
 * Everything here is synchronous except the store calls, so no two requests interleave inside a
 * state change. Timers come from an injectable Timers, so tests run the state machine on a
 * manual clock.
 */
import { randomUUID } from 'node:crypto';
import type { GroupOffsetStore, OffsetCommitEntry, TopicPartitionRef } from '../../core/metadata/group-offset-store.js';
import type { LogLevel } from '../agent-context.js';
import { ErrorCode, errorCodeOf } from '../error-codes.js';
import { Group, type GroupState } from './group.js';
import { EMPTY_BYTES, Member, type JoinResult, type MemberProtocol, type SyncResult } from './member.js';
import { selectProtocol, supportsProtocols } from './protocol-selection.js';
import { systemTimers, type Timers } from './timers.js';

/** How long a new member may wait in its first JoinGroup before it is dropped (Kafka's NewMemberJoinTimeoutMs). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface GroupCoordinatorOptions {
  offsets: GroupOffsetStore;
  /** group.initial.rebalance.delay.ms: how long an empty group's first rebalance waits for more members. */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms: JoinGroup outside → INVALID_SESSION_TIMEOUT. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  timers?: Timers;
  log?: (level: LogLevel, msg: string) => void;
  /**
   * Whether this agent is the group's coordinator (agent/cluster/); others answer NOT_COORDINATOR,
   * so each group's membership lives on exactly one agent. Default: every group (one agent).
   */
  isCoordinator?: (groupId: string) => boolean;
}

export interface JoinParams {
  groupId: string;
  /** '' for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  /** JoinGroup v4+ without an instance id: a first join gets a member id and MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: the client understands skipAssignment (KIP-814). */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface SyncParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** null when the request does not carry it (before v5). */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveResult {
  errorCode: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>;
}

export interface CommitParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** The OffsetCommit version: v9+ answers GROUP_ID_NOT_FOUND where older ones get ILLEGAL_GENERATION. */
  apiVersion: number;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
  /** Always 'classic': the only group protocol served. */
  type: 'classic';
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The member's metadata for the selected protocol, and its assignment: only while Stable, as Kafka. */
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  /** '' with an error (NOT_COORDINATOR), as Kafka. */
  state: GroupState | '';
  protocolType: string;
  /** The selected protocol, while Stable; '' otherwise. */
  protocolData: string;
  members: DescribedMember[];
}

const joinError = (memberId: string, errorCode: number): JoinResult => ({
  errorCode,
  generationId: -1,
  protocolType: null,
  protocolName: null,
  leaderId: '',
  memberId,
  members: [],
  skipAssignment: false,
});

const syncError = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES });

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly timers: Timers;
  private readonly log: (level: LogLevel, msg: string) => void;
  private closed = false;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.timers = options.timers ?? systemTimers;
    this.log = options.log ?? (() => undefined);
  }

  /** Another agent coordinates the group (never with one agent). */
  private isElsewhere(groupId: string): boolean {
    return this.options.isCoordinator !== undefined && !this.options.isCoordinator(groupId);
  }

  /** Membership requests get NOT_COORDINATOR while stopping or when another agent coordinates the group. */
  private notCoordinator(groupId: string): boolean {
    return this.closed || this.isElsewhere(groupId);
  }

  // ------------------------------------------------------------------------------------------
  // JoinGroup

  /** Resolves when the member's join completes: at once for errors, else when the rebalance does. */
  join(p: JoinParams): Promise<JoinResult> {
    return new Promise((resolve) => this.handleJoin(p, resolve));
  }

  private handleJoin(p: JoinParams, respond: (r: JoinResult) => void): void {
    if (this.notCoordinator(p.groupId)) return respond(joinError(p.memberId, ErrorCode.NOT_COORDINATOR));
    if (p.groupId === '') return respond(joinError(p.memberId, ErrorCode.INVALID_GROUP_ID));
    if (p.sessionTimeoutMs < this.options.minSessionTimeoutMs || p.sessionTimeoutMs > this.options.maxSessionTimeoutMs) {
      return respond(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const isUnknownMember = p.memberId === '';
    let group = this.groups.get(p.groupId);
    if (group === undefined) {
      // A known member id for a group we do not have: the coordinator restarted (or the group
      // was deleted); the member must start over with a new id.
      if (!isUnknownMember) return respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new Group(p.groupId);
      this.groups.set(p.groupId, group);
    }
    if (isUnknownMember) this.newMemberJoin(group, p, respond);
    else this.currentMemberJoin(group, p, respond);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.maybeForget(group);
  }

  /** Kafka's doNewMemberJoinGroup. */
  private newMemberJoin(group: Group, p: JoinParams, respond: (r: JoinResult) => void): void {
    if (!supportsProtocols({ isEmpty: group.is('Empty'), protocolType: group.protocolType, members: group.members.values() }, p.protocolType, p.protocols)) {
      return respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(p.groupInstanceId);
      if (oldMemberId === undefined) this.addMemberAndRebalance(group, p, newMemberId, respond);
      else this.updateStaticMemberAndRebalance(group, p, oldMemberId, newMemberId, respond);
      return;
    }
    if (p.requireKnownMemberId) {
      // The member must come back with this id; until it does the join phase waits for it, and
      // if it never does, it is forgotten after its session timeout.
      const timer = this.timers.set(() => this.expirePendingMember(group, newMemberId), p.sessionTimeoutMs);
      group.pendingMembers.set(newMemberId, timer);
      return respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    this.addMemberAndRebalance(group, p, newMemberId, respond);
  }

  /** Kafka's doCurrentMemberJoinGroup. */
  private currentMemberJoin(group: Group, p: JoinParams, respond: (r: JoinResult) => void): void {
    if (!supportsProtocols({ isEmpty: group.is('Empty'), protocolType: group.protocolType, members: group.members.values() }, p.protocolType, p.protocols)) {
      return respond(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.pendingMembers.has(p.memberId)) {
      // Pending ids are only handed to dynamic members (Kafka throws here too).
      if (p.groupInstanceId !== null) return respond(joinError(p.memberId, ErrorCode.UNKNOWN_SERVER_ERROR));
      this.timers.clear(group.pendingMembers.get(p.memberId));
      this.addMemberAndRebalance(group, p, p.memberId, respond);
      return;
    }
    if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return respond(joinError(p.memberId, ErrorCode.FENCED_INSTANCE_ID));
    if (!group.has(p.memberId) || (p.groupInstanceId !== null && !group.staticMembers.has(p.groupInstanceId))) {
      return respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    const member = group.get(p.memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(group, member, p, respond);
        return;
      case 'CompletingRebalance':
        // The same metadata again: the member most likely missed the JoinGroup response; resend it.
        if (member.matches(p.protocols)) respond(this.currentGenerationResult(group, member.memberId, group.isLeader(member.memberId)));
        else this.updateMemberAndRebalance(group, member, p, respond);
        return;
      case 'Stable':
        // A leader's rejoin always rebalances: it is how a leader reacts to changes the member
        // metadata does not show (new partitions of a subscribed topic). A follower with
        // unchanged metadata just gets the current generation back.
        if (group.isLeader(member.memberId) || !member.matches(p.protocols)) this.updateMemberAndRebalance(group, member, p, respond);
        else respond(this.currentGenerationResult(group, member.memberId, false));
        return;
      case 'Empty':
      case 'Dead':
        respond(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private currentGenerationResult(group: Group, memberId: string, withMembers: boolean): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? '',
      memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
      skipAssignment: false,
    };
  }

  /** Kafka's addMemberAndRebalance. */
  private addMemberAndRebalance(group: Group, p: JoinParams, memberId: string, respond: (r: JoinResult) => void): void {
    const member = new Member(memberId, p.groupInstanceId, p.clientId, p.clientHost, p.rebalanceTimeoutMs, p.sessionTimeoutMs, p.protocolType, p.protocols);
    member.isNew = true;
    // Members still arriving during an empty group's first rebalance extend the initial delay.
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member, respond);
    // A new member cannot heartbeat before its join completes, and while its JoinGroup is parked
    // we cannot see it disconnect; a long deadline drops members that retried elsewhere.
    this.scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(group, `member ${memberId} joined${p.reason ? ` (${p.reason})` : ''}`);
  }

  private updateMemberAndRebalance(group: Group, member: Member, p: JoinParams, respond: (r: JoinResult) => void): void {
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    this.maybePrepareRebalance(group, `member ${member.memberId} rejoined${p.reason ? ` (${p.reason})` : ''}`);
  }

  /**
   * Kafka's updateStaticMemberAndRebalance: a static member came back with an unknown member id
   * (its process restarted). It takes over its old place under a new id; whoever waits under the
   * old id is fenced. In a Stable group whose protocol would not change, there is no rebalance:
   * the member gets the current generation and, in SyncGroup, its old assignment.
   */
  private updateStaticMemberAndRebalance(group: Group, p: JoinParams, oldMemberId: string, newMemberId: string, respond: (r: JoinResult) => void): void {
    const instanceId = p.groupInstanceId!;
    const previousLeader = group.leaderId;
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId, {
      join: joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID),
      sync: syncError(ErrorCode.FENCED_INSTANCE_ID),
    });
    this.scheduleHeartbeat(group, member);
    group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, respond, joinError(newMemberId, ErrorCode.REBALANCE_IN_PROGRESS));
    switch (group.state) {
      case 'Stable': {
        // Would the selected protocol change with this member's new protocols?
        if (group.protocolName !== null && group.protocolName === selectProtocol(group.members.values())) {
          const isLeader = group.isLeader(newMemberId);
          group.maybeInvokeJoin(member, {
            errorCode: ErrorCode.NONE,
            generationId: group.generationId,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            // Before v9 the old leader id is returned, so a rejoining static leader does not take
            // itself for the leader and run a pointless assignment that a Stable group would never
            // hand out. From v9 it is told, with skipAssignment.
            leaderId: (p.supportSkippingAssignment ? group.leaderId : previousLeader) ?? '',
            memberId: newMemberId,
            members: isLeader && p.supportSkippingAssignment ? group.currentMemberMetadata() : [],
            skipAssignment: isLeader && p.supportSkippingAssignment,
          });
        } else {
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`);
        }
        return;
      }
      case 'CompletingRebalance':
        // The others were told the old member id: rebalance so everyone learns the new one.
        this.maybePrepareRebalance(group, `static member ${instanceId} rejoined during a rebalance`);
        return;
      default:
        // PreparingRebalance: the member simply waits for the join phase to end like the others.
        return;
    }
  }

  /** Kafka's maybePrepareRebalance + prepareRebalance. */
  private maybePrepareRebalance(group: Group, reason: string): void {
    if (group.canRebalance) this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    // Members waiting for an assignment must rejoin instead.
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    this.clearSyncDeadline(group);
    const wasEmpty = group.is('Empty');
    this.log('info', `group ${group.groupId}: preparing to rebalance in state ${group.state} with old generation ${group.generationId} (${reason})`);
    group.transitionTo('PreparingRebalance');
    if (wasEmpty) {
      const delay = this.options.initialRebalanceDelayMs;
      this.startInitialDelay(group, delay, Math.max(group.rebalanceTimeoutMs - delay, 0));
    } else {
      this.startJoinDeadline(group, group.rebalanceTimeoutMs);
    }
  }

  /**
   * Kafka's InitialDelayedJoin: an empty group's first rebalance waits `delayMs` for more members
   * to arrive, and again (up to the rebalance timeout in all) as long as new ones keep coming, so a
   * group of consumers starting together gets one rebalance instead of one per member.
   */
  private startInitialDelay(group: Group, delayMs: number, remainingMs: number): void {
    this.clearJoinDeadline(group);
    group.initialDelay = { remainingMs };
    group.joinTimer = this.timers.set(() => {
      group.joinTimer = null;
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false;
        const delay = Math.min(this.options.initialRebalanceDelayMs, remainingMs);
        this.startInitialDelay(group, delay, Math.max(remainingMs - delay, 0));
      } else {
        group.initialDelay = null;
        this.completeJoin(group);
      }
    }, delayMs);
  }

  /** Kafka's DelayedJoin: the join phase ends when every member has rejoined, or at this deadline. */
  private startJoinDeadline(group: Group, timeoutMs: number): void {
    this.clearJoinDeadline(group);
    group.initialDelay = null;
    group.joinTimer = this.timers.set(() => {
      group.joinTimer = null;
      this.completeJoin(group);
    }, timeoutMs);
  }

  private clearJoinDeadline(group: Group): void {
    if (group.joinTimer !== null) this.timers.clear(group.joinTimer);
    group.joinTimer = null;
  }

  private tryCompleteJoin(group: Group): void {
    if (group.is('PreparingRebalance') && group.initialDelay === null && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  /** Kafka's onCompleteJoin: the end of the join phase. */
  private completeJoin(group: Group): void {
    if (!group.is('PreparingRebalance') || this.groups.get(group.groupId) !== group) return;
    this.clearJoinDeadline(group);
    group.initialDelay = null;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place (their
    // process may be restarting) until their session times out.
    for (const m of group.notYetRejoinedMembers()) {
      if (m.isStatic) continue;
      this.log('info', `group ${group.groupId}: member ${m.memberId} did not rejoin within the rebalance timeout; removing it`);
      this.clearHeartbeat(m);
      group.remove(m.memberId);
    }
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Only static members that have not rejoined are left: wait for them (or their session timeouts).
      this.log('warn', `group ${group.groupId}: no member rejoined; waiting another rebalance timeout`);
      this.startJoinDeadline(group, group.rebalanceTimeoutMs);
      return;
    }
    group.initNextGeneration();
    if (group.is('Empty')) {
      this.log('info', `group ${group.groupId}: generation ${group.generationId} is empty`);
      this.maybeForget(group);
      return;
    }
    this.log(
      'info',
      `group ${group.groupId}: stabilized generation ${group.generationId} with ${group.members.size} member(s), protocol ${group.protocolType}/${group.protocolName}, leader ${group.leaderId}`,
    );
    const everyone = group.currentMemberMetadata();
    for (const member of group.members.values()) {
      const isLeader = group.isLeader(member.memberId);
      group.maybeInvokeJoin(member, {
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        leaderId: group.leaderId ?? '',
        memberId: member.memberId,
        members: isLeader ? everyone : [],
        skipAssignment: false,
      });
      this.scheduleHeartbeat(group, member);
      member.isNew = false;
      group.pendingSync.add(member.memberId);
    }
    this.startSyncDeadline(group);
  }

  /**
   * Kafka's pending-sync expiration: every member of a new generation must send SyncGroup within
   * the rebalance timeout; those that do not are removed and the group rebalances without them.
   */
  private startSyncDeadline(group: Group): void {
    if (group.syncTimer !== null) this.timers.clear(group.syncTimer);
    const generation = group.generationId;
    group.syncTimer = this.timers.set(() => {
      group.syncTimer = null;
      if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable')) || group.pendingSync.size === 0) return;
      const missing = [...group.pendingSync];
      this.log('info', `group ${group.groupId}: member(s) ${missing.join(', ')} did not sync within the rebalance timeout; removing them`);
      for (const id of missing) {
        const m = group.members.get(id);
        if (m !== undefined) {
          this.clearHeartbeat(m);
          group.maybeInvokeSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        }
        group.remove(id);
      }
      this.prepareRebalance(group, 'members did not sync in time');
      this.tryCompleteJoin(group);
    }, group.rebalanceTimeoutMs);
  }

  /** Cancels the sync deadline and forgets who still had to sync (a new rebalance starts over). */
  private clearSyncDeadline(group: Group): void {
    if (group.syncTimer !== null) this.timers.clear(group.syncTimer);
    group.syncTimer = null;
    group.pendingSync.clear();
  }

  private removePendingSync(group: Group, memberId: string): void {
    group.pendingSync.delete(memberId);
    if (group.pendingSync.size === 0 && group.syncTimer !== null) {
      this.timers.clear(group.syncTimer);
      group.syncTimer = null;
    }
  }

  // ------------------------------------------------------------------------------------------
  // SyncGroup

  /** Resolves with the member's assignment once the leader has sent it (at once in a Stable group). */
  sync(p: SyncParams): Promise<SyncResult> {
    return new Promise((resolve) => this.handleSync(p, resolve));
  }

  /** Kafka's doSyncGroup. */
  private handleSync(p: SyncParams, respond: (r: SyncResult) => void): void {
    if (this.notCoordinator(p.groupId)) return respond(syncError(ErrorCode.NOT_COORDINATOR));
    if (p.groupId === '') return respond(syncError(ErrorCode.INVALID_GROUP_ID));
    const group = this.groups.get(p.groupId);
    if (group === undefined) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return respond(syncError(ErrorCode.FENCED_INSTANCE_ID));
    if (!group.has(p.memberId)) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (p.generationId !== group.generationId) return respond(syncError(ErrorCode.ILLEGAL_GENERATION));
    if ((p.protocolType !== null && p.protocolType !== group.protocolType) || (p.protocolName !== null && p.protocolName !== group.protocolName)) {
      return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = group.get(p.memberId);
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        group.maybeInvokeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.removePendingSync(group, p.memberId);
        if (group.isLeader(p.memberId)) {
          // Members the leader left out get an empty assignment; entries for non-members are ignored.
          const assigned = new Map(p.assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of group.members.values()) m.assignment = assigned.get(m.memberId) ?? EMPTY_BYTES;
          this.propagateAssignment(group, ErrorCode.NONE);
          group.transitionTo('Stable');
          this.log('info', `group ${group.groupId}: assignment of generation ${group.generationId} received from leader ${p.memberId}`);
        }
        return;
      }
      case 'Stable':
        this.removePendingSync(group, p.memberId);
        respond({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
        this.scheduleHeartbeat(group, member);
        return;
    }
  }

  private propagateAssignment(group: Group, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of group.members.values()) {
      const answered = group.maybeInvokeSync(m, {
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: m.assignment,
      });
      // Its session may have passed while it waited for the leader: start it afresh.
      if (answered) this.scheduleHeartbeat(group, m);
    }
  }

  private resetAndPropagateAssignmentError(group: Group, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(group, errorCode);
  }

  // ------------------------------------------------------------------------------------------
  // Heartbeat and session timeouts

  /** Kafka's handleHeartbeat; returns the error code. */
  heartbeat(p: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): number {
    if (this.notCoordinator(p.groupId)) return ErrorCode.NOT_COORDINATOR;
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(p.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    if (!group.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.get(p.memberId);
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleHeartbeat(group, member);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        // The heartbeat still counts; the error tells the member to rejoin.
        this.scheduleHeartbeat(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
    }
  }

  /** Restarts the member's session (or new-member join) deadline. */
  private scheduleHeartbeat(group: Group, member: Member, timeoutMs = member.sessionTimeoutMs): void {
    this.clearHeartbeat(member);
    if (this.closed) return;
    member.heartbeatTimer = this.timers.set(() => {
      member.heartbeatTimer = null;
      this.expireHeartbeat(group, member);
    }, timeoutMs);
  }

  private clearHeartbeat(member: Member): void {
    if (member.heartbeatTimer !== null) this.timers.clear(member.heartbeatTimer);
    member.heartbeatTimer = null;
  }

  /**
   * Kafka's onExpireHeartbeat. A member parked in JoinGroup or SyncGroup has not missed anything
   * (the join and sync deadlines govern it, and its session restarts when it is answered), unless
   * it is new: then this is the new-member join deadline.
   */
  private expireHeartbeat(group: Group, member: Member): void {
    if (this.groups.get(group.groupId) !== group || group.members.get(member.memberId) !== member) return;
    if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return;
    this.log('info', `group ${group.groupId}: member ${member.memberId} failed (session timeout); removing it`);
    this.removeMemberAndUpdateGroup(group, member, 'session timeout');
  }

  private expirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    this.log('debug', `group ${group.groupId}: pending member ${memberId} never rejoined; forgetting it`);
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group);
    this.maybeForget(group);
  }

  /** Kafka's removeMemberAndUpdateGroup. */
  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    // A member removed while parked is answered, so a client that is still there rejoins.
    group.maybeInvokeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    group.maybeInvokeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.clearHeartbeat(member);
    group.remove(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, `member ${member.memberId} left (${reason})`);
        this.tryCompleteJoin(group);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
    this.maybeForget(group);
  }

  // ------------------------------------------------------------------------------------------
  // LeaveGroup

  /** Kafka's handleLeaveGroup: members leave one by one; v3+ batches them and allows removal by instance id. */
  leave(groupId: string, leaving: MemberIdentity[]): LeaveResult {
    if (this.notCoordinator(groupId)) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const group = this.groups.get(groupId);
    const result = (m: MemberIdentity, errorCode: number) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode });
    if (group === undefined) return { errorCode: ErrorCode.NONE, members: leaving.map((m) => result(m, ErrorCode.UNKNOWN_MEMBER_ID)) };
    const members = leaving.map((m) => {
      const reason = `left the group${m.reason ? `: ${m.reason}` : ''}`;
      if (m.memberId === '') {
        // Administrative removal of a static member by its instance id.
        const current = m.groupInstanceId === null ? undefined : group.staticMembers.get(m.groupInstanceId);
        if (current === undefined || !group.has(current)) return result(m, ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(group, group.get(current), reason);
        return result(m, ErrorCode.NONE);
      }
      if (group.pendingMembers.has(m.memberId)) {
        this.timers.clear(group.pendingMembers.get(m.memberId));
        this.expirePendingMember(group, m.memberId);
        return result(m, ErrorCode.NONE);
      }
      if (group.isStaticMemberFenced(m.groupInstanceId, m.memberId)) return result(m, ErrorCode.FENCED_INSTANCE_ID);
      if (!group.has(m.memberId)) return result(m, ErrorCode.UNKNOWN_MEMBER_ID);
      this.log('info', `group ${groupId}: member ${m.memberId} ${reason}`);
      this.removeMemberAndUpdateGroup(group, group.get(m.memberId), reason);
      return result(m, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  // ------------------------------------------------------------------------------------------
  // Offsets

  /**
   * Kafka's handleCommitOffsets: checks the committer against the group, then stores the entries.
   * Returns one error code per entry. A commit with generation -1 and no member id (a consumer
   * that assigns partitions itself, or an admin tool) is accepted only while the group has no
   * members. In PreparingRebalance members may still commit (they learn of the rebalance from
   * their heartbeats); in CompletingRebalance they get REBALANCE_IN_PROGRESS.
   */
  async commitOffsets(p: CommitParams, entries: OffsetCommitEntry[]): Promise<number[]> {
    const error = this.validateCommit(p);
    if (error !== ErrorCode.NONE) return entries.map(() => error);
    if (entries.length === 0) return [];
    try {
      const results = await this.options.offsets.commitOffsets(p.groupId, entries);
      return results.map((r) => (r === 'ok' ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    } catch (e) {
      this.log('warn', `group ${p.groupId}: offset commit failed: ${(e as Error).message}`);
      return entries.map(() => errorCodeOf(e));
    }
  }

  private validateCommit(p: CommitParams): number {
    if (this.isElsewhere(p.groupId)) return ErrorCode.NOT_COORDINATOR;
    const group = this.groups.get(p.groupId);
    const simple = p.generationId < 0 && p.memberId === '' && p.groupInstanceId === null;
    if (group === undefined) {
      if (simple) return ErrorCode.NONE;
      if (p.generationId < 0) return ErrorCode.UNKNOWN_MEMBER_ID;
      return p.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
    }
    if (!simple) {
      if (group.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!group.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      // Only members may commit for a group that has members.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    switch (group.state) {
      case 'Empty':
        return ErrorCode.NONE;
      case 'Stable':
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, group.get(p.memberId));
        return ErrorCode.NONE;
      case 'CompletingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /**
   * Kafka's handleDeleteOffsets (KIP-496): allowed for an empty group, and for partitions of topics
   * no member subscribes to in a consumer group; GROUP_ID_NOT_FOUND when the group has neither
   * members nor offsets. `partitions` must name existing topics (the handler answers the others).
   */
  async deleteOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<{ errorCode: number; partitions: number[] }> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, partitions: [] };
    if (this.isElsewhere(groupId)) return { errorCode: ErrorCode.NOT_COORDINATOR, partitions: [] };
    const group = this.groups.get(groupId);
    let eligible: boolean[];
    if (group === undefined || group.is('Empty')) {
      if (group === undefined && (await this.options.offsets.fetchOffsets(groupId, null)).length === 0) {
        return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitions: [] };
      }
      eligible = partitions.map(() => true);
    } else if (group.protocolType === 'consumer') {
      const subscribed = group.subscribedTopics() ?? new Set<string>();
      eligible = partitions.map((p) => !subscribed.has(p.topic));
    } else {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] };
    }
    const deletable = partitions.filter((_, i) => eligible[i]);
    if (deletable.length > 0) {
      try {
        await this.options.offsets.deleteOffsets(groupId, deletable);
      } catch (e) {
        return { errorCode: errorCodeOf(e), partitions: [] };
      }
    }
    return { errorCode: ErrorCode.NONE, partitions: eligible.map((ok) => (ok ? ErrorCode.NONE : ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC)) };
  }

  // ------------------------------------------------------------------------------------------
  // ListGroups, DescribeGroups, DeleteGroups

  /** Every group with members here or offsets in the store; the latter alone are listed as Empty simple groups. */
  async listGroups(): Promise<ListedGroup[]> {
    const listed = new Map<string, ListedGroup>();
    for (const g of this.groups.values()) listed.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state, type: 'classic' });
    for (const id of await this.options.offsets.listGroupsWithOffsets()) {
      if (!listed.has(id)) listed.set(id, { groupId: id, protocolType: '', state: 'Empty', type: 'classic' });
    }
    return [...listed.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** Kafka's handleDescribeGroup: a group we know nothing about is described as Dead, without error. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    if (this.isElsewhere(groupId)) return { groupId, errorCode: ErrorCode.NOT_COORDINATOR, state: '', protocolType: '', protocolData: '', members: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) {
      const hasOffsets = (await this.options.offsets.fetchOffsets(groupId, null)).length > 0;
      return { groupId, errorCode: ErrorCode.NONE, state: hasOffsets ? 'Empty' : 'Dead', protocolType: '', protocolData: '', members: [] };
    }
    const stable = group.is('Stable');
    const protocol = group.describedProtocol;
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      state: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: protocol,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadata(protocol) : EMPTY_BYTES,
        assignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  /**
   * Kafka's handleDeleteGroups: a group with members → NON_EMPTY_GROUP; an unknown one →
   * GROUP_ID_NOT_FOUND; otherwise its offsets are deleted and the group is forgotten.
   */
  async deleteGroup(groupId: string): Promise<number> {
    if (this.isElsewhere(groupId)) return ErrorCode.NOT_COORDINATOR;
    const group = this.groups.get(groupId);
    if (group !== undefined && !group.is('Empty')) return ErrorCode.NON_EMPTY_GROUP;
    if (group !== undefined) {
      group.transitionTo('Dead');
      this.forget(group);
    }
    try {
      const hadOffsets = await this.options.offsets.deleteGroup(groupId);
      return hadOffsets || group !== undefined ? ErrorCode.NONE : ErrorCode.GROUP_ID_NOT_FOUND;
    } catch (e) {
      return errorCodeOf(e);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle

  /** The group's state, for tests and logs. */
  stateOf(groupId: string): { state: GroupState; generationId: number; leaderId: string | null; members: string[]; protocolName: string | null } | null {
    const g = this.groups.get(groupId);
    return g === undefined ? null : { state: g.state, generationId: g.generationId, leaderId: g.leaderId, members: [...g.members.keys()], protocolName: g.protocolName };
  }

  /** An empty group with nothing pending is dropped from memory; its offsets, if any, stay in the store. */
  private maybeForget(group: Group): void {
    if (group.is('Empty') && group.members.size === 0 && group.pendingMembers.size === 0) this.forget(group);
  }

  private forget(group: Group): void {
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    this.clearJoinDeadline(group);
    this.clearSyncDeadline(group);
    for (const t of group.pendingMembers.values()) this.timers.clear(t);
    group.pendingMembers.clear();
    for (const m of group.members.values()) this.clearHeartbeat(m);
  }

  /**
   * Stops every timer and answers every parked JoinGroup and SyncGroup with NOT_COORDINATOR (so
   * their clients look for the coordinator again), before the agent closes its connections.
   * Afterwards joins and syncs are refused; commits are still checked and stored.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) {
      this.clearJoinDeadline(group);
      if (group.syncTimer !== null) this.timers.clear(group.syncTimer);
      group.syncTimer = null;
      for (const t of group.pendingMembers.values()) this.timers.clear(t);
      for (const m of group.members.values()) {
        this.clearHeartbeat(m);
        group.maybeInvokeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        group.maybeInvokeSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }
}
