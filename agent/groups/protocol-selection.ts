/**
 * How a classic group picks its protocol (for consumers: the partition assignor), as Kafka's
 * GroupMetadata does: the candidates are the protocols every member supports; each member votes
 * for the candidate it lists first, and the most votes win. Kafka leaves ties to hash order; here
 * the tie goes to the protocol voted for first in member join order (so usually the leader's
 * choice), which makes the outcome deterministic.
 */
import type { Member, MemberProtocol } from './member.js';

/** The protocols every member supports, in no particular order. */
export function candidateProtocols(members: Iterable<Member>): Set<string> {
  let candidates: Set<string> | null = null;
  for (const m of members) {
    const names = new Set(m.protocols.map((p) => p.name));
    const previous: Set<string> | null = candidates;
    candidates = previous === null ? names : new Set([...previous].filter((n: string) => names.has(n)));
  }
  return candidates ?? new Set<string>();
}

/** The group's protocol; undefined only for a group without members or without a common protocol. */
export function selectProtocol(members: Iterable<Member>): string | undefined {
  const list = [...members];
  const candidates = candidateProtocols(list);
  const votes = new Map<string, number>();
  for (const m of list) {
    const vote = m.vote(candidates);
    if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestVotes = 0;
  for (const [protocol, n] of votes) {
    if (n > bestVotes) {
      best = protocol;
      bestVotes = n;
    }
  }
  return best;
}

/**
 * Whether a member with these protocols may join: into an empty group anything with a protocol
 * type and at least one protocol; otherwise the protocol type must match and at least one of its
 * protocols must be supported by every current member (INCONSISTENT_GROUP_PROTOCOL if not).
 */
export function supportsProtocols(
  group: { isEmpty: boolean; protocolType: string | null; members: Iterable<Member> },
  protocolType: string,
  protocols: readonly MemberProtocol[],
): boolean {
  if (group.isEmpty) return protocolType !== '' && protocols.length > 0;
  if (group.protocolType !== protocolType) return false;
  const members = [...group.members];
  // A rebalancing group whose members all left: nothing to be compatible with.
  if (members.length === 0) return protocols.length > 0;
  const candidates = candidateProtocols(members);
  return protocols.some((p) => candidates.has(p.name));
}
