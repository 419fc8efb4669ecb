/**
 * kafkajs (npm) as the tests use it: producing and admin. Consuming with kafkajs needs consumer
 * groups, which the agent does not serve yet.
 */
import { CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type IHeaders, type Producer, type ProducerConfig } from 'kafkajs';
import type { DeliveryResult, ProduceRecord } from './py-clients.js';

/** `retry` overrides the short default budget, for tests that restart the agent under a client. */
export function kafkaClient(bootstrap: string, clientId = 'weir-e2e', retry?: { retries: number; initialRetryTime: number; maxRetryTime: number }): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    // kafkajs logs every retry at ERROR; the tests assert on outcomes, and the agent's own
    // output is printed when something fails.
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: retry ?? { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/** A connected producer; `DefaultPartitioner` is kafkajs 2's murmur2, the Java client's, and silences its warning. */
export async function connectedProducer(bootstrap: string, config: ProducerConfig = {}): Promise<Producer> {
  const producer = kafkaClient(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config });
  await producer.connect();
  return producer;
}

export async function connectedAdmin(bootstrap: string): Promise<Admin> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  return admin;
}

/** Creates topics and waits for the create to be acknowledged; throws if any already existed. */
export async function createTopics(
  bootstrap: string,
  topics: Array<{ topic: string; numPartitions: number; configEntries?: Array<{ name: string; value: string }> }>,
): Promise<void> {
  const admin = await connectedAdmin(bootstrap);
  try {
    const created = await admin.createTopics({ topics, waitForLeaders: true });
    if (!created) throw new Error(`createTopics: some of ${topics.map((t) => t.topic).join(', ')} already existed`);
  } finally {
    await admin.disconnect();
  }
}

/** ProduceRecord headers as kafkajs wants them: repeated names become arrays, first-seen order kept. */
export function kafkajsHeaders(headers: ProduceRecord['headers']): IHeaders | undefined {
  if (!headers || headers.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const [name, value] of headers) {
    if (value === null) throw new Error('kafkajs cannot send a null header value');
    (out[name] ??= []).push(value);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
}

export interface KafkajsProduceOptions {
  /** Records per send() call; sends run one after another. Default 1000. */
  chunk?: number;
  compression?: CompressionTypes;
  acks?: number;
}

/**
 * Sends the records in order and returns where each landed, derived from each send()'s per-partition
 * base offset (records of one partition in one send are consecutive, in send order).
 */
export async function kafkajsProduce(
  producer: Producer,
  topic: string,
  records: ProduceRecord[],
  o: KafkajsProduceOptions = {},
): Promise<DeliveryResult[]> {
  const chunk = o.chunk ?? 1000;
  const delivered: DeliveryResult[] = [];
  for (let start = 0; start < records.length; start += chunk) {
    const slice = records.slice(start, start + chunk);
    const metadata = await producer.send({
      topic,
      acks: o.acks ?? -1,
      compression: o.compression ?? CompressionTypes.None,
      messages: slice.map((r) => {
        const headers = kafkajsHeaders(r.headers);
        return {
          key: r.key,
          value: r.value,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(headers === undefined ? {} : { headers }),
          ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
        };
      }),
    });
    const base = new Map<number, number>();
    for (const m of metadata) {
      if (m.errorCode !== 0) throw new Error(`kafkajs send: partition ${m.partition} error ${m.errorCode}`);
      base.set(m.partition, Number(m.baseOffset));
    }
    // kafkajs reports partitions, not records: count records per partition in send order.
    // Records without an explicit partition are placed by kafkajs's partitioner, which this
    // cannot see, so only explicitly partitioned records get an offset.
    const next = new Map<number, number>();
    for (const r of slice) {
      if (r.partition === undefined) {
        delivered.push({});
        continue;
      }
      const k = next.get(r.partition) ?? 0;
      next.set(r.partition, k + 1);
      const b = base.get(r.partition);
      delivered.push(b === undefined ? { error: { name: 'NO_METADATA', str: `no send() result for partition ${r.partition}` } } : { partition: r.partition, offset: b + k });
    }
  }
  return delivered;
}
