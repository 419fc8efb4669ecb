/**
 * One consumer-group member as the end-to-end tests drive it, whatever the client family: it
 * subscribes to a topic, reports its assignment, and reports each record only after committing
 * the offset past it (synchronously), so "what was reported" is "what the group will not read
 * again". Implementations: kafkajs in this process (kafkajs-group-member.ts), librdkafka and
 * kafka-python in a Python child process (py-group-member.ts).
 */
export interface GroupRecord {
  partition: number;
  offset: number;
  value: string;
  /** The member that consumed it. */
  member: string;
}

export interface GroupMember {
  readonly name: string;
  /** The partitions of the topic currently assigned, sorted. */
  assignment(): number[];
  /** Every assignment it has had, in order (the first is the empty one before joining). */
  assignmentHistory(): number[][];
  /** Records consumed and committed so far, in the order they were consumed. */
  records(): GroupRecord[];
  /** Commits that failed (each a short description); the scenarios expect none. */
  commitErrors(): string[];
  /** Resolves once pred() holds (checked as events arrive and every 100 ms); rejects after timeoutMs naming `what`. */
  waitFor(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Leaves the group cleanly (LeaveGroup) and stops. */
  close(): Promise<void>;
  /** The client's own log, for failure messages. */
  log(): string;
}

export interface GroupMemberOptions {
  name: string;
  bootstrap: string;
  topic: string;
  groupId: string;
}

export type GroupMemberFactory = (o: GroupMemberOptions) => Promise<GroupMember>;

/** Polls pred every 100 ms until it holds or timeoutMs passes. */
export async function waitUntil(pred: () => boolean, what: string, timeoutMs: number, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail() ? `\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
