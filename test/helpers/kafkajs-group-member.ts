/**
 * A kafkajs consumer-group member (in this process) for the group scenarios: eachMessage commits
 * each record before reporting it, eachBatch commits once per batch (manual commits; autoCommit
 * off). Heartbeats and fetch waits are short so rebalances are noticed quickly.
 */
import { Kafka, logLevel, type Consumer, type LogEntry } from 'kafkajs';
import { waitUntil, type GroupMember, type GroupMemberOptions, type GroupRecord } from './group-member.js';

export type KafkajsMode = 'eachMessage' | 'eachBatch';

export async function startKafkajsGroupMember(mode: KafkajsMode, o: GroupMemberOptions): Promise<GroupMember> {
  const logs: string[] = [];
  const kafka = new Kafka({
    clientId: o.name,
    brokers: [o.bootstrap],
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => {
      logs.push(`${entry.log.timestamp} ${entry.label} ${entry.log.message} ${entry.log.error ?? ''}`);
      if (logs.length > 500) logs.splice(0, 100);
    },
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const consumer: Consumer = kafka.consumer({ groupId: o.groupId, heartbeatInterval: 300, maxWaitTimeInMs: 200, sessionTimeout: 10_000, rebalanceTimeout: 20_000 });
  let assignment: number[] = [];
  const history: number[][] = [[]];
  const records: GroupRecord[] = [];
  const commitErrors: string[] = [];
  let crashed: string | null = null;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assignment = [...(e.payload.memberAssignment[o.topic] ?? [])].sort((a, b) => a - b);
    history.push(assignment);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    crashed = String(e.payload.error?.stack ?? e.payload.error);
  });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  const commit = async (partition: number, next: number, count: number): Promise<boolean> => {
    try {
      await consumer.commitOffsets([{ topic: o.topic, partition, offset: String(next) }]);
      return true;
    } catch (e) {
      commitErrors.push(`${(e as Error).message} (${count} records of partition ${partition})`);
      return false;
    }
  };
  if (mode === 'eachMessage') {
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (await commit(partition, offset + 1, 1)) records.push({ partition, offset, value: message.value?.toString() ?? '', member: o.name });
      },
    });
  } else {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const got = batch.messages.map((m) => ({ partition: batch.partition, offset: Number(m.offset), value: m.value?.toString() ?? '', member: o.name }));
        if (got.length === 0) return;
        for (const m of batch.messages) resolveOffset(m.offset);
        if (await commit(batch.partition, got.at(-1)!.offset + 1, got.length)) records.push(...got);
        await heartbeat();
      },
    });
  }
  const log = (): string => `--- ${o.name} (kafkajs ${mode}) log (tail) ---\n${logs.slice(-60).join('\n')}${crashed ? `\ncrashed: ${crashed}` : ''}`;
  return {
    name: o.name,
    assignment: () => assignment,
    assignmentHistory: () => history,
    records: () => records,
    commitErrors: () => (crashed ? [...commitErrors, `crashed: ${crashed}`] : commitErrors),
    waitFor: (pred, what, timeoutMs = 45_000) => waitUntil(pred, `${o.name}: ${what}`, timeoutMs, log),
    async close() {
      await consumer.disconnect();
    },
    log,
  };
}
