/**
 * The consumer-group scenario every client family goes through (test/e2e/consumer-groups-*):
 *
 *   1. two members a and b subscribe to a six-partition topic and split it 3/3;
 *   2. a first batch of records is consumed, each member reading only its own partitions;
 *   3. b leaves; a takes over all six partitions and consumes a second batch;
 *   4. a leaves, the agent restarts on the same data dir, and the committed offsets are still there;
 *   5. a third batch is produced and a new member c resumes exactly at the committed offsets.
 *
 * Members commit synchronously before reporting a record, so in the end every produced record
 * must have been reported exactly once across a, b and c: none lost, none duplicated.
 */
import assert from 'node:assert/strict';
import type { Agent } from './agent-process.js';
import type { GroupMember, GroupMemberFactory, GroupRecord } from './group-member.js';
import { connectedAdmin, connectedProducer, createTopics, kafkajsProduce } from './kafkajs.js';

const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);

export interface ScenarioOptions {
  agent: Agent;
  topic: string;
  groupId: string;
  start: GroupMemberFactory;
  /** Records per partition in each of the three batches; default 20. */
  perPartition?: number;
  /** The protocol (assignor) the group must select, checked with DescribeGroups while a and b are in it. */
  protocol: string;
  /**
   * Incremental (cooperative) rebalancing: a member never gives up all its partitions in a
   * rebalance, so after its first assignment it is never left with none until it leaves.
   */
  cooperative?: boolean;
}

interface Produced {
  partition: number;
  offset: number;
  value: string;
}

async function produceBatch(bootstrap: string, topic: string, batch: number, perPartition: number): Promise<Produced[]> {
  const records = ALL.flatMap((partition) => Array.from({ length: perPartition }, (_, i) => ({ key: null, value: `${topic}/${batch}/${partition}/${i}`, partition })));
  const producer = await connectedProducer(bootstrap);
  try {
    const delivered = await kafkajsProduce(producer, topic, records, { chunk: records.length });
    return delivered.map((d, i) => {
      assert.ok(d.offset !== undefined, `record ${i} of batch ${batch} was not delivered: ${JSON.stringify(d)}`);
      return { partition: d.partition!, offset: d.offset, value: records[i]!.value! };
    });
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset of every partition (-1 when none), via kafkajs admin (OffsetFetch). */
export async function committedOffsets(bootstrap: string, groupId: string, topic: string): Promise<number[]> {
  const admin = await connectedAdmin(bootstrap);
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ALL.map((p) => byPartition.get(p) ?? -1);
  } finally {
    await admin.disconnect();
  }
}

const key = (r: { partition: number; offset: number; value: string }): string => `${r.partition}@${r.offset}=${r.value}`;

function describeMembers(members: GroupMember[]): string {
  return members.map((m) => `${m.name}: assignment [${m.assignment().join(',')}], ${m.records().length} records`).join('; ');
}

/** Runs the scenario; returns the restarted agent (the caller's handle to it). */
export async function runHandoffAndRestart(o: ScenarioOptions): Promise<Agent> {
  const n = o.perPartition ?? 20;
  const { topic, groupId } = o;
  let agent = o.agent;
  const produced: Produced[] = [];
  const open = new Set<GroupMember>();
  const started: GroupMember[] = [];
  const start = async (name: string): Promise<GroupMember> => {
    const m = await o.start({ name, bootstrap: agent.bootstrap, topic, groupId });
    open.add(m);
    started.push(m);
    return m;
  };
  const close = async (m: GroupMember): Promise<void> => {
    open.delete(m);
    await m.close();
  };
  const total = (): number => started.reduce((sum, m) => sum + m.records().length, 0);
  try {
    await createTopics(agent.bootstrap, [{ topic, numPartitions: PARTITIONS }]);

    // 1. Two members split the six partitions.
    const [a, b] = await Promise.all([start('a'), start('b')]);
    await a.waitFor(
      () => a.assignment().length === 3 && b.assignment().length === 3 && new Set([...a.assignment(), ...b.assignment()]).size === PARTITIONS,
      `a and b to split the ${PARTITIONS} partitions 3/3 (${describeMembers([a, b])})`,
    );

    const admin = await connectedAdmin(agent.bootstrap);
    try {
      const { groups } = await admin.describeGroups([groupId]);
      assert.deepEqual(
        groups.map((g) => ({ state: g.state, protocolType: g.protocolType, protocol: g.protocol, members: g.members.length })),
        [{ state: 'Stable', protocolType: 'consumer', protocol: o.protocol, members: 2 }],
      );
    } finally {
      await admin.disconnect();
    }

    // 2. Each consumes its own partitions' share of the first batch.
    produced.push(...(await produceBatch(agent.bootstrap, topic, 1, n)));
    await a.waitFor(() => total() >= PARTITIONS * n, `the first batch to be consumed (${describeMembers([a, b])})`);
    for (const m of [a, b]) {
      const foreign = m.records().filter((r) => !m.assignment().includes(r.partition));
      assert.deepEqual(foreign, [], `${m.name} read partitions outside its assignment [${m.assignment().join(',')}]`);
      assert.equal(m.records().length, 3 * n, `${m.name} read its three partitions' ${3 * n} records`);
    }
    assert.deepEqual(await committedOffsets(agent.bootstrap, groupId, topic), ALL.map(() => n));

    // 3. b leaves: a takes over everything.
    await close(b);
    await a.waitFor(() => a.assignment().length === PARTITIONS, `a to take over all ${PARTITIONS} partitions after b left (${describeMembers([a])})`);
    produced.push(...(await produceBatch(agent.bootstrap, topic, 2, n)));
    await a.waitFor(() => total() >= 2 * PARTITIONS * n, `a to consume the second batch (${describeMembers([a, b])})`);
    assert.deepEqual(await committedOffsets(agent.bootstrap, groupId, topic), ALL.map(() => 2 * n));

    if (o.cooperative) {
      const history = a.assignmentHistory();
      const firstNonEmpty = history.findIndex((x) => x.length > 0);
      assert.deepEqual(history.slice(firstNonEmpty).filter((x) => x.length === 0), [], `a never lost all its partitions: ${JSON.stringify(history)}`);
    }

    // 4. Everything stops; the agent restarts on the same data dir; the commits survived.
    await close(a);
    agent = await agent.restart();
    assert.deepEqual(await committedOffsets(agent.bootstrap, groupId, topic), ALL.map(() => 2 * n), 'committed offsets after the restart');

    // 5. A new member resumes exactly where the group left off.
    produced.push(...(await produceBatch(agent.bootstrap, topic, 3, n)));
    const c = await start('c');
    await c.waitFor(() => c.records().length >= PARTITIONS * n, `c to consume the third batch after the restart (${describeMembers([c])})`);
    const firstOffsets = ALL.map((p) => c.records().find((r) => r.partition === p)?.offset ?? -1);
    assert.deepEqual(firstOffsets, ALL.map(() => 2 * n), 'c starts every partition at the committed offset');
    await close(c);
    assert.deepEqual(await committedOffsets(agent.bootstrap, groupId, topic), ALL.map(() => 3 * n));

    // Exactly once, across all three members.
    const consumed: GroupRecord[] = started.flatMap((m) => m.records());
    const counts = new Map<string, number>();
    for (const r of consumed) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
    const duplicated = [...counts].filter(([, c]) => c > 1).map(([k, c]) => `${k} x${c}`);
    const missing = produced.map(key).filter((k) => !counts.has(k));
    const unexpected = [...counts.keys()].filter((k) => !produced.some((p) => key(p) === k));
    assert.deepEqual({ duplicated, missing, unexpected }, { duplicated: [], missing: [], unexpected: [] });
    assert.equal(consumed.length, 3 * PARTITIONS * n);
    for (const m of started) assert.deepEqual(m.commitErrors(), [], `${m.name} had failed commits`);
    return agent;
  } catch (e) {
    const logs = started.map((m) => m.log()).join('\n');
    throw new Error(`${(e as Error).message}\n${logs}\n--- agent output (tail) ---\n${agent.output().slice(-6000)}`, { cause: e });
  } finally {
    await Promise.allSettled([...open].map((m) => m.close()));
  }
}
