/**
 * `weir groups list|describe|delete`: inspects and deletes consumer groups on a running agent
 * over the Kafka protocol (agent/cli/wire-client.ts: kafkajs has no plain Fetch at an offset and
 * hides DescribeGroups' raw member bytes), so it works against any agent, as any client would.
 *
 * describe shows a group's members with their assignments, and per partition the committed
 * offset, the log end offset, the lag in records (log end − committed) and the lag in time: the
 * age of the oldest unconsumed record, read with a Fetch at the committed offset (or at the log
 * start, when retention already removed the committed offset's records).
 *
 * Bad flags and names are refused before anything is sent (a UsageError: one line on stderr,
 * exit 2); failures of the operation (agent unreachable, group not found, ...) print one line
 * naming the group or address and exit 1.
 */
import { isWeirError } from '../../core/errors.js';
import {
  DeleteGroups,
  DescribeGroups,
  Fetch,
  FindCoordinator,
  ListGroups,
  ListOffsets,
  OffsetFetch,
} from '../../core/protocol/generated/index.js';
import { readBatchHeader } from '../../core/records/batch.js';
import { decodeBatchRecords } from '../../core/records/records.js';
import { ErrorCode } from '../error-codes.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment } from '../groups/consumer-protocol.js';
import { flagsHelp, UsageError, type FlagDef } from './flags.js';
import { parseSubcommand } from './subcommand-flags.js';
import { WireClient } from './wire-client.js';

const commonFlags: Record<string, FlagDef> = {
  'bootstrap-server': { type: 'string', default: '127.0.0.1:9092', description: 'agent to talk to, host:port' },
  'timeout-ms': { type: 'int', default: 15_000, min: 100, max: 600_000, env: false, description: 'how long to wait for the agent at each step' },
};

const commandFlags: Record<string, Record<string, FlagDef>> = {
  list: { json: { type: 'bool', env: false, description: 'print JSON: every group with its state and protocol type' } },
  describe: { json: { type: 'bool', env: false, description: 'print JSON instead of tables' } },
  delete: { 'if-exists': { type: 'bool', env: false, description: 'succeed if a group does not exist' } },
};

const usage = `usage: weir groups <command> [GROUP...] [flags]

commands:
  list                   print every consumer group, one per line
  describe GROUP...      members and their assignments; per partition the committed offset, the
                         log end offset, the lag in records and in time (age of the oldest
                         unconsumed record)
  delete GROUP...        delete groups without members, with their committed offsets

flags:
${flagsHelp(commonFlags)}
list, describe:
${flagsHelp(commandFlags.describe!)}
delete:
${flagsHelp(commandFlags.delete!)}`;

/** A failure of the operation (not of the command line): exit 1 with this one line. */
class OperationError extends Error {}

const errorNames = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));
const errorName = (code: number): string => errorNames.get(code) ?? `error ${code}`;

function parseBootstrap(raw: string, fromEnv: boolean): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for --bootstrap-server: expected host:port${fromEnv ? ' (from WEIR_BOOTSTRAP_SERVER)' : ''}`);
  }
  return { host: m[1]!, port: Number(m[2]) };
}

function parseGroupIds(names: string[]): string[] {
  for (const name of names) if (name === '') throw new UsageError('invalid group id "": must not be empty');
  return [...new Set(names)];
}

export interface MemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  host: string;
  /** topic → partitions, for the consumer protocol; empty when the group is not Stable. */
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface PartitionView {
  topic: string;
  partition: number;
  /** -1 when the group has no commit for it. */
  committedOffset: number;
  /** null when the partition no longer exists. */
  logEndOffset: number | null;
  /** Records between the committed offset (or the log start, if later) and the log end; null when unknown. */
  lag: number | null;
  /** Age of the oldest unconsumed record in ms (0 when there is none); null when unknown. */
  lagMs: number | null;
  memberId: string | null;
}

export interface GroupView {
  group: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: MemberView[];
  partitions: PartitionView[];
}

/** The connection to a group's coordinator (this agent, or the one FindCoordinator names). */
async function coordinatorFor(bootstrap: WireClient, group: string, connect: (host: string, port: number) => Promise<WireClient>): Promise<WireClient> {
  const v = await bootstrap.version(FindCoordinator, 3);
  const r = await bootstrap.request(FindCoordinator, v, { key: group, keyType: 0, coordinatorKeys: [] });
  if (r.errorCode) throw new OperationError(`cannot find the coordinator of group ${group}: ${errorName(r.errorCode)}`);
  return connect(r.host!, r.port!);
}

async function logOffsets(client: WireClient, parts: Array<{ topic: string; partition: number }>, timestamp: bigint): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (parts.length === 0) return out;
  const v = await client.version(ListOffsets, 7);
  const topics = [...new Set(parts.map((p) => p.topic))].map((name) => ({
    name,
    partitions: parts.filter((p) => p.topic === name).map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
  }));
  const r = await client.request(ListOffsets, v, { replicaId: -1, isolationLevel: 0, topics, timeoutMs: 15_000 });
  for (const t of r.topics ?? []) {
    for (const p of t.partitions ?? []) if (!p.errorCode) out.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.offset));
  }
  return out;
}

/** The timestamp of the first record at or after `offset`, or null if there is none to read. */
async function recordTimestampAt(client: WireClient, topic: string, partition: number, offset: number): Promise<number | null> {
  const v = await client.version(Fetch, 11);
  const r = await client.request(Fetch, v, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const part = r.responses?.[0]?.partitions?.[0];
  // Decoded responses carry one Buffer (pieces exist only on the encoding side).
  const records = part?.records;
  if (part?.errorCode || !Buffer.isBuffer(records)) return null;
  // Whole batches from the one holding `offset`; the first record at or after it is the oldest unconsumed.
  for (let position = 0; position + 61 <= records.length; ) {
    const header = readBatchHeader(records, position);
    if (position + header.sizeBytes > records.length) break;
    position += header.sizeBytes;
    if (header.isControl || header.baseOffset + BigInt(header.lastOffsetDelta) < BigInt(offset)) continue;
    try {
      const first = (await decodeBatchRecords(records, header)).find((rec) => rec.offset >= BigInt(offset));
      if (first !== undefined) return first.timestamp;
    } catch (e) {
      if (!isWeirError(e)) throw e;
      return header.maxTimestamp; // undecodable: the batch's newest timestamp is the best we know
    }
  }
  return null;
}

export async function describeGroup(bootstrap: WireClient, coordinator: WireClient, group: string, now: () => number = Date.now): Promise<GroupView> {
  const dv = await coordinator.version(DescribeGroups, 5);
  const described = (await coordinator.request(DescribeGroups, dv, { groups: [group], includeAuthorizedOperations: false })).groups?.[0];
  if (!described) throw new OperationError(`cannot describe group ${group}: no answer`);
  if (described.errorCode) throw new OperationError(`cannot describe group ${group}: ${errorName(described.errorCode)}`);
  const fv = Math.min(await coordinator.version(OffsetFetch, 7), 7);
  const fetched = await coordinator.request(OffsetFetch, fv, { groupId: group, topics: null, groups: [], requireStable: false });
  if (fetched.errorCode) throw new OperationError(`cannot fetch the offsets of group ${group}: ${errorName(fetched.errorCode)}`);
  const committed = new Map<string, number>();
  for (const t of fetched.topics ?? []) for (const p of t.partitions ?? []) if (!p.errorCode && p.committedOffset! >= 0n) committed.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.committedOffset));
  if (described.groupState === 'Dead' && committed.size === 0) throw new OperationError(`group ${group} does not exist`);

  const owner = new Map<string, string>();
  const members: MemberView[] = (described.members ?? []).map((m) => {
    const decoded = described.protocolType === CONSUMER_PROTOCOL_TYPE && m.memberAssignment!.length > 0 ? decodeAssignment(m.memberAssignment!) : null;
    const assignment = (decoded?.assignedPartitions ?? []).map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }));
    for (const a of assignment) for (const p of a.partitions) owner.set(`${a.topic}\u0000${p}`, m.memberId!);
    return { memberId: m.memberId!, groupInstanceId: m.groupInstanceId ?? null, clientId: m.clientId!, host: m.clientHost!, assignment };
  });

  const keys = [...new Set([...committed.keys(), ...owner.keys()])];
  const parts = keys
    .map((k) => {
      const [topic, partition] = k.split('\u0000');
      return { topic: topic!, partition: Number(partition) };
    })
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const [ends, starts] = await Promise.all([logOffsets(bootstrap, parts, -1n), logOffsets(bootstrap, parts, -2n)]);
  const partitions = await Promise.all(
    parts.map(async ({ topic, partition }): Promise<PartitionView> => {
      const k = `${topic}\u0000${partition}`;
      const committedOffset = committed.get(k) ?? -1;
      const logEndOffset = ends.get(k) ?? null;
      const logStart = starts.get(k) ?? 0;
      let lag: number | null = null;
      let lagMs: number | null = null;
      if (committedOffset >= 0 && logEndOffset !== null) {
        const from = Math.max(committedOffset, logStart);
        lag = Math.max(0, logEndOffset - from);
        if (lag === 0) lagMs = 0;
        else {
          const ts = await recordTimestampAt(bootstrap, topic, partition, from);
          lagMs = ts === null ? null : Math.max(0, now() - ts);
        }
      }
      return { topic, partition, committedOffset, logEndOffset, lag, lagMs, memberId: owner.get(k) ?? null };
    }),
  );
  return {
    group,
    state: described.groupState!,
    protocolType: described.protocolType!,
    protocol: described.protocolData!,
    members,
    partitions,
  };
}

/** "850ms", "12.3s", "4m05s", "3h04m", "2d03h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function printGroup(v: GroupView, out: (line: string) => void): void {
  const protocol = v.protocolType === '' ? '-' : v.protocol === '' ? v.protocolType : `${v.protocolType}/${v.protocol}`;
  out(`Group: ${v.group}\tState: ${v.state}\tProtocol: ${protocol}\tMembers: ${v.members.length}`);
  if (v.members.length > 0) {
    out('');
    const rows = [['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT']];
    for (const m of v.members) {
      const assignment = m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || '-';
      rows.push([m.memberId, m.groupInstanceId ?? '-', m.clientId, m.host, assignment]);
    }
    for (const line of table(rows)) out(line);
  }
  if (v.partitions.length > 0) {
    out('');
    const rows = [['TOPIC', 'PARTITION', 'COMMITTED-OFFSET', 'LOG-END-OFFSET', 'LAG', 'LAG-TIME', 'MEMBER-ID']];
    for (const p of v.partitions) {
      rows.push([
        p.topic,
        String(p.partition),
        p.committedOffset < 0 ? '-' : String(p.committedOffset),
        p.logEndOffset === null ? '-' : String(p.logEndOffset),
        p.lag === null ? '-' : String(p.lag),
        p.lagMs === null ? '-' : formatDuration(p.lagMs),
        p.memberId ?? '-',
      ]);
    }
    for (const line of table(rows)) out(line);
  }
}

export async function groupsCommand(argv: string[]): Promise<number> {
  const parsed = parseSubcommand(argv, { command: 'groups', usage, commonFlags, commandFlags });
  if (parsed.help !== undefined) return parsed.help;
  const { sub, flags: f, positionals } = parsed;
  const bootstrapAddress = parseBootstrap(f['bootstrap-server'] as string, parsed.bootstrapFromEnv);
  const groups = parseGroupIds(positionals);
  if ((sub === 'describe' || sub === 'delete') && groups.length === 0) throw new UsageError(`groups ${sub} needs at least one group id`);
  if (sub === 'list' && groups.length > 0) throw new UsageError(`groups list takes no group ids (got ${JSON.stringify(positionals[0])})`);
  const timeoutMs = f['timeout-ms'] as number;

  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const open: WireClient[] = [];
  const connect = async (host: string, port: number): Promise<WireClient> => {
    const c = await WireClient.connect(host, port, timeoutMs);
    open.push(c);
    return c;
  };
  try {
    let bootstrap: WireClient;
    try {
      bootstrap = await connect(bootstrapAddress.host, bootstrapAddress.port);
    } catch (e) {
      throw new OperationError(`cannot connect to an agent at ${bootstrapAddress.host}:${bootstrapAddress.port}: ${(e as Error).message}`);
    }
    const coordinators = new Map<string, WireClient>([[`${bootstrapAddress.host}:${bootstrapAddress.port}`, bootstrap]]);
    const coordinator = (group: string): Promise<WireClient> =>
      coordinatorFor(bootstrap, group, async (host, port) => {
        const k = `${host}:${port}`;
        let c = coordinators.get(k);
        if (c === undefined) coordinators.set(k, (c = await connect(host, port)));
        return c;
      });
    switch (sub) {
      case 'list': {
        const v = await bootstrap.version(ListGroups, 4);
        const r = await bootstrap.request(ListGroups, v, { statesFilter: [], typesFilter: [] });
        if (r.errorCode) throw new OperationError(`cannot list groups: ${errorName(r.errorCode)}`);
        const listed = (r.groups ?? []).map((g) => ({ group: g.groupId!, state: v >= 4 ? g.groupState! : null, protocolType: g.protocolType! })).sort((a, b) => (a.group < b.group ? -1 : 1));
        if (f.json === true) out(JSON.stringify(listed, null, 2));
        else for (const g of listed) out(g.group);
        break;
      }
      case 'describe': {
        const views: GroupView[] = [];
        for (const group of groups) views.push(await describeGroup(bootstrap, await coordinator(group), group));
        if (f.json === true) out(JSON.stringify(views, null, 2));
        else
          views.forEach((view, i) => {
            if (i > 0) out('');
            printGroup(view, out);
          });
        break;
      }
      case 'delete': {
        for (const group of groups) {
          const c = await coordinator(group);
          const v = await c.version(DeleteGroups, 2);
          const code = (await c.request(DeleteGroups, v, { groupsNames: [group] })).results?.[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
          if (code === ErrorCode.NONE) out(`deleted group ${group}`);
          else if (code === ErrorCode.GROUP_ID_NOT_FOUND && f['if-exists'] === true) out(`group ${group} does not exist`);
          else if (code === ErrorCode.GROUP_ID_NOT_FOUND) throw new OperationError(`cannot delete group ${group}: it does not exist (use --if-exists to ignore)`);
          else if (code === ErrorCode.NON_EMPTY_GROUP) throw new OperationError(`cannot delete group ${group}: it has active members`);
          else throw new OperationError(`cannot delete group ${group}: ${errorName(code)}`);
        }
        break;
      }
    }
    return 0;
  } catch (e) {
    const message = e instanceof OperationError ? e.message : `groups ${sub} failed: ${(e as Error).message}`;
    process.stderr.write(`weir: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
    return 1;
  } finally {
    for (const c of open) c.close();
  }
}
